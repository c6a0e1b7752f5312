// Internal: hits and misses counted in memory and added to the server's
// counters in batches, so that a get costs no extra write.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "per_process.hpp"

namespace blobcache::detail::redis {

struct HitCounts {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
};
using PendingHits = std::map<std::string, HitCounts, std::less<>>;

// Thread-safe. A forked child starts from zero: what its parent counted is
// the parent's to flush.
class HitCounters {
 public:
  // A flush is due after this many calls or this long since the last one.
  static constexpr std::size_t kCallsPerFlush = 256;
  static constexpr std::chrono::seconds kFlushInterval{1};

  // Counts one get/open of `ns`; returns true when a flush is due.
  bool count(std::string_view ns, bool hit);
  // Everything counted since the last take(), now owned by the caller.
  PendingHits take();
  // Puts counts back (their flush failed) to be flushed with the next.
  void restore(const PendingHits& taken);
  void clear();

 private:
  struct Counts {
    std::mutex mutex;
    PendingHits pending;    // GUARDED_BY(mutex)
    std::size_t calls = 0;  // GUARDED_BY(mutex)
    std::chrono::steady_clock::time_point last_take = std::chrono::steady_clock::now();
  };
  PerProcess<Counts> counts_;
};

}  // namespace blobcache::detail::redis
