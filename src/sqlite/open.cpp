// Opening a store's file: recognise it, create or migrate its schema, check
// it, and set a damaged one aside. Nothing is written to a file before it is
// known to be blobcache's (or new).
#include <algorithm>
#include <chrono>
#include <string>
#include <unistd.h>

#include "errors.hpp"
#include "sqlite/busy_handler.hpp"
#include "sqlite/database.hpp"
#include "sqlite/file_kind.hpp"
#include "sqlite/files.hpp"
#include "sqlite/schema.hpp"
#include "sqlite/usage.hpp"

namespace blobcache::detail {

class DatabaseOpener {
 public:
  explicit DatabaseOpener(Database& db) : db_(db), options_(db.options_) {}

  void run() {
    deadline_ = std::chrono::steady_clock::now() + options_.busy_timeout;
    prepare_file();
    if (!options_.allow_network_filesystem) require_local_filesystem(options_.path);
    const bool immutable =
        options_.read_only && read_only_open_mode(options_.path) == ReadOnlyOpen::immutable;
    ConnectionConfig config{.path = options_.path,
                            .read_only = options_.read_only,
                            .immutable = immutable,
                            .busy_timeout = options_.busy_timeout,
                            .durability = options_.durability,
                            .max_file_bytes = options_.max_file_bytes,
                            .tuning = db_.tuning_};
    if (!options_.read_only) {
      db_.maintenance_ = std::make_unique<Maintenance>(config);
      if (config.tuning.background_checkpoints) config.checkpoints = db_.maintenance_.get();
    }
    open_with_retries(config);
    // Not for an immutable open: no lock then keeps a writer from
    // truncating the file under the mapping, and a read past its end is
    // SIGBUS, not an error (docs/design.md).
    if (!immutable &&
        config.tuning.mapped_get_min_bytes < std::numeric_limits<std::int64_t>::max()) {
      ConnectionConfig mapped = config;
      mapped.tuning.mmap_size = config.tuning.mapped_mmap_size;
      // These connections only read (SQLite's default is off, and it stays
      // safe on corrupt pages without it); a damaged chunk still fails its
      // XXH3 check. On: 0.85x on 64 KiB gets.
      mapped.cell_size_check = false;
      db_.mapped_pool_ = std::make_unique<ConnectionPool>(std::move(mapped));
      db_.mapped_get_min_bytes_ = config.tuning.mapped_get_min_bytes;
    }
    // Writers log their changes whether or not this store keeps values in
    // memory: other processes' stores may. An immutable open has no writers
    // to hear of, and no log.
    if (!immutable) db_.change_log_ = ChangeLog::open(options_.path, !options_.read_only);
    if (db_.change_log_ && options_.memory_cache_bytes > 0) {
      const std::size_t max_value =
          std::min(config.tuning.memory_tier_max_value, options_.memory_cache_bytes / 16);
      db_.memory_tier_ =
          std::make_unique<MemoryTier>(options_.memory_cache_bytes, max_value, *db_.change_log_);
    }
  }

 private:
  std::string path() const { return options_.path.string(); }

  // Decides what the file is before anything touches it; creates a missing
  // one. A healthy file of another program is refused whatever
  // on_corruption says: quarantine is for damage, not for other programs.
  void prepare_file() {
    const FileKind kind = recognise_waiting();
    switch (kind.is) {
      case FileKind::Is::absent:
        if (options_.read_only) {
          throw_error(Errc::entry_not_found,
                      "open " + path() + " read-only: the file does not exist");
        }
        create_file_private(options_.path);
        return;
      case FileKind::Is::foreign:
        throw_error(Errc::unsupported, "open " + path() + ": not a blobcache file (" + kind.reason +
                                           "); it was left untouched");
      case FileKind::Is::locked:
        throw_error(Errc::busy, "open " + path() +
                                    ": another connection held the file for the whole "
                                    "busy_timeout while it was recognised");
      case FileKind::Is::damaged:
        // Left for the SQLite open below to confirm and report.
      case FileKind::Is::empty:
      case FileKind::Is::blobcache:
        return;
    }
  }

  // recognise(), retried while another process holds a lock on the file
  // (one creating it takes the exclusive lock to switch it to WAL), until
  // busy_timeout.
  FileKind recognise_waiting() const {
    for (int attempt_number = 0;; ++attempt_number) {
      try {
        const FileKind kind = recognise(options_.path);
        if (kind.is != FileKind::Is::locked || std::chrono::steady_clock::now() >= deadline_) {
          return kind;
        }
      } catch (const Error& e) {
        if (e.errc() != Errc::busy || std::chrono::steady_clock::now() >= deadline_) throw;
      }
      back_off(attempt_number);
    }
  }

  // One attempt at opening: the first connection, or nullptr with the
  // reason the file is corrupt in `corruption`.
  std::unique_ptr<Connection> open_connection(const ConnectionConfig& config,
                                              std::string& corruption) {
    auto connection = std::make_unique<Connection>(config);
    if (config.read_only) {
      check_schema_read_only(*connection);
    } else {
      prepare_schema(*connection, config.tuning.page_size);
    }
    // Not a full quick_check: that reads every page of the file, which a
    // command-line tool opening a big cache many times cannot afford
    // (docs/design.md, "Open cost"). check() runs the full one.
    corruption = check_at_open(*connection);
    if (!corruption.empty()) return nullptr;
    return connection;
  }

  void open_with_retries(const ConnectionConfig& config) {
    const Where at_open{.operation = "open",
                        .file = options_.path,
                        .ns = {},
                        .key = {},
                        .read_only_place = options_.read_only || place_is_read_only(options_.path)};
    for (int attempt_number = 0;; ++attempt_number) {
      std::string corruption;
      std::unique_ptr<Connection> connection;
      const auto failure = attempt([&] {
        connection = open_connection(config, corruption);
        if (connection) db_.remember_limits(read_limits(*connection, at_open));
      });
      if (connection && !failure) {
        db_.pool_ = std::make_unique<ConnectionPool>(config);
        db_.pool_->adopt(std::move(connection));
        return;
      }
      if (failure) {
        // Schema creation and the WAL switch need the write lock, and
        // SQLite does not call the busy handler for every step of opening:
        // retry here until the timeout, so many processes can open a new
        // file at once.
        if (is_lock_wait(failure->result_code) && std::chrono::steady_clock::now() < deadline_) {
          back_off(attempt_number);
          continue;
        }
        if (!is_corruption(failure->result_code)) throw_sqlite(at_open, *failure);
        corruption = failure->cause;
      }
      set_aside(corruption);
    }
  }

  // The file is corrupt: raise, or move it aside and start over on a new one.
  void set_aside(const std::string& corruption) {
    if (options_.on_corruption == OnCorruption::raise || options_.read_only || db_.quarantined_) {
      throw_error(Errc::corrupt, "open " + path() + ": the file is corrupt: " + corruption);
    }
    db_.quarantined_ = quarantine_files(options_.path);
    create_file_private(options_.path);
  }

  Database& db_;
  const SqliteOptions& options_;
  // Lock waits of the whole open end here (busy_timeout after it began).
  std::chrono::steady_clock::time_point deadline_;
};

std::shared_ptr<Database> Database::open(SqliteOptions options, const Tuning& tuning) {
  std::shared_ptr<Database> db(new Database(std::move(options), tuning));
  DatabaseOpener(*db).run();
  return db;
}

}  // namespace blobcache::detail
