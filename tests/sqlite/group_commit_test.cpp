// Group commit: puts that threads of one store make at once share one write
// transaction, and each keeps its own outcome. The first put's batch is held
// (Probes::before_batch) until the other threads' puts have all queued, so
// the second batch holds them together whatever the scheduler does.
#include "sqlite/group_commit.hpp"

#include <atomic>
#include <chrono>
#include <latch>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "blobcache/error.hpp"
#include "blobcache/sqlite_store.hpp"

#include "catch_compat.hpp"
#include "processes.hpp"
#include "sqlite/database.hpp"
#include "sqlite/test_seams.hpp"
#include "temp_dir.hpp"

namespace blobcache {
namespace {

using detail::SqliteStoreAccess;

struct PutCase {
  std::string key;
  std::string value;
  PutOptions options;
};

// Runs `first` on this thread's store, held before its batch until every
// put of `others` (one thread each) has queued; returns each other put's
// error code (nullopt: stored).
std::vector<std::optional<Errc>> put_together(SqliteStore& store, const PutCase& first,
                                              const std::vector<PutCase>& others) {
  auto& probes = SqliteStoreAccess::probes(store);
  std::atomic<bool> held{false};
  std::atomic<bool> all_queued{false};
  probes.before_batch = [&](std::size_t) {
    if (held.exchange(true)) return;  // only the first batch waits
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (SqliteStoreAccess::queued_puts(store) < others.size() &&
           std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    all_queued = SqliteStoreAccess::queued_puts(store) == others.size();
  };
  std::vector<std::optional<Errc>> outcomes(others.size());
  std::thread leader([&] { store.put("ns", first.key, first.value, first.options); });
  while (!held) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < others.size(); ++i) {
    threads.emplace_back([&, i] {
      try {  // no Catch2 assertions off the main thread
        store.put("ns", others[i].key, others[i].value, others[i].options);
      } catch (const Error& e) {
        outcomes[i] = e.errc();
      }
    });
  }
  leader.join();
  for (auto& thread : threads) thread.join();
  probes.before_batch = nullptr;
  REQUIRE(all_queued);  // else the puts were not batched and the test proves nothing
  return outcomes;
}

TEST_CASE("puts queued together commit in one transaction, each with its own outcome",
          "[sqlite][group_commit]") {
  const test::TempDir dir;
  SqliteStore store(SqliteOptions{.path = dir / "group.db", .memory_cache_bytes = 0});
  const Meta old = store.put("ns", "existing", std::string_view("old"));

  std::vector<PutCase> others;
  for (int i = 0; i < 5; ++i) {
    others.push_back({.key = "k" + std::to_string(i), .value = std::string(1000, 'a' + i)});
  }
  // Two whose condition fails: they fail alone, their neighbours land.
  others.push_back({.key = "existing", .value = "absent?", .options = {.if_match = ""}});
  others.push_back(
      {.key = "existing", .value = "stale", .options = {.if_match = std::string(64, 'f')}});
  // And one whose condition holds, after them in the same transaction.
  others.push_back({.key = "existing", .value = "new", .options = {.if_match = old.etag}});

  const auto before = SqliteStoreAccess::probes(store).grouped_puts.load();
  const auto outcomes = put_together(store, {.key = "first", .value = "1"}, others);
  for (std::size_t i = 0; i < 5; ++i) CHECK_FALSE(outcomes[i].has_value());
  CHECK(outcomes[5] == Errc::precondition_failed);
  CHECK(outcomes[6] == Errc::precondition_failed);
  CHECK_FALSE(outcomes[7].has_value());
  CHECK(SqliteStoreAccess::probes(store).grouped_puts.load() - before == 6);

  for (std::size_t i = 0; i < 5; ++i) {
    const auto blob = store.get("ns", others[i].key);
    REQUIRE(blob);
    CHECK(blob->text() == others[i].value);
  }
  CHECK(store.get("ns", "existing")->text() == "new");
  CHECK(store.get("ns", "first")->text() == "1");
  CHECK(SqliteStoreAccess::usage_mismatch(store).empty());
  CHECK(store.stats().entries == 7);
}

TEST_CASE("a put of a batch that does not fit the file fails alone with no_space",
          "[sqlite][group_commit]") {
  const test::TempDir dir;
  // A 1 MiB cap; the huge value stays within a batch's bytes.
  SqliteStore store(
      SqliteOptions{.path = dir / "small.db", .max_file_bytes = 1 << 20, .memory_cache_bytes = 0});
  std::vector<PutCase> others;
  for (int i = 0; i < 4; ++i) others.push_back({.key = "small" + std::to_string(i), .value = "v"});
  others.push_back({.key = "huge", .value = std::string(2 << 20, 'h')});
  const auto outcomes = put_together(store, {.key = "first", .value = "1"}, others);
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK_FALSE(outcomes[i].has_value());
    CHECK(store.get("ns", others[i].key));
  }
  CHECK(outcomes[4] == Errc::no_space);
  CHECK_FALSE(store.get("ns", "huge"));
  CHECK(SqliteStoreAccess::usage_mismatch(store).empty());
  CHECK_NOTHROW(store.check());
}

// Each put of a batch runs in a savepoint whose sub-journal is kept in
// memory: the values one batch takes are bounded (kMaxBatchBytes).
TEST_CASE("a batch takes at most kMaxBatchBytes of values; a bigger put commits alone",
          "[sqlite][group_commit]") {
  const test::TempDir dir;
  SqliteStore store(SqliteOptions{.path = dir / "big.db", .memory_cache_bytes = 0});
  constexpr std::size_t kLimit = detail::GroupCommit::kMaxBatchBytes;
  std::vector<PutCase> others;
  // Queued in any order: no two of the big ones fit one batch.
  others.push_back({.key = "half-a", .value = std::string(kLimit / 2 + 1, 'a')});
  others.push_back({.key = "half-b", .value = std::string(kLimit / 2 + 1, 'b')});
  others.push_back({.key = "whole", .value = std::string(kLimit + 1, 'w')});
  const auto before = SqliteStoreAccess::probes(store).grouped_puts.load();
  const auto outcomes = put_together(store, {.key = "first", .value = "1"}, others);
  for (const auto& outcome : outcomes) CHECK_FALSE(outcome.has_value());
  CHECK(SqliteStoreAccess::probes(store).grouped_puts.load() == before);  // each alone
  for (const PutCase& put : others) CHECK(store.get("ns", put.key)->text() == put.value);
  CHECK(SqliteStoreAccess::usage_mismatch(store).empty());
}

// A child forked while a thread of its parent leads a batch inherits the
// queue as fork found it: a leader that is not in the child. Its puts must
// lead their own batches, not wait for that one forever.
TEST_CASE("a child forked while a parent's thread leads a batch puts on its own",
          "[sqlite][group_commit][fork]") {
  const test::TempDir dir;
  SqliteStore store(SqliteOptions{.path = dir / "fork.db", .memory_cache_bytes = 0});
  store.put("ns", "before", std::string_view("b"));  // the store's thread runs before the fork
  auto& probes = SqliteStoreAccess::probes(store);
  std::atomic<bool> leading{false};
  std::atomic<bool> release{false};
  probes.before_batch = [&](std::size_t) {
    if (leading.exchange(true)) return;  // the child's own batch goes on
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  std::thread leader([&] { store.put("ns", "parent", std::string_view("p")); });
  while (!leading) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const pid_t child = test::in_child([&] {
    store.put("ns", "child", std::string_view("c"));
    return store.get("ns", "child") ? 0 : 2;
  });
  const int code = test::wait_child(child);
  release = true;
  leader.join();
  probes.before_batch = nullptr;
  CHECK(code == 0);
  CHECK(store.get("ns", "child").has_value());
  CHECK(store.get("ns", "parent").has_value());
}

}  // namespace
}  // namespace blobcache
