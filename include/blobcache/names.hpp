// The name grammar shared by namespaces and keys.
//
// A name is 1 to 1024 bytes of valid UTF-8, made of segments separated by
// '/'. No segment is empty (no leading, trailing or doubled '/'), no segment
// is "." or "..", and no byte is '\', NUL or another ASCII control character
// (0x00-0x1F, 0x7F).
//
// A namespace is a name, not a folder: "a" and "a/b" are distinct namespaces,
// and erasing "a" leaves "a/b" alone.
//
// Store checks every name with these functions before any backend runs, so
// every backend rejects the same inputs the same way. Thread-safe; cost is
// linear in the name's length.
#pragma once

#include <cstddef>
#include <string_view>

#include "blobcache/export.hpp"

namespace blobcache {

inline constexpr std::size_t kMaxNameBytes = 1024;

// Throws Error(Errc::invalid_namespace) naming the rule `ns` breaks.
BLOBCACHE_EXPORT void validate_namespace(std::string_view ns);
// Throws Error(Errc::invalid_key) naming the rule `key` breaks.
BLOBCACHE_EXPORT void validate_key(std::string_view key);
// True when `name` follows the grammar. Never throws.
BLOBCACHE_EXPORT bool is_valid_name(std::string_view name) noexcept;

}  // namespace blobcache
