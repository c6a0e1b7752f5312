// BLOBCACHE_EXPORT marks what libblobcache.so exports: every class and free
// function of the public API. The library is built with hidden visibility,
// so everything else it contains (src/, SQLiteCpp, GSL) stays inside the
// binary. For a program using the library the attribute changes nothing.
// BLOBCACHE_HIDDEN marks a private member class of an exported class (the
// pimpls), which would otherwise be exported with its enclosing class.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define BLOBCACHE_EXPORT __attribute__((visibility("default")))
#define BLOBCACHE_HIDDEN __attribute__((visibility("hidden")))
#else
#define BLOBCACHE_EXPORT
#define BLOBCACHE_HIDDEN
#endif
