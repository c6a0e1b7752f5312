// Internal: everything SqliteStore reads from its file.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "blobcache/store.hpp"

#include "sqlite/database.hpp"
#include "sqlite/memory_tier.hpp"

namespace blobcache::detail {

// The read side of a store. Thread-safe: each call leases its own
// connection and reads one snapshot (WAL), beside any writer.
class Reader {
 public:
  explicit Reader(std::shared_ptr<Database> db) : db_(std::move(db)) {}

  // Store::get, open, list, namespaces, check, stats: the same contracts.
  // A get or open counts a hit or a miss (and, for least_recently_used, the
  // access) in the store's Tallies, never in the file.
  std::optional<Blob> get(std::string_view ns, std::string_view key);
  // Store::get_into.
  bool get_into(std::string_view ns, std::string_view key, Blob& out);
  // The reader shares the Database, so it may outlive the store.
  std::unique_ptr<BlobReader> open(std::string_view ns, std::string_view key);
  std::vector<Object> list(std::string_view ns);
  std::vector<NamespaceInfo> namespaces();
  void check();
  Stats stats();
  // SqliteStore::limits().
  Limits limits();

 private:
  // A get answered by the memory tier, counted (and its access recorded):
  // nullopt when the tier may not answer for (ns, key). `hash` is
  // key_hash(ns, key).
  std::optional<MemoryTier::Found> from_tier(MemoryTier& tier, std::string_view ns,
                                             std::string_view key, std::uint64_t hash);
  // A get the tier could not answer: from the file, kept in the tier when
  // the read may be.
  std::optional<Blob> read_through(MemoryTier& tier, std::string_view ns, std::string_view key,
                                   std::uint64_t hash);
  // The get itself, from the file (the memory tier, when there is one, is
  // asked before).
  std::optional<Blob> read_file(std::string_view ns, std::string_view key);
  // Whether this read counts in the statistics and the access times: the
  // store counts reads (Tuning::count_reads) and the calling thread is not
  // inside an UncountedReads scope.
  bool counts_reads() const;
  // The instant to record as the access of an entry read now, as
  // nanoseconds; 0 when reads record no access (not least_recently_used,
  // not counting, or a read-only store, which could never write them).
  std::int64_t access_stamp() const;
  // Counts a get or open of (ns, key) that found the entry or not, and
  // records the access `stamp` (access_stamp()) of an entry found, unless
  // `recorded` (the memory tier did).
  void count(std::string_view ns, std::string_view key, bool found, std::int64_t stamp,
             bool recorded = false);

  std::shared_ptr<Database> db_;
  // The last get found a big value: the next one starts on a mapped
  // connection without the size probe (one read transaction instead of
  // two). A small value read there clears it, so a run of small gets costs
  // one mapped read at most.
  std::atomic<bool> last_get_big_{false};
};

}  // namespace blobcache::detail
