// --db URLs that name a Redis server instead of a cache file:
//
//   redis://[user[:password]@]host[:port][/db][?prefix=P]
//   redis+unix://[user[:password]@]/path/to/socket[?db=N&prefix=P]
//
// host may be a name, an IPv4 address or [an IPv6 address]; port defaults
// to 6379, db to 0, prefix to RedisOptions' default ("blobcache"). User,
// password, path and prefix are percent-decoded (%40 for '@', ...).
// Parameters: prefix, db (redis+unix only; redis:// takes it in the path),
// connect_timeout_ms, command_timeout_ms.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "blobcache/store.hpp"
#include "blobcache/version.hpp"
#if BLOBCACHE_HAS_REDIS
#include "blobcache/redis_store.hpp"
#endif

namespace blobcache::tool {

// True when `db` starts with "redis://" or "redis+unix://".
bool is_store_url(std::string_view db) noexcept;

// `url` with its password, if any, replaced by "***": what messages show.
std::string without_password(std::string_view url);

#if BLOBCACHE_HAS_REDIS
// Throws ParseError naming what does not parse.
RedisOptions parse_redis_url(std::string_view url);
#endif

// The store `url` names, connected. Throws ParseError (a URL that does not
// parse, or a build without Redis), Error(Errc::read_only) when
// `refuse_writes` (RedisStore has no read-only mode; the tool refuses
// --read-only writes itself), and what RedisStore's constructor throws.
std::unique_ptr<Store> open_url_store(std::string_view url, bool refuse_writes);

}  // namespace blobcache::tool
