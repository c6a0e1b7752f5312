// Conditional puts and get_or_fill across real processes sharing one file:
// no lost update, one fill per key among 32 callers, and a filler killed
// mid-fill replaced by exactly one waiter.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <set>
#include <signal.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "blobcache/cache.hpp"
#include "blobcache/error.hpp"
#include "blobcache/sqlite_store.hpp"

#include "catch_compat.hpp"
#include "processes.hpp"
#include "temp_dir.hpp"

namespace blobcache {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

bool small_scale() {
  const char* scale = std::getenv("BLOBCACHE_TEST_SCALE");  // NOLINT(concurrency-mt-unsafe)
  return scale != nullptr && std::string(scale) == "small";
}

// Appends one line with O_APPEND (one write: lines of processes never mix).
void append_line(const fs::path& file, const std::string& line) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("open " + file.string());
  const std::string text = line + "\n";
  const ssize_t written = ::write(fd, text.data(), text.size());
  ::close(fd);
  if (written != static_cast<ssize_t>(text.size())) throw std::runtime_error("short write");
}

std::vector<std::string> lines_of(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST_CASE("4 processes x 2 threads incrementing one counter with if_match lose no update",
          "[sqlite][conditional][process]") {
  const test::TempDir dir;
  const fs::path file = dir / "counter.db";
  const int rounds = small_scale() ? 40 : 200;
  { SqliteStore({.path = file}).put("ns", "counter", std::string_view("0")); }
  std::vector<pid_t> children;
  for (int process = 0; process < 4; ++process) {
    children.push_back(test::in_child([&] {
      SqliteStore store({.path = file});
      std::atomic<int> failures{0};
      std::vector<std::thread> threads;
      for (int t = 0; t < 2; ++t) {
        threads.emplace_back([&] {
          try {
            for (int round = 0; round < rounds;) {
              const Blob current = *store.get("ns", "counter");
              const std::string next = std::to_string(std::stoll(std::string(current.text())) + 1);
              try {
                store.put("ns", "counter", std::string_view(next), {.if_match = current.meta.etag});
                ++round;
              } catch (const Error& e) {
                if (e.errc() != Errc::precondition_failed) throw;  // lost the race: read again
              }
            }
          } catch (...) {
            ++failures;
          }
        });
      }
      for (auto& thread : threads) thread.join();
      return failures.load() == 0 ? 0 : 2;
    }));
  }
  for (const pid_t pid : children) CHECK(test::wait_child(pid) == 0);
  SqliteStore store({.path = file});
  CHECK(store.get("ns", "counter")->text() == std::to_string(4 * 2 * rounds));
}

// One process of the fill tests: `threads` threads calling get_or_fill on
// one key; each appends the etag it got to `etags`, and every run of the
// fill appends to `runs` (then sleeps `fill_time`).
int fill_process(const fs::path& db, const fs::path& runs, const fs::path& etags, int threads,
                 std::chrono::milliseconds fill_time, Duration lease) {
  auto store = std::make_shared<SqliteStore>(SqliteOptions{.path = db});
  std::atomic<int> failures{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < threads; ++t) {
    callers.emplace_back([&] {
      try {
        Cache cache(store, "ns", 0ns);
        const Lookup got =
            cache.get_or_fill("key",
                              [&] {
                                append_line(runs, std::to_string(::getpid()));
                                std::this_thread::sleep_for(fill_time);
                                return Fill{.data = Bytes(1000, std::byte{7}), .opts = {}};
                              },
                              {.lease = lease});
        append_line(etags, got.blob.meta.etag);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "caller: %s\n", e.what());
        ++failures;
      }
    });
  }
  for (auto& caller : callers) caller.join();
  return failures.load() == 0 ? 0 : 2;
}

TEST_CASE("32 callers in 4 processes missing one key run the fill once and share its etag",
          "[sqlite][fill][process]") {
  const test::TempDir dir;
  const fs::path db = dir / "fill.db";
  const fs::path runs = dir / "runs";
  const fs::path etags = dir / "etags";
  { SqliteStore create({.path = db}); }
  std::vector<pid_t> children;
  for (int process = 0; process < 4; ++process) {
    children.push_back(
        test::in_child([&] { return fill_process(db, runs, etags, 8, 200ms, 30s); }));
  }
  for (const pid_t pid : children) CHECK(test::wait_child(pid) == 0);
  CHECK(lines_of(runs).size() == 1);
  const std::vector<std::string> seen = lines_of(etags);
  CHECK(seen.size() == 32);
  CHECK(std::set<std::string>(seen.begin(), seen.end()).size() == 1);
  // No lease is left behind.
  SqliteStore store({.path = db});
  CHECK(store.try_acquire_lease("ns", "key", "someone", 1s));
}

TEST_CASE("a filler killed mid-fill is replaced by exactly one waiter once its lease expires",
          "[sqlite][fill][process][kill]") {
  const test::TempDir dir;
  const fs::path db = dir / "killed.db";
  const fs::path runs = dir / "runs";
  const fs::path etags = dir / "etags";
  { SqliteStore create({.path = db}); }
  // The first filler takes the lease and hangs in its fill.
  const pid_t doomed = test::in_child([&] { return fill_process(db, runs, etags, 1, 600s, 1s); });
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (lines_of(runs).empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  REQUIRE(lines_of(runs).size() == 1);
  std::vector<pid_t> waiters;
  for (int process = 0; process < 3; ++process) {
    waiters.push_back(test::in_child([&] { return fill_process(db, runs, etags, 8, 200ms, 1s); }));
  }
  std::this_thread::sleep_for(100ms);  // the waiters are waiting (or still starting)
  ::kill(doomed, SIGKILL);
  CHECK(test::wait_child(doomed) == -1);
  for (const pid_t pid : waiters) CHECK(test::wait_child(pid) == 0);
  CHECK(lines_of(runs).size() == 2);  // the killed run and exactly one more
  const std::vector<std::string> seen = lines_of(etags);
  CHECK(seen.size() == 24);
  CHECK(std::set<std::string>(seen.begin(), seen.end()).size() == 1);
}

// A child forked while a thread of its parent fills a key inherits that
// flight as fork found it, with a leader that is not in the child: its own
// get_or_fill of the key must run a fill (once the parent's lease in the
// file has expired), not wait for that flight forever.
TEST_CASE("a child forked during a parent thread's fill fills the key itself",
          "[sqlite][fill][process][fork]") {
  const test::TempDir dir;
  const auto store = std::make_shared<SqliteStore>(SqliteOptions{.path = dir / "forked.db"});
  store->put("ns", "warm", std::string_view("w"));  // the store's thread runs before the fork
  Cache cache(store, "ns", 0ns);
  std::atomic<bool> filling{false};
  std::atomic<bool> release{false};
  std::thread parent_filler([&] {
    cache.get_or_fill("key",
                      [&] {
                        filling = true;
                        while (!release) std::this_thread::sleep_for(1ms);
                        return Fill{.data = Bytes(3, std::byte{'p'}), .opts = {}};
                      },
                      {.lease = 200ms});
  });
  while (!filling) std::this_thread::sleep_for(1ms);
  const pid_t child = test::in_child([&] {
    const Lookup got = cache.get_or_fill(
        "key", [] { return Fill{.data = Bytes(3, std::byte{'c'}), .opts = {}}; }, {.lease = 1s});
    return got.filled && got.blob.data == Bytes(3, std::byte{'c'}) ? 0 : 2;
  });
  const int code = test::wait_child(child);
  release = true;
  parent_filler.join();
  CHECK(code == 0);
}

}  // namespace
}  // namespace blobcache
