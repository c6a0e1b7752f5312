// The memory tier: gets served from memory are never stale, whoever wrote
// (another thread, another process), whatever the write (put, erase,
// erase_namespace, erase_expired, eviction), and however far behind a
// reader fell.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <signal.h>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "blobcache/error.hpp"
#include "blobcache/sqlite_store.hpp"

#include "catch_compat.hpp"
#include "processes.hpp"
#include "sqlite/test_seams.hpp"
#include "temp_dir.hpp"

namespace blobcache {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Memory shared by a test and the processes it forks.
template <typename T>
T* shared_memory(std::size_t count) {
  void* memory =
      ::mmap(nullptr, sizeof(T) * count, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  REQUIRE(memory != MAP_FAILED);
  return new (memory) T[count]();
}

// Runs `change` on a store of `file` that a child process opens, and
// waits for it.
template <typename Change>
void in_other_process(const fs::path& file, Change change) {
  const pid_t pid = test::in_child([&] {
    SqliteStore writer({.path = file});
    change(writer);
    return 0;
  });
  REQUIRE(test::wait_child(pid) == 0);
}

std::string key_of(std::size_t i) { return "k" + std::to_string(i); }

std::uint64_t tier_hits(SqliteStore& store) {
  return detail::SqliteStoreAccess::probes(store).tier_hits.load();
}

TEST_CASE("a value written by another process is never served stale from memory",
          "[sqlite][tier][process]") {
  constexpr std::size_t kKeys = 64;
  const int writes = 3000;
  const test::TempDir dir;
  const fs::path file = dir / "tier.db";
  {
    SqliteStore store({.path = file});
    for (std::size_t k = 0; k < kKeys; ++k) store.put("ns", key_of(k), std::string_view("0"));
  }
  // The writer's log: per key, the latest version whose put has returned.
  auto* returned = shared_memory<std::atomic<std::int64_t>>(kKeys);
  auto* done = shared_memory<std::atomic<bool>>(1);
  const pid_t writer = test::in_child([&] {
    SqliteStore store({.path = file});
    std::mt19937 random(1);
    for (int version = 1; version <= writes; ++version) {
      const std::size_t k = random() % kKeys;
      store.put("ns", key_of(k), std::string_view(std::to_string(version)));
      returned[k].store(version);
    }
    return 0;
  });
  std::vector<pid_t> readers;
  for (int process = 0; process < 2; ++process) {
    readers.push_back(test::in_child([&, process] {
      SqliteStore store({.path = file});
      std::atomic<int> stale{0};
      std::vector<std::thread> threads;
      for (int t = 0; t < 2; ++t) {
        threads.emplace_back([&, t] {
          std::mt19937 random(static_cast<unsigned>(10 * process + t));
          // Reads go on past the writer's end: on a loaded machine a reader
          // may start only after the writer finished, and the tier must
          // still be seen serving (and those reads still must not be stale).
          for (int reads = 0; !done->load() || reads < 500; ++reads) {
            const std::size_t k = random() % kKeys;
            // Read the log before the get: the get must see at least that.
            const std::int64_t at_least = returned[k].load();
            const auto blob = store.get("ns", key_of(k));
            const std::int64_t seen = blob ? std::stoll(std::string(blob->text())) : -1;
            if (seen < at_least) {
              std::fprintf(stderr, "stale: %s saw %lld, %lld had returned\n", key_of(k).c_str(),
                           static_cast<long long>(seen), static_cast<long long>(at_least));
              ++stale;
            }
          }
        });
      }
      for (auto& thread : threads) thread.join();
      // Reads were served from memory: the tier was in play.
      if (tier_hits(store) == 0) return 3;
      return stale.load() == 0 ? 0 : 2;
    }));
  }
  // Set once the writer has ended, however it ended: a writer that failed
  // must not leave the readers reading forever.
  CHECK(test::wait_child(writer) == 0);
  done->store(true);
  for (const pid_t pid : readers) CHECK(test::wait_child(pid) == 0);
}

TEST_CASE("erases, namespace erases, expiry and eviction by another process are seen at once",
          "[sqlite][tier][process]") {
  const test::TempDir dir;
  const fs::path file = dir / "changes.db";
  SqliteStore reader({.path = file});
  const auto run_elsewhere = [&](auto change) { in_other_process(file, change); };
  const auto cache = [&](std::string_view ns, std::string_view key) {
    REQUIRE(reader.get(ns, key).has_value());
    const std::uint64_t before = tier_hits(reader);
    REQUIRE(reader.get(ns, key).has_value());
    REQUIRE(tier_hits(reader) == before + 1);  // now served from memory
  };
  reader.put("a", "erased", std::string_view("1"));
  reader.put("b", "x", std::string_view("1"));
  reader.put("b", "y", std::string_view("1"));
  reader.put("c", "expired", std::string_view("1"),
             {.expires_at = std::chrono::system_clock::now() - 1h});
  reader.put("d", "old", std::string_view("1"));
  for (const auto& [ns, key] : std::vector<std::pair<std::string, std::string>>{
           {"a", "erased"}, {"b", "x"}, {"b", "y"}, {"c", "expired"}, {"d", "old"}}) {
    cache(ns, key);
  }
  CHECK_FALSE(reader.get("a", "never").has_value());  // an absence is kept too
  run_elsewhere([](SqliteStore& writer) { writer.erase("a", "erased"); });
  CHECK_FALSE(reader.get("a", "erased").has_value());
  run_elsewhere([](SqliteStore& writer) { writer.put("a", "never", std::string_view("now")); });
  CHECK(reader.get("a", "never")->text() == "now");
  run_elsewhere([](SqliteStore& writer) { writer.erase_namespace("b"); });
  CHECK_FALSE(reader.get("b", "x").has_value());
  CHECK_FALSE(reader.get("b", "y").has_value());
  run_elsewhere([](SqliteStore& writer) {
    writer.erase_expired("c", std::chrono::system_clock::now(), 0ns);
  });
  CHECK_FALSE(reader.get("c", "expired").has_value());
  run_elsewhere([](SqliteStore& writer) {
    writer.set_limits({.max_entries = 1});  // evicts the oldest put: d/old
  });
  CHECK_FALSE(reader.get("d", "old").has_value());
}

TEST_CASE("a reader further behind than the log's ring forgets what it kept",
          "[sqlite][tier][process]") {
  const test::TempDir dir;
  const fs::path file = dir / "ring.db";
  SqliteStore reader({.path = file});
  reader.put("ns", "k", std::string_view("old"));
  REQUIRE(reader.get("ns", "k")->text() == "old");
  REQUIRE(reader.get("ns", "k")->text() == "old");
  const pid_t pid = test::in_child([&] {
    SqliteStore writer({.path = file});
    writer.put("ns", "k", std::string_view("new"));
    // More changes than the ring holds: the record of "k" is overwritten.
    const std::string value = "v";
    std::vector<std::string> keys;
    for (std::uint64_t i = 0; i < detail::ChangeLog::kCapacity + 100; ++i) {
      keys.push_back("filler" + std::to_string(i));
    }
    std::vector<PutRequest> batch;
    for (const std::string& key : keys) {
      batch.push_back({.ns = "other", .key = key, .value = as_bytes(value), .options = {}});
    }
    writer.put_many(batch);
    return 0;
  });
  REQUIRE(test::wait_child(pid) == 0);
  CHECK(reader.get("ns", "k")->text() == "new");
}

TEST_CASE("threads of one process: a get after another thread's put returned sees it",
          "[sqlite][tier][threads]") {
  const test::TempDir dir;
  SqliteStore store({.path = dir / "threads.db"});
  constexpr std::size_t kKeys = 32;
  std::vector<std::atomic<std::int64_t>> returned(kKeys);
  for (std::size_t k = 0; k < kKeys; ++k) store.put("ns", key_of(k), std::string_view("0"));
  std::atomic<bool> done{false};
  std::atomic<int> stale{0};
  std::thread writer([&] {
    std::mt19937 random(3);
    for (int version = 1; version <= 2000; ++version) {
      const std::size_t k = random() % kKeys;
      store.put("ns", key_of(k), std::string_view(std::to_string(version)));
      returned[k].store(version);
    }
    done = true;
  });
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&, t] {
      std::mt19937 random(static_cast<unsigned>(t));
      // Past the writer's end too, so that the tier serves even when the
      // readers are scheduled late.
      for (int reads = 0; !done || reads < 500; ++reads) {
        const std::size_t k = random() % kKeys;
        const std::int64_t at_least = returned[k].load();
        const auto blob = store.get("ns", key_of(k));
        if (!blob || std::stoll(std::string(blob->text())) < at_least) ++stale;
      }
    });
  }
  writer.join();
  for (auto& reader : readers) reader.join();
  CHECK(stale == 0);
  CHECK(tier_hits(store) > 0);
}

TEST_CASE("a put leaves its value in memory, an erase its absence: the next get reads no file",
          "[sqlite][tier]") {
  const test::TempDir dir;
  const fs::path file = dir / "own.db";
  SqliteStore store({.path = file});
  const auto served_from_memory = [&](std::string_view key) {
    const std::uint64_t before = tier_hits(store);
    auto blob = store.get("ns", key);
    CHECK(tier_hits(store) == before + 1);
    return blob;
  };
  const Meta put = store.put("ns", "k", std::string_view("value"),
                             {.content_type = "text/plain",
                              .expires_at = std::chrono::system_clock::now() + 1h,
                              .metadata = {{"a", "1"}}});
  const auto kept = served_from_memory("k");
  REQUIRE(kept);
  CHECK(kept->text() == "value");
  CHECK(kept->meta == put);
  // What memory serves is what the file holds, to the nanosecond.
  SqliteStore from_file({.path = file, .memory_cache_bytes = 0});
  CHECK(from_file.get("ns", "k")->meta == kept->meta);

  const std::string a = "first of many";
  const std::string b = "second of many";
  const std::vector<Meta> many = store.put_many(
      std::vector<PutRequest>{{.ns = "ns", .key = "m1", .value = as_bytes(a), .options = {}},
                              {.ns = "ns", .key = "m2", .value = as_bytes(b), .options = {}}});
  CHECK(served_from_memory("m1")->meta == many.at(0));
  CHECK(served_from_memory("m2")->text() == b);

  store.erase("ns", "k");
  CHECK_FALSE(served_from_memory("k").has_value());

  // Too big for the tier: read from the file, as before.
  store.put("ns", "big", Bytes(detail::Tuning{}.memory_tier_max_value + 1));
  const std::uint64_t before = tier_hits(store);
  CHECK(store.get("ns", "big").has_value());
  CHECK(tier_hits(store) == before);
}

TEST_CASE("a put that fails leaves the committed value in memory, not its own", "[sqlite][tier]") {
  const test::TempDir dir;
  SqliteStore store({.path = dir / "failed.db"});
  const Meta old = store.put("ns", "k", std::string_view("old"));
  CHECK_THROWS_AS(store.put("ns", "k", std::string_view("new"), {.if_match = ""}), Error);
  CHECK_THROWS_AS(store.put("ns", "k", std::string_view("new"), {.if_match = std::string(64, 'f')}),
                  Error);
  const auto blob = store.get("ns", "k");
  REQUIRE(blob);
  CHECK(blob->text() == "old");
  CHECK(blob->meta == old);
}

TEST_CASE("what a put left in memory gives way to another process's later write",
          "[sqlite][tier][process]") {
  const test::TempDir dir;
  const fs::path file = dir / "later.db";
  SqliteStore store({.path = file});
  const auto elsewhere = [&](auto change) { in_other_process(file, change); };
  store.put("ns", "k", std::string_view("mine"));
  REQUIRE(store.get("ns", "k")->text() == "mine");
  elsewhere([](SqliteStore& writer) { writer.put("ns", "k", std::string_view("theirs")); });
  CHECK(store.get("ns", "k")->text() == "theirs");
  store.erase("ns", "k");
  REQUIRE_FALSE(store.get("ns", "k").has_value());
  elsewhere([](SqliteStore& writer) { writer.put("ns", "k", std::string_view("again")); });
  CHECK(store.get("ns", "k")->text() == "again");
  store.put("ns", "k", std::string_view("last"));
  elsewhere([](SqliteStore& writer) { writer.erase("ns", "k"); });
  CHECK_FALSE(store.get("ns", "k").has_value());
}

TEST_CASE("a store with memory_cache_bytes = 0 keeps nothing in memory", "[sqlite][tier]") {
  const test::TempDir dir;
  SqliteStore store({.path = dir / "off.db", .memory_cache_bytes = 0});
  store.put("ns", "k", std::string_view("v"));
  for (int i = 0; i < 10; ++i) CHECK(store.get("ns", "k").has_value());
  CHECK(tier_hits(store) == 0);
}

// A process that cannot write the change log must not write the database:
// the others' tiers would never hear of its changes. Root may write any
// file, so the store is opened as nobody, in a forked child, beside a
// change log only root may write (`log_mode` 0600: nobody cannot open it
// at all; 0644: only for reading).
TEST_CASE("a store that cannot write the change log refuses writes and still reads",
          "[sqlite][tier][errors]") {
  const ::mode_t log_mode = GENERATE(::mode_t{0600}, ::mode_t{0644});
  INFO("mode of the change log: " << std::oct << log_mode);
  const test::TempDir dir;
  fs::permissions(dir.path(), fs::perms::all);
  const fs::path file = dir / "shared.db";
  SqliteStore owner({.path = file});  // keeps the change log (root's, 0600) in place
  owner.put("ns", "k", std::string_view("before"));
  REQUIRE(fs::exists(fs::path(file.string() + "-changes")));
  REQUIRE(::chmod((file.string() + "-changes").c_str(), log_mode) == 0);
  for (const char* suffix : {"", "-wal", "-shm"}) {  // the database itself is nobody's
    REQUIRE(::chown((file.string() + suffix).c_str(), 65534, 65534) == 0);
  }
  const test::Exit child = test::run_unprivileged([&] {
    SqliteStore store({.path = file});
    const auto before = store.get("ns", "k");
    if (!before || before->text() != "before") return 2;
    try {
      store.put("ns", "k", std::string_view("unlogged"));
      std::cerr << "a put without the change log succeeded\n";
      return 3;
    } catch (const Error& e) {
      if (e.code() != Errc::read_only ||
          std::string(e.what()).find("-changes") == std::string::npos) {
        std::cerr << "expected read_only naming the change log, got " << errc_name(e.errc()) << ": "
                  << e.what() << "\n";
        return 4;
      }
    }
    try {
      store.erase("ns", "k");
      return 5;
    } catch (const Error& e) {
      if (e.code() != Errc::read_only) return 6;
    }
    return 0;
  });
  CHECK(child.exited);
  CHECK(child.code == 0);
  CHECK(owner.get("ns", "k")->text() == "before");
}

}  // namespace
}  // namespace blobcache
