// SqliteStore on a disk that fails, as any user: write, sync, truncate and
// read errors of the database file and its -wal, injected by the fault VFS
// (tests/support/fault_vfs.hpp) at every call of an operation in turn.
// Each failure is no_space or io naming the operation; nothing stored
// before is lost or half-replaced; the store works again once the fault is
// lifted, and so does a fresh open of the file.
#include <array>
#include <cerrno>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sqlite3.h>
#include <sstream>

#include "blobcache/error.hpp"
#include "blobcache/sqlite_store.hpp"
#include "blobcache/testing/contract.hpp"

#include "bytes.hpp"
#include "catch_compat.hpp"
#include "errc_of.hpp"
#include "fault_vfs.hpp"
#include "files.hpp"
#include "sha256_hex.hpp"
#include "sqlite/test_seams.hpp"
#include "temp_dir.hpp"

namespace blobcache {
namespace {

namespace fs = std::filesystem;
using test::Fault;
using test::FaultOp;
using test::FaultTarget;
using test::pattern;

// A store file on a disk that fails when told.
struct FaultyDisk {
  explicit FaultyDisk(Durability durability_ = Durability::normal) : durability(durability_) {
    tuning.vfs = vfs.name();
  }
  SqliteStore& open() {
    store.reset();
    store = detail::SqliteStoreAccess::open({.path = file, .durability = durability}, tuning);
    return *store;
  }

  const test::TempDir dir;
  const fs::path file = dir / "faults.db";
  test::FaultVfs vfs;  // before the store: it outlives every connection
  Durability durability;
  detail::Tuning tuning;
  std::unique_ptr<SqliteStore> store;
};

using Key = std::pair<std::string, std::string>;

// What a store must hold: every entry with its bytes.
class Contents {
 public:
  void put(SqliteStore& store, const std::string& ns, const std::string& key, Bytes value) {
    store.put(ns, key, value);
    entries_[{ns, key}] = std::move(value);
  }
  void set(const std::string& ns, const std::string& key, Bytes value) {
    entries_[{ns, key}] = std::move(value);
  }
  void erase(const std::string& ns, const std::string& key) { entries_.erase({ns, key}); }
  void erase_namespace(const std::string& ns) {
    std::erase_if(entries_, [&](const auto& entry) { return entry.first.first == ns; });
  }

  // The store holds exactly these entries, each whole.
  void check(SqliteStore& store) const {
    std::map<std::string, std::size_t> per_namespace;
    for (const auto& [name, value] : entries_) {
      INFO(name.first << "/" << name.second);
      const auto blob = store.get(name.first, name.second);
      REQUIRE(blob.has_value());
      CHECK(blob->data == value);
      CHECK(blob->meta.etag == test::sha256_hex(value));
      ++per_namespace[name.first];
    }
    for (const char* ns : {"kept", "ns", "doomed"}) {
      CHECK(store.list(ns).size() == per_namespace[ns]);
    }
  }

 private:
  std::map<Key, Bytes> entries_;
};

// The entries every test starts from: small and multi-chunk values, the
// one the operations replace or erase, and a namespace to erase.
Contents seed(SqliteStore& store) {
  Contents contents;
  contents.put(store, "kept", "small", pattern(10, 1));
  contents.put(store, "kept", "big", pattern(300'000, 2));  // two chunks
  contents.put(store, "ns", "target", pattern(100'000, 3));
  contents.put(store, "doomed", "a", pattern(20'000, 4));
  contents.put(store, "doomed", "b", pattern(5, 5));
  return contents;
}

enum class Operation { put, put_many, put_stream, erase, erase_namespace };

const char* name_of(Operation operation) {
  switch (operation) {
    case Operation::put:
      return "put";
    case Operation::put_many:
      return "put_many";
    case Operation::put_stream:
      return "put_stream";
    case Operation::erase:
      return "erase";
    case Operation::erase_namespace:
      return "erase_namespace";
  }
  return "?";
}

// Runs `operation` on `store`; records in `after` what it leaves once it
// succeeds.
void run(Operation operation, SqliteStore& store, Contents& after) {
  switch (operation) {
    case Operation::put: {
      const Bytes value = pattern(200'000, 10);
      store.put("ns", "target", value);
      after.set("ns", "target", value);
      return;
    }
    case Operation::put_many: {
      const Bytes a = pattern(50'000, 11);
      const Bytes b = pattern(80'000, 12);
      const Bytes c = pattern(3, 13);
      const std::array batch = {PutRequest{.ns = "ns", .key = "target", .value = a},
                                PutRequest{.ns = "ns", .key = "new-1", .value = b},
                                PutRequest{.ns = "ns", .key = "new-2", .value = c}};
      store.put_many(batch);
      after.set("ns", "target", a);
      after.set("ns", "new-1", b);
      after.set("ns", "new-2", c);
      return;
    }
    case Operation::put_stream: {
      const Bytes value = pattern(600'000, 14);  // three chunks: five transactions
      std::istringstream in(std::string(as_text(value)));
      store.put_stream("ns", "target", in);
      after.set("ns", "target", value);
      return;
    }
    case Operation::erase:
      store.erase("ns", "target");
      after.erase("ns", "target");
      return;
    case Operation::erase_namespace:
      store.erase_namespace("doomed");
      after.erase_namespace("doomed");
      return;
  }
}

std::optional<Error> error_from(const std::function<void()>& body) {
  try {
    body();
  } catch (const Error& e) {
    return e;
  }
  return std::nullopt;
}

// Fails `operation` at its 1st, 2nd, 3rd ... call of `op` on `target`, with
// `error`, until it needs fewer calls than that and succeeds. Every failure
// must be `expected`, name the operation and the file, and leave `contents`
// exactly; then the operation is retried at the next call.
void fail_at_every_call(FaultyDisk& disk, Operation operation, FaultOp op, FaultTarget target,
                        int error, Errc expected) {
  SqliteStore& store = disk.open();
  Contents contents = seed(store);
  Contents after = contents;
  std::uint64_t nth = 1;
  for (;; ++nth) {
    INFO("failing call " << nth);
    REQUIRE(nth < 5000);  // an operation of a few hundred KiB makes a few hundred calls
    disk.vfs.arm({.op = op, .target = target, .error = error, .nth = nth});
    Contents attempt = contents;
    const auto failure = error_from([&] { run(operation, store, attempt); });
    const std::uint64_t fired = disk.vfs.fired();
    disk.vfs.clear();
    if (!failure) {
      CHECK(fired == 0);  // it needed fewer calls: the whole operation went through
      after = attempt;
      break;
    }
    INFO("error: " << failure->what());
    CHECK(fired > 0);
    CHECK(failure->errc() == expected);
    CHECK(std::string(failure->what()).find(name_of(operation)) != std::string::npos);
    CHECK(std::string(failure->what()).find(disk.file.string()) != std::string::npos);
    contents.check(store);  // nothing lost, nothing half-applied
  }
  CHECK(nth > 1);  // it failed at one call at least
  after.check(store);
  // A fresh open recovers the same from the file.
  after.check(disk.open());
  CHECK_NOTHROW(disk.store->check());
  CHECK(disk.store->verify().ok());
}

struct ErrorCase {
  int error;
  Errc expected;
};

const char* errno_name(int error) {
  switch (error) {
    case ENOSPC:
      return "ENOSPC";
    case EFBIG:
      return "EFBIG";
    case EDQUOT:
      return "EDQUOT";
    case EIO:
      return "EIO";
  }
  return "?";
}

TEST_CASE("the fault VFS changes nothing until armed: the store contract through it",
          "[sqlite][faults][contract]") {
  const test::TempDir dir;
  const test::FaultVfs vfs;
  detail::Tuning tuning;
  tuning.vfs = vfs.name();
  testing::run_store_contract({
      .open = [&](const std::string& backing) -> std::shared_ptr<Store> {
        return detail::SqliteStoreAccess::open({.path = dir / (backing + ".db")}, tuning);
      },
      .persistent = true,
      .counts_hits = false,
  });
}

TEST_CASE("the fault VFS returns what SQLite's unix VFS returns for each failing call",
          "[sqlite][faults]") {
  // os_unix.c: a short write with ENOSPC is SQLITE_FULL; any other write
  // error SQLITE_IOERR_WRITE; fsync, ftruncate and pread errors their own.
  CHECK(test::FaultVfs::result_code(FaultOp::write, ENOSPC) == SQLITE_FULL);
  CHECK(test::FaultVfs::result_code(FaultOp::write, EFBIG) == SQLITE_IOERR_WRITE);
  CHECK(test::FaultVfs::result_code(FaultOp::write, EIO) == SQLITE_IOERR_WRITE);
  CHECK(test::FaultVfs::result_code(FaultOp::sync, ENOSPC) == SQLITE_IOERR_FSYNC);
  CHECK(test::FaultVfs::result_code(FaultOp::truncate, EIO) == SQLITE_IOERR_TRUNCATE);
  CHECK(test::FaultVfs::result_code(FaultOp::read, EIO) == SQLITE_IOERR_READ);
}

TEST_CASE(
    "a write error at any write of an operation gives no_space (ENOSPC, EFBIG) or io (EIO); "
    "nothing stored is lost",
    "[sqlite][faults][write]") {
  const Operation operation = GENERATE(Operation::put, Operation::put_many, Operation::put_stream,
                                       Operation::erase, Operation::erase_namespace);
  const ErrorCase error = GENERATE(ErrorCase{ENOSPC, Errc::no_space},
                                   ErrorCase{EFBIG, Errc::no_space}, ErrorCase{EIO, Errc::io});
  DYNAMIC_SECTION(name_of(operation) << " meets " << errno_name(error.error)) {
    FaultyDisk disk;
    fail_at_every_call(disk, operation, FaultOp::write, FaultTarget::wal, error.error,
                       error.expected);
  }
}

TEST_CASE(
    "under Durability::full a commit whose fsync fails gives no_space or io and is not applied",
    "[sqlite][faults][sync]") {
  const Operation operation =
      GENERATE(Operation::put, Operation::put_many, Operation::put_stream, Operation::erase);
  const ErrorCase error = GENERATE(ErrorCase{ENOSPC, Errc::no_space},
                                   ErrorCase{EDQUOT, Errc::no_space}, ErrorCase{EIO, Errc::io});
  DYNAMIC_SECTION(name_of(operation) << " meets " << errno_name(error.error)) {
    FaultyDisk disk(Durability::full);
    fail_at_every_call(disk, operation, FaultOp::sync, FaultTarget::wal, error.error,
                       error.expected);
  }
}

// Checkpoints copy the WAL into the database file, then truncate and sync
// it, the last two only when they copied all of it. One that fails keeps
// the WAL (nothing is lost) and is tried again; no put sees its error.
// Closing the last connection checkpoints the whole WAL, so the fault is
// met by then at the latest, whatever the checkpoints during the puts did.
TEST_CASE(
    "a checkpoint that cannot write, sync or truncate the database file loses nothing and is "
    "tried again",
    "[sqlite][faults][checkpoint]") {
  const FaultOp op = GENERATE(FaultOp::write, FaultOp::sync, FaultOp::truncate);
  const int error = GENERATE(ENOSPC, EIO);
  const bool background = GENERATE(true, false);
  DYNAMIC_SECTION((op == FaultOp::write  ? "write"
                   : op == FaultOp::sync ? "sync"
                                         : "truncate")
                  << " meets " << errno_name(error) << ", "
                  << (background ? "the checkpoint thread" : "SQLite's automatic checkpoint")) {
    FaultyDisk disk;
    disk.tuning.background_checkpoints = background;
    disk.tuning.checkpoint_pages = 16;
    Contents contents = seed(disk.open());
    disk.vfs.arm({.op = op, .target = FaultTarget::database, .error = error, .nth = 1});
    // Past checkpoint_pages every few puts: each asks for a checkpoint.
    for (int i = 0; i < 40; ++i) {
      CHECK_NOTHROW(contents.put(*disk.store, "kept", "more-" + std::to_string(i),
                                 pattern(64 * 1024, 20 + i)));
    }
    contents.check(*disk.store);
    disk.store.reset();
    CHECK(disk.vfs.fired() > 0);
    // The WAL holds what no checkpoint could copy: a new open reads it all.
    CHECK(test::file_names(disk.dir.path()).count("faults.db-wal") == 1);
    contents.check(disk.open());
    disk.vfs.clear();
    contents.put(*disk.store, "kept", "after", pattern(1000, 99));
    // Closing now checkpoints the whole WAL and removes it.
    disk.store.reset();
    CHECK(test::file_names(disk.dir.path()) == std::set<std::string>{"faults.db"});
    contents.check(disk.open());
    CHECK(disk.store->verify().ok());
  }
}

// Reads the whole of `contents` from a store opened on the file, as gets,
// a stream and a check() of every page.
void read_everything(SqliteStore& store, const Contents& contents) {
  contents.check(store);
  store.check();
  auto reader = store.open("kept", "big");
  REQUIRE(reader != nullptr);
  Bytes buffer(64 * 1024);
  std::size_t total = 0;
  while (const std::size_t n = reader->read(buffer)) total += n;
  CHECK(total == 300'000);
}

// Regression: open's quick_check reported a page it could not read as
// damage, so a read error at open set the healthy file aside (quarantine)
// and went on with an empty one; check() called it corrupt.
TEST_CASE(
    "a read error at any read gives io on open, get, a stream and check(); the file is never set "
    "aside",
    "[sqlite][faults][read]") {
  const FaultTarget target = GENERATE(FaultTarget::database, FaultTarget::wal);
  DYNAMIC_SECTION((target == FaultTarget::database ? "the database file" : "the -wal")) {
    FaultyDisk disk;
    // For the -wal: a writer that never checkpoints keeps every entry there.
    disk.tuning.background_checkpoints = false;
    disk.tuning.checkpoint_pages = 1 << 30;
    // Counted reads write their hits and misses when the store closes (by
    // design); without them a reader must leave the file's bytes as they were.
    disk.tuning.count_reads = false;
    const Contents contents = seed(disk.open());
    if (target == FaultTarget::database) disk.store.reset();  // closing folds the WAL in
    const auto files_before = test::file_names(disk.dir.path());
    const std::string bytes_before = test::read_file(disk.file);
    std::uint64_t nth = 1;
    for (;; ++nth) {
      INFO("failing read " << nth);
      REQUIRE(nth < 5000);
      disk.vfs.arm({.op = FaultOp::read, .target = target, .error = EIO, .nth = nth});
      std::unique_ptr<SqliteStore> reader;
      const auto failure = error_from([&] {
        reader = detail::SqliteStoreAccess::open({.path = disk.file}, disk.tuning);
        read_everything(*reader, contents);
      });
      const std::uint64_t fired = disk.vfs.fired();
      disk.vfs.clear();
      if (!failure) {
        CHECK(fired == 0);
        break;
      }
      INFO("error: " << failure->what());
      CHECK(fired > 0);
      CHECK(failure->errc() == Errc::io);
      if (reader) {
        CHECK_FALSE(reader->quarantined().has_value());
        read_everything(*reader, contents);  // the same store reads again
      }
      reader.reset();
      CHECK(test::file_names(disk.dir.path()) == files_before);  // nothing set aside
      if (target == FaultTarget::database) CHECK((test::read_file(disk.file) == bytes_before));
    }
    CHECK(nth > 1);
  }
}

}  // namespace
}  // namespace blobcache
