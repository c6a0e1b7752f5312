// RedisStore: the Store contract on a Redis server (7.0 or later), shared by
// every process and machine that reaches the server. Built when hiredis is
// found (Meson feature `redis`); BLOBCACHE_HAS_REDIS is then 1.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "blobcache/clock.hpp"
#include "blobcache/export.hpp"
#include "blobcache/store.hpp"

namespace blobcache {

namespace detail::redis {
class StoreImpl;
}

// An aggregate: `RedisOptions{.host = "cache.lan", .key_prefix = "ci"}`.
struct BLOBCACHE_EXPORT RedisOptions {
  // Where the server listens. `unix_socket`, when set, is used instead of
  // host:port.
  std::string host = "127.0.0.1";
  int port = 6379;  // 1-65535
  std::string unix_socket;
  // AUTH user password (an ACL user) when both are set; AUTH password (the
  // default user) when only the password is.
  std::string user;
  std::string password;
  int db = 0;  // SELECT db when not 0
  // Every Redis key of this store starts with it; stores with different
  // prefixes share a server without seeing each other. Never empty.
  std::string key_prefix = "blobcache";
  // How long a connection attempt may take; then Error(Errc::unavailable).
  std::chrono::milliseconds connect_timeout{2000};
  // How long a call may wait for the server to take or give the next bytes
  // (each send and each read of the socket); then Error(Errc::unavailable)
  // and the connection is dropped. A large value may take longer in total,
  // but no call waits longer than this without the server making progress.
  std::chrono::milliseconds command_timeout{5000};
  // Connections kept open, at most; calls beyond it wait for a free one.
  std::size_t pool_size = 4;
  // Stamps updated_at; null: system_clock().
  std::shared_ptr<const Clock> clock;

  // Affects behaviour beyond the contract:
  // Redis drops an entry this long after its expires_at (or after its put,
  // when expires_at was already past), so that an expired entry stays
  // readable for erase_expired and for serving it stale. 0: at expires_at.
  std::chrono::milliseconds expiry_grace{std::chrono::hours(1)};
};

// Thread-safe: calls share a pool of connections. Process- and
// machine-safe: any number of RedisStores (in any process) with the same
// server, db and key_prefix see one store. Conditional puts are atomic on
// the server (one Lua script checks if_match and publishes).
//
// Layout (docs/design.md, "RedisStore"): one Redis HASH per entry holding
// its metadata and its value in chunks of 256 KiB, published by RENAME in
// one Lua script; a sorted set per namespace indexes the keys. Values of any
// size stream in and out in constant memory. Every key lives in one cluster
// slot (hash tag {key_prefix}); hiredis 0.14 follows no cluster
// redirections, so the server must be a single Redis (or a primary).
//
// Errors: a server that cannot be reached, refuses the connection, closes
// it or does not answer within the timeouts throws Error(Errc::unavailable)
// naming host:port (or the socket) and the cause; the connection is
// dropped and the next call reconnects (a restarted server is used again
// without recreating the store). A server that closes the socket never
// raises SIGPIPE in the process (the application's disposition is left
// alone). OOM (maxmemory reached under noeviction) throws
// Error(Errc::no_space) and writes nothing; NOAUTH, WRONGPASS, NOPERM and
// ACL denials throw Error(Errc::invalid_argument) saying so; a key under the prefix
// that holds something this store did not write throws Error(Errc::corrupt).
// Every chunk read is checked against an XXH3 checksum (seeded with its
// generation and position): wrong bytes are never returned.
//
// Redis's own eviction and expiry: an entry is always removed whole (one
// HASH), so a get is the whole value or a miss, never a part or a mix.
// Safe maxmemory policies: noeviction (puts fail with no_space when full),
// volatile-* (only keys with a TTL go: entries with expires_at, staging
// keys), and allkeys-* (entries go whole; an index key may go too, after
// which list(), namespaces() and stats() miss that namespace's older
// entries, which get() still finds, until they are put again or evicted). A reader
// (open()) of a value of more than one chunk pins its generation while it
// reads: a replacement or erase keeps the old bytes for it. A reader idle
// for more than two minutes, or whose generation Redis evicted, throws
// Error(Errc::entry_not_found) from read() instead of returning other bytes.
//
// stats(): entries and bytes from per-namespace totals kept by the scripts
// (exact for the store's own writes; an entry Redis expired or evicted by
// itself is subtracted, and counted as an expiration or an eviction, when a
// list(), erase_expired() or put of that key meets it); hits and misses
// are counted in memory and added to the server's counters (HINCRBY) every
// 256 calls, every second, at stats() and at destruction.
//
// erase_namespace() takes the namespace out of list(), namespaces() and
// stats() at once (one script renames its index away), then deletes its
// entries in batches of 256: a get() or conditional put running meanwhile
// may still find an entry its batch has not reached. An
// erase_namespace() whose process dies is finished by the next one, in any
// namespace. erase_expired() works in batches of 256.
//
// Not fork-safe: a child process creates its own RedisStore (the parent's
// connections are sockets both would share).
//
// describe(): backend "redis", root "redis://host:port/db" (or
// "redis+unix:///path?db=N"), details "redis_version", "maxmemory_policy",
// "maxmemory", "maxmemory_human" as the server reported them at the last
// connection, and "key_prefix". describe() makes no round trip.
class BLOBCACHE_EXPORT RedisStore final : public Store {
 public:
  // Connects at once. Throws Error: invalid_argument (an empty host without
  // a socket, a port outside 1-65535, db < 0, pool_size 0, an empty
  // key_prefix, timeouts <= 0, expiry_grace < 0; NOAUTH/WRONGPASS; a db the
  // server does not have), unavailable (the server cannot be reached).
  explicit RedisStore(RedisOptions options);
  // Flushes the hit and miss counts (best effort: errors are swallowed).
  ~RedisStore() override;
  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  const RedisOptions& options() const noexcept;

 protected:
  std::optional<Blob> do_get(std::string_view ns, std::string_view key) override;
  Meta do_put(std::string_view ns, std::string_view key, BytesView value,
              const PutOptions& opts) override;
  std::unique_ptr<BlobReader> do_open(std::string_view ns, std::string_view key) override;
  Meta do_put_stream(std::string_view ns, std::string_view key, std::istream& in,
                     const PutOptions& opts, std::stop_token stop) override;
  void do_erase(std::string_view ns, std::string_view key) override;
  void do_erase_namespace(std::string_view ns) override;
  std::vector<Object> do_list(std::string_view ns) override;
  std::size_t do_erase_expired(std::string_view ns, TimePoint now, Duration ttl) override;
  std::vector<Meta> do_put_many(std::span<const PutRequest> batch) override;
  std::vector<NamespaceInfo> do_namespaces() override;
  Info do_describe() const override;
  void do_check() override;
  Stats do_stats() override;
  void do_reset_stats() override;
  bool do_try_acquire_lease(std::string_view ns, std::string_view key, std::string_view owner,
                            Duration ttl) override;
  void do_release_lease(std::string_view ns, std::string_view key, std::string_view owner) override;

 private:
  std::shared_ptr<detail::redis::StoreImpl> impl_;  // shared with open readers
};

}  // namespace blobcache
