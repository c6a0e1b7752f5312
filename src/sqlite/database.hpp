// Internal: the open database file of one SqliteStore.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "blobcache/sqlite_store.hpp"

#include "sqlite/access_clock.hpp"
#include "sqlite/change_log.hpp"
#include "sqlite/connection_pool.hpp"
#include "sqlite/maintenance.hpp"
#include "sqlite/memory_tier.hpp"
#include "sqlite/sqlite_error.hpp"
#include "sqlite/tallies.hpp"
#include "sqlite/tuning.hpp"

namespace blobcache::detail {

// What tests observe of one store, and the hooks they may inject
// (test_seams.hpp). The store only counts here; nothing in it changes what
// the store does unless a test sets the hook.
struct Probes {
  // Gets served through a mapped connection.
  std::atomic<std::uint64_t> mapped_gets{0};
  // Gets served from the memory tier.
  std::atomic<std::uint64_t> tier_hits{0};
  // Run by a get between its size probe and the mapped read. Not
  // synchronized: set it only while no get runs.
  std::function<void()> after_size_probe;
  // Puts committed in a transaction shared with other puts (GroupCommit).
  std::atomic<std::uint64_t> grouped_puts{0};
  // Run by the thread leading a batch of puts before it writes them, with
  // the batch's size. Not synchronized: set it only while no put runs.
  std::function<void(std::size_t)> before_batch;
  // Run by the reclaim of abandoned put_streams between listing the rows it
  // found abandoned and the transaction that deletes them. Not
  // synchronized: set it only while no put_stream runs.
  std::function<void()> after_staging_listed;
};

// Everything the operations of one store share: the options and knobs it
// was opened with, its connection pools and its background thread. Thread-safe
// (the pools are; the rest is immutable after open). Shared by the store,
// its Reader and Writer, and every BlobReader it hands out, so a reader
// that outlives its store keeps its connection valid.
class Database {
 public:
  // Opens (creating when missing, unless read_only) the file at
  // options.path: recognises it, creates or migrates the schema, and
  // quarantines a corrupt file (open.cpp). Throws what SqliteStore's
  // constructor documents.
  static std::shared_ptr<Database> open(SqliteOptions options, const Tuning& tuning);

  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const SqliteOptions& options() const noexcept { return options_; }
  const Tuning& tuning() const noexcept { return tuning_; }
  // The instant a write transaction starts, as nanoseconds: the store's
  // clock, exact (updated_at, and least_recently_used's order of puts).
  std::int64_t write_stamp() { return access_clock_.write_stamp(); }
  // The instant to record as the access of a read made now
  // (least_recently_used): see AccessClock for its resolution.
  std::int64_t read_stamp() const { return access_clock_.read_stamp(); }
  std::optional<std::filesystem::path> quarantined() const { return quarantined_; }

  // Where for an operation of this store, for error messages.
  Where where(std::string_view operation, std::string_view ns = {},
              std::string_view key = {}) const noexcept {
    return Where{.operation = operation,
                 .file = options_.path,
                 .ns = ns,
                 .key = key,
                 .read_only_place = options_.read_only};
  }
  // Throws Error(Errc::read_only) naming `where` for a read-only store, and
  // for one that cannot write its change log: a write it did not log there
  // could leave other processes' memory tiers serving what it replaced.
  void require_writable(const Where& where) const;

  // A connection for one call; opening a new one may fail (Error naming
  // `at`).
  ConnectionPool::Lease lease(const Where& at);
  // The same from the mapped pool (see Tuning::mapped_get_min_bytes).
  // REQUIRES: maps_big_gets().
  ConnectionPool::Lease lease_mapped(const Where& at);
  // Gets of values of at least this many bytes read through a mapped
  // connection; INT64_MAX when none do.
  std::int64_t mapped_get_min_bytes() const noexcept { return mapped_get_min_bytes_; }
  bool maps_big_gets() const noexcept { return mapped_pool_ != nullptr; }

  // What reads counted and not yet written.
  Tallies& tallies() noexcept { return tallies_; }
  // What reads counted, leaving none of it: what a write transaction adds
  // to the file. With Take::reads_and_accesses, also the accesses, those
  // the memory tier recorded included.
  Tallies::Pending take_reads(Tallies::Take what);
  // Something waits for take_reads().
  bool reads_pending();
  // The accesses waiting for take_reads() (about; takes no lock).
  std::size_t pending_accesses() const noexcept {
    return tallies_.pending_accesses() + (memory_tier_ ? memory_tier_->pending_accesses() : 0);
  }
  // The log of changed keys every writer appends to, and the values this
  // store keeps in memory; both null when the store keeps nothing there.
  ChangeLog* change_log() noexcept { return change_log_.get(); }
  MemoryTier* memory_tier() noexcept { return memory_tier_.get(); }
  // The store's background thread; null for a read-only store.
  Maintenance* maintenance() noexcept { return maintenance_.get(); }

  // The limits as this store last read them from the file (at open and in
  // every write transaction): a hint for the read path and for checks done
  // before a transaction; a transaction decides on what it reads itself.
  Limits known_limits() const noexcept;
  void remember_limits(const Limits& limits) noexcept;
  // Reads record their accesses: the known policy is least_recently_used,
  // with a bound.
  bool records_accesses() const noexcept {
    return records_accesses_.load(std::memory_order_relaxed);
  }
  // A write left the store above the high watermark: the background duty
  // evicts down to the low one.
  std::atomic<bool>& trim_wanted() noexcept { return trim_wanted_; }

  Probes& probes() noexcept { return probes_; }
  // Zero counts for a read-only store.
  CheckpointCounts checkpoint_counts() const noexcept;

 private:
  Database(SqliteOptions options, Tuning tuning);
  friend class DatabaseOpener;  // open.cpp

  SqliteOptions options_;
  Tuning tuning_;
  AccessClock access_clock_;
  std::optional<std::filesystem::path> quarantined_;
  Probes probes_;
  Tallies tallies_;
  std::atomic<std::int64_t> max_bytes_{0};
  std::atomic<std::int64_t> max_entries_{0};
  std::atomic<int> eviction_{0};
  std::atomic<bool> records_accesses_{false};
  std::atomic<bool> trim_wanted_{false};
  // Before the pools: writable connections report their commits to it, so
  // it must outlive them. Null for a read-only store. It checkpoints only
  // with Tuning::background_checkpoints (else SQLite's automatic
  // checkpoint runs).
  std::unique_ptr<Maintenance> maintenance_;
  std::unique_ptr<ConnectionPool> pool_;
  // Connections with the file mapped, only for gets of big values; null
  // when those are off. A BlobReader never leases one: mapped pages count
  // in RSS, and a stream must stay small.
  std::unique_ptr<ConnectionPool> mapped_pool_;
  std::unique_ptr<ChangeLog> change_log_;
  std::unique_ptr<MemoryTier> memory_tier_;  // after the log it reads
  std::int64_t mapped_get_min_bytes_ = std::numeric_limits<std::int64_t>::max();
};

}  // namespace blobcache::detail
