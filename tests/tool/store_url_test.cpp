// The --db URLs that name a Redis server (tools/store_url.hpp).
#include "store_url.hpp"

#include "catch_compat.hpp"
#include "errc_of.hpp"
#include "parse.hpp"

namespace blobcache::tool {
namespace {

TEST_CASE("is_store_url tells URLs from file paths") {
  CHECK(is_store_url("redis://localhost"));
  CHECK(is_store_url("redis+unix:///run/redis.sock"));
  CHECK_FALSE(is_store_url("/home/me/.cache/blobcache.db"));
  CHECK_FALSE(is_store_url("redis.db"));
  CHECK_FALSE(is_store_url("rediss://host"));  // TLS: not supported, so a file name
}

TEST_CASE("without_password hides the password, and only it") {
  CHECK(without_password("redis://ci:s3cret@host:1/0?prefix=p") ==
        "redis://ci:***@host:1/0?prefix=p");
  CHECK(without_password("redis://s3cret@host") == "redis://***@host");
  CHECK(without_password("redis://host:1/0") == "redis://host:1/0");
  CHECK(without_password("redis+unix://u:pw@/run/r.sock") == "redis+unix://u:***@/run/r.sock");
  CHECK(without_password("redis+unix:///run/r@x.sock") == "redis+unix:///run/r@x.sock");
}

#if BLOBCACHE_HAS_REDIS

std::string why_not(std::string_view url) {
  try {
    parse_redis_url(url);
  } catch (const ParseError& e) {
    return e.what();
  }
  return "parsed";
}

TEST_CASE("redis:// URLs give host, port, db, credentials and prefix") {
  const RedisOptions plain = parse_redis_url("redis://cache.lan");
  CHECK(plain.host == "cache.lan");
  CHECK(plain.port == 6379);
  CHECK(plain.db == 0);
  CHECK(plain.key_prefix == "blobcache");
  CHECK(plain.user.empty());
  CHECK(plain.password.empty());

  const RedisOptions full = parse_redis_url(
      "redis://ci:p%40ss%2Fw@10.0.0.7:6380/3?prefix=build%2Fcache&command_timeout_ms=250");
  CHECK(full.host == "10.0.0.7");
  CHECK(full.port == 6380);
  CHECK(full.db == 3);
  CHECK(full.user == "ci");
  CHECK(full.password == "p@ss/w");
  CHECK(full.key_prefix == "build/cache");
  CHECK(full.command_timeout == std::chrono::milliseconds(250));

  const RedisOptions password_only = parse_redis_url("redis://secret@host/");
  CHECK(password_only.user.empty());
  CHECK(password_only.password == "secret");

  const RedisOptions ipv6 = parse_redis_url("redis://[::1]:7000/2");
  CHECK(ipv6.host == "::1");
  CHECK(ipv6.port == 7000);
  CHECK(ipv6.db == 2);

  const RedisOptions socket =
      parse_redis_url("redis+unix://app:pw@/run/redis/redis.sock?db=5&prefix=p");
  CHECK(socket.unix_socket == "/run/redis/redis.sock");
  CHECK(socket.db == 5);
  CHECK(socket.user == "app");
  CHECK(socket.key_prefix == "p");
}

TEST_CASE("URLs that do not parse say why") {
  CHECK_THAT(why_not("redis://"), Catch::Contains("the host is empty"));
  CHECK_THAT(why_not("redis://host:0"), Catch::Contains("port"));
  CHECK_THAT(why_not("redis://host:65536"), Catch::Contains("1 to 65535"));
  CHECK_THAT(why_not("redis://host:abc"), Catch::Contains("port \"abc\""));
  CHECK_THAT(why_not("redis://host:"), Catch::Contains("port"));
  CHECK_THAT(why_not("redis://host/x"), Catch::Contains("db \"x\""));
  CHECK_THAT(why_not("redis://host?prefix="), Catch::Contains("prefix must not be empty"));
  CHECK_THAT(why_not("redis://host?colour=blue"), Catch::Contains("unknown parameter \"colour\""));
  CHECK_THAT(why_not("redis://host?db=1"), Catch::Contains("unknown parameter \"db\""));
  CHECK_THAT(why_not("redis://host?prefix"), Catch::Contains("has no '='"));
  CHECK_THAT(why_not("redis://[::1"), Catch::Contains("closing ']'"));
  CHECK_THAT(why_not("redis://u:%zz@host"), Catch::Contains("two hex digits"));
  CHECK_THAT(why_not("redis://u:%4@host"), Catch::Contains("two hex digits"));
  CHECK_THAT(why_not("redis+unix://relative.sock"), Catch::Contains("absolute socket path"));
  CHECK_THAT(why_not("redis+unix:///s.sock?db=-1"), Catch::Contains("db \"-1\""));
}

#endif

}  // namespace
}  // namespace blobcache::tool
