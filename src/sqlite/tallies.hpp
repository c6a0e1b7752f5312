// Internal: what reads count, in memory, until a write transaction adds it
// to the file (the statistics' hits and misses, least_recently_used's
// accesses).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <unordered_map>
#include <utility>

#include "blobcache/types.hpp"

#include "sqlite/change_log.hpp"

namespace blobcache::detail {

// Thread-safe. Reads never write the file: they count here, and the store's
// writes move the counts into the file in batches (see Writer). A forked
// child starts with empty tallies: the parent's counts are the parent's to
// write.
//
// A hit or miss is one relaxed atomic add on its namespace's counters when
// the thread's previous count was of the same store and namespace (each
// thread remembers its last); otherwise the mutex is taken to find them.
// Every namespace ever counted keeps its counters (two words and its name)
// for the life of the Tallies, so that the pointer a thread remembers stays
// valid.
class Tallies {
 public:
  struct Reads {
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
  };
  using ReadsByNamespace = std::map<std::string, Reads, std::less<>>;
  // Everything counted since the last take().
  struct Pending {
    ReadsByNamespace reads;
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

  Tallies();
  Tallies(const Tallies&) = delete;
  Tallies& operator=(const Tallies&) = delete;

  // A get or open in `ns` found the entry (hit) or not.
  void count(std::string_view ns, bool hit);
  // An entry was read at `nanos` since the epoch (least_recently_used only).
  void accessed(std::string_view ns, std::string_view key, std::int64_t nanos);
  // Adds accesses recorded elsewhere (the memory tier's) to a take()n batch.
  static void merge_access(Pending& into, std::string&& ns, std::string&& key, std::int64_t nanos);

  // What a take() takes: the counters only (every write transaction), or
  // the accesses too (a transaction that evicts, and the flushes).
  enum class Take { reads, reads_and_accesses };
  // Takes what `what` names, leaving none of it (for a write transaction).
  Pending take(Take what);
  // Puts back what a failed flush took, merged with what came meanwhile.
  void give_back(Pending pending);
  // The reads pending now, for stats(); costs a copy of the counters.
  ReadsByNamespace pending_reads() const;
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
  // The hits and misses of one namespace counted since the last take().
  struct Counters {
    std::atomic<std::uint64_t> hits{0};
    std::atomic<std::uint64_t> misses{0};
  };

  // REQUIRES: mutex_ held. Drops what a forked child inherited.
  void forget_if_forked();
  // REQUIRES: mutex_ held. The counters of `ns`, made at first use.
  Counters& counters_of(std::string_view ns);
  // REQUIRES: mutex_ held. Adds the counters' counts into `into`; `drain`
  // also zeroes the counters (a take()).
  void add_counts(ReadsByNamespace& into, bool drain) const;
  // REQUIRES: mutex_ held.
  void zero_counters();

  // Tells the threads' remembered counters of this Tallies from those of
  // one that lived at the same address before.
  const std::uint64_t id_;
  mutable std::mutex mutex_;
  // Its reads: what add_counts() drains into it and give_back() returns. GUARDED_BY(mutex_)
  Pending pending_;
  // By namespace; never removed (see the class comment). GUARDED_BY(mutex_)
  std::map<std::string, std::unique_ptr<Counters>, std::less<>> counters_;
  // Written under mutex_; read without it by count().
  std::atomic<pid_t> owner_{0};
  // pending_.accesses.size(), written under mutex_.
  std::atomic<std::size_t> pending_accesses_{0};
};

}  // namespace blobcache::detail
