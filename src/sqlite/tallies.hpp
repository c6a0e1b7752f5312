// Internal: what reads count, in memory, until a write transaction adds it
// to the file (the statistics' hits and misses, least_recently_used's
// accesses).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <unordered_map>
#include <utility>

#include "blobcache/types.hpp"

#include "sqlite/change_log.hpp"

namespace blobcache::detail {

// Thread-safe (one mutex, held for a map update). Reads never write the
// file: they count here, and the store's writes move the counts into the
// file in batches (see Writer). A forked child starts with empty tallies:
// the parent's counts are the parent's to write.
class Tallies {
 public:
  struct Reads {
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
  };
  // Everything counted since the last take().
  struct Pending {
    std::map<std::string, Reads, std::less<>> reads;  // by namespace
    // (namespace, key) hashed and compared as string_views: a get of an
    // entry already pending builds no string and allocates nothing.
    struct EntryHash {
      using is_transparent = void;
      template <typename Entry>
      std::size_t operator()(const Entry& entry) const noexcept {
        return key_hash(entry.first, entry.second);
      }
    };
    struct EntryEqual {
      using is_transparent = void;
      template <typename A, typename B>
      bool operator()(const A& a, const B& b) const noexcept {
        return std::string_view(a.first) == std::string_view(b.first) &&
               std::string_view(a.second) == std::string_view(b.second);
      }
    };
    // The latest access of each entry, by (namespace, key), as nanoseconds.
    std::unordered_map<std::pair<std::string, std::string>, std::int64_t, EntryHash, EntryEqual>
        accesses;
    bool empty() const noexcept { return reads.empty() && accesses.empty(); }
  };

  // A get or open of (ns, key) found the entry (hit) or not.
  void count(std::string_view ns, bool hit);
  // An entry was read at `nanos` since the epoch (least_recently_used only).
  void accessed(std::string_view ns, std::string_view key, std::int64_t nanos);
  // Adds accesses recorded elsewhere (the memory tier's) to a take()n batch.
  static void merge_access(Pending& into, std::string&& ns, std::string&& key, std::int64_t nanos);

  // Takes everything pending, leaving nothing (for a flush).
  Pending take();
  // Puts back what a failed flush took, merged with what came meanwhile.
  void give_back(Pending pending);
  // The reads pending now, for stats(); costs a copy of the counters.
  std::map<std::string, Reads, std::less<>> pending_reads() const;
  // The entries with an access pending: past a bound, a flush is due.
  // Takes no lock.
  std::size_t pending_accesses() const noexcept {
    return pending_accesses_.load(std::memory_order_relaxed);
  }
  // Forgets every count (reset_stats()); accesses stay.
  void forget_reads();
  // Nothing is pending.
  bool empty() const;

 private:
  // REQUIRES: mutex_ held. Drops what a forked child inherited.
  void forget_if_forked();

  mutable std::mutex mutex_;
  Pending pending_;  // GUARDED_BY(mutex_)
  pid_t owner_ = 0;  // GUARDED_BY(mutex_)
  // pending_.accesses.size(), written under mutex_.
  std::atomic<std::size_t> pending_accesses_{0};
};

}  // namespace blobcache::detail
