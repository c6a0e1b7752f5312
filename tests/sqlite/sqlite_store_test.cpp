// SqliteStore: the store contract and the guarantees of the SQLite backend.
#include "blobcache/sqlite_store.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <algorithm>
#include <atomic>
#include <fstream>
#include <random>
#include <set>
#include <sqlite3.h>
#include <sstream>
#include <streambuf>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "blobcache/error.hpp"
#include "blobcache/testing/contract.hpp"

#include "catch_compat.hpp"
#include "child_process.hpp"
#include "errc_of.hpp"
#include "sqlite/connection.hpp"
#include "temp_dir.hpp"

namespace blobcache {
namespace {

using namespace std::chrono_literals;

using test::errc_of;
using test::message_of;

// Deterministic bytes that differ by `seed`.
Bytes pattern(std::size_t size, std::uint32_t seed) {
  std::minstd_rand generator(seed + 1);
  Bytes bytes(size);
  std::generate(bytes.begin(), bytes.end(),
                [&] { return static_cast<std::byte>(generator() >> 7); });
  return bytes;
}

std::string file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

unsigned mode_of(const std::filesystem::path& path) {
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  return info.st_mode & 07777U;
}

std::set<std::string> names_in(const std::filesystem::path& folder) {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(folder))
    names.insert(entry.path().filename().string());
  return names;
}

// Rows of `sql` on a separate raw connection (what another program sees).
std::int64_t count_rows(const std::filesystem::path& file, const std::string& sql) {
  SQLite::Database db(file.string(), SQLite::OPEN_READONLY);
  return db.execAndGet(sql).getInt64();
}

std::string query_plan(SQLite::Database& db, const char* sql) {
  SQLite::Statement explain(db, std::string("EXPLAIN QUERY PLAN ") + sql);
  std::string plan;
  while (explain.executeStep()) plan += explain.getColumn(3).getString() + "\n";
  return plan;
}

// Waits for a forked child; its exit code, or -1 when a signal ended it.
int wait_child(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -2;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_CASE("SqliteStore keeps the store contract", "[sqlite][contract]") {
  const test::TempDir dir;
  testing::run_store_contract({
      .open = [&](const std::string& backing) -> std::shared_ptr<Store> {
        return std::make_shared<SqliteStore>(SqliteOptions{.path = dir / (backing + ".db")});
      },
      .persistent = true,
  });
}

TEST_CASE("child: write an entry for the parent", "[.child_writer]") {
  SqliteStore store({.path = test::child_env("BLOBCACHE_TEST_DB")});
  store.put("cross", "process", pattern(1'000'000, 3),
            {.content_type = "application/x-test",
             .expires_at = TimePoint{} + 42ns,
             .metadata = {{"by", "child"}}});
}

TEST_CASE("data written by another process is read back", "[sqlite][process]") {
  const test::TempDir dir;
  const auto file = dir / "shared.db";
  const auto child =
      test::run_child_test("[.child_writer]", {{"BLOBCACHE_TEST_DB", file.string()}});
  REQUIRE(child.exit_code == 0);
  SqliteStore store({.path = file});
  const auto got = store.get("cross", "process");
  REQUIRE(got.has_value());
  CHECK(got->data == pattern(1'000'000, 3));
  CHECK(got->meta.content_type == "application/x-test");
  CHECK(got->meta.expires_at == TimePoint{} + 42ns);
  CHECK(got->meta.metadata == std::map<std::string, std::string>{{"by", "child"}});
}

TEST_CASE("describe() and check() on a healthy store", "[sqlite]") {
  const test::TempDir dir;
  SqliteStore store({.path = dir / "c.db"});
  const Info info = store.describe();
  CHECK(info.backend == "sqlite");
  CHECK(info.root == (dir / "c.db").string());
  CHECK(info.supports_list);
  CHECK(info.supports_stream);
  CHECK(info.supports_delete_namespace);
  CHECK(store.path() == dir / "c.db");
  CHECK_FALSE(store.quarantined().has_value());
  store.put("ns", "k", std::string_view("v"));
  CHECK_NOTHROW(store.check());
}

TEST_CASE("erase_expired and erase_namespace are single indexed statements", "[sqlite][plan]") {
  const test::TempDir dir;
  const auto file = dir / "plan.db";
  { SqliteStore store({.path = file}); }
  SQLite::Database db(file.string(), SQLite::OPEN_READONLY);
  for (const auto id :
       {detail::Sql::erase_expired_by_expiry, detail::Sql::erase_expired_by_expiry_or_age,
        detail::Sql::erase_namespace}) {
    const std::string plan = query_plan(db, detail::sql_text(id));
    INFO(detail::sql_text(id) << "\n" << plan);
    CHECK(plan.find("SCAN") == std::string::npos);
    CHECK(plan.find("SEARCH entries USING") != std::string::npos);
    if (id == detail::Sql::erase_namespace) {
      CHECK(plan.find("entries_by_name") != std::string::npos);
    } else {
      CHECK(plan.find("entries_by_expiry") != std::string::npos);
    }
    if (id == detail::Sql::erase_expired_by_expiry_or_age) {
      CHECK(plan.find("entries_by_age") != std::string::npos);
    }
  }
  // Reads stream chunks in order from the index: no sort holding every chunk.
  for (const auto id : {detail::Sql::get_entry_with_chunks, detail::Sql::get_entry_with_chunk_ids,
                        detail::Sql::read_chunk, detail::Sql::list_entries}) {
    const std::string plan = query_plan(db, detail::sql_text(id));
    INFO(detail::sql_text(id) << "\n" << plan);
    CHECK(plan.find("SCAN") == std::string::npos);
    CHECK(plan.find("TEMP B-TREE") == std::string::npos);
  }
}

TEST_CASE(
    "the folder holds only the database, SQLite's -wal/-shm and the change log, and only "
    "the database once the store is closed",
    "[sqlite][files]") {
  const test::TempDir dir;
  const auto folder = dir / "cache";
  const auto file = folder / "blobcache.db";
  {
    SqliteStore store({.path = file});
    store.put("ns", "a", pattern(700'000, 1));
    std::istringstream in(std::string(600'000, 'x'));
    store.put_stream("ns", "b", in);
    std::istringstream cancelled(std::string(600'000, 'y'));
    std::stop_source stop;
    stop.request_stop();
    CHECK(errc_of([&] { store.put_stream("ns", "c", cancelled, {}, stop.get_token()); }) ==
          Errc::cancelled);
    store.erase("ns", "a");
    store.erase_expired("ns", TimePoint::max(), 1s);
    store.erase_namespace("ns");
    const auto names = names_in(folder);
    const std::set<std::string> allowed = {"blobcache.db", "blobcache.db-wal", "blobcache.db-shm",
                                           "blobcache.db-changes"};
    CHECK(std::includes(allowed.begin(), allowed.end(), names.begin(), names.end()));
  }
  CHECK(names_in(folder) == std::set<std::string>{"blobcache.db"});
  CHECK(count_rows(file, "SELECT count(*) FROM chunks") == 0);
  CHECK(count_rows(file, "SELECT count(*) FROM entries") == 0);
}

TEST_CASE("files are created 0600 and a new folder 0700", "[sqlite][files]") {
  const test::TempDir dir;
  const auto file = dir / "new" / "nested" / "blobcache.db";
  {
    SqliteStore store({.path = file});
    store.put("ns", "k", std::string_view("v"));
    CHECK(mode_of(file) == 0600U);
    CHECK(mode_of(file.string() + "-wal") == 0600U);
    CHECK(mode_of(file.string() + "-shm") == 0600U);
  }
  CHECK(mode_of(dir / "new") == 0700U);
  CHECK(mode_of(dir / "new" / "nested") == 0700U);

  SECTION("an existing folder keeps its permissions") {
    const auto shared = dir / "shared";
    std::filesystem::create_directory(shared);
    ::chmod(shared.c_str(), 0755);
    SqliteStore store({.path = shared / "x.db"});
    CHECK(mode_of(shared) == 0755U);
    CHECK(mode_of(shared / "x.db") == 0600U);
  }
}

TEST_CASE("a file with a newer schema version is unsupported", "[sqlite][schema]") {
  const test::TempDir dir;
  const auto file = dir / "future.db";
  { SqliteStore store({.path = file}); }
  {
    SQLite::Database db(file.string(), SQLite::OPEN_READWRITE);
    db.exec("PRAGMA user_version = 99");
  }
  CHECK(errc_of([&] { SqliteStore store({.path = file}); }) == Errc::unsupported);
  CHECK(errc_of([&] { SqliteStore store({.path = file, .read_only = true}); }) ==
        Errc::unsupported);
  CHECK(message_of([&] { SqliteStore store({.path = file}); }).find(file.string()) !=
        std::string::npos);
}

TEST_CASE("a read-only store cannot write and writes nothing", "[sqlite][read_only]") {
  const test::TempDir dir;
  const auto file = dir / "ro.db";
  {
    SqliteStore writer({.path = file});
    writer.put("ns", "k", std::string_view("value"));
  }
  const std::string before = file_bytes(file);
  const auto names_before = names_in(dir.path());
  {
    SqliteStore store({.path = file, .read_only = true});
    CHECK(store.get("ns", "k")->text() == "value");
    CHECK(store.list("ns").size() == 1);
    auto reader = store.open("ns", "k");
    REQUIRE(reader != nullptr);
    CHECK(errc_of([&] { store.put("ns", "k", std::string_view("new")); }) == Errc::read_only);
    std::istringstream in("data");
    CHECK(errc_of([&] { store.put_stream("ns", "s", in); }) == Errc::read_only);
    const std::array batch = {
        PutRequest{.ns = "ns", .key = "b", .value = as_bytes("v"), .options = {}}};
    CHECK(errc_of([&] { store.put_many(batch); }) == Errc::read_only);
    CHECK(errc_of([&] { store.erase("ns", "k"); }) == Errc::read_only);
    CHECK(errc_of([&] { store.erase_namespace("ns"); }) == Errc::read_only);
    CHECK(errc_of([&] { store.erase_expired("ns", TimePoint::max(), 1s); }) == Errc::read_only);
    CHECK_NOTHROW(store.check());
    CHECK(store.get("ns", "k")->text() == "value");
  }
  CHECK(file_bytes(file) == before);
  // SQLite's WAL readers need the -shm index (they create it when missing);
  // nothing else appears, and the -wal stays empty.
  for (const auto& name : names_in(dir.path())) {
    CHECK((names_before.count(name) == 1 || name == "ro.db-wal" || name == "ro.db-shm"));
  }
  if (std::filesystem::exists(file.string() + "-wal"))
    CHECK(std::filesystem::file_size(file.string() + "-wal") == 0);

  SECTION("a missing file is entry_not_found naming the path, not an I/O error") {
    // Regression (issue 10): it was Errc::io, which a caller cannot tell
    // from a failing disk.
    const auto missing = dir / "missing.db";
    const std::string message =
        message_of([&] { SqliteStore store({.path = missing, .read_only = true}); });
    CHECK(message.find(missing.string()) != std::string::npos);
    CHECK(message.find("does not exist") != std::string::npos);
    CHECK(errc_of([&] { SqliteStore store({.path = missing, .read_only = true}); }) ==
          Errc::entry_not_found);
    CHECK_FALSE(std::filesystem::exists(missing));
  }
}

TEST_CASE("put_many stores all or nothing", "[sqlite][put_many]") {
  const test::TempDir dir;
  const auto file = dir / "limited.db";
  // Room for the schema and a few hundred KiB, not for the whole batch.
  SqliteStore store({.path = file, .max_file_bytes = 1024 * 1024});
  store.put("batch", "a", std::string_view("before"));
  const Bytes big = pattern(400'000, 9);
  const std::array batch = {
      PutRequest{.ns = "batch", .key = "a", .value = as_bytes("replaced"), .options = {}},
      PutRequest{.ns = "batch", .key = "b", .value = big, .options = {}},
      PutRequest{.ns = "batch", .key = "c", .value = big, .options = {}},
      PutRequest{.ns = "batch", .key = "d", .value = big, .options = {}},
  };
  const std::string message = message_of([&] { store.put_many(batch); });
  CHECK(errc_of([&] { store.put_many(batch); }) == Errc::no_space);
  CHECK(message.find("put_many") != std::string::npos);
  CHECK(store.get("batch", "a")->text() == "before");
  CHECK(store.list("batch").size() == 1);
  // A batch that fits goes in whole.
  const auto metas = store.put_many(std::span(batch).first(2));
  CHECK(metas.size() == 2);
  CHECK(store.get("batch", "a")->text() == "replaced");
  CHECK(store.get("batch", "b")->data == big);
}

TEST_CASE("default_path follows XDG_CACHE_HOME, then HOME", "[sqlite][path]") {
  const std::string saved_xdg = test::child_env("XDG_CACHE_HOME");
  const std::string saved_home = test::child_env("HOME");
  ::setenv("XDG_CACHE_HOME", "/xdg/cache", 1);
  ::setenv("HOME", "/home/someone", 1);
  CHECK(SqliteStore::default_path("myapp") ==
        std::filesystem::path("/xdg/cache/myapp/blobcache.db"));
  ::setenv("XDG_CACHE_HOME", "relative/ignored", 1);
  CHECK(SqliteStore::default_path("myapp") ==
        std::filesystem::path("/home/someone/.cache/myapp/blobcache.db"));
  ::unsetenv("XDG_CACHE_HOME");
  CHECK(SqliteStore::default_path("myapp") ==
        std::filesystem::path("/home/someone/.cache/myapp/blobcache.db"));
  CHECK(errc_of([] { SqliteStore::default_path("a/b"); }) == Errc::invalid_argument);
  CHECK(errc_of([] { SqliteStore::default_path(".."); }) == Errc::invalid_argument);
  CHECK(errc_of([] { SqliteStore::default_path(""); }) == Errc::invalid_argument);
  ::unsetenv("HOME");
  CHECK(errc_of([] { SqliteStore::default_path("myapp"); }) == Errc::invalid_argument);
  if (!saved_xdg.empty()) ::setenv("XDG_CACHE_HOME", saved_xdg.c_str(), 1);
  if (!saved_home.empty()) ::setenv("HOME", saved_home.c_str(), 1);
}

TEST_CASE("bad options and places give the right Errc", "[sqlite][errors]") {
  const test::TempDir dir;
  CHECK(errc_of([] { SqliteStore store(SqliteOptions{}); }) == Errc::invalid_argument);
  CHECK(errc_of([&] { SqliteStore store({.path = dir / "x.db", .busy_timeout = -1ms}); }) ==
        Errc::invalid_argument);
  if (::geteuid() != 0) {  // root writes anywhere
    const auto locked = dir / "locked";
    std::filesystem::create_directory(locked);
    ::chmod(locked.c_str(), 0500);
    CHECK(errc_of([&] { SqliteStore store({.path = locked / "x.db"}); }) == Errc::read_only);
  }
}

TEST_CASE("flipped bytes in a chunk are reported as corrupt, never returned", "[sqlite][corrupt]") {
  const test::TempDir dir;
  const auto file = dir / "flip.db";
  SqliteStore store({.path = file});
  store.put("ns", "k", pattern(600'000, 4));
  store.put("ns", "ok", std::string_view("fine"));
  {
    SQLite::Database db(file.string(), SQLite::OPEN_READWRITE);
    db.exec(
        "UPDATE chunks SET data = substr(data, 1, 100) || x'00' || substr(data, 102)"
        " WHERE id = ((SELECT id FROM entries WHERE key = 'k') << 24) | 1");
  }
  CHECK(errc_of([&] { store.get("ns", "k"); }) == Errc::corrupt);
  auto reader = store.open("ns", "k");
  REQUIRE(reader != nullptr);
  Bytes buffer(4096);
  CHECK(errc_of([&] {
          while (reader->read(buffer) != 0) {
          }
        }) == Errc::corrupt);
  reader.reset();
  CHECK(store.get("ns", "ok")->text() == "fine");
  const VerifyReport report = store.verify();
  CHECK(report.failures.size() == 1);
  CHECK(report.entries_checked == 2);

  SECTION("a missing chunk is corrupt too") {
    {
      SQLite::Database db(file.string(), SQLite::OPEN_READWRITE);
      db.exec("DELETE FROM chunks WHERE id & 16777215 = 2");
      db.exec("UPDATE chunks SET checksum = 0 WHERE id & 16777215 = 1");
    }
    CHECK(errc_of([&] { store.get("ns", "k"); }) == Errc::corrupt);
  }
}

TEST_CASE("a lock held past busy_timeout gives busy; a short one is waited out", "[sqlite][busy]") {
  const test::TempDir dir;
  const auto file = dir / "busy.db";
  SqliteStore store({.path = file, .busy_timeout = 200ms});
  store.put("ns", "k", std::string_view("v"));
  SQLite::Database other(file.string(), SQLite::OPEN_READWRITE);
  other.exec("BEGIN IMMEDIATE");
  const auto start = std::chrono::steady_clock::now();
  CHECK(errc_of([&] { store.put("ns", "k", std::string_view("w")); }) == Errc::busy);
  CHECK(std::chrono::steady_clock::now() - start >= 200ms);
  CHECK(store.get("ns", "k")->text() == "v");  // WAL: reads go on beside the writer
  std::thread release([&] {
    std::this_thread::sleep_for(50ms);
    other.exec("COMMIT");
  });
  const auto wait_start = std::chrono::steady_clock::now();
  CHECK_NOTHROW(store.put("ns", "k", std::string_view("w")));
  const auto waited = std::chrono::steady_clock::now() - wait_start;
  release.join();
  CHECK(waited >= 40ms);  // it did wait for the lock ...
  CHECK(waited < 200ms);  // ... and took it before the timeout
  CHECK(store.get("ns", "k")->text() == "w");
}

TEST_CASE("16 processes opening one new file at once all succeed", "[sqlite][process]") {
  const test::TempDir dir;
  const auto file = dir / "sub" / "crowd.db";
  constexpr int kProcesses = 16;
  std::vector<pid_t> children;
  for (int i = 0; i < kProcesses; ++i) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int code = 0;
      try {
        SqliteStore store({.path = file});
        store.put("crowd", std::to_string(i), std::string_view("here"));
      } catch (const std::exception& e) {
        std::fprintf(stderr, "child %d: %s\n", i, e.what());
        code = 1;
      }
      ::_exit(code);
    }
    children.push_back(pid);
  }
  int failures = 0;
  for (const pid_t pid : children) failures += wait_child(pid) == 0 ? 0 : 1;
  CHECK(failures == 0);
  SqliteStore store({.path = file});
  CHECK(store.list("crowd").size() == kProcesses);
}

TEST_CASE("a forked child opens its own connections", "[sqlite][fork]") {
  const test::TempDir dir;
  SqliteStore store({.path = dir / "fork.db"});
  store.put("ns", "parent", std::string_view("p"));
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 0;
    try {
      if (store.get("ns", "parent")->text() != "p") code = 2;
      store.put("ns", "child", std::string_view("c"));
    } catch (...) {
      code = 1;
    }
    ::_exit(code);
  }
  CHECK(wait_child(pid) == 0);
  CHECK(store.get("ns", "child")->text() == "c");
  store.put("ns", "after", std::string_view("a"));
  CHECK(store.list("ns").size() == 3);
}

// Serves `good` bytes, then kills its own process, like a crash mid-upload.
class DyingBuffer final : public std::streambuf {
 public:
  explicit DyingBuffer(std::size_t good) : good_(good) {}

 protected:
  int_type underflow() override {
    if (served_ >= good_) ::_exit(0);
    served_ += chunk_.size();
    setg(chunk_.data(), chunk_.data(), chunk_.data() + chunk_.size());
    return traits_type::to_int_type(chunk_[0]);
  }

 private:
  std::array<char, 64 * 1024> chunk_{};
  std::size_t good_;
  std::size_t served_ = 0;
};

TEST_CASE("chunks staged by a killed put_stream are reclaimed and never visible",
          "[sqlite][stream]") {
  const test::TempDir dir;
  const auto file = dir / "killed.db";
  { SqliteStore store({.path = file}); }
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    try {
      SqliteStore store({.path = file});
      DyingBuffer dying(3 * 1024 * 1024);
      std::istream in(&dying);
      store.put_stream("ns", "partial", in);
    } catch (...) {
    }
    ::_exit(3);  // never reached: the stream exits first
  }
  REQUIRE(wait_child(pid) == 0);
  CHECK(count_rows(file, "SELECT count(*) FROM chunks") > 0);
  {
    // Staged but never published: invisible to every read (a read-only
    // store reclaims nothing, so the chunks are still there).
    SqliteStore reader({.path = file, .read_only = true});
    CHECK_FALSE(reader.get("ns", "partial").has_value());
    CHECK(reader.open("ns", "partial") == nullptr);
    CHECK(reader.list("ns").empty());
    CHECK(reader.namespaces().empty());
    CHECK(reader.verify().entries_checked == 0);
  }
  CHECK(count_rows(file, "SELECT count(*) FROM chunks") > 0);
  SqliteStore store({.path = file});  // open reclaims what the dead process staged
  CHECK_FALSE(store.get("ns", "partial").has_value());
  CHECK(store.list("ns").empty());
  CHECK(store.namespaces().empty());
  CHECK(count_rows(file, "SELECT count(*) FROM chunks") == 0);
  CHECK(count_rows(file, "SELECT count(*) FROM entries") == 0);
}

// Serves 1 MiB, then blocks until released, then ends the stream.
class GatedBuffer final : public std::streambuf {
 public:
  std::atomic<bool> release{false};

 protected:
  int_type underflow() override {
    if (served_ >= 1024 * 1024) {
      while (!release) std::this_thread::sleep_for(1ms);
      return traits_type::eof();
    }
    served_ += chunk_.size();
    setg(chunk_.data(), chunk_.data(), chunk_.data() + chunk_.size());
    return traits_type::to_int_type(chunk_[0]);
  }

 private:
  std::array<char, 64 * 1024> chunk_{};
  std::size_t served_ = 0;
};

TEST_CASE("a put_stream still running is neither visible nor reclaimed", "[sqlite][stream]") {
  const test::TempDir dir;
  const auto file = dir / "live.db";
  SqliteStore store({.path = file});
  GatedBuffer gated;
  std::thread writer([&] {
    std::istream in(&gated);
    store.put_stream("ns", "live", in);
  });
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (count_rows(file, "SELECT count(*) FROM chunks") < 4 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(2ms);
  }
  CHECK(count_rows(file, "SELECT count(*) FROM chunks") == 4);
  {
    SqliteStore other({.path = file});  // its open reclaims only dead owners' rows
    CHECK_FALSE(other.get("ns", "live").has_value());
    CHECK(other.list("ns").empty());
  }
  CHECK(count_rows(file, "SELECT count(*) FROM chunks") == 4);
  gated.release = true;
  writer.join();
  CHECK(store.get("ns", "live")->data.size() == 1024 * 1024);
}

TEST_CASE("readers on many threads run beside a writer", "[sqlite][threads]") {
  const test::TempDir dir;
  SqliteStore store({.path = dir / "threads.db"});
  const Bytes value = pattern(200'000, 8);
  store.put("ns", "k", value);
  auto held = store.open("ns", "k");  // a long reader holds its snapshot
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        const auto got = store.get("ns", "k");
        if (!got || got->data.size() != value.size()) ++bad;
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 20; ++i) store.put("ns", "other" + std::to_string(i), value);
  });
  for (auto& thread : threads) thread.join();
  CHECK(bad == 0);
  CHECK(store.list("ns").size() == 21);
  Bytes all(value.size() + 10);
  CHECK(held->read(all) == value.size());
}

TEST_CASE("a corrupt file is raised or quarantined at open", "[sqlite][corrupt]") {
  const test::TempDir dir;
  const auto file = dir / "bad.db";
  {
    std::ofstream out(file, std::ios::binary);
    out << std::string(8192, 'G');
  }
  SECTION("raise") {
    const std::string message = message_of(
        [&] { SqliteStore store({.path = file, .on_corruption = OnCorruption::raise}); });
    CHECK(message.find(file.string()) != std::string::npos);
    CHECK(errc_of([&] {
            SqliteStore store({.path = file, .on_corruption = OnCorruption::raise});
          }) == Errc::corrupt);
    CHECK(file_bytes(file) == std::string(8192, 'G'));
  }
  SECTION("quarantine") {
    SqliteStore store({.path = file, .on_corruption = OnCorruption::quarantine});
    REQUIRE(store.quarantined().has_value());
    const auto moved = *store.quarantined();
    CHECK(moved.parent_path() == dir.path());
    CHECK(moved.filename().string().rfind("bad.db.corrupt-", 0) == 0);
    CHECK(moved.filename().string().size() ==
          std::string("bad.db.corrupt-20250101T000000Z").size());
    CHECK(file_bytes(moved) == std::string(8192, 'G'));
    store.put("ns", "k", std::string_view("fresh"));
    CHECK(store.get("ns", "k")->text() == "fresh");
  }
}

}  // namespace
}  // namespace blobcache
