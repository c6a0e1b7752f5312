// Internal: one SQLite connection with its cached prepared statements.
#pragma once

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <sys/types.h>

#include "blobcache/sqlite_store.hpp"

#include "sqlite/busy_handler.hpp"
#include "sqlite/tuning.hpp"

namespace blobcache::detail {

class Maintenance;

// Everything a connection of one store is opened with.
struct ConnectionConfig {
  std::filesystem::path path;
  bool read_only = false;
  // With read_only: open with URI immutable=1 (no -shm, no locks; see
  // ReadOnlyOpen in files.hpp for when that is sound).
  bool immutable = false;
  std::chrono::milliseconds busy_timeout{};
  Durability durability = Durability::normal;
  std::int64_t max_file_bytes = 0;  // 0: no limit
  // SQLite's extra check of every cell of a b-tree page when the page is
  // loaded. Off only on the mapped connections (see Tuning): a mapped page
  // is not kept in the page cache, so the check would re-run at every fetch.
  bool cell_size_check = true;
  Tuning tuning;
  // Writable connections report their commits to it (it outlives them).
  Maintenance* checkpoints = nullptr;
};

// Every statement the store runs, prepared once per connection on first use.
enum class Sql : std::size_t {
  begin_read,
  begin_write,
  commit,
  rollback,
  // Reads.
  get_entry_with_chunks,
  get_entry_with_chunk_ids,
  find_entry,
  read_chunk,
  list_entries,
  namespaces,
  staged_entries,
  // Writes of entries and chunks.
  delete_staged,
  insert_entry,
  replace_entry,
  insert_chunk,
  replace_chunk,
  delete_chunks_from,
  publish_entry,
  erase_namespace,
  erase_expired_by_expiry,
  erase_expired_by_expiry_or_age,
  touch_entry,
  stamp_eviction_order,
  clear_eviction_order,
  // Eviction.
  namespaces_with_expired,
  expired_victims,
  earliest_expiry,
  set_next_expiry,
  victims_by_use,
  victims_by_put,
  delete_entry_by_id,
  // Usage, limits, counters.
  usage_add,
  usage_add_totals,
  usage_add_with_totals,
  usage_row,
  usage_all,
  usage_reset_counters,
  usage_prune,
  limits_read,
  limits_write,
  // Fill leases.
  lease_acquire,
  lease_release,
  lease_cleanup,
  count_,
};

// The text of statement `id` (also used by the query-plan tests).
const char* sql_text(Sql id) noexcept;

// The "file:" URI that opens `file` immutable (no -shm, no locks), its
// absolute path percent-encoded so that a '?', '#' or '%' in it is not read
// as URI syntax. Throws Error(Errc::io) when the path cannot be made
// absolute. Open it with SQLITE_OPEN_URI.
std::string immutable_uri(const std::filesystem::path& file);

// Not thread-safe: one thread at a time (the pool leases it out).
class Connection {
 public:
  // Opens the file (never creating it) and applies the per-connection
  // settings. Throws SQLite::Exception, or Error(Errc::io) when the path of
  // an immutable open cannot be made absolute.
  explicit Connection(const ConnectionConfig& config);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  SQLite::Database& db() noexcept { return db_; }
  // The cached statement, reset and ready to bind.
  SQLite::Statement& statement(Sql id);
  // The process that opened this connection (see ConnectionPool and fork).
  pid_t owner() const noexcept { return owner_; }

  // Resets every cached statement and rolls back an open transaction.
  // Returns false when the connection is not fit for reuse.
  bool make_idle() noexcept;

 private:
  BusyWait busy_;  // before db_: the handler points to it
  SQLite::Database db_;
  std::array<std::unique_ptr<SQLite::Statement>, static_cast<std::size_t>(Sql::count_)> statements_;
  pid_t owner_;
};

// Resets a cached statement when leaving scope, so no statement keeps a read
// transaction open by accident.
class StatementUse {
 public:
  StatementUse(Connection& connection, Sql id) : statement_(connection.statement(id)) {}
  ~StatementUse() { statement_.tryReset(); }
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;
  SQLite::Statement& operator*() const noexcept { return statement_; }
  SQLite::Statement* operator->() const noexcept { return &statement_; }

 private:
  SQLite::Statement& statement_;
};

// BEGIN IMMEDIATE (write) or BEGIN (read) ... COMMIT; rolls back when left
// without commit(). Never throws from its destructor.
class Transaction {
 public:
  enum class Kind { read, write };
  Transaction(Connection& connection, Kind kind);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Connection& connection_;
  bool open_ = true;
};

}  // namespace blobcache::detail
