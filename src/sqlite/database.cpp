#include "sqlite/database.hpp"

#include <string>

#include "errors.hpp"
#include "sqlite/usage.hpp"

namespace blobcache::detail {
namespace {

// The smallest cap on the file's size: the schema alone takes a few pages,
// and a cap that leaves no room for an entry is a mistake, not a limit.
constexpr std::int64_t kMinFileCapPages = 64;

std::string open_where(const SqliteOptions& options) { return "open " + options.path.string(); }

void validate(const SqliteOptions& options, const Tuning& tuning) {
  if (options.path.empty()) {
    throw_error(Errc::invalid_argument, "open: SqliteOptions::path is empty");
  }
  if (options.busy_timeout.count() < 0) {
    throw_error(Errc::invalid_argument, open_where(options) +
                                            ": SqliteOptions::busy_timeout is negative (" +
                                            std::to_string(options.busy_timeout.count()) + " ms)");
  }
  if (options.limits) {
    if (options.read_only) {
      throw_error(Errc::invalid_argument, open_where(options) +
                                              ": SqliteOptions::limits cannot be stored by a "
                                              "read-only store (leave it nullopt)");
    }
    validate_limits(*options.limits, tuning.page_size,
                    Where{.operation = "open", .file = options.path});
  }
  const std::int64_t min_cap = kMinFileCapPages * tuning.page_size;
  if (options.max_file_bytes < 0 ||
      (options.max_file_bytes > 0 && options.max_file_bytes < min_cap)) {
    throw_error(Errc::invalid_argument,
                open_where(options) + ": SqliteOptions::max_file_bytes is " +
                    std::to_string(options.max_file_bytes) +
                    "; it must be 0 (no cap) or at least " + std::to_string(min_cap) + " bytes (" +
                    std::to_string(kMinFileCapPages) + " pages)");
  }
}

}  // namespace

Database::Database(SqliteOptions options, Tuning tuning)
    : options_(std::move(options)),
      tuning_(std::move(tuning)),
      access_clock_(options_.clock ? options_.clock : system_clock()) {
  validate(options_, tuning_);
}

// The pools close their connections before the maintenance thread goes (members
// are destroyed in reverse order).
Database::~Database() = default;

void Database::require_writable(const Where& where) const {
  if (options_.read_only) {
    throw_error(Errc::read_only, describe_where(where) + ": the store was opened read-only");
  }
  if (!change_log_ || !change_log_->writable()) {
    throw_error(Errc::read_only,
                describe_where(where) + ": this process cannot write the store's change log " +
                    options_.path.string() +
                    "-changes, where every write must name the keys it changes for the memory "
                    "of the other processes that share the file; give it write access to that "
                    "file (or open the store read_only)");
  }
}

ConnectionPool::Lease Database::lease(const Where& at) {
  return translated(at, [&] { return pool_->acquire(); });
}

ConnectionPool::Lease Database::lease_mapped(const Where& at) {
  return translated(at, [&] { return mapped_pool_->acquire(); });
}

Limits Database::known_limits() const noexcept {
  return {.max_bytes = max_bytes_.load(std::memory_order_relaxed),
          .max_entries = max_entries_.load(std::memory_order_relaxed),
          .eviction = static_cast<EvictionPolicy>(eviction_.load(std::memory_order_relaxed))};
}

void Database::remember_limits(const Limits& limits) noexcept {
  max_bytes_.store(limits.max_bytes, std::memory_order_relaxed);
  max_entries_.store(limits.max_entries, std::memory_order_relaxed);
  eviction_.store(static_cast<int>(limits.eviction), std::memory_order_relaxed);
  records_accesses_.store(orders_by_use(limits), std::memory_order_relaxed);
}

Tallies::Pending Database::take_reads(Tallies::Take what) {
  Tallies::Pending pending = tallies_.take(what);
  if (what == Tallies::Take::reads_and_accesses && memory_tier_ &&
      memory_tier_->pending_accesses() > 0) {
    for (MemoryTier::Access& access : memory_tier_->take_accesses()) {
      Tallies::merge_access(pending, std::move(access.ns), std::move(access.key), access.nanos);
    }
  }
  return pending;
}

bool Database::reads_pending() { return !tallies_.empty() || pending_accesses() > 0; }

CheckpointCounts Database::checkpoint_counts() const noexcept {
  return maintenance_ ? maintenance_->counts() : CheckpointCounts{};
}

}  // namespace blobcache::detail
