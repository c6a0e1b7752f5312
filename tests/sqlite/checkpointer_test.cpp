// The background WAL checkpointer: who checkpoints when, how big the -wal
// gets, and that the thread never outlives its store (also after fork).
#include "sqlite/checkpointer.hpp"

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
#include "sqlite/tuning.hpp"
#include "temp_dir.hpp"
#include "tuning_scope.hpp"

namespace blobcache {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using detail::checkpoint_counts;

constexpr int kNever = 1 << 30;
constexpr std::uintmax_t kPage = 16384;

// Sets the checkpoint thresholds of the stores opened while it lives. The
// -wal is truncated at every restart (journal_size_limit 0), so its size is
// what the WAL holds, not its high-water mark.
class Thresholds {
 public:
  Thresholds(int background, int inline_bound) {
    detail::tuning().checkpoint_pages = background;
    detail::tuning().checkpoint_inline_pages = inline_bound;
    detail::tuning().journal_size_limit = 0;
    detail::tuning().background_checkpoints = true;
  }

 private:
  test::TuningScope restore_;  // built before the body above runs: saves the knobs unchanged
};

// The thresholds, and a fresh folder with the database's path in it.
struct Setup {
  Setup(int background, int inline_bound) : thresholds(background, inline_bound) {}
  const Thresholds thresholds;
  const test::TempDir dir;
  const fs::path db = dir / "cache.db";
};

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

// Puts `count` values, `pause` apart; returns the largest -wal seen after a put.
std::uintmax_t put_many(SqliteStore& store, const fs::path& db, int count,
                        const std::string& prefix = "k", std::chrono::microseconds pause = {}) {
  std::uintmax_t largest = 0;
  for (int i = 0; i < count; ++i) {
    store.put("ns", prefix + std::to_string(i), std::string_view(value()));
    largest = std::max(largest, wal_bytes(db));
    if (pause.count() > 0) std::this_thread::sleep_for(pause);
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
    SqliteStore store({.path = db});
    const auto before = checkpoint_counts();
    const std::uintmax_t largest = put_many(store, db, 300, "k", 2ms);
    CHECK(checkpoint_counts().background > before.background);
    CHECK(checkpoint_counts().failed == before.failed);
    INFO("largest -wal: " << largest);
    CHECK(largest < 600 * kPage);
  }
  SECTION("a writer faster than the thread: the WAL stays under checkpoint_inline_pages") {
    const Setup setup(64, 256);
    const fs::path& db = setup.db;
    SqliteStore store({.path = db});
    const auto before = checkpoint_counts();
    const std::uintmax_t largest = put_many(store, db, 300);
    CHECK(checkpoint_counts().background > before.background);
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
  SqliteStore store({.path = db});
  const auto before = checkpoint_counts();
  const std::uintmax_t largest = put_many(store, db, 200);
  CHECK(checkpoint_counts().inline_ > before.inline_);
  CHECK(checkpoint_counts().background == before.background);
  INFO("largest -wal: " << largest);
  // The bound plus one put's frames (the put that crosses it).
  CHECK(largest < (64 + 16) * kPage);
}

TEST_CASE("a reader's snapshot holds the WAL back only while the reader lives",
          "[sqlite][checkpoint]") {
  const Setup setup(16, 64);
  const fs::path& db = setup.db;
  SqliteStore store({.path = db});
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

TEST_CASE("a store's destructor joins its thread promptly and leaves only the database file",
          "[sqlite][checkpoint]") {
  const Setup setup(8, kNever);
  const fs::path& db = setup.db;
  const auto before = checkpoint_counts();
  for (int round = 0; round < 10; ++round) {
    auto store = std::make_unique<SqliteStore>(SqliteOptions{.path = db});
    put_many(*store, db, 20,
             "r" + std::to_string(round) + "-");  // the thread is likely mid-checkpoint
    const auto started = std::chrono::steady_clock::now();
    store.reset();
    CHECK(std::chrono::steady_clock::now() - started < 5s);
    CHECK(names_in(setup.dir.path()) == std::set<std::string>{"cache.db"});
  }
  CHECK(checkpoint_counts().background > before.background);
  CHECK(checkpoint_counts().failed == before.failed);
  SqliteStore reopened({.path = db});
  CHECK(reopened.list("ns").size() == 200);
}

TEST_CASE("a forked child checkpoints inline from checkpoint_pages on, without the parent's thread",
          "[sqlite][checkpoint][fork]") {
  const Setup setup(64, 256);
  const fs::path& db = setup.db;
  SqliteStore store({.path = db});
  const auto parent_before = checkpoint_counts();
  put_many(store, db, 100, "parent");  // starts the thread, which may be busy at fork
  REQUIRE(eventually([&] { return checkpoint_counts().background > parent_before.background; }));
  put_many(store, db, 20, "parent-more");

  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::alarm(60);  // a deadlock becomes a SIGALRM
    int code = 0;
    try {
      const auto before = checkpoint_counts();
      const std::uintmax_t largest = put_many(store, db, 400, "child");
      if (checkpoint_counts().inline_ == before.inline_) code = 2;
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
  const auto before = checkpoint_counts();
  for (int round = 0; round < 3; ++round) {
    SqliteStore store({.path = db});
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
  }
  CHECK(checkpoint_counts().failed == before.failed);
  CHECK(names_in(setup.dir.path()) == std::set<std::string>{"cache.db"});
}

}  // namespace
}  // namespace blobcache
