// The WAL-coalescing VFS (src/sqlite/wal_coalescing_vfs.hpp): a
// transaction's frames reach the -wal in one write, a failing write fails
// the transaction that wrote it and nothing before it, and frames held back
// by a transaction that rolled back never land over another connection's.
// The fault VFS under it counts and fails the real writes.
#include <array>
#include <cerrno>
#include <filesystem>
#include <limits>
#include <sqlite3.h>
#include <string>
#include <vector>

#include "blobcache/error.hpp"
#include "blobcache/sqlite_store.hpp"

#include "bytes.hpp"
#include "catch_compat.hpp"
#include "errc_of.hpp"
#include "fault_vfs.hpp"
#include "sqlite/test_seams.hpp"
#include "sqlite/wal_coalescing_vfs.hpp"
#include "temp_dir.hpp"

namespace blobcache {
namespace {

using detail::SqliteStoreAccess;
using test::errc_of;
using test::Fault;
using test::FaultOp;
using test::FaultTarget;

constexpr std::uint64_t kNever = std::numeric_limits<std::uint64_t>::max();

// The writes that reach the -wal file (under the coalescing VFS when
// `coalesce`) while `puts` values of 1 KiB replace each other.
std::uint64_t wal_writes_of_puts(bool coalesce, int puts) {
  const test::TempDir dir;
  test::FaultVfs vfs;
  detail::Tuning tuning;
  tuning.vfs = vfs.name();
  tuning.coalesce_wal_writes = coalesce;
  tuning.background_checkpoints = false;  // no other thread writes meanwhile
  tuning.count_reads = false;
  const auto store =
      SqliteStoreAccess::open({.path = dir / "count.db", .memory_cache_bytes = 0}, tuning);
  store->put("ns", "k", test::pattern(1024, 0));  // the -wal and its header exist
  vfs.arm({.op = FaultOp::write, .target = FaultTarget::wal, .nth = kNever});
  for (int i = 1; i <= puts; ++i) store->put("ns", "k", test::pattern(1024, i));
  return vfs.seen();
}

TEST_CASE("a transaction's WAL frames reach the file in one write", "[sqlite][wal]") {
  constexpr int kPuts = 20;
  const std::uint64_t coalesced = wal_writes_of_puts(true, kPuts);
  const std::uint64_t direct = wal_writes_of_puts(false, kPuts);
  INFO("coalesced " << coalesced << ", direct " << direct);
  CHECK(coalesced == kPuts);
  // SQLite's own two writes per frame, several frames per put.
  CHECK(direct >= 4 * kPuts);
}

TEST_CASE("a failing write of held-back frames fails that put alone; the store keeps its values",
          "[sqlite][wal]") {
  const test::TempDir dir;
  test::FaultVfs vfs;
  detail::Tuning tuning;
  tuning.vfs = vfs.name();
  const auto store = SqliteStoreAccess::open({.path = dir / "fail.db"}, tuning);
  store->put("ns", "kept", test::pattern(100'000, 1));
  store->put("ns", "replaced", test::pattern(1000, 2));
  const int error = GENERATE(ENOSPC, EIO);
  vfs.arm({.op = FaultOp::write, .target = FaultTarget::wal, .error = error, .nth = 1});
  const Errc failed = errc_of([&] { store->put("ns", "replaced", test::pattern(300'000, 3)); });
  CHECK(failed == (error == ENOSPC ? Errc::no_space : Errc::io));
  CHECK(vfs.fired() >= 1);
  vfs.clear();
  CHECK(store->get("ns", "kept")->data == test::pattern(100'000, 1));
  CHECK(store->get("ns", "replaced")->data == test::pattern(1000, 2));
  store->put("ns", "after", test::pattern(5000, 4));
  CHECK(store->get("ns", "after")->data == test::pattern(5000, 4));
  CHECK(SqliteStoreAccess::usage_mismatch(*store).empty());
  CHECK_NOTHROW(store->check());
}

TEST_CASE("frames of a transaction that rolled back never land over another writer's",
          "[sqlite][wal]") {
  const test::TempDir dir;
  const auto file = dir / "shared.db";
  detail::Tuning small_cache;
  small_cache.cache_kib = 64;  // a few pages: the big put spills frames into the -wal
  small_cache.background_checkpoints = false;
  // 1 MiB of file: one transaction of 2 MiB fails part-way, with frames
  // written and held back.
  const auto failing = SqliteStoreAccess::open(
      {.path = file, .max_file_bytes = 1 << 20, .memory_cache_bytes = 0}, small_cache);
  failing->put("ns", "small", test::pattern(100, 1));
  const Bytes value = test::pattern(1000, 2);
  std::vector<std::string> keys;
  for (int i = 0; i < 2000; ++i) keys.push_back("huge" + std::to_string(i));
  std::vector<PutRequest> batch;
  for (const auto& key : keys) batch.push_back({.ns = "ns", .key = key, .value = value});
  CHECK(errc_of([&] { (void)failing->put_many(batch); }) == Errc::no_space);

  // Another connection writes frames where the rolled-back ones were.
  SqliteStore other({.path = file, .memory_cache_bytes = 0});
  other.put("ns", "written", test::pattern(900'000, 3));

  CHECK(failing->get("ns", "written")->data == test::pattern(900'000, 3));
  CHECK(failing->get("ns", "small")->data == test::pattern(100, 1));
  CHECK_FALSE(failing->get("ns", "huge0"));
  CHECK_NOTHROW(failing->check());
  CHECK(other.get("ns", "written")->data == test::pattern(900'000, 3));
  CHECK_NOTHROW(other.check());
}

// A connection through the coalescing VFS to a new file, its database and
// -wal files as SQLite holds them, to drive the VFS's calls one by one; it
// holds the WAL write lock from the start, as a writer does.
class RawConnection {
 public:
  RawConnection() {
    const std::string vfs = detail::wal_coalescing_vfs("");
    REQUIRE(sqlite3_open_v2(file_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                            vfs.c_str()) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db_,
                         "PRAGMA journal_mode = WAL; CREATE TABLE t(x); INSERT INTO t VALUES(1)",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_file_control(db_, "main", SQLITE_FCNTL_FILE_POINTER, &database_) == SQLITE_OK);
    REQUIRE(sqlite3_file_control(db_, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal_) == SQLITE_OK);
    end_ = wal_size_on_disk();
    take_write_lock();
  }
  ~RawConnection() { sqlite3_close(db_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // What the -wal holds on disk, whatever the VFS holds back.
  std::int64_t wal_size_on_disk() const {
    return static_cast<std::int64_t>(std::filesystem::file_size(file_.string() + "-wal"));
  }
  // Appends a frame as SQLite does: its header (a commit frame when
  // `commit`), then its page, in two writes.
  void write_frame_header(bool commit) {
    std::array<unsigned char, 24> header{};
    if (commit) header[7] = 1;
    write(header.data(), header.size());
  }
  void write_page() {
    const std::vector<unsigned char> page(4096, 0xAB);
    write(page.data(), page.size());
  }
  // A whole frame that is not a commit frame.
  void write_frame() {
    write_frame_header(false);
    write_page();
  }
  // The WAL write lock (slot 0 of the shared-memory locks), as a writer takes it.
  void take_write_lock() {
    REQUIRE(database_->pMethods->xShmLock(database_, 0, 1,
                                          SQLITE_SHM_LOCK | SQLITE_SHM_EXCLUSIVE) == SQLITE_OK);
  }
  void release_write_lock() {
    REQUIRE(database_->pMethods->xShmLock(database_, 0, 1,
                                          SQLITE_SHM_UNLOCK | SQLITE_SHM_EXCLUSIVE) == SQLITE_OK);
  }
  sqlite3_file* wal() { return wal_; }
  std::int64_t end() const { return end_; }

 private:
  void write(const void* data, std::size_t size) {
    REQUIRE(wal_->pMethods->xWrite(wal_, data, static_cast<int>(size), end_) == SQLITE_OK);
    end_ += static_cast<std::int64_t>(size);
  }

  const test::TempDir dir_;
  const std::filesystem::path file_ = dir_ / "raw.db";
  sqlite3* db_ = nullptr;
  sqlite3_file* database_ = nullptr;
  sqlite3_file* wal_ = nullptr;
  std::int64_t end_ = 0;
};

TEST_CASE("frames are held back until the page of a commit frame, then written at once",
          "[sqlite][wal]") {
  RawConnection connection;
  const std::int64_t before = connection.wal_size_on_disk();
  connection.write_frame();
  connection.write_frame_header(true);
  CHECK(connection.wal_size_on_disk() == before);
  connection.write_page();
  CHECK(connection.wal_size_on_disk() == connection.end());
  CHECK(connection.end() == before + 2 * (24 + 4096));
  connection.release_write_lock();
}

TEST_CASE("any other call on the -wal writes the frames held back first", "[sqlite][wal]") {
  RawConnection connection;
  connection.write_frame();
  std::array<char, 24> read{};
  sqlite3_file* wal = connection.wal();
  REQUIRE(wal->pMethods->xRead(wal, read.data(), 24, connection.end() - 4096 - 24) == SQLITE_OK);
  CHECK(connection.wal_size_on_disk() == connection.end());
  connection.release_write_lock();
}

// Another connection takes the write lock next and writes its frames where
// these were: written later, they would land over its commit.
TEST_CASE("frames still held back when the write lock is released are dropped, not written",
          "[sqlite][wal]") {
  RawConnection connection;
  const std::int64_t before = connection.wal_size_on_disk();
  connection.write_frame();
  connection.release_write_lock();
  sqlite3_int64 size = 0;
  sqlite3_file* wal = connection.wal();
  REQUIRE(wal->pMethods->xFileSize(wal, &size) == SQLITE_OK);
  CHECK(size == before);
  CHECK(connection.wal_size_on_disk() == before);
}

TEST_CASE("the coalescing VFS wraps the VFS it is given, once", "[sqlite][wal]") {
  const std::string name = detail::wal_coalescing_vfs("");
  CHECK(name == detail::wal_coalescing_vfs(""));
  CHECK(name.starts_with("blobcache-wal-"));
  CHECK(errc_of([] { (void)detail::wal_coalescing_vfs("no-such-vfs"); }) == Errc::io);
}

}  // namespace
}  // namespace blobcache
