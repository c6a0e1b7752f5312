// The on-disk schema: the chunk rowid layout, its limits, and the migration
// from version 1.
#include "sqlite/schema.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <signal.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "blobcache/error.hpp"
#include "blobcache/sqlite_store.hpp"

#include "bytes.hpp"
#include "catch_compat.hpp"
#include "errc_of.hpp"
#include "sha256_hex.hpp"
#include "sqlite/rows.hpp"
#include "sqlite/test_seams.hpp"
#include "temp_dir.hpp"

namespace blobcache {
namespace {

using test::errc_of;

Bytes pattern(std::size_t size, std::uint32_t seed) {
  std::minstd_rand generator(seed + 1);
  Bytes bytes(size);
  std::generate(bytes.begin(), bytes.end(),
                [&] { return static_cast<std::byte>(generator() >> 7); });
  return bytes;
}

std::int64_t integer_of(const std::filesystem::path& file, const std::string& sql) {
  SQLite::Database db(file.string(), SQLite::OPEN_READONLY);
  return db.execAndGet(sql).getInt64();
}

// Version 1 as the library of 2026-11-23 wrote it.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE entries (
  id INTEGER PRIMARY KEY, ns TEXT, key TEXT, size INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  expires_at INTEGER, etag TEXT NOT NULL, content_type TEXT NOT NULL, metadata BLOB NOT NULL);
CREATE UNIQUE INDEX entries_by_name ON entries(ns, key);
CREATE INDEX entries_by_expiry ON entries(ns, expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX entries_by_age ON entries(ns, updated_at) WHERE expires_at IS NULL;
CREATE TABLE chunks (
  id INTEGER PRIMARY KEY, entry_id INTEGER NOT NULL, seq INTEGER NOT NULL,
  checksum INTEGER NOT NULL, data BLOB NOT NULL);
CREATE UNIQUE INDEX chunks_by_entry ON chunks(entry_id, seq);
CREATE TRIGGER entries_drop_chunks AFTER DELETE ON entries
BEGIN DELETE FROM chunks WHERE entry_id = OLD.id; END;
PRAGMA application_id = 1114399299;
PRAGMA user_version = 1;
)sql";

// Writes `value` as entry `id` in a version 1 file, chunks of `chunk` bytes
// stored out of rowid order (version 1 found them through its index).
void insert_v1_entry(SQLite::Database& db, std::int64_t id, const std::string& key,
                     const Bytes& value, std::size_t chunk) {
  SQLite::Statement entry(
      db,
      "INSERT INTO entries VALUES(?1, 'ns', ?2, ?3, 1, NULL, ?4, 'application/octet-stream', x'')");
  entry.bind(1, id);
  entry.bind(2, key);
  entry.bind(3, static_cast<std::int64_t>(value.size()));
  entry.bind(4, std::string(64, '0'));
  entry.exec();
  const std::int64_t chunks = static_cast<std::int64_t>((value.size() + chunk - 1) / chunk);
  for (std::int64_t seq = chunks - 1; seq >= 0; --seq) {
    const auto offset = static_cast<std::size_t>(seq) * chunk;
    const BytesView bytes =
        BytesView(value).subspan(offset, std::min(chunk, value.size() - offset));
    SQLite::Statement insert(
        db, "INSERT INTO chunks(entry_id, seq, checksum, data) VALUES(?1, ?2, ?3, ?4)");
    insert.bind(1, id);
    insert.bind(2, seq);
    insert.bind(3, detail::chunk_checksum(bytes, seq));
    insert.bind(4, bytes.data(), static_cast<int>(bytes.size()));
    insert.exec();
  }
}

TEST_CASE("a chunk's rowid is its entry's id and its seq; limits give clear errors",
          "[sqlite][schema]") {
  const detail::Where where{.operation = "put", .file = "x.db", .ns = "ns", .key = "k"};
  CHECK(detail::chunk_rowid(5, 3, where) == (std::int64_t{5} << 24 | 3));
  CHECK(detail::chunk_rowid(detail::kMaxEntryId, detail::kMaxChunksPerValue - 1, where) ==
        std::numeric_limits<std::int64_t>::max());
  CHECK(errc_of([&] { detail::chunk_rowid(5, detail::kMaxChunksPerValue, where); }) ==
        Errc::too_large);
  CHECK(errc_of([&] { detail::chunk_rowid(5, -1, where); }) == Errc::too_large);
  CHECK(errc_of([&] { detail::chunk_rowid(detail::kMaxEntryId + 1, 0, where); }) ==
        Errc::unsupported);
}

TEST_CASE("an entry's chunks sit at computed rowids and need no index", "[sqlite][schema]") {
  const test::TempDir dir;
  const auto file = dir / "layout.db";
  detail::Tuning tuning;
  tuning.chunk_size = 1000;
  {
    const auto store = detail::SqliteStoreAccess::open({.path = file}, tuning);
    store->put("ns", "a", pattern(2500, 1));
    store->put("ns", "b", pattern(10, 2));
  }
  const std::int64_t a = integer_of(file, "SELECT id FROM entries WHERE key = 'a'");
  const std::int64_t b = integer_of(file, "SELECT id FROM entries WHERE key = 'b'");
  CHECK(integer_of(file, "SELECT group_concat(id) = " + std::to_string(a << 24) + " || ',' || " +
                             std::to_string((a << 24) | 1) + " || ',' || " +
                             std::to_string((a << 24) | 2) + " || ',' || " +
                             std::to_string(b << 24) +
                             " FROM (SELECT id FROM chunks ORDER BY id)") == 1);
  CHECK(integer_of(
            file,
            "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'chunks'") ==
        0);
  CHECK(integer_of(file, "PRAGMA user_version") == detail::kSchemaVersion);
}

TEST_CASE("a put of more chunks than a value may hold is too_large and stores nothing",
          "[sqlite][schema]") {
  const test::TempDir dir;
  const auto file = dir / "big.db";
  detail::Tuning tuning;
  tuning.chunk_size = 1;
  const auto store = detail::SqliteStoreAccess::open({.path = file}, tuning);
  store->put("ns", "k", std::string_view("old"));
  const Bytes value(static_cast<std::size_t>(detail::kMaxChunksPerValue) + 1, std::byte{7});
  CHECK(errc_of([&] { store->put("ns", "k", value); }) == Errc::too_large);
  CHECK(store->get("ns", "k")->text() == "old");
}

TEST_CASE("a hand-written version 1 file is migrated at open, values intact", "[sqlite][schema]") {
  const test::TempDir dir;
  const auto file = dir / "v1.db";
  const Bytes big = pattern(2500, 3);
  const Bytes small = pattern(999, 4);
  {
    SQLite::Database db(file.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("PRAGMA page_size = 16384; PRAGMA journal_mode = WAL;");
    db.exec(kSchemaV1);
    insert_v1_entry(db, 7, "big", big, 1000);
    insert_v1_entry(db, 9, "small", small, 1000);
    insert_v1_entry(db, 11, "empty", {}, 1000);
  }
  SECTION("a read-only open asks for a writable one first") {
    CHECK(errc_of([&] { SqliteStore store({.path = file, .read_only = true}); }) ==
          Errc::unsupported);
  }
  SECTION("a writable open migrates") {
    SqliteStore store({.path = file});
    CHECK(integer_of(file, "PRAGMA user_version") == detail::kSchemaVersion);
    CHECK(
        integer_of(
            file,
            "SELECT count(*) FROM sqlite_schema WHERE name IN ('chunks_by_entry', 'chunks_v1')") ==
        0);
    CHECK(store.get("ns", "big")->data == big);
    CHECK(store.get("ns", "small")->data == small);
    CHECK(store.get("ns", "empty")->data.empty());
    CHECK_NOTHROW(store.check());
    store.erase("ns", "big");  // the new trigger removes exactly its chunks
    CHECK(integer_of(file, "SELECT count(*) FROM chunks") == 1);
    CHECK(store.get("ns", "small")->data == small);
  }
}

// The seven entries tests/sqlite/data/make_fixture.cpp writes, as every
// version of the library must read them.
struct FixtureEntry {
  const char* ns;
  const char* key;
  Bytes value;
  std::string content_type;
  std::optional<TimePoint> expires_at;
  std::map<std::string, std::string> metadata;
};

std::vector<FixtureEntry> fixture_entries() {
  using namespace std::chrono_literals;
  const auto text = [](std::string_view t) {
    return Bytes(as_bytes(t).begin(), as_bytes(t).end());
  };
  return {
      {"docs",
       "readme",
       text("hello, old version"),
       "text/plain",
       std::nullopt,
       {{"lang", "en"}, {"", "empty name"}}},
      {"docs",
       "expired",
       test::pattern(1000, 1),
       "",
       TimePoint{} + 1'600'000'000'000'000'000ns,
       {}},
      {"docs", "later", test::pattern(5000, 2), "", TimePoint{} + 4'000'000'000'000'000'000ns, {}},
      {"docs", "empty", {}, "", std::nullopt, {}},
      {"media/video",
       "two-chunks",
       test::pattern(256 * 1024 + 4096, 3),
       "video/mp4",
       std::nullopt,
       {}},
      {"media/video", "streamed", Bytes(70'000, std::byte{'z'}), "", std::nullopt, {}},
      {"other", "a/b/c", test::pattern(100, 4), "", std::nullopt, {}},
  };
}

// A copy of a kept old-version file in a fresh folder (the original stays
// as it was written).
std::filesystem::path copy_of_fixture(const test::TempDir& dir, const std::string& name) {
  const std::filesystem::path source = std::filesystem::path(BLOBCACHE_TEST_DATA) / (name + ".db");
  const std::filesystem::path target = dir / (name + ".db");
  std::filesystem::copy_file(source, target);
  std::filesystem::permissions(
      target, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return target;
}

TEST_CASE(
    "files written by the version 1, 2, 3 and 4 libraries migrate at open, every entry intact, "
    "their accounting equal to a recount",
    "[sqlite][schema][migration]") {
  using namespace std::chrono_literals;
  const int old_version = GENERATE(1, 2, 3, 4);
  const std::string version = "schema-v" + std::to_string(old_version);
  INFO(version);
  const test::TempDir dir;
  const auto file = copy_of_fixture(dir, version);
  CHECK(integer_of(file, "PRAGMA user_version") == old_version);
  if (old_version == 3) {
    // Written with limits (least_recently_stored), which version 3 kept in used_at.
    CHECK(integer_of(file, "SELECT count(*) FROM entries WHERE used_at IS NOT NULL") == 7);
  }
  const auto schema_has = [&](const char* name) {
    return integer_of(file, std::string("SELECT count(*) FROM sqlite_schema WHERE name = '") +
                                name + "'") == 1;
  };
  CHECK(schema_has("entries_by_age"));
  constexpr std::int64_t kReadmeUsedAt = 1796288072597579961;  // schema-v4.db's one access
  SqliteStore store({.path = file});
  CHECK(integer_of(file, "PRAGMA user_version") == detail::kSchemaVersion);
  // Version 5 writes no index of ages; the others stay.
  CHECK_FALSE(schema_has("entries_by_age"));
  CHECK(schema_has("entries_by_name"));
  CHECK(schema_has("entries_by_expiry"));
  if (old_version == 4) {
    // Written with least_recently_used limits: the eviction order stays as it was.
    CHECK(integer_of(file, "SELECT used_at FROM entries WHERE key = 'readme'") == kReadmeUsedAt);
    CHECK(integer_of(file, "SELECT count(*) FROM entries WHERE used_at IS NOT NULL") == 7);
  }
  const TimePoint written = TimePoint{} + 1'700'000'000'123'456'789ns;  // the fixture's clock
  for (const FixtureEntry& expected : fixture_entries()) {
    INFO(expected.ns << "/" << expected.key);
    const auto blob = store.get(expected.ns, expected.key);
    REQUIRE(blob.has_value());
    CHECK(blob->data == expected.value);
    CHECK(blob->meta.size == static_cast<std::int64_t>(expected.value.size()));
    CHECK(blob->meta.etag == test::sha256_hex(expected.value));
    CHECK(blob->meta.content_type == expected.content_type);
    CHECK(blob->meta.expires_at == expected.expires_at);
    CHECK(blob->meta.metadata == expected.metadata);
    CHECK(blob->meta.updated_at == written);
  }
  // The accounting a version 3 store keeps, counted at migration.
  const Stats stats = store.stats();
  CHECK(stats.entries == 7);
  std::int64_t bytes = 0;
  for (const FixtureEntry& entry : fixture_entries())
    bytes += static_cast<std::int64_t>(entry.value.size());
  CHECK(stats.bytes == bytes);
  REQUIRE(stats.namespaces.size() == 3);
  CHECK(stats.namespaces[0].ns == "docs");
  CHECK(stats.namespaces[0].entries == 4);
  CHECK(stats.namespaces[1].ns == "media/video");
  CHECK(stats.namespaces[1].entries == 2);
  CHECK_NOTHROW(store.check());  // includes the accounting against a recount
  CHECK(store.verify().ok());
  if (old_version < 4) {
    // Version 4 orders least_recently_stored by rowid: used_at is gone.
    CHECK(integer_of(file, "SELECT count(*) FROM entries WHERE used_at IS NOT NULL") == 0);
  }
  if (old_version == 3) {
    // The limits, and the counters, the version 3 library kept.
    CHECK(store.limits() == Limits{.max_bytes = 100 << 20, .max_entries = 100});
    CHECK(stats.hits == 8);  // the fixture's one read, and the seven above
  }
  if (old_version == 4) {
    CHECK(store.limits() == Limits{.max_bytes = 100 << 20,
                                   .max_entries = 100,
                                   .eviction = EvictionPolicy::least_recently_used});
    CHECK(stats.hits == 8);
  }
  // Expiry still works on migrated entries, and counts.
  CHECK(store.erase_expired("docs", TimePoint{} + 1'700'000'000'000'000'000ns, 0ns) == 1);
  CHECK(store.stats().expirations == 1);
  CHECK_NOTHROW(store.check());
  if (old_version == 3) {
    // At the bound, the first entry put goes first.
    store.set_limits({.max_bytes = 100 << 20, .max_entries = 6});
    store.put("other", "new", std::string_view("v"));
    CHECK_FALSE(store.get("docs", "readme").has_value());
    CHECK(store.get("docs", "later").has_value());
    CHECK_NOTHROW(store.check());
  }
  // Expiry by age reads the namespace without the dropped index: its two
  // entries, without an expiry, were written in 2023.
  CHECK(store.erase_expired("media/video", TimePoint{} + 1'800'000'000'000'000'000ns, 1h) == 2);
  CHECK_FALSE(store.get("media/video", "streamed").has_value());
  CHECK_NOTHROW(store.check());
}

// A migration runs inside the open's write transaction: a process killed in
// the middle of it leaves the old version or the new one, never a mix.
TEST_CASE("a process SIGKILLed while it migrates a file leaves it whole, old or new",
          "[sqlite][schema][migration][process]") {
  std::mt19937 random(7);
  int migrated = 0;
  for (int round = 0; round < 12; ++round) {
    INFO("round " << round);
    const test::TempDir dir;
    const auto file = copy_of_fixture(dir, "schema-v4");
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      try {
        SqliteStore store({.path = file});
      } catch (...) {
        std::_Exit(1);
      }
      std::_Exit(0);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(random() % 4000));
    ::kill(child, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK((WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0)));
    const std::int64_t version = integer_of(file, "PRAGMA user_version");
    CHECK((version == 4 || version == detail::kSchemaVersion));
    if (version == detail::kSchemaVersion) ++migrated;
    SqliteStore store({.path = file});
    for (const FixtureEntry& expected : fixture_entries()) {
      INFO(expected.ns << "/" << expected.key);
      const auto blob = store.get(expected.ns, expected.key);
      REQUIRE(blob.has_value());
      CHECK(blob->data == expected.value);
    }
    CHECK(store.stats().entries == 7);
    CHECK_NOTHROW(store.check());
  }
  INFO("migrated before the kill in " << migrated << " rounds of 12");
  SUCCEED();
}

TEST_CASE(
    "compact() converts a file of an earlier version to incremental auto_vacuum, every entry "
    "intact",
    "[sqlite][schema][migration][compact]") {
  const int old_version = GENERATE(1, 2, 3);  // version 4 files are created incremental
  const std::string version = "schema-v" + std::to_string(old_version);
  INFO(version);
  const test::TempDir dir;
  const auto file = copy_of_fixture(dir, version);
  CHECK(integer_of(file, "PRAGMA auto_vacuum") == 0);
  SqliteStore store({.path = file});
  // Opening migrates the schema but never rewrites the file.
  CHECK(integer_of(file, "PRAGMA auto_vacuum") == 0);
  store.erase("media/video", "two-chunks");  // free pages for the compact to give back
  const SqliteStore::CompactReport report = store.compact();
  INFO(report.bytes_before << " -> " << report.bytes_after);
  CHECK(report.bytes_after < report.bytes_before);
  CHECK(integer_of(file, "PRAGMA auto_vacuum") == detail::kIncrementalVacuum);
  CHECK(integer_of(file, "PRAGMA freelist_count") == 0);
  // The VACUUM built its copy in a file; the connection keeps temporary
  // files in memory again (2: MEMORY) for the group commits' savepoints.
  CHECK(detail::SqliteStoreAccess::pragma(store, "temp_store") == "2");
  for (const FixtureEntry& expected : fixture_entries()) {
    INFO(expected.ns << "/" << expected.key);
    const auto blob = store.get(expected.ns, expected.key);
    if (std::string_view(expected.key) == "two-chunks") {
      CHECK_FALSE(blob.has_value());
      continue;
    }
    REQUIRE(blob.has_value());
    CHECK(blob->data == expected.value);
    CHECK(blob->meta.metadata == expected.metadata);
  }
  CHECK(store.stats().entries == 6);
  CHECK_NOTHROW(store.check());
  CHECK(store.verify().ok());
  // Converted: the next compact takes the incremental path and frees again.
  store.erase("media/video", "streamed");
  store.compact();
  CHECK(integer_of(file, "PRAGMA freelist_count") == 0);
  CHECK(store.get("docs", "readme")->data == fixture_entries()[0].value);
  CHECK_NOTHROW(store.check());
}

TEST_CASE("a new file has its usage, limits and leases tables and the partial eviction index",
          "[sqlite][schema]") {
  const test::TempDir dir;
  const auto file = dir / "new.db";
  { SqliteStore store({.path = file}); }
  CHECK(integer_of(file, "PRAGMA user_version") == detail::kSchemaVersion);
  // Pointer-map pages: evictions free overflow chains without reading them.
  CHECK(integer_of(file, "PRAGMA auto_vacuum") == detail::kIncrementalVacuum);
  for (const char* name : {"usage", "limits", "leases", "entries_by_use", "leases_by_expiry"}) {
    INFO(name);
    CHECK(integer_of(file, std::string("SELECT count(*) FROM sqlite_schema WHERE name = '") + name +
                               "'") == 1);
  }
  // Version 5: no index of ages (each put of an entry without an expiry wrote a page of it).
  CHECK(integer_of(file, "SELECT count(*) FROM sqlite_schema WHERE name = 'entries_by_age'") == 0);
  CHECK(integer_of(file, "SELECT count(*) FROM usage WHERE ns = ''") == 1);
  CHECK(integer_of(file, "SELECT max_bytes + max_entries + eviction FROM limits") == 0);
}

}  // namespace
}  // namespace blobcache
