// Internal: RedisStore's state and operations, shared with its readers.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "blobcache/redis_store.hpp"

#include "redis/connection_pool.hpp"
#include "redis/entry_codec.hpp"
#include "redis/hit_counters.hpp"
#include "redis/layout.hpp"
#include "redis/scripts.hpp"

namespace blobcache::detail::redis {

// Thread-safe (the pool and the counters lock; everything else is set at
// construction).
class StoreImpl {
 public:
  // How long a reader's pin on a generation lasts after its last read.
  static constexpr std::chrono::milliseconds kPinTtl{std::chrono::minutes(2)};
  // How long a put's staged chunks live unpublished (refreshed per chunk).
  static constexpr std::chrono::milliseconds kStagingTtl{std::chrono::minutes(10)};
  // Entries per erase/expire script, metadata fields per list round trip.
  static constexpr std::size_t kBatch = 256;

  explicit StoreImpl(RedisOptions options);

  const RedisOptions& options() const noexcept { return options_; }
  const std::string& server() const noexcept { return server_; }
  const Layout& layout() const noexcept { return layout_; }
  const Clock& clock() const noexcept { return *clock_; }

  ConnectionPool::Lease connection(const Where& where) { return pool_.acquire(where); }

  // FCALL `script`'s function with the common arguments and then `args`
  // (EVALSHA of the script on a server or for a user without functions);
  // loads the library or the script first when the server lost it (a
  // restart, FUNCTION FLUSH, SCRIPT FLUSH). Returns the reply; throws Error
  // for an error reply.
  ReplyPtr eval(Connection& connection, Script script, std::span<const std::string_view> args,
                const Where& where);
  // eval() in two halves, for a script pipelined behind other commands:
  // queue it, read the other replies, then read its own (same `args`).
  void queue_eval(Connection& connection, Script script, std::span<const std::string_view> args);
  ReplyPtr read_eval(Connection& connection, Script script, std::span<const std::string_view> args,
                     const Where& where);
  ReplyPtr eval(Connection& connection, Script script, std::initializer_list<std::string_view> args,
                const Where& where);

  // A fresh generation: unique among every process using the server.
  std::uint64_t new_generation();

  // Counts a hit or miss; flushes the counts on `connection` when due.
  void count(Connection& connection, std::string_view ns, bool hit);
  // Adds the counts held in memory to the server's counters. Failures put
  // them back and are swallowed (or, with `rethrow`, thrown).
  void flush_counts(Connection& connection, bool rethrow);

  // Ends a reader's pin (best effort: errors are swallowed; the pin
  // expires by itself).
  void unpin(std::string_view ns, std::string_view key, std::uint64_t generation) noexcept;

  std::map<std::string, std::string> details() const;

  HitCounters& hit_counters() noexcept { return counters_; }

 private:
  void read_server_info(const Connection& connection);
  void queue_call(Connection& connection, Script script, std::span<const std::string_view> args,
                  bool as_function) const;
  // FUNCTION LOAD of the library; false when the server refused it (then
  // the call goes as a script).
  bool load_library(Connection& connection, const Where& where);

  const RedisOptions options_;
  const std::string server_;
  const Layout layout_;
  const std::shared_ptr<const Clock> clock_;
  const std::string pin_ttl_;  // the common script arguments
  const std::string grace_;
  HitCounters counters_;
  // False once the server or the user turned functions down for good (an
  // older server, an ACL without FCALL or FUNCTION LOAD): scripts only.
  std::atomic<bool> functions_{true};
  mutable std::mutex details_mutex_;
  std::map<std::string, std::string> details_;  // GUARDED_BY(details_mutex_)
  std::mutex random_mutex_;
  std::mt19937_64 random_;  // GUARDED_BY(random_mutex_)
  ConnectionPool pool_;     // last: its callback uses the members above
};

}  // namespace blobcache::detail::redis
