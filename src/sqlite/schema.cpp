#include "sqlite/schema.hpp"

#include <sqlite3.h>
#include <string>

#include "errors.hpp"
#include "sqlite/sqlite_error.hpp"

namespace blobcache::detail {
namespace {

// Version 2 (the entries and chunks tables; version 3 below adds to it).
// Entries are keyed by (ns, key); a row with ns NULL is a
// put_stream being staged (key holds its owner, see staging.cpp) and is never
// visible, since every read names its namespace.
//
// Times are nanoseconds since the Unix epoch. The bytes live in their own
// table, in chunks (so no value meets SQLite's 1 GB row limit and metadata
// scans never touch blob pages). A chunk's rowid is computed from its entry
// and its place, (entry id << 24) | seq (chunk_rowid in rows.hpp): an entry's
// chunks are one rowid range of the chunks table, in order, so neither a
// read nor the trigger's delete needs an index of their own, and a put
// writes one b-tree page fewer. Each chunk carries the XXH3-64 of its bytes
// seeded with its seq (a chunk moved to another place fails too).
//
// Indexes:
//   entries_by_name   every lookup, list (ordered by key) and erase_namespace
//   entries_by_expiry erase_expired on explicit expiry: only rows that have one
//   entries_by_age    erase_expired on ttl: only rows without an explicit
//                     expiry (dropped by version 5, below)
// The trigger deletes an entry's chunks in the statement that deletes it.
constexpr const char* kEntriesV1 = R"sql(
CREATE TABLE IF NOT EXISTS entries (
  id           INTEGER PRIMARY KEY,
  ns           TEXT,
  key          TEXT,
  size         INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  expires_at   INTEGER,
  etag         TEXT NOT NULL,
  content_type TEXT NOT NULL,
  metadata     BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS entries_by_name ON entries(ns, key);
CREATE INDEX IF NOT EXISTS entries_by_expiry ON entries(ns, expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS entries_by_age ON entries(ns, updated_at) WHERE expires_at IS NULL;
)sql";

// Version 1 (2026-11-23) kept chunk rows under plain rowids, found through
// an index: chunks(id, entry_id, seq, checksum, data) with a unique index
// chunks_by_entry(entry_id, seq). Its entries table is version 2's.
constexpr const char* kChunksV2 = R"sql(
CREATE TABLE chunks (
  id        INTEGER PRIMARY KEY,
  checksum  INTEGER NOT NULL,
  data      BLOB NOT NULL
);
CREATE TRIGGER entries_drop_chunks AFTER DELETE ON entries
BEGIN
  DELETE FROM chunks WHERE id BETWEEN OLD.id << 24 AND (OLD.id << 24) | 16777215;
END;
)sql";

// Version 1 to 2: every chunk moves to its computed rowid; the checksums
// stay valid (they are seeded with seq, which the rowid keeps).
constexpr const char* kMigrateV1ToV2 = R"sql(
DROP TRIGGER entries_drop_chunks;
ALTER TABLE chunks RENAME TO chunks_v1;
DROP INDEX chunks_by_entry;
)sql";
constexpr const char* kCopyChunksV1 = R"sql(
INSERT INTO chunks(id, checksum, data)
  SELECT (entry_id << 24) | seq, checksum, data FROM chunks_v1 ORDER BY entry_id, seq;
DROP TABLE chunks_v1;
)sql";

// Version 3 adds what bounded caches, statistics and get-or-fill keep in the
// file (docs/design.md, "Schema"):
//   entries.used_at   least_recently_used's eviction order: updated_at at
//                     put, raised to the last access by its flushes; NULL
//                     under any other limits (version 4 on), so that their
//                     puts write no eviction index (entries_by_use is
//                     partial). Choosing least_recently_used fills it in.
//   usage             exact entries, bytes and entries with an expiry per
//                     namespace, and on the row of ns '' the same totals for
//                     the whole store, kept by the Writer in every write
//                     transaction; the counters (hits, misses, evictions,
//                     expirations) per namespace; next_expiry, a lower bound
//                     on the namespace's earliest expires_at (NULL: none),
//                     so eviction skips namespaces with nothing expired.
//   limits            one row: the limits every process honours.
//   leases            Cache::get_or_fill's fill leases, one per key.
constexpr const char* kAddV3 = R"sql(
ALTER TABLE entries ADD COLUMN used_at INTEGER;
CREATE INDEX entries_by_use ON entries(used_at) WHERE used_at IS NOT NULL;
CREATE TABLE usage (
  ns          TEXT NOT NULL PRIMARY KEY,
  entries     INTEGER NOT NULL DEFAULT 0,
  bytes       INTEGER NOT NULL DEFAULT 0,
  expiring    INTEGER NOT NULL DEFAULT 0,
  next_expiry INTEGER,
  hits        INTEGER NOT NULL DEFAULT 0,
  misses      INTEGER NOT NULL DEFAULT 0,
  evictions   INTEGER NOT NULL DEFAULT 0,
  expirations INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE limits (
  one         INTEGER PRIMARY KEY CHECK (one = 1),
  max_bytes   INTEGER NOT NULL,
  max_entries INTEGER NOT NULL,
  eviction    INTEGER NOT NULL
);
INSERT INTO limits VALUES (1, 0, 0, 0);
CREATE TABLE leases (
  ns         TEXT NOT NULL,
  key        TEXT NOT NULL,
  owner      TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (ns, key)
) WITHOUT ROWID;
CREATE INDEX leases_by_expiry ON leases(expires_at);
INSERT INTO usage(ns, entries, bytes, expiring, next_expiry)
  SELECT ns, count(*), sum(size), count(expires_at), min(expires_at)
  FROM entries WHERE ns IS NOT NULL GROUP BY ns;
INSERT INTO usage(ns, entries, bytes, expiring)
  SELECT '', count(*), coalesce(sum(size), 0), count(expires_at)
  FROM entries WHERE ns IS NOT NULL;
)sql";

// Version 4 orders least_recently_stored's evictions by rowid instead of
// used_at (the table is its own index; a replace takes a new row), so
// used_at is kept only for least_recently_used. Version 3 stamped it under
// any limits; the step clears it unless the file's policy is
// least_recently_used. The tables are version 3's.
std::string migration_v3_to_v4() {
  return "UPDATE entries SET used_at = NULL WHERE used_at IS NOT NULL"
         " AND (SELECT eviction FROM limits WHERE one = 1) != " +
         std::to_string(static_cast<int>(EvictionPolicy::least_recently_used));
}

// Version 5 drops entries_by_age: every put of an entry without an
// expiry wrote one of its pages, and every replace two (updated_at moves
// the entry to the index's end), for the sake of erase_expired with a ttl,
// which now reads the namespace's entries through entries_by_name instead
// (docs/design.md, "Schema"; docs/performance.md, tenth session).
constexpr const char* kMigrateV4ToV5 = "DROP INDEX IF EXISTS entries_by_age";

std::int64_t pragma_int(Connection& connection, const char* name) {
  return connection.db().execAndGet(std::string("PRAGMA ") + name).getInt64();
}

void require_supported(std::int64_t version, std::int64_t application_id, const std::string& file) {
  if (application_id != 0 && application_id != kApplicationId) {
    throw_error(Errc::unsupported, "open " + file + ": not a blobcache file (application_id " +
                                       std::to_string(application_id) + ")");
  }
  if (version > kSchemaVersion) {
    throw_error(Errc::unsupported, "open " + file + ": schema version " + std::to_string(version) +
                                       " is newer than this library's (" +
                                       std::to_string(kSchemaVersion) + "); upgrade blobcache");
  }
}

// A new file is created as version 2 and migrated: created and migrated
// files have one schema.
void create_v2(Connection& connection) {
  connection.db().exec(kEntriesV1);
  connection.db().exec(kChunksV2);
}

void migrate_v2_to_v3(Connection& connection) { connection.db().exec(kAddV3); }
void migrate_v3_to_v4(Connection& connection) { connection.db().exec(migration_v3_to_v4()); }
void migrate_v4_to_v5(Connection& connection) { connection.db().exec(kMigrateV4ToV5); }

void migrate_v1_to_v2(Connection& connection, const std::string& file) {
  auto& db = connection.db();
  // A v1 chunk whose seq does not fit the rowid's 24 bits cannot move.
  if (db.execAndGet("SELECT count(*) FROM chunks WHERE seq < 0 OR seq > 16777215 OR entry_id < 0"
                    " OR entry_id >= 1 << 39")
          .getInt64() != 0) {
    throw_error(Errc::unsupported, "open " + file + ": a version 1 chunk cannot move to version 2");
  }
  db.exec(kMigrateV1ToV2);
  db.exec(kChunksV2);
  db.exec(kCopyChunksV1);
}

std::string problems_of(Connection& connection, const char* pragma) {
  SQLite::Statement check(connection.db(), pragma);
  std::string problems;
  while (check.executeStep()) {
    const std::string line = check.getColumn(0).getString();
    if (const int read_failure = read_failure_in_check(line); read_failure != 0) {
      throw SQLite::Exception(line, read_failure);
    }
    if (line != "ok") problems += (problems.empty() ? "" : "; ") + line;
  }
  return problems;
}

}  // namespace

void prepare_schema(Connection& connection, int page_size) {
  auto& db = connection.db();
  const std::string file = db.getFilename();
  if (pragma_int(connection, "page_count") == 0) {  // a new file: both only apply to one
    db.exec("PRAGMA page_size = " + std::to_string(page_size));
    // With pointer-map pages, freeing a value's overflow chain needs no read
    // of its pages (SQLite finds each next page in the map), so an eviction
    // costs what it writes; and compact() gives free pages back without
    // rewriting the file (docs/design.md, "Eviction"). Never on a file that
    // has pages: there the pragma is a write transaction.
    db.exec("PRAGMA auto_vacuum = " + std::to_string(kIncrementalVacuum));
  }
  // Each execAndGet in its own statement: its Column keeps the query open.
  const std::string mode = db.execAndGet("PRAGMA journal_mode").getString();
  if (mode != "wal" && db.execAndGet("PRAGMA journal_mode = WAL").getString() != "wal") {
    // Another connection held the file: let the caller retry like a lock wait.
    throw SQLite::Exception("could not switch the journal to WAL", SQLITE_BUSY);
  }
  // Fast path for every open but the first: no write lock needed.
  std::int64_t version = pragma_int(connection, "user_version");
  require_supported(version, pragma_int(connection, "application_id"), file);
  if (version == kSchemaVersion) return;

  Transaction transaction(connection, Transaction::Kind::write);
  // Re-read under the write lock: another process may have done it.
  version = pragma_int(connection, "user_version");
  const std::int64_t application_id = pragma_int(connection, "application_id");
  require_supported(version, application_id, file);
  if (version == 0) {
    // Only a file without anything in it becomes a store (the open checked
    // that before writing; this holds it under the write lock).
    if (application_id != kApplicationId &&
        db.execAndGet("SELECT count(*) FROM sqlite_master").getInt64() != 0) {
      throw_error(Errc::unsupported,
                  "open " + file + ": not a blobcache file (it holds another program's tables)");
    }
    create_v2(connection);
  } else if (version == 1) {
    migrate_v1_to_v2(connection, file);
  }
  // From version 2 on, one step per version, in order.
  if (version < 3) migrate_v2_to_v3(connection);
  if (version < 4) migrate_v3_to_v4(connection);
  if (version < 5) migrate_v4_to_v5(connection);
  db.exec("PRAGMA application_id = " + std::to_string(kApplicationId));
  db.exec("PRAGMA user_version = " + std::to_string(kSchemaVersion));
  transaction.commit();
}

std::string check_at_open(Connection& connection) {
  // The argument limits the walk to one table and its indexes (SQLite >=
  // 3.33); the page count check happens as the statement's read begins.
  return problems_of(connection, "PRAGMA quick_check(entries)");
}

std::string quick_check(Connection& connection) {
  return problems_of(connection, "PRAGMA quick_check");
}

void check_schema_read_only(Connection& connection) {
  const std::string file = connection.db().getFilename();
  const std::int64_t version = pragma_int(connection, "user_version");
  require_supported(version, pragma_int(connection, "application_id"), file);
  if (version < kSchemaVersion) {
    throw_error(Errc::unsupported, "open " + file + " read-only: schema version " +
                                       std::to_string(version) +
                                       " must first be created or migrated by a writable open");
  }
}

}  // namespace blobcache::detail
