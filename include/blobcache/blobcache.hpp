// The whole public API of blobcache (except testing/, which needs Catch2).
#pragma once

#include "blobcache/cache.hpp"
#include "blobcache/clock.hpp"
#include "blobcache/error.hpp"
#include "blobcache/memory_store.hpp"
#include "blobcache/names.hpp"
#include "blobcache/policy.hpp"
#include "blobcache/sqlite_store.hpp"
#include "blobcache/store.hpp"
#include "blobcache/tiered_store.hpp"
#include "blobcache/types.hpp"
#include "blobcache/version.hpp"  // first: BLOBCACHE_HAS_REDIS
#if BLOBCACHE_HAS_REDIS
#include "blobcache/redis_store.hpp"
#endif
