// Opening a file: what is refused, what is created, which options are
// wrong, and what a reader may do after its store is gone.
#include <SQLiteCpp/Database.h>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "blobcache/error.hpp"
#include "blobcache/sqlite_store.hpp"

#include "catch_compat.hpp"
#include "errc_of.hpp"
#include "temp_dir.hpp"

namespace blobcache {
namespace {

namespace fs = std::filesystem;
using test::errc_of;
using test::message_of;

// Every file of `folder` with its bytes.
std::map<std::string, std::string> snapshot(const fs::path& folder) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::directory_iterator(folder)) {
    std::ifstream in(entry.path(), std::ios::binary);
    files[entry.path().filename().string()] =
        std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return files;
}

// The file format versions in the header (bytes 18 and 19): 1 rollback
// journal, 2 WAL. Read from the bytes: opening a WAL file with SQLite
// would create its -wal and -shm.
std::string journal_format_of(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string header(100, '\0');
  in.read(header.data(), 100);
  return header.substr(18, 2);
}

// Databases other programs make, each the way that program would.
struct Foreign {
  const char* name;
  const char* sql;
};
constexpr Foreign kForeign[] = {
    // A browser's history, rollback journal (SQLite's default).
    {"places",
     "CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT, title TEXT);"
     "INSERT INTO moz_places(url, title) VALUES('https://example.com/', 'Example');"},
    // A table that happens to share blobcache's name.
    {"entries",
     "CREATE TABLE entries (name TEXT, value INTEGER);"
     "INSERT INTO entries VALUES('a', 1);"},
    // No table at all, but a version of its own.
    {"versioned", "PRAGMA user_version = 1;"},
    // A WAL database of another program, closed cleanly.
    {"wal", "PRAGMA journal_mode = WAL; CREATE TABLE t(x); INSERT INTO t VALUES(1);"},
    // Another program's application_id.
    {"app-id", "PRAGMA application_id = 305419896; CREATE TABLE t(x);"},
};

TEST_CASE(
    "regression: another application's SQLite file is refused and left byte-for-byte "
    "untouched",
    "[sqlite][open][foreign]") {
  const Foreign foreign = GENERATE(from_range(std::begin(kForeign), std::end(kForeign)));
  INFO("file: " << foreign.name);
  const test::TempDir dir;
  const fs::path file = dir / (std::string(foreign.name) + ".sqlite");
  {
    SQLite::Database db(file.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec(foreign.sql);
  }
  const auto before = snapshot(dir.path());
  const std::string mode = journal_format_of(file);

  // Generated once for the whole case, so the path is filled in here.
  SqliteOptions options = GENERATE(SqliteOptions{.on_corruption = OnCorruption::raise},
                                   SqliteOptions{.on_corruption = OnCorruption::quarantine},
                                   SqliteOptions{.read_only = true});
  options.path = file;
  const std::string message = message_of([&] { SqliteStore store(options); });
  CHECK(errc_of([&] { SqliteStore store(options); }) == Errc::unsupported);
  CHECK(message.find("not a blobcache file") != std::string::npos);
  CHECK(message.find(file.string()) != std::string::npos);
  CHECK(snapshot(dir.path()) == before);  // the same files, the same bytes: no -wal, no -shm
  CHECK(journal_format_of(file) == mode);
}

TEST_CASE("another application's WAL file in use is refused untouched too",
          "[sqlite][open][foreign]") {
  const test::TempDir dir;
  const fs::path file = dir / "busy.sqlite";
  // The other program keeps its connection, with commits only in its -wal.
  SQLite::Database other(file.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  other.exec(
      "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;"
      "CREATE TABLE t(x); INSERT INTO t VALUES(1);");
  // Its -shm is shared memory every reader writes its read locks into, so
  // only the database and its -wal are compared.
  const auto without_shm = [&] {
    auto files = snapshot(dir.path());
    files.erase("busy.sqlite-shm");
    return files;
  };
  const auto before = without_shm();
  REQUIRE(before.count("busy.sqlite-wal") == 1);
  CHECK(errc_of([&] { SqliteStore store({.path = file}); }) == Errc::unsupported);
  CHECK(without_shm() == before);
  CHECK(other.execAndGet("SELECT count(*) FROM t").getInt() == 1);
}

TEST_CASE("an SQLite file with nothing in it becomes a store", "[sqlite][open]") {
  const test::TempDir dir;
  const fs::path file = dir / "empty.sqlite";
  {
    SQLite::Database db(file.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("VACUUM");  // writes the header page: a valid, empty database
  }
  REQUIRE(fs::file_size(file) > 0);
  SqliteStore store({.path = file});
  store.put("ns", "k", std::string_view("v"));
  CHECK(store.get("ns", "k")->text() == "v");
}

TEST_CASE("a file that is not SQLite at all is damaged, not foreign: quarantined",
          "[sqlite][open]") {
  const test::TempDir dir;
  const fs::path file = dir / "garbage.db";
  std::ofstream(file, std::ios::binary) << std::string(8192, 'g');
  CHECK(errc_of([&] { SqliteStore store({.path = file, .on_corruption = OnCorruption::raise}); }) ==
        Errc::corrupt);
  SqliteStore store({.path = file});
  CHECK(store.quarantined().has_value());
}

TEST_CASE("regression: bad SqliteOptions are invalid_argument, before any file is made",
          "[sqlite][open][options]") {
  const test::TempDir dir;
  const fs::path file = dir / "sub" / "options.db";
  // Generated once for the whole case, so the path is filled in here.
  SqliteOptions bad =
      GENERATE(SqliteOptions{.path = "set below", .max_file_bytes = -1},
               SqliteOptions{.path = "set below", .max_file_bytes = 1},
               SqliteOptions{.path = "set below", .max_file_bytes = 16384},
               SqliteOptions{.path = "set below", .busy_timeout = std::chrono::milliseconds(-1)},
               SqliteOptions{.path = {}});
  if (!bad.path.empty()) bad.path = file;
  const std::string message = message_of([&] { SqliteStore store(bad); });
  INFO(message);
  CHECK(errc_of([&] { SqliteStore store(bad); }) == Errc::invalid_argument);
  CHECK_FALSE(fs::exists(dir / "sub"));
  // One sentence naming the option; no category text appended.
  CHECK(message.find("SqliteOptions::") != std::string::npos);
  SqliteStore good({.path = file, .max_file_bytes = 1024 * 1024});
}

TEST_CASE("messages of whole-file operations read as one phrase", "[sqlite][open]") {
  const test::TempDir dir;
  const fs::path file = dir / "ro.db";
  { SqliteStore create({.path = file}); }
  SqliteStore store({.path = file, .read_only = true});
  const std::string message = message_of([&] { store.erase_namespace("ns"); });
  CHECK(message.find("erase_namespace \"ns\" in " + file.string() +
                     ": the store was opened read-only") == 0);
  const std::string open_message =
      message_of([&] { SqliteStore missing({.path = dir / "missing.db", .read_only = true}); });
  CHECK(open_message.find("open " + (dir / "missing.db").string() + " read-only") == 0);
}

TEST_CASE("regression: a BlobReader that outlives its SqliteStore keeps reading",
          "[sqlite][open][reader]") {
  // It used to return its connection to the destroyed store's pool (a
  // use-after-free that ASan reports).
  const test::TempDir dir;
  std::minstd_rand random(7);
  Bytes value(700 * 1024);
  std::generate(value.begin(), value.end(), [&] { return static_cast<std::byte>(random()); });
  auto store = std::make_shared<SqliteStore>(SqliteOptions{.path = dir / "outlived.db"});
  store->put("ns", "k", value);
  auto reader = store->open("ns", "k");
  REQUIRE(reader != nullptr);
  store.reset();  // the last owner of the store
  Bytes read;
  Bytes buffer(100'000);
  while (const std::size_t n = reader->read(buffer)) {
    read.insert(read.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
  }
  CHECK(read == value);
  reader.reset();
  // The file is whole and closed: a new store opens it and finds the entry.
  SqliteStore again({.path = dir / "outlived.db"});
  CHECK(again.get("ns", "k")->data == value);
}

}  // namespace
}  // namespace blobcache
