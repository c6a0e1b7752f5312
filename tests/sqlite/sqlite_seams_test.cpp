// SqliteStore's seams, tested without the conditions they stand for: how
// SQLite and OS errors become Errc, which filesystems count as network
// ones, the lock-wait schedule, and the clock of least_recently_used's reads.
#include <atomic>
#include <cerrno>
#include <chrono>
#include <sqlite3.h>
#include <thread>
#include <vector>

#include "blobcache/sqlite_store.hpp"

#include "catch_compat.hpp"
#include "fixed_clock.hpp"
#include "sqlite/access_clock.hpp"
#include "sqlite/busy_handler.hpp"
#include "sqlite/files.hpp"
#include "sqlite/rows.hpp"
#include "sqlite/sqlite_error.hpp"
#include "temp_dir.hpp"

namespace blobcache {
namespace {

using namespace std::chrono_literals;
using detail::errc_of_sqlite;

TEST_CASE("an IOERR whose OS error is a full disk, quota or file size limit is no_space",
          "[sqlite][errors]") {
  for (const int code : {SQLITE_IOERR, SQLITE_IOERR_WRITE, SQLITE_IOERR_FSYNC,
                         SQLITE_IOERR_TRUNCATE, SQLITE_IOERR_SHMSIZE}) {
    INFO("SQLite code " << code);
    CHECK(errc_of_sqlite(code, ENOSPC, false) == Errc::no_space);
    CHECK(errc_of_sqlite(code, EDQUOT, false) == Errc::no_space);
    CHECK(errc_of_sqlite(code, EFBIG, false) == Errc::no_space);
    CHECK(errc_of_sqlite(code, EIO, false) == Errc::io);
    CHECK(errc_of_sqlite(code, 0, false) == Errc::io);
  }
  CHECK(errc_of_sqlite(SQLITE_FULL, 0, false) == Errc::no_space);
  // The OS error decides only for IOERR: a lock wait stays a lock wait.
  CHECK(errc_of_sqlite(SQLITE_BUSY, ENOSPC, false) == Errc::busy);
  CHECK(errc_of_sqlite(SQLITE_CORRUPT, EFBIG, false) == Errc::corrupt);
  CHECK(errc_of_sqlite(SQLITE_NOTADB, 0, false) == Errc::corrupt);
  CHECK(errc_of_sqlite(SQLITE_READONLY_DIRECTORY, 0, false) == Errc::read_only);
  CHECK(errc_of_sqlite(SQLITE_CANTOPEN, EACCES, true) == Errc::read_only);
  CHECK(errc_of_sqlite(SQLITE_CANTOPEN, ENOENT, false) == Errc::io);
}

TEST_CASE("network filesystems are told apart by statfs type and FUSE mount type",
          "[sqlite][files]") {
  using detail::network_filesystem_name;
  CHECK(network_filesystem_name(0x6969) == "NFS");
  CHECK(network_filesystem_name(0xFF534D42) == "CIFS");
  CHECK(network_filesystem_name(0xFE534D42) == "SMB2");
  CHECK(network_filesystem_name(0x517B) == "SMB");
  CHECK(network_filesystem_name(0x01021997) == "9p");
  CHECK(network_filesystem_name(0x5346414F) == "AFS");
  CHECK(network_filesystem_name(0x6B414653) == "kAFS");
  CHECK(network_filesystem_name(0x00C36400) == "Ceph");
  CHECK(network_filesystem_name(0x0BD00BD0) == "Lustre");
  CHECK(network_filesystem_name(0x47504653) == "GPFS");
  // Local filesystems: ext4, xfs, btrfs, tmpfs, overlayfs, zfs.
  for (const unsigned long local :
       {0xEF53UL, 0x58465342UL, 0x9123683EUL, 0x01021994UL, 0x794C7630UL, 0x2FC12FC1UL}) {
    CHECK(network_filesystem_name(local).empty());
  }
  // FUSE (0x65735546) is decided by the mount's type.
  constexpr unsigned long kFuse = 0x65735546;
  CHECK(network_filesystem_name(kFuse, "fuse.sshfs") == "fuse.sshfs");
  CHECK(network_filesystem_name(kFuse, "fuse.glusterfs") == "fuse.glusterfs");
  CHECK(network_filesystem_name(kFuse, "fuse.rclone") == "fuse.rclone");
  CHECK(network_filesystem_name(kFuse, "fuse.s3fs") == "fuse.s3fs");
  CHECK(network_filesystem_name(kFuse, "fuse.ceph-fuse") == "fuse.ceph-fuse");
  CHECK(network_filesystem_name(kFuse, "fuse.bindfs").empty());
  CHECK(network_filesystem_name(kFuse, "fuseblk").empty());  // ntfs-3g, exfat on a local disk
  CHECK(network_filesystem_name(kFuse, "").empty());
  CHECK(network_filesystem_name(kFuse, "fuse.sshfs-not").empty());
  // The subtype alone means nothing without FUSE's f_type.
  CHECK(network_filesystem_name(0xEF53, "fuse.sshfs").empty());
}

TEST_CASE("a local temporary folder is accepted as a local filesystem", "[sqlite][files]") {
  const test::TempDir dir;
  CHECK_NOTHROW(detail::require_local_filesystem(dir / "new.db"));
  { SqliteStore store({.path = dir / "cache.db"}); }
  CHECK_NOTHROW(detail::require_local_filesystem(dir / "cache.db"));
}

TEST_CASE("lock waits back off from yields through microseconds to 1 ms", "[sqlite][busy]") {
  using detail::pause_before;
  for (int attempt = 0; attempt < 8; ++attempt) CHECK(pause_before(attempt) == 0us);
  CHECK(pause_before(8) == 5us);
  CHECK(pause_before(9) == 10us);
  CHECK(pause_before(10) == 20us);
  for (int attempt = 9; attempt < 100; ++attempt) {
    CHECK(pause_before(attempt) >= pause_before(attempt - 1));
    CHECK(pause_before(attempt) <= 1000us);
  }
  CHECK(pause_before(100) == 1000us);
  CHECK(pause_before(1'000'000) == 1000us);
}

// The coarse clock lags the precise one by up to a tick: without the floors
// a read right after a write would be stamped before it (and evicted first),
// and reads within one tick would tie.
TEST_CASE(
    "read stamps of the system clock: later than this process's writes, increasing per thread",
    "[sqlite][lru]") {
  detail::AccessClock clock(system_clock());
  std::int64_t previous_read = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::int64_t write = clock.write_stamp();
    const std::int64_t read = clock.read_stamp();
    REQUIRE(read > write);
    REQUIRE(read > previous_read);
    const std::int64_t again = clock.read_stamp();
    REQUIRE(again > read);
    previous_read = again;
  }
  // Never ahead of the precise clock by more than a nanosecond per read
  // stamped (here: per read since the last tick, at most all of them).
  std::int64_t last = 0;
  for (int i = 0; i < 10'000; ++i) last = clock.read_stamp();
  CHECK(last <= detail::to_nanos(std::chrono::system_clock::now()) + 10'000 + 3 * 2000);
  // Each thread's own stamps increase, whatever the others do.
  std::vector<std::thread> threads;
  std::atomic<int> out_of_order{0};
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      std::int64_t mine = 0;
      for (int i = 0; i < 10'000; ++i) {
        const std::int64_t stamp = clock.read_stamp();
        if (stamp <= mine) ++out_of_order;
        mine = stamp;
        if (i % 100 == 0) clock.write_stamp();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(out_of_order == 0);
}

TEST_CASE("read stamps of a given clock are that clock's time, exactly", "[sqlite][lru]") {
  const TimePoint start{std::chrono::hours(24 * 365 * 30)};
  const auto fixed = std::make_shared<test::FixedClock>(start);
  detail::AccessClock clock(fixed);
  CHECK(clock.write_stamp() == detail::to_nanos(start));
  CHECK(clock.read_stamp() == detail::to_nanos(start));
  CHECK(clock.read_stamp() == detail::to_nanos(start));  // no floor: the clock decides
  fixed->advance(std::chrono::seconds(1));
  CHECK(clock.read_stamp() == detail::to_nanos(start + std::chrono::seconds(1)));
}

}  // namespace
}  // namespace blobcache
