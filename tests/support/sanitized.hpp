// Whether this test program runs under a sanitizer. The tests' own code may
// be compiled without it while the library is instrumented (ASan + UBSan,
// see tests/meson.build): the build then defines BLOBCACHE_TESTS_SANITIZED.
#pragma once

namespace blobcache::test {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || \
    defined(BLOBCACHE_TESTS_SANITIZED)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

}  // namespace blobcache::test
