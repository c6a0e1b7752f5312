// The background WAL checkpointer: who checkpoints when, how big the -wal
// gets, and that the thread never outlives its store (also after fork).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "blobcache/sqlite_store.hpp"

#include "catch_compat.hpp"
#include "sqlite/maintenance.hpp"
#include "sqlite/test_seams.hpp"
#include "temp_dir.hpp"

namespace blobcache {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using detail::CheckpointCounts;

constexpr int kNever = 1 << 30;
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

template <typename Predicate>
bool eventually(Predicate done);

// How put_many paces its puts.
enum class Pace {
  none,       // as fast as it can
  by_thread,  // after a put that leaves the WAL past `pages`, wait for the thread's next pass
};

// Puts `count` values; returns the largest -wal seen after a put.
std::uintmax_t put_many(SqliteStore& store, const fs::path& db, int count,
                        const std::string& prefix = "k", Pace pace = Pace::none, int pages = 0) {
  std::uintmax_t largest = 0;
  for (int i = 0; i < count; ++i) {
    const auto before = counts(store).background;
    store.put("ns", prefix + std::to_string(i), std::string_view(value()));
    largest = std::max(largest, wal_bytes(db));
    if (pace == Pace::by_thread && wal_bytes(db) >= static_cast<std::uintmax_t>(pages) * kPage) {
      eventually([&] { return counts(store).background > before; });
    }
  }
  return largest;
}

template <typename Predicate>
bool eventually(Predicate done) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

std::set<std::string> names_in(const fs::path& folder) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder))
    names.insert(entry.path().filename().string());
  return names;
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
    const std::uintmax_t largest = put_many(*store, db, 300);
    CHECK(counts(*store).background > 0);
    INFO("largest -wal: " << largest);
    // Past the bound a committer's checkpoint finds the lock taken until the
    // thread's pass ends: the bound plus what commits during one pass.
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
  CHECK(eventually([&] {
    store.put("ns", "probe", std::string_view("x"));
    return wal_bytes(db) < 16 * kPage;
  }));
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
    if (round == 9) CHECK(eventually([&] { return counts(*store).background > 0; }));
    total += counts(*store);
    store.reset();  // a join that never returns fails the test by its timeout
    CHECK(names_in(setup.dir.path()) == std::set<std::string>{"cache.db"});
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
  REQUIRE(eventually([&] { return counts(store).background > 0; }));
  put_many(store, db, 20, "parent-more");

  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::alarm(60);  // a deadlock becomes a SIGALRM
    int code = 0;
    try {
      const auto before = counts(store);
      const std::uintmax_t largest = put_many(store, db, 400, "child");
      if (counts(store).inline_ == before.inline_) code = 2;
      // Unchecked, 400 puts would leave ~3,200 pages in the WAL. The parent's
      // thread still checkpoints the same WAL, so the child's checkpoints can
      // find the lock taken: the bound is loose, as in a writer faster than the thread.
      if (largest >= 4 * 256 * kPage) code = 3;
    } catch (...) {
      code = 1;
    }
    std::_Exit(code);  // the inherited store is the parent's to close
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
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
  CHECK(names_in(setup.dir.path()) == std::set<std::string>{"cache.db"});
}

}  // namespace
}  // namespace blobcache
