// Internal: the usage rows (exact entries and bytes per namespace and in
// total, and the counters) and the limits row of a version 3 file.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "blobcache/sqlite_store.hpp"

#include "sqlite/connection.hpp"
#include "sqlite/sqlite_error.hpp"

namespace blobcache::detail {

// What one write transaction changes in the usage rows, gathered while it
// runs and written once before it commits (apply), so a batch touches each
// row once. Not thread-safe: one per transaction.
class UsageDelta {
 public:
  // An entry of `ns` of `size` bytes appeared; `expires_at` when it has one.
  void added(std::string_view ns, std::int64_t size, std::optional<std::int64_t> expires_at);
  // An entry of `ns` went.
  void removed(std::string_view ns, std::int64_t size, bool expiring);
  // Every entry of `ns` went: its row says how many (read_usage).
  void cleared(std::string_view ns, std::int64_t entries, std::int64_t bytes,
               std::int64_t expiring);
  // Counters.
  void evicted(std::string_view ns) { row(ns).evictions += 1; }
  void expired(std::string_view ns, std::uint64_t count) { row(ns).expirations += count; }
  void read(std::string_view ns, std::uint64_t hits, std::uint64_t misses);

  // Changes to the totals so far.
  std::int64_t entries() const noexcept { return entries_; }
  std::int64_t bytes() const noexcept { return bytes_; }
  bool empty() const noexcept { return rows_.empty(); }

  // Writes the changes. REQUIRES: the write transaction they were made in.
  // Throws SQLite::Exception.
  void apply(Connection& connection) const;

 private:
  struct Row {
    std::int64_t entries = 0;
    std::int64_t bytes = 0;
    std::int64_t expiring = 0;
    std::optional<std::int64_t> earliest_expiry;  // of the entries added
    std::uint64_t hits = 0, misses = 0, evictions = 0, expirations = 0;
  };
  Row& row(std::string_view ns);

  std::map<std::string, Row, std::less<>> rows_;
  std::int64_t entries_ = 0;
  std::int64_t bytes_ = 0;
  std::int64_t expiring_ = 0;
};

// One usage row as the file holds it.
struct UsageRow {
  std::int64_t entries = 0;
  std::int64_t bytes = 0;
  std::int64_t expiring = 0;
};

// The row of `ns` ("" for the totals); zeros when it has none. Throws
// SQLite::Exception.
UsageRow read_usage(Connection& connection, std::string_view ns);

// The limits row. Throws SQLite::Exception; Error(Errc::corrupt) naming
// `where` when it holds what no version wrote.
Limits read_limits(Connection& connection, const Where& where);
// REQUIRES: a write transaction; `limits` validated.
void write_limits(Connection& connection, const Limits& limits);

// Throws Error(Errc::invalid_argument) naming `where` unless `limits` can
// be stored: no negative bound, max_bytes 0 or at least `page_size`, a
// known policy.
void validate_limits(const Limits& limits, std::int64_t page_size, const Where& where);

// True when either bound is set.
inline bool bounded(const Limits& limits) noexcept {
  return limits.max_bytes > 0 || limits.max_entries > 0;
}

// True when the limits evict by last access: then entries carry it in
// used_at, and reads are recorded. least_recently_stored's order is the
// rowid's and needs neither.
inline bool orders_by_use(const Limits& limits) noexcept {
  return bounded(limits) && limits.eviction == EvictionPolicy::least_recently_used;
}

// True when the limits evict least_recently_stored, in rowid order: then a
// replaced entry must take a new row to go last.
inline bool orders_by_row(const Limits& limits) noexcept {
  return bounded(limits) && !orders_by_use(limits);
}

// Every namespace's row with its counters, and the totals, for stats().
// Throws SQLite::Exception.
Stats read_stats(Connection& connection);

// Zeroes the counters of every row. REQUIRES: a write transaction.
void reset_counters(Connection& connection);

// "" when the usage rows equal a recount of the entries, else what
// differs. Cost: O(entries). For check() and tests.
std::string usage_mismatch(Connection& connection);

}  // namespace blobcache::detail
