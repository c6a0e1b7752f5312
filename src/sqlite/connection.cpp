#include "sqlite/connection.hpp"

#include <array>
#include <gsl/gsl>
#include <sqlite3.h>
#include <string>
#include <unistd.h>

#include "errors.hpp"
#include "sqlite/maintenance.hpp"
#include "sqlite/schema.hpp"
#include "sqlite/sqlite_error.hpp"
#include "sqlite/wal_coalescing_vfs.hpp"

namespace blobcache::detail {
namespace {

// Meta columns come in one order everywhere (see read_meta in the store).
#define BLOBCACHE_META_COLUMNS "size, updated_at, expires_at, etag, content_type, metadata"

// What an insert into usage does to a namespace's row that exists: adds.
#define BLOBCACHE_USAGE_ADDED                                                                   \
  " ON CONFLICT(ns) DO UPDATE SET entries = entries + excluded.entries,"                        \
  " bytes = bytes + excluded.bytes, expiring = expiring + excluded.expiring,"                   \
  " next_expiry = CASE WHEN excluded.next_expiry IS NULL THEN next_expiry"                      \
  "   WHEN next_expiry IS NULL OR excluded.next_expiry < next_expiry THEN excluded.next_expiry" \
  "   ELSE next_expiry END,"                                                                    \
  " hits = hits + excluded.hits, misses = misses + excluded.misses,"                            \
  " evictions = evictions + excluded.evictions,"                                                \
  " expirations = expirations + excluded.expirations"

constexpr std::array<const char*, static_cast<std::size_t>(Sql::count_)> kSql = {
    "BEGIN",
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
    // get: one statement, so metadata and chunks come from one snapshot.
    // A value of ?3 bytes or more gets no chunk rows (and reads no blob
    // page): it is read again by get_entry_with_chunk_ids on a mapped
    // connection.
    "SELECT e.id, e.size, e.updated_at, e.expires_at, e.etag, e.content_type, e.metadata,"
    " c.id, c.checksum, c.data"
    " FROM entries AS e LEFT JOIN chunks AS c"
    " ON c.id BETWEEN e.id << 24 AND (e.id << 24) | 16777215 AND e.size < ?3"
    " WHERE e.ns = ?1 AND e.key = ?2 ORDER BY c.id",
    // The same rows without the chunks' bytes, which the caller reads with
    // sqlite3_blob_read (by rowid) straight into the value.
    "SELECT e.id, e.size, e.updated_at, e.expires_at, e.etag, e.content_type, e.metadata,"
    " c.id, c.checksum"
    " FROM entries AS e LEFT JOIN chunks AS c"
    " ON c.id BETWEEN e.id << 24 AND (e.id << 24) | 16777215"
    " WHERE e.ns = ?1 AND e.key = ?2 ORDER BY c.id",
    "SELECT id, " BLOBCACHE_META_COLUMNS " FROM entries WHERE ns = ?1 AND key = ?2",
    "SELECT id, checksum, data FROM chunks WHERE id BETWEEN ?1 << 24 AND (?1 << 24) | 16777215"
    " ORDER BY id",
    "SELECT key, " BLOBCACHE_META_COLUMNS " FROM entries WHERE ns = ?1 ORDER BY key",
    // From the usage rows: no scan of the entries.
    "SELECT ns, entries, bytes FROM usage WHERE ns != '' AND entries > 0 ORDER BY ns",
    "SELECT id, key FROM entries WHERE ns IS NULL",
    // A staged row, only while it still is one and still ?2's: a row
    // reclaimed meanwhile may have given its id to a new entry.
    "DELETE FROM entries WHERE id = ?1 AND ns IS NULL AND key = ?2",
    "INSERT INTO entries(ns, key, " BLOBCACHE_META_COLUMNS
    ", used_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    // A replace keeps the row (and its id, so its name index entry and
    // its chunks' rowids): an update in place writes fewer pages than a
    // delete and an insert.
    "UPDATE entries SET size = ?2, updated_at = ?3, expires_at = ?4, etag = ?5,"
    " content_type = ?6, metadata = ?7, used_at = ?8 WHERE id = ?1",
    "INSERT INTO chunks(id, checksum, data) VALUES(?1, ?2, ?3)",
    "INSERT OR REPLACE INTO chunks(id, checksum, data) VALUES(?1, ?2, ?3)",
    // The chunks of entry ?1 from seq ?2 on (what a shorter value leaves).
    "DELETE FROM chunks WHERE id BETWEEN (?1 << 24) | ?2 AND (?1 << 24) | 16777215",
    "UPDATE entries SET ns = ?1, key = ?2, size = ?3, updated_at = ?4, expires_at = ?5,"
    " etag = ?6, content_type = ?7, metadata = ?8, used_at = ?10 WHERE id = ?9 AND ns IS NULL",
    "DELETE FROM entries WHERE ns = ?1",
    // Policy::is_expired_at: now > expires_at when set; else age > ttl,
    // i.e. updated_at < now - ttl (?3, computed without overflow).
    "DELETE FROM entries WHERE ns = ?1 AND expires_at IS NOT NULL AND expires_at < ?2"
    " RETURNING size, expires_at",
    "DELETE FROM entries WHERE ns = ?1 AND ((expires_at IS NOT NULL AND expires_at < ?2)"
    " OR (expires_at IS NULL AND updated_at < ?3)) RETURNING size, expires_at",
    // least_recently_used: an access moves the entry later in the order.
    "UPDATE entries SET used_at = ?3 WHERE ns = ?1 AND key = ?2 AND used_at < ?3",
    // least_recently_used turned on: every entry gets its place in its order.
    "UPDATE entries SET used_at = updated_at WHERE used_at IS NULL AND ns IS NOT NULL",
    // ... and turned off for least_recently_stored, which needs no used_at.
    "UPDATE entries SET used_at = NULL WHERE used_at IS NOT NULL",
    // Eviction, expired entries first: only namespaces that may hold some.
    "SELECT ns FROM usage WHERE ns != '' AND expiring > 0 AND next_expiry < ?1 ORDER BY ns",
    // Victims: columns id, size, ns, key, expires_at (what evicting them
    // changes), read here so that their DELETE needs no RETURNING.
    "SELECT id, size, ns, key, expires_at FROM entries"
    " WHERE ns = ?1 AND expires_at IS NOT NULL AND expires_at < ?2 ORDER BY expires_at LIMIT ?3",
    "SELECT min(expires_at) FROM entries WHERE ns = ?1 AND expires_at IS NOT NULL",
    "UPDATE usage SET next_expiry = ?2 WHERE ns = ?1",
    // Then by the policy, oldest place first; ?2 skips the entries the
    // transaction itself wrote. least_recently_used: the last access.
    "SELECT id, size, ns, key, expires_at FROM entries WHERE used_at IS NOT NULL"
    " ORDER BY used_at, id LIMIT ?1 OFFSET ?2",
    // least_recently_stored: the rowid, which grows with every put (a
    // replace takes a new one), so the table is its own index.
    "SELECT id, size, ns, key, expires_at FROM entries WHERE ns IS NOT NULL ORDER BY id"
    " LIMIT ?1 OFFSET ?2",
    // An entry by id, its row read before: a victim, an erased entry, or
    // the row a put replaces under least_recently_stored. No RETURNING,
    // which SQLite implements with a temporary B-tree opened and closed on
    // every run: 25-30 % of evicting a 1 KiB entry in perf.
    "DELETE FROM entries WHERE id = ?1",
    // One row per namespace, adding a transaction's changes.
    "INSERT INTO usage(ns, entries, bytes, expiring, next_expiry, hits, misses, evictions,"
    " expirations) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)" BLOBCACHE_USAGE_ADDED,
    "UPDATE usage SET entries = entries + ?1, bytes = bytes + ?2, expiring = expiring + ?3"
    " WHERE ns = ''",
    // Both at once, for a transaction that changed one namespace (most do):
    // one statement fewer per put (two were 8 % of a 1 KiB put in perf).
    "INSERT INTO usage(ns, entries, bytes, expiring, next_expiry, hits, misses, evictions,"
    " expirations) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9), ('', ?2, ?3, ?4, NULL, 0, 0, 0, "
    "0)" BLOBCACHE_USAGE_ADDED,
    "SELECT entries, bytes, expiring FROM usage WHERE ns = ?1",
    "SELECT ns, entries, bytes, hits, misses, evictions, expirations FROM usage ORDER BY ns",
    "UPDATE usage SET hits = 0, misses = 0, evictions = 0, expirations = 0",
    "DELETE FROM usage WHERE ns != '' AND entries = 0 AND hits = 0 AND misses = 0"
    " AND evictions = 0 AND expirations = 0",
    "SELECT max_bytes, max_entries, eviction FROM limits WHERE one = 1",
    "UPDATE limits SET max_bytes = ?1, max_entries = ?2, eviction = ?3 WHERE one = 1",
    // A lease is taken when none is held, held by the same owner, or held
    // past its expiry (?5 is now); changes() says whether it was.
    "INSERT INTO leases(ns, key, owner, expires_at) VALUES(?1, ?2, ?3, ?4)"
    " ON CONFLICT(ns, key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at"
    " WHERE leases.owner = excluded.owner OR leases.expires_at < ?5",
    "DELETE FROM leases WHERE ns = ?1 AND key = ?2 AND owner = ?3",
    "DELETE FROM leases WHERE expires_at < ?1",
};

#undef BLOBCACHE_META_COLUMNS
#undef BLOBCACHE_USAGE_ADDED

static_assert(kChunkSeqBits == 24 && kMaxChunksPerValue - 1 == 16777215,
              "the chunk statements above spell the rowid layout out");

int open_flags(const ConnectionConfig& config) {
  // NOMUTEX: the pool already gives each connection to one thread at a time.
  return (config.read_only ? SQLite::OPEN_READONLY : SQLite::OPEN_READWRITE) |
         SQLite::OPEN_NOMUTEX | (config.immutable ? SQLite::OPEN_URI : 0);
}

// An empty VFS name is SQLite's default VFS.
std::string vfs_name(const ConnectionConfig& config) {
  const Tuning& t = config.tuning;
  return t.coalesce_wal_writes ? wal_coalescing_vfs(t.vfs) : t.vfs;
}

}  // namespace

const char* sql_text(Sql id) noexcept { return kSql.at(static_cast<std::size_t>(id)); }

std::string immutable_uri(const std::filesystem::path& file) {
  std::error_code error;
  const std::filesystem::path absolute = std::filesystem::absolute(file, error);
  if (error) {
    throw_error(errc_of_errno(error.value()), "open " + file.string() + ": " + error.message());
  }
  std::string uri = "file:";
  for (const char c : absolute.string()) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') ||
        (byte >= '0' && byte <= '9') || c == '/' || c == '-' || c == '.' || c == '_' || c == '~') {
      uri += c;
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      uri += '%';
      uri += kHex[byte >> 4];
      uri += kHex[byte & 0xF];
    }
  }
  return uri + "?immutable=1";
}

Connection::Connection(const ConnectionConfig& config)
    : busy_{.timeout = config.busy_timeout, .started = {}},
      db_(config.immutable ? immutable_uri(config.path) : config.path.string(), open_flags(config),
          0, vfs_name(config)),
      owner_(::getpid()) {
  install_busy_handler(db_.getHandle(), busy_);
  const Tuning& t = config.tuning;
  // Temporary files in memory: a group commit's savepoints (writer.cpp)
  // otherwise open, write and unlink a sub-journal file in the temporary
  // folder for every batch. compact()'s VACUUM switches back to a file.
  std::string pragmas = "PRAGMA trusted_schema = OFF; PRAGMA temp_store = MEMORY;";
  pragmas +=
      config.cell_size_check ? "PRAGMA cell_size_check = ON;" : "PRAGMA cell_size_check = OFF;";
  pragmas += config.durability == Durability::full ? "PRAGMA synchronous = FULL;"
                                                   : "PRAGMA synchronous = NORMAL;";
  pragmas += "PRAGMA cache_size = " + std::to_string(-t.cache_kib) + ";";
  pragmas += "PRAGMA mmap_size = " + std::to_string(t.mmap_size) + ";";
  static constexpr std::array<const char*, 3> kSecureDelete{"OFF", "ON", "FAST"};
  pragmas += std::string("PRAGMA secure_delete = ") +
             kSecureDelete.at(gsl::narrow<std::size_t>(t.secure_delete)) + ";";
  if (!config.read_only) {
    // With the store's thread checkpointing (below), never SQLite's
    // automatic checkpoint.
    const int automatic = config.checkpoints != nullptr ? 0 : t.checkpoint_pages;
    pragmas += "PRAGMA wal_autocheckpoint = " + std::to_string(automatic) + ";";
    pragmas += "PRAGMA journal_size_limit = " + std::to_string(t.journal_size_limit) + ";";
  }
  db_.exec(pragmas);
  // After the pragmas: setting wal_autocheckpoint replaces the WAL hook.
  if (config.checkpoints != nullptr) config.checkpoints->watch(db_.getHandle());
  if (config.max_file_bytes > 0) {
    // A connection-level limit: writes past it fail with SQLITE_FULL.
    // A new file gets its page size from prepare_schema, after this.
    const bool is_new = db_.execAndGet("PRAGMA page_count").getInt64() == 0;
    const std::int64_t page_size =
        is_new ? t.page_size : db_.execAndGet("PRAGMA page_size").getInt64();
    const std::int64_t pages = std::max<std::int64_t>(1, config.max_file_bytes / page_size);
    db_.exec("PRAGMA max_page_count = " + std::to_string(pages));
  }
}

SQLite::Statement& Connection::statement(Sql id) {
  auto& slot = statements_.at(static_cast<std::size_t>(id));
  if (!slot) slot = std::make_unique<SQLite::Statement>(db_, sql_text(id));
  return *slot;
}

bool Connection::make_idle() noexcept {
  for (auto& statement : statements_) {
    if (statement) statement->tryReset();
  }
  if (sqlite3_get_autocommit(db_.getHandle()) != 0) return true;
  return sqlite3_exec(db_.getHandle(), "ROLLBACK", nullptr, nullptr, nullptr) == SQLITE_OK;
}

Transaction::Transaction(Connection& connection, Kind kind) : connection_(connection) {
  StatementUse begin(connection_, kind == Kind::write ? Sql::begin_write : Sql::begin_read);
  begin->exec();
}

Transaction::~Transaction() {
  if (!open_) return;
  // SQLite already rolled back after some errors (IOERR, FULL, ...); a
  // ROLLBACK then would fail and overwrite the OS error the caller is about
  // to read (sqlite3_system_errno) with a stale one.
  if (sqlite3_get_autocommit(connection_.db().getHandle()) != 0) return;
  // A failed ROLLBACK leaves the transaction open; the pool then discards
  // the connection (Connection::make_idle).
  try {
    StatementUse rollback(connection_, Sql::rollback);
    rollback->exec();
  } catch (...) {  // NOLINT(bugprone-empty-catch): destructors never throw
  }
}

void Transaction::commit() {
  StatementUse commit(connection_, Sql::commit);
  commit->exec();
  open_ = false;
}

}  // namespace blobcache::detail
