// Internal: the seams tests and the benchmark use, in one place. Nothing on
// a store's hot path depends on them: a store opened through the public
// constructor has the default Tuning and empty Probes.
#pragma once

#include <memory>
#include <string>

#include "blobcache/sqlite_store.hpp"

#include "sqlite/database.hpp"
#include "sqlite/maintenance.hpp"
#include "sqlite/tuning.hpp"

namespace blobcache::detail {

class SqliteStoreAccess {
 public:
  // A SqliteStore opened with `tuning` instead of the defaults: the
  // internal open path. Throws what SqliteStore's constructor throws.
  static std::unique_ptr<SqliteStore> open(SqliteOptions options, const Tuning& tuning);

  // What `store` counts for tests, and the hook they may set.
  static Probes& probes(SqliteStore& store) noexcept;
  static CheckpointCounts checkpoint_counts(const SqliteStore& store) noexcept;
  static const Tuning& tuning(const SqliteStore& store) noexcept;
  // "" when the store's usage rows equal a recount of its entries, else
  // what differs (what check() also tests, without its page walk).
  static std::string usage_mismatch(SqliteStore& store);
  // Runs the store's background duty now, on the calling thread.
  static void maintain(SqliteStore& store);
  // The value of `PRAGMA name` on a connection of the store's pool.
  static std::string pragma(SqliteStore& store, const std::string& name);
  // Puts of other threads queued for the next shared transaction.
  static std::size_t queued_puts(const SqliteStore& store);
};

}  // namespace blobcache::detail
