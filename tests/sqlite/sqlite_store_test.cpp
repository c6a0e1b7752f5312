// SqliteStore: the guarantees of the SQLite backend beyond the store
// contract (which configurations_test.cpp runs under every configuration).
#include "blobcache/sqlite_store.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <algorithm>
#include <atomic>
#include <iostream>
#include <set>
#include <sqlite3.h>
#include <sstream>
#include <streambuf>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include "blobcache/error.hpp"

#include "bytes.hpp"
#include "catch_compat.hpp"
#include "errc_of.hpp"
#include "fault_vfs.hpp"
#include "files.hpp"
#include "processes.hpp"
#include "sqlite/connection.hpp"
#include "sqlite/test_seams.hpp"
#include "temp_dir.hpp"

namespace blobcache {
namespace {

using namespace std::chrono_literals;

using test::errc_of;
using test::message_of;
using test::pattern;

unsigned mode_of(const std::filesystem::path& path) {
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  return info.st_mode & 07777U;
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

TEST_CASE("child: write an entry for the parent", "[.child_writer]") {
  SqliteStore store({.path = test::env_or_empty("BLOBCACHE_TEST_DB")});
  store.put("cross", "process", pattern(1'000'000, 3),
            {.content_type = "application/x-test",
             .expires_at = TimePoint{} + 42ns,
             .metadata = {{"by", "child"}}});
}

TEST_CASE("data written by another process is read back", "[sqlite][process]") {
  const test::TempDir dir;
  const auto file = dir / "shared.db";
  const test::Exit child =
      test::run_self("[.child_writer]", {{"BLOBCACHE_TEST_DB", file.string()}});
  REQUIRE(child.exited);
  REQUIRE(child.code == 0);
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
    if (id == detail::Sql::erase_expired_by_expiry) {
      CHECK(plan.find("entries_by_expiry") != std::string::npos);
    } else {
      // The namespace's range of the name index: by age since version 5
      // (no index of ages: docs/design.md, "Schema").
      CHECK(plan.find("entries_by_name (ns=?)") != std::string::npos);
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
    const auto names = test::file_names(folder);
    const std::set<std::string> allowed = {"blobcache.db", "blobcache.db-wal", "blobcache.db-shm",
                                           "blobcache.db-changes"};
    CHECK(std::includes(allowed.begin(), allowed.end(), names.begin(), names.end()));
  }
  CHECK(test::file_names(folder) == std::set<std::string>{"blobcache.db"});
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
  const std::string before = test::read_file(file);
  const auto names_before = test::file_names(dir.path());
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
  CHECK(test::read_file(file) == before);
  // SQLite's WAL readers need the -shm index (they create it when missing);
  // nothing else appears, and the -wal stays empty.
  for (const auto& name : test::file_names(dir.path())) {
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

TEST_CASE("default_path follows XDG_CACHE_HOME, then HOME", "[sqlite][path]") {
  const std::string saved_xdg = test::env_or_empty("XDG_CACHE_HOME");
  const std::string saved_home = test::env_or_empty("HOME");
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
  // A folder that cannot be written. Root writes anywhere: the store is
  // opened as nobody then, in a forked child.
  std::filesystem::create_directory(dir / "locked");
  ::chmod((dir / "locked").c_str(), 0555);
  std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_all |
                                               std::filesystem::perms::group_exec |
                                               std::filesystem::perms::others_exec);
  const test::Exit opened = test::run_unprivileged([&] {
    try {
      SqliteStore store({.path = dir / "locked" / "x.db"});
    } catch (const Error& e) {
      if (e.code() == Errc::read_only) return 0;
      std::cerr << "expected read_only, got " << errc_name(e.errc()) << ": " << e.what() << "\n";
      return 2;
    }
    std::cerr << "a store opened in a folder that cannot be written\n";
    return 1;
  });
  CHECK(opened.exited);
  CHECK(opened.code == 0);
  CHECK(test::file_names(dir / "locked").empty());
}

TEST_CASE("a lock held past busy_timeout gives busy; a shorter hold is waited out",
          "[sqlite][busy]") {
  const test::TempDir dir;
  const auto file = dir / "busy.db";
  // No fault: the VFS tells when a store's connection is refused the lock.
  const test::FaultVfs vfs;
  detail::Tuning tuning;
  tuning.vfs = vfs.name();
  const auto impatient =
      detail::SqliteStoreAccess::open({.path = file, .busy_timeout = 200ms}, tuning);
  const auto patient = detail::SqliteStoreAccess::open({.path = file, .busy_timeout = 1h}, tuning);
  impatient->put("ns", "k", std::string_view("v"));
  SQLite::Database other(file.string(), SQLite::OPEN_READWRITE);
  other.exec("BEGIN IMMEDIATE");
  const auto start = std::chrono::steady_clock::now();
  CHECK(errc_of([&] { impatient->put("ns", "k", std::string_view("w")); }) == Errc::busy);
  // A lower bound only: the timeout was waited out (how much longer it took
  // depends on the machine).
  CHECK(std::chrono::steady_clock::now() - start >= 200ms);
  CHECK(impatient->get("ns", "k")->text() == "v");  // WAL: reads go on beside the writer

  // The lock is released only once the put has been refused it, so the put
  // succeeds only by waiting for it.
  const std::uint64_t refused = vfs.lock_refusals();
  std::thread release([&] {
    while (vfs.lock_refusals() == refused) std::this_thread::sleep_for(1ms);
    other.exec("COMMIT");
  });
  CHECK_NOTHROW(patient->put("ns", "k", std::string_view("w")));
  release.join();
  CHECK(vfs.lock_refusals() > refused);
  CHECK(patient->get("ns", "k")->text() == "w");
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

// A child process opens `file`, stages 3 MiB of a put_stream of
// "ns"/"partial" and dies mid-stream (DyingBuffer); returns once it has.
void stage_and_die(const std::filesystem::path& file) {
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
  const test::Exit child = test::wait_for_exit(pid);
  REQUIRE(child.exited);
  REQUIRE(child.code == 0);
}

TEST_CASE("chunks staged by a killed put_stream are reclaimed and never visible",
          "[sqlite][stream]") {
  const test::TempDir dir;
  const auto file = dir / "killed.db";
  { SqliteStore store({.path = file}); }
  stage_and_die(file);
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

// Regression (found by the kill loop): a store that had listed a dead
// process's staged row deleted it by id after another store had reclaimed
// it first and a put had taken its id again (SQLite reuses the highest
// rowid once its row is gone): that entry was lost, its bytes still counted
// in the usage rows, and check() called the file corrupt.
TEST_CASE(
    "regression: a staged row reclaimed by another store first is not deleted again, whoever "
    "has its id now",
    "[sqlite][stream]") {
  const test::TempDir dir;
  const auto file = dir / "reclaimed.db";
  auto late = detail::SqliteStoreAccess::open({.path = file}, detail::Tuning{});
  stage_and_die(file);  // the file's only row, id 1
  REQUIRE(count_rows(file, "SELECT count(*) FROM entries WHERE ns IS NULL") == 1);

  const Bytes live = pattern(1000, 5);
  detail::SqliteStoreAccess::probes(*late).after_staging_listed = [&] {
    SqliteStore early({.path = file});  // its open reclaims the row `late` has just listed
    early.put("ns", "live", live);      // and takes its id
  };
  std::istringstream in("streamed");
  late->put_stream("ns", "streamed", in);  // reclaims first
  detail::SqliteStoreAccess::probes(*late).after_staging_listed = nullptr;
  const auto kept = late->get("ns", "live");
  REQUIRE(kept.has_value());
  CHECK(kept->data == live);
  CHECK(late->get("ns", "streamed")->text() == "streamed");
  CHECK_NOTHROW(late->check());  // the usage rows equal a recount
  CHECK(late->stats().entries == 2);
  CHECK(count_rows(file, "SELECT count(*) FROM entries WHERE ns IS NULL") == 0);
}

// Serves 1 MiB, then says so and blocks until released, then ends the
// stream. put_stream reads its next chunk only after committing the last,
// so while it waits here all 4 chunks of 256 KiB are staged.
class GatedBuffer final : public std::streambuf {
 public:
  std::atomic<bool> waiting{false};
  std::atomic<bool> release{false};

 protected:
  int_type underflow() override {
    if (served_ >= 1024 * 1024) {
      waiting = true;
      waiting.notify_all();
      release.wait(false);
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
  gated.waiting.wait(false);
  CHECK(count_rows(file, "SELECT count(*) FROM chunks") == 4);
  {
    SqliteStore other({.path = file});  // its open reclaims only dead owners' rows
    CHECK_FALSE(other.get("ns", "live").has_value());
    CHECK(other.list("ns").empty());
  }
  CHECK(count_rows(file, "SELECT count(*) FROM chunks") == 4);
  gated.release = true;
  gated.release.notify_all();
  writer.join();
  CHECK(store.get("ns", "live")->data.size() == 1024 * 1024);
}

}  // namespace
}  // namespace blobcache
