// The background WAL checkpointer: who checkpoints when, how big the -wal
// gets, and that the thread never outlives its store (also after fork).
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "blobcache/sqlite_store.hpp"

#include "catch_compat.hpp"
#include "files.hpp"
#include "processes.hpp"
#include "sqlite/maintenance.hpp"
#include "sqlite/test_seams.hpp"
#include "temp_dir.hpp"
#include "wait_until.hpp"

namespace blobcache {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using detail::CheckpointCounts;

constexpr int kNever = 1 << 30;
// The page size of the files these tests make: the thresholds count pages,
// the bounds below are written for pages of this size.
constexpr std::uintmax_t kPage = 16384;

// The checkpoint thresholds of the stores a test opens, and a fresh folder
// with the database's path in it. The -wal is truncated at every restart
// (journal_size_limit 0), so its size is what the WAL holds, not its
// high-water mark.
struct Setup {
  Setup(int background, int inline_bound) {
    tuning.checkpoint_pages = background;
    tuning.checkpoint_inline_pages = inline_bound;
    tuning.journal_size_limit = 0;
    tuning.background_checkpoints = true;
    tuning.page_size = static_cast<int>(kPage);
  }
  std::unique_ptr<SqliteStore> open() const {
    return detail::SqliteStoreAccess::open({.path = db}, tuning);
  }
  detail::Tuning tuning;
  const test::TempDir dir;
  const fs::path db = dir / "cache.db";
};

CheckpointCounts counts(const SqliteStore& store) {
  return detail::SqliteStoreAccess::checkpoint_counts(store);
}

// Every checkpoint attempt the store made, by its thread or a committer.
std::uint64_t checkpoints(const SqliteStore& store) {
  const CheckpointCounts c = counts(store);
  return c.background + c.inline_ + c.failed;
}

// Sums the counts of stores opened one after another.
CheckpointCounts& operator+=(CheckpointCounts& sum, const CheckpointCounts& more) {
  sum.background += more.background;
  sum.inline_ += more.inline_;
  sum.failed += more.failed;
  return sum;
}

std::uintmax_t wal_bytes(const fs::path& db) {
  std::error_code missing;
  const auto size = fs::file_size(db.string() + "-wal", missing);
  return missing ? 0 : size;
}

// 64 KiB: four overflow pages plus the entry's and index pages per put.
const std::string& value() {
  static const std::string bytes(64 * 1024, 'v');
  return bytes;
}

// How put_many paces its puts: by events, never by the clock.
enum class Pace {
  none,  // as fast as it can
  // After a put that leaves the WAL past `pages`, wait for the thread's
  // next pass (or, should that pass have left the rest to the next
  // committer, for the WAL to start over).
  by_thread,
  // After a put that leaves the WAL past `pages` without a checkpoint of
  // its own (the lock was taken: by the store's thread, or by another
  // process's), wait until one runs. What the WAL holds past the bound is
  // then what one put adds, however long the other checkpoint takes.
  by_lock,
};

// Waits until `happened()`. A pass of the thread may leave the rest of the
// WAL to the next committer (Checkpointer::run), and another process's
// checkpoints are not counted here, so a wait that goes on is a committer
// now and then: a one-byte put after 256, 512, 1024 ... polls. Not at
// once: a commit during a pass leaves it a tail to hand over.
template <typename Event>
void wait_committing(SqliteStore& store, Event happened) {
  std::uint64_t polls = 0;
  std::uint64_t next_put = 256;
  test::wait_until([&] {
    if (happened()) return true;
    if (++polls == next_put) {
      next_put *= 2;
      store.put("pace", "next-committer", std::string_view("x"));
    }
    return false;
  });
}

// Puts `count` values; returns the largest -wal seen after a put.
std::uintmax_t put_many(SqliteStore& store, const fs::path& db, int count,
                        const std::string& prefix = "k", Pace pace = Pace::none, int pages = 0) {
  const auto bound = static_cast<std::uintmax_t>(pages) * kPage;
  std::uintmax_t largest = 0;
  for (int i = 0; i < count; ++i) {
    const CheckpointCounts before = counts(store);
    const std::uint64_t checkpoints_before = checkpoints(store);
    store.put("ns", prefix + std::to_string(i), std::string_view(value()));
    const std::uintmax_t wal = wal_bytes(db);
    largest = std::max(largest, wal);
    if (pace == Pace::by_thread && wal >= bound) {
      wait_committing(store, [&] {
        return counts(store).background > before.background || wal_bytes(db) < bound;
      });
    } else if (pace == Pace::by_lock && wal >= bound && checkpoints(store) == checkpoints_before) {
      wait_committing(store, [&] { return checkpoints(store) > checkpoints_before; });
    }
  }
  return largest;
}

TEST_CASE("past checkpoint_pages the store's thread checkpoints and the WAL starts over",
          "[sqlite][checkpoint]") {
  // Unchecked, 300 puts write ~2,400 pages (38 MiB) of WAL.
  SECTION("a writer the thread keeps up with: the WAL stays near checkpoint_pages") {
    const Setup setup(64, kNever);
    const fs::path& db = setup.db;
    const auto store = setup.open();
    // The writer waits for a pass whenever it left the WAL past the
    // threshold: paced by the thread's progress, not by the clock.
    const std::uintmax_t largest = put_many(*store, db, 300, "k", Pace::by_thread, 64);
    CHECK(counts(*store).background > 0);
    CHECK(counts(*store).failed == 0);
    INFO("largest -wal: " << largest);
    CHECK(largest < 600 * kPage);
  }
  SECTION("a writer faster than the thread: the WAL stays under checkpoint_inline_pages") {
    const Setup setup(64, 256);
    const fs::path& db = setup.db;
    const auto store = setup.open();
    // Past the bound every commit checkpoints; one that finds the thread's
    // pass holding the lock waits for it, so what commits during a pass
    // (as long as the machine makes it) does not count here.
    const std::uintmax_t largest = put_many(*store, db, 300, "k", Pace::by_lock, 256);
    CHECK(counts(*store).background > 0);
    INFO("largest -wal: " << largest);
    CHECK(largest < 4 * 256 * kPage);
  }
}

TEST_CASE("past checkpoint_inline_pages the committing connection checkpoints itself",
          "[sqlite][checkpoint]") {
  const Setup setup(kNever, 64);
  const fs::path& db = setup.db;
  const auto store = setup.open();
  const std::uintmax_t largest = put_many(*store, db, 200);
  CHECK(counts(*store).inline_ > 0);
  CHECK(counts(*store).background == 0);
  INFO("largest -wal: " << largest);
  // The bound plus one put's frames (the put that crosses it).
  CHECK(largest < (64 + 16) * kPage);
}

TEST_CASE("a reader's snapshot holds the WAL back only while the reader lives",
          "[sqlite][checkpoint]") {
  const Setup setup(16, 64);
  const fs::path& db = setup.db;
  const auto opened = setup.open();
  SqliteStore& store = *opened;
  store.put("ns", "pinned", std::string_view("old"));
  {
    auto reader = store.open("ns", "pinned");
    // No checkpoint can copy frames past the reader's snapshot: the WAL grows.
    CHECK(put_many(store, db, 40, "during") > 128 * kPage);
  }
  // Once it is gone, checkpoints copy everything again and the WAL starts over.
  put_many(store, db, 100, "after");
  test::wait_until([&] {
    store.put("ns", "probe", std::string_view("x"));
    return wal_bytes(db) < 16 * kPage;
  });
  CHECK(store.get("ns", "pinned")->text() == "old");
}

TEST_CASE("a store's destructor joins its thread and leaves only the database file",
          "[sqlite][checkpoint]") {
  const Setup setup(8, kNever);
  const fs::path& db = setup.db;
  CheckpointCounts total;
  for (int round = 0; round < 10; ++round) {
    auto store = setup.open();
    put_many(*store, db, 20,
             "r" + std::to_string(round) + "-");  // the thread is likely mid-checkpoint
    // The last round lets a pass finish first, so the thread is known to run.
    if (round == 9) test::wait_until([&] { return counts(*store).background > 0; });
    total += counts(*store);
    store.reset();  // a join that never returns fails the test by its timeout
    CHECK(test::file_names(setup.dir.path()) == std::set<std::string>{"cache.db"});
  }
  CHECK(total.background > 0);
  CHECK(total.failed == 0);
  SqliteStore reopened({.path = db});
  CHECK(reopened.list("ns").size() == 200);
}

TEST_CASE("a forked child checkpoints inline from checkpoint_pages on, without the parent's thread",
          "[sqlite][checkpoint][fork]") {
  const Setup setup(64, 256);
  const fs::path& db = setup.db;
  const auto opened = setup.open();
  SqliteStore& store = *opened;
  put_many(store, db, 100, "parent");  // starts the thread, which may be busy at fork
  test::wait_until([&] { return counts(store).background > 0; });
  put_many(store, db, 20, "parent-more");

  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 0;
    try {
      const auto before = counts(store);
      // Unchecked, 400 puts would leave ~3,200 pages in the WAL. The parent's
      // thread still checkpoints the same WAL, so a checkpoint of the child
      // may find the lock taken: then it waits for the next one to run.
      const std::uintmax_t largest = put_many(store, db, 400, "child", Pace::by_lock, 64);
      if (counts(store).inline_ == before.inline_) code = 2;
      if (largest >= 4 * 256 * kPage) code = 3;
    } catch (...) {
      code = 1;
    }
    std::_Exit(code);  // the inherited store is the parent's to close
  }
  const test::Exit child = test::wait_for_exit(pid);  // a deadlock: the test's timeout
  CHECK(child.exited);
  CHECK(child.code == 0);
  put_many(store, db, 20, "parent-after");
  CHECK(store.list("ns").size() == 100 + 20 + 400 + 20);
}

TEST_CASE("threads committing past both thresholds beside readers, then the store closing",
          "[sqlite][checkpoint]") {
  const Setup setup(8, 32);
  const fs::path& db = setup.db;
  CheckpointCounts total;
  for (int round = 0; round < 3; ++round) {
    const auto opened = setup.open();
    SqliteStore& store = *opened;
    std::atomic<bool> writing{true};
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&, t] { put_many(store, db, 60, "t" + std::to_string(t) + "-"); });
    }
    threads.emplace_back([&] {
      while (writing.load()) {
        if (auto reader = store.open("ns", "t0-0")) {
          std::this_thread::sleep_for(1ms);
        }
      }
    });
    threads[0].join();
    threads[1].join();
    writing = false;
    threads[2].join();
    store.verify();
    total += counts(store);
  }
  CHECK(total.failed == 0);
  CHECK(test::file_names(setup.dir.path()) == std::set<std::string>{"cache.db"});
}

}  // namespace
}  // namespace blobcache
