// Bounded caches: limits kept in the file, exact accounting, eviction
// inside the put's transaction, least_recently_used without writes on
// reads, and statistics that add up across processes.
#include <SQLiteCpp/Database.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "blobcache/error.hpp"
#include "blobcache/sqlite_store.hpp"

#include "catch_compat.hpp"
#include "errc_of.hpp"
#include "processes.hpp"
#include "read_counting.hpp"
#include "sqlite/connection.hpp"
#include "sqlite/schema.hpp"
#include "sqlite/test_seams.hpp"
#include "temp_dir.hpp"

namespace blobcache {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::errc_of;
using test::message_of;

constexpr std::int64_t kMiB = 1024 * 1024;

Bytes pattern(std::size_t size, std::uint32_t seed) {
  std::minstd_rand generator(seed + 1);
  Bytes bytes(size);
  std::generate(bytes.begin(), bytes.end(),
                [&] { return static_cast<std::byte>(generator() >> 7); });
  return bytes;
}

// The entries and bytes the store lists, counted through the public API.
std::pair<std::int64_t, std::int64_t> recount(Store& store) {
  std::int64_t entries = 0;
  std::int64_t bytes = 0;
  for (const NamespaceInfo& space : store.namespaces()) {
    for (const Object& object : store.list(space.name)) {
      ++entries;
      bytes += object.meta.size;
    }
  }
  return {entries, bytes};
}

// Why `store` breaks its limits or its accounting now, or "".
std::string violation(SqliteStore& store, const Limits& limits) {
  const Stats stats = store.stats();
  std::ostringstream why;
  if (limits.max_bytes > 0 && stats.bytes > limits.max_bytes) {
    why << "bytes " << stats.bytes << " > " << limits.max_bytes << "; ";
  }
  if (limits.max_entries > 0 && stats.entries > limits.max_entries) {
    why << "entries " << stats.entries << " > " << limits.max_entries << "; ";
  }
  const auto [entries, bytes] = recount(store);
  if (entries != stats.entries || bytes != stats.bytes) {
    why << "stats say " << stats.entries << " entries, " << stats.bytes << " bytes; listed "
        << entries << ", " << bytes << "; ";
    for (const NamespaceStats& space : stats.namespaces) {
      why << space.ns << ": " << space.entries << "/" << space.bytes << " listed "
          << store.list(space.ns).size() << "; ";
    }
    const Stats again = store.stats();
    why << "stats again: " << again.entries << "; ";
  }
  why << detail::SqliteStoreAccess::usage_mismatch(store);
  return why.str();
}

// One random write of the sequence: puts of 1 B to 1 MiB (some expired on
// arrival, some expiring later), put_many, put_stream, erases, namespace
// erases, erase_expired, and gets (which move entries in an LRU order).
void random_operation(SqliteStore& store, std::mt19937& random, int step) {
  static const std::array<std::string, 4> kSpaces = {"a", "b", "c/d", "e"};
  const std::string& ns = kSpaces.at(random() % kSpaces.size());
  const std::string key = "k" + std::to_string(random() % 60);
  // Log-uniform sizes: as many tiny values as big ones.
  const auto size =
      static_cast<std::size_t>(std::exp2(std::uniform_real_distribution<>(0, 20)(random)));
  PutOptions opts;
  if (random() % 5 == 0) opts.expires_at = std::chrono::system_clock::now() - 1h;
  if (random() % 5 == 1) opts.expires_at = std::chrono::system_clock::now() + 1h;
  const unsigned choice = random() % 100;
  if (choice < 45) {
    store.put(ns, key, pattern(size, static_cast<std::uint32_t>(step)), opts);
  } else if (choice < 55) {
    std::vector<Bytes> values;
    std::vector<std::string> keys;
    for (unsigned i = 0; i < 2 + random() % 4; ++i) {
      values.push_back(pattern(size / (i + 1), static_cast<std::uint32_t>(step * 10 + i)));
      keys.push_back("m" + std::to_string(random() % 60));
    }
    std::vector<PutRequest> batch;
    for (std::size_t i = 0; i < values.size(); ++i) {
      batch.push_back({.ns = ns, .key = keys[i], .value = values[i], .options = opts});
    }
    store.put_many(batch);
  } else if (choice < 62) {
    std::istringstream in(std::string(size, 's'));
    store.put_stream(ns, "s" + key, in, opts);
  } else if (choice < 75) {
    store.erase(ns, key);
  } else if (choice < 77) {
    store.erase_namespace(ns);
  } else if (choice < 80) {
    store.erase_expired(ns, std::chrono::system_clock::now(), 0ns);
  } else {
    store.get(ns, key);
  }
}

TEST_CASE(
    "after every write of a random sequence the store is within its limits and its usage "
    "equals a recount",
    "[sqlite][limits]") {
  const EvictionPolicy policy =
      GENERATE(EvictionPolicy::least_recently_stored, EvictionPolicy::least_recently_used);
  const Limits limits{.max_bytes = 3 * kMiB, .max_entries = 40, .eviction = policy};
  const test::TempDir dir;
  // No background trim here: it would evict between stats() and the recount
  // through list() (the usage check runs in one snapshot either way).
  detail::Tuning tuning;
  tuning.trim_high = 1001;
  const auto opened =
      detail::SqliteStoreAccess::open({.path = dir / "bounded.db", .limits = limits}, tuning);
  SqliteStore& store = *opened;
  CHECK(store.limits() == limits);
  std::mt19937 random(policy == EvictionPolicy::least_recently_used ? 11 : 7);
  for (int step = 0; step < 300; ++step) {
    random_operation(store, random, step);
    const std::string why = violation(store, limits);
    INFO("step " << step << ": " << why);
    REQUIRE(why.empty());
  }
  CHECK(store.stats().evictions > 0);
}

TEST_CASE("4 processes writing one bounded file keep its limits and its accounting",
          "[sqlite][limits][process]") {
  const Limits limits{.max_bytes = 2 * kMiB, .max_entries = 30};
  const test::TempDir dir;
  const fs::path file = dir / "shared.db";
  // One process sets the limits; the writers open with limits = nullopt and
  // honour the file's.
  { SqliteStore setter({.path = file, .limits = limits}); }
  std::vector<pid_t> children;
  for (int process = 0; process < 4; ++process) {
    children.push_back(test::in_child([&, process] {
      SqliteStore store({.path = file});
      if (!(store.limits() == limits)) return 2;
      std::mt19937 random(static_cast<unsigned>(100 + process));
      for (int step = 0; step < 120; ++step) {
        random_operation(store, random, process * 1000 + step);
        // Another process may have written since: its writes keep the bounds too.
        const Stats stats = store.stats();
        if (stats.bytes > limits.max_bytes || stats.entries > limits.max_entries) {
          std::fprintf(stderr, "process %d step %d: %lld bytes, %lld entries\n", process, step,
                       static_cast<long long>(stats.bytes), static_cast<long long>(stats.entries));
          return 3;
        }
      }
      return 0;
    }));
  }
  for (const pid_t pid : children) CHECK(test::wait_child(pid) == 0);
  SqliteStore store({.path = file});
  CHECK(violation(store, limits).empty());
  CHECK_NOTHROW(store.check());
}

TEST_CASE("expired entries are evicted before live ones, then the oldest puts",
          "[sqlite][limits][eviction]") {
  const test::TempDir dir;
  SqliteStore store({.path = dir / "order.db", .limits = Limits{.max_entries = 3}});
  store.put("ns", "old", std::string_view("1"));
  store.put("other", "expired", std::string_view("2"),
            {.expires_at = std::chrono::system_clock::now() - 1s});
  store.put("ns", "middle", std::string_view("3"));
  store.put("ns", "new", std::string_view("4"));  // full: the expired one goes, not the oldest
  CHECK_FALSE(store.get("other", "expired").has_value());
  CHECK(store.get("ns", "old").has_value());
  store.put("ns", "newer", std::string_view("5"));  // nothing expired: the oldest put goes
  CHECK_FALSE(store.get("ns", "old").has_value());
  CHECK(store.get("ns", "middle").has_value());
  const Stats stats = store.stats();
  CHECK(stats.entries == 3);
  CHECK(stats.evictions == 2);
  // least_recently_stored: reads do not change the order.
  for (int i = 0; i < 5; ++i) store.get("ns", "middle");
  store.put("ns", "newest", std::string_view("6"));
  CHECK_FALSE(store.get("ns", "middle").has_value());
}

// Eviction reads its candidates a few at a time (as many as the excess
// needs, doubling): the entries a put_many writes already expired come
// first in the expiry order and are skipped, and one read of them only must
// not end the search for expired entries.
TEST_CASE("expired entries go first even behind more expired ones the same batch writes",
          "[sqlite][limits][eviction]") {
  const test::TempDir dir;
  SqliteStore store({.path = dir / "own.db", .limits = Limits{.max_entries = 4}});
  const auto now = std::chrono::system_clock::now();
  store.put("ns", "oldest", std::string_view("1"));
  store.put("ns", "expired", std::string_view("2"), {.expires_at = now - 1h});
  store.put("ns", "live", std::string_view("3"));
  // One over the limit: the excess asks for 2 candidates, both the batch's own.
  const std::vector<PutRequest> batch = {
      {.ns = "ns", .key = "own-1", .value = as_bytes("4"), .options = {.expires_at = now - 3h}},
      {.ns = "ns", .key = "own-2", .value = as_bytes("5"), .options = {.expires_at = now - 2h}},
  };
  store.put_many(batch);
  CHECK_FALSE(store.get("ns", "expired").has_value());
  CHECK(store.get("ns", "oldest").has_value());
  CHECK(store.get("ns", "live").has_value());
  CHECK(store.stats().entries == 4);
}

// least_recently_stored's order is the entries' rowids; used_at, the
// column behind least_recently_used's index, stays NULL.
std::int64_t entries_with_use(const fs::path& file) {
  SQLite::Database db(file.string(), SQLite::OPEN_READONLY);
  return db.execAndGet("SELECT count(*) FROM entries WHERE used_at IS NOT NULL").getInt64();
}

TEST_CASE(
    "least_recently_stored: an entry replaced by put, put_many or put_stream goes last, and no "
    "put writes an eviction index entry",
    "[sqlite][limits][eviction]") {
  const std::string how =
      GENERATE(std::string("put"), std::string("put_many"), std::string("put_stream"));
  INFO("replaced by " << how);
  const test::TempDir dir;
  const fs::path file = dir / "order.db";
  SqliteStore store({.path = file, .limits = Limits{.max_entries = 3}});
  store.put("ns", "a", std::string_view("1"));
  store.put("ns", "b", std::string_view("2"));
  store.put("ns", "c", std::string_view("3"));
  // Two chunks where there was one: the new row's chunks are whole.
  const Bytes replacement = pattern(300 * 1024, 7);
  if (how == "put") {
    store.put("ns", "a", replacement);
  } else if (how == "put_many") {
    const std::vector<PutRequest> batch{{.ns = "ns", .key = "a", .value = replacement}};
    store.put_many(batch);
  } else {
    std::istringstream in(
        std::string(reinterpret_cast<const char*>(replacement.data()), replacement.size()));
    store.put_stream("ns", "a", in);
  }
  store.put("ns", "d", std::string_view("4"));  // full: b is the oldest put now
  CHECK_FALSE(store.get("ns", "b").has_value());
  const auto a = store.get("ns", "a");
  REQUIRE(a.has_value());
  CHECK(a->data == replacement);
  CHECK(entries_with_use(file) == 0);
  CHECK(store.stats().entries == 3);
  CHECK(store.stats().evictions == 1);
  CHECK_NOTHROW(store.check());
  CHECK(store.verify().ok());
}

TEST_CASE(
    "choosing least_recently_used stamps every entry's place; going back to "
    "least_recently_stored clears them and evicts by put order again",
    "[sqlite][limits][eviction][lru]") {
  const test::TempDir dir;
  const fs::path file = dir / "switch.db";
  SqliteStore store({.path = file, .limits = Limits{.max_entries = 3}});
  for (const char* key : {"a", "b", "c"}) store.put("ns", key, std::string_view("v"));
  CHECK(entries_with_use(file) == 0);
  store.set_limits({.max_entries = 3, .eviction = EvictionPolicy::least_recently_used});
  CHECK(entries_with_use(file) == 3);
  std::this_thread::sleep_for(10ms);  // past the coarse clock's step that stamps accesses
  CHECK(store.get("ns", "a").has_value());
  store.put("ns", "d", std::string_view("v"));  // the read kept a; b was used least recently
  CHECK(store.get("ns", "a").has_value());
  CHECK_FALSE(store.get("ns", "b").has_value());
  store.set_limits({.max_entries = 3});
  CHECK(entries_with_use(file) == 0);
  store.put("ns", "e", std::string_view("v"));  // by put order: a, read or not, goes
  CHECK_FALSE(store.get("ns", "a").has_value());
  CHECK(store.get("ns", "c").has_value());
  CHECK_NOTHROW(store.check());
}

TEST_CASE("least_recently_used keeps an entry that is read often, across a reopen",
          "[sqlite][limits][lru]") {
  const test::TempDir dir;
  const fs::path file = dir / "lru.db";
  const Limits limits{.max_entries = 3, .eviction = EvictionPolicy::least_recently_used};
  {
    SqliteStore store({.path = file, .limits = limits});
    store.put("ns", "read-often", std::string_view("a"));
    store.put("ns", "b", std::string_view("b"));
    store.put("ns", "c", std::string_view("c"));
    for (int i = 0; i < 10; ++i) CHECK(store.get("ns", "read-often").has_value());
    CHECK(store.open("ns", "b") != nullptr);  // open() is an access too
  }                                           // the accesses are written when the store closes
  SqliteStore store({.path = file});
  store.put("ns", "d", std::string_view("d"));  // full: the least recently used goes
  CHECK(store.get("ns", "read-often").has_value());
  CHECK(store.get("ns", "b").has_value());
  CHECK_FALSE(store.get("ns", "c").has_value());
}

// Gets served from the memory tier record their accesses in its nodes; a
// write transaction (here: the close) takes them, also those of nodes the
// tier dropped since (`drop_from_memory`).
TEST_CASE("least_recently_used counts the gets served from memory, also of values dropped since",
          "[sqlite][limits][lru][tier]") {
  const bool drop_from_memory = GENERATE(false, true);
  INFO("the value read from memory is dropped from it before the close: " << drop_from_memory);
  const test::TempDir dir;
  const fs::path file = dir / "lru.db";
  // About one value per shard of the tier: 300 reads of missing keys (kept
  // as absent) push every earlier node out.
  const SqliteOptions options{
      .path = file,
      .limits = Limits{.max_entries = 3, .eviction = EvictionPolicy::least_recently_used},
      .memory_cache_bytes = 16 * 400};
  {
    SqliteStore store(options);
    for (const char* key : {"a", "b", "c"}) store.put("ns", key, std::string_view(key));
    // From the file, in this order: the accesses order a < b < c.
    for (const char* key : {"a", "b", "c"}) REQUIRE(store.get("ns", key).has_value());
    detail::SqliteStoreAccess::maintain(store);  // written: the file orders a < b < c
    const auto tier_hits = [&] {
      return detail::SqliteStoreAccess::probes(store).tier_hits.load();
    };
    const std::uint64_t before = tier_hits();
    REQUIRE(store.get("ns", "a").has_value());  // from memory: a is the latest now
    REQUIRE(tier_hits() == before + 1);
    if (drop_from_memory) {
      for (int i = 0; i < 300; ++i) CHECK_FALSE(store.get("ns", "x" + std::to_string(i)));
      const std::uint64_t after_misses = tier_hits();
      const detail::UncountedReads uncounted;     // this read records no access
      REQUIRE(store.get("ns", "a").has_value());  // from the file: a was dropped from memory
      CHECK(tier_hits() == after_misses);
    }
  }
  SqliteStore store({.path = file});
  store.put("ns", "d", std::string_view("d"));  // full: b, the least recently used, goes
  CHECK(store.get("ns", "a").has_value());
  CHECK_FALSE(store.get("ns", "b").has_value());
  CHECK(store.get("ns", "c").has_value());
}

TEST_CASE("least_recently_used: 10,000 gets from a fresh store make at most 2 write transactions",
          "[sqlite][limits][lru]") {
  const test::TempDir dir;
  const fs::path file = dir / "reads.db";
  {
    SqliteStore store(
        {.path = file,
         .limits = Limits{.max_entries = 1000, .eviction = EvictionPolicy::least_recently_used}});
    for (int i = 0; i < 200; ++i) store.put("ns", std::to_string(i), pattern(100, 1));
  }
  SQLite::Database other(file.string(), SQLite::OPEN_READONLY);
  const auto data_version = [&] { return other.execAndGet("PRAGMA data_version").getInt64(); };
  SqliteStore store({.path = file});
  std::int64_t seen = data_version();
  int changes = 0;
  for (int i = 0; i < 10'000; ++i) {
    CHECK(store.get("ns", std::to_string(i % 200)).has_value());
    const std::int64_t now = data_version();
    if (now != seen) ++changes;
    seen = now;
  }
  INFO("write transactions seen: " << changes);
  CHECK(changes <= 2);
}

TEST_CASE("limits set by one process are honoured by another that opens with nullopt",
          "[sqlite][limits][process]") {
  const test::TempDir dir;
  const fs::path file = dir / "limits.db";
  const Limits limits{
      .max_bytes = 64 * 1024, .max_entries = 10, .eviction = EvictionPolicy::least_recently_used};
  const pid_t setter = test::in_child([&] {
    SqliteStore store({.path = file});
    store.set_limits(limits);
    return 0;
  });
  REQUIRE(test::wait_child(setter) == 0);
  const pid_t writer = test::in_child([&] {
    SqliteStore store({.path = file});
    if (!(store.limits() == limits)) return 2;
    for (int i = 0; i < 50; ++i) store.put("ns", std::to_string(i), pattern(5000, 2));
    return 0;
  });
  REQUIRE(test::wait_child(writer) == 0);
  SqliteStore store({.path = file});
  const Stats stats = store.stats();
  CHECK(stats.entries <= 10);
  CHECK(stats.bytes <= 64 * 1024);
  CHECK(stats.max_bytes == 64 * 1024);
  CHECK(stats.max_entries == 10);
}

TEST_CASE("two processes' hits and misses add up in the file once they have closed",
          "[sqlite][stats][process]") {
  const test::TempDir dir;
  const fs::path file = dir / "counts.db";
  {
    SqliteStore store({.path = file});
    for (int i = 0; i < 10; ++i) store.put("ns", std::to_string(i), std::string_view("v"));
    store.reset_stats();
  }
  std::vector<pid_t> children;
  for (int process = 0; process < 2; ++process) {
    children.push_back(test::in_child([&] {
      SqliteStore store({.path = file});
      for (int i = 0; i < 100; ++i) {
        if (!store.get("ns", std::to_string(i % 10))) return 2;
      }
      for (int i = 0; i < 50; ++i) {
        if (store.get("ns", "missing-" + std::to_string(i))) return 3;
      }
      return 0;  // the store writes its counts as it closes
    }));
  }
  for (const pid_t pid : children) CHECK(test::wait_child(pid) == 0);
  SqliteStore third({.path = file});
  const Stats stats = third.stats();
  CHECK(stats.hits == 200);
  CHECK(stats.misses == 100);
  REQUIRE(stats.namespaces.size() == 1);
  CHECK(stats.namespaces[0].hits == 200);
  third.reset_stats();
  CHECK(third.stats().hits == 0);
  CHECK(third.stats().entries == 10);
}

// Each thread counts on the counters it used last without a lock (Tallies):
// switching stores and namespaces, stores that end and others that begin
// in the same thread (perhaps at the same address), and a forked child must
// all keep every count where it belongs.
TEST_CASE("hits and misses stay exact across threads, namespaces, stores and a fork",
          "[sqlite][stats][process]") {
  const test::TempDir dir;
  // a's counts stay pending (no flush by its thread) until the fork below.
  detail::Tuning no_flush;
  no_flush.flush_interval = std::chrono::hours(1);
  const auto a_store = detail::SqliteStoreAccess::open({.path = dir / "a.db"}, no_flush);
  SqliteStore& a = *a_store;
  SqliteStore b({.path = dir / "b.db"});
  for (const std::string ns : {"one", "two"}) {
    a.put(ns, "k", std::string_view("v"));
    b.put(ns, "k", std::string_view("v"));
  }
  a.reset_stats();
  b.reset_stats();
  const auto hits_of = [](const Stats& stats, std::string_view ns) {
    for (const NamespaceStats& space : stats.namespaces) {
      if (space.ns == ns) return std::pair(space.hits, space.misses);
    }
    return std::pair<std::uint64_t, std::uint64_t>(0, 0);
  };
  // One thread alternating stores and namespaces at every get.
  for (int i = 0; i < 100; ++i) {
    CHECK(a.get("one", "k"));
    CHECK_FALSE(b.get("one", "absent"));
    CHECK(a.get("two", "k"));
    CHECK_FALSE(a.get("two", "absent"));
    CHECK(b.get("two", "k"));
  }
  // Four threads at once, each on both stores.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 250; ++i) {
        static_cast<void>(a.get("one", "k"));
        static_cast<void>(b.get("one", "k"));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(hits_of(a.stats(), "one") == std::pair<std::uint64_t, std::uint64_t>(1100, 0));
  CHECK(hits_of(a.stats(), "two") == std::pair<std::uint64_t, std::uint64_t>(100, 100));
  CHECK(hits_of(b.stats(), "one") == std::pair<std::uint64_t, std::uint64_t>(1000, 100));
  CHECK(hits_of(b.stats(), "two") == std::pair<std::uint64_t, std::uint64_t>(100, 0));
  // reset_stats() zeroes what this thread's remembered counters hold too.
  a.reset_stats();
  CHECK(a.get("one", "k"));
  CHECK(a.stats().hits == 1);
  // Stores that end and begin in this thread count from zero, each its own.
  for (int round = 0; round < 3; ++round) {
    auto store = std::make_unique<SqliteStore>(
        SqliteOptions{.path = dir / ("round-" + std::to_string(round) + ".db")});
    for (int i = 0; i <= round; ++i) CHECK_FALSE(store->get("one", "k"));
    CHECK(store->stats().misses == static_cast<std::uint64_t>(round) + 1);
    CHECK(store->stats().hits == 0);
  }
  // A forked child starts from no pending counts and counts its own gets.
  CHECK(a.get("one", "k"));  // a's pending hits: 2, none in the file
  const pid_t child = test::in_child([&] {
    if (a.stats().hits != 0) return 2;  // nothing of the parent's
    for (int i = 0; i < 3; ++i) static_cast<void>(a.get("one", "k"));
    return a.stats().hits == 3 ? 0 : 3;
  });
  CHECK(test::wait_child(child) == 0);
  CHECK(a.stats().hits == 2);
}

TEST_CASE(
    "a value larger than max_bytes is too_large and evicts nothing; a batch is all or "
    "nothing",
    "[sqlite][limits]") {
  const test::TempDir dir;
  SqliteStore store({.path = dir / "big.db", .limits = Limits{.max_bytes = 1 * kMiB}});
  for (int i = 0; i < 4; ++i) store.put("ns", std::to_string(i), pattern(200 * 1024, 3));
  const Bytes huge = pattern(static_cast<std::size_t>(kMiB) + 1, 4);
  const std::string message = message_of([&] { store.put("ns", "huge", huge); });
  CHECK(message.find("Limits::max_bytes") != std::string::npos);
  CHECK(errc_of([&] { store.put("ns", "huge", huge); }) == Errc::too_large);
  std::istringstream stream(std::string(static_cast<std::size_t>(kMiB) + 1, 'x'));
  CHECK(errc_of([&] { store.put_stream("ns", "huge", stream); }) == Errc::too_large);
  CHECK(store.stats().entries == 4);
  CHECK(store.stats().evictions == 0);
  // Each value fits alone, the batch does not: nothing stored, nothing evicted.
  const Bytes part = pattern(600 * 1024, 5);
  const std::array batch = {PutRequest{.ns = "ns", .key = "x", .value = part, .options = {}},
                            PutRequest{.ns = "ns", .key = "y", .value = part, .options = {}}};
  CHECK(errc_of([&] { store.put_many(batch); }) == Errc::too_large);
  CHECK(store.stats().entries == 4);
  CHECK_FALSE(store.get("ns", "x").has_value());
  // A batch that fits evicts for the whole batch at once.
  const std::array fitting = {PutRequest{.ns = "ns", .key = "x", .value = part, .options = {}}};
  store.put_many(fitting);
  CHECK(store.stats().bytes <= kMiB);
  CHECK(store.get("ns", "x").has_value());
}

TEST_CASE("set_limits to a lower bound trims at once; bad limits change nothing",
          "[sqlite][limits]") {
  const test::TempDir dir;
  SqliteStore store({.path = dir / "lower.db"});
  for (int i = 0; i < 50; ++i) store.put("ns", std::to_string(i), pattern(1000, 6));
  store.set_limits({.max_entries = 20});
  // At once: within the bound when set_limits returns (the store's thread
  // may then trim on to the low watermark, 18).
  CHECK(store.stats().entries <= 20);
  CHECK(store.stats().entries >= 18);
  CHECK(store.get("ns", "49").has_value());  // the newest stay
  CHECK_FALSE(store.get("ns", "0").has_value());
  for (const Limits& bad : {Limits{.max_bytes = -1}, Limits{.max_entries = -5},
                            Limits{.max_bytes = 100},  // below one page
                            Limits{.max_entries = 5, .eviction = static_cast<EvictionPolicy>(7)}}) {
    CHECK(errc_of([&] { store.set_limits(bad); }) == Errc::invalid_argument);
  }
  CHECK(store.limits() == Limits{.max_entries = 20});
  const std::int64_t kept = store.stats().entries;
  CHECK(kept <= 20);
  CHECK(errc_of([&] {
          SqliteStore opened({.path = dir / "other.db", .limits = Limits{.max_bytes = -1}});
        }) == Errc::invalid_argument);
  CHECK_FALSE(fs::exists(dir / "other.db"));
  CHECK(errc_of([&] {
          SqliteStore reader(
              {.path = dir / "lower.db", .read_only = true, .limits = Limits{.max_entries = 1}});
        }) == Errc::invalid_argument);
  store.set_limits({});  // no limits: puts evict nothing any more
  const std::int64_t before = store.stats().entries;
  for (int i = 0; i < 30; ++i) store.put("more", std::to_string(i), std::string_view("v"));
  CHECK(store.stats().entries == before + 30);
}

// An access moves an entry in the eviction order only: a write that evicts
// nothing leaves it in memory (a flush writes many in one transaction); a
// write or trim that evicts writes the accesses before it chooses victims.
TEST_CASE("least_recently_used writes accesses with the writes that evict, not with every write",
          "[sqlite][limits][lru]") {
  const test::TempDir dir;
  const fs::path file = dir / "lru.db";
  detail::Tuning tuning;
  tuning.flush_interval = std::chrono::hours(1);  // the store's thread flushes nothing meanwhile
  tuning.trim_high = 1000;                        // nor trims
  SQLite::Database* other = nullptr;
  const auto used_at = [&](const std::string& key) {
    SQLite::Statement query(*other, "SELECT used_at FROM entries WHERE key = ?");
    query.bind(1, key);
    REQUIRE(query.executeStep());
    return query.getColumn(0).getInt64();
  };

  SECTION("a put") {
    const Limits limits{.max_entries = 3, .eviction = EvictionPolicy::least_recently_used};
    auto store = detail::SqliteStoreAccess::open({.path = file, .limits = limits}, tuning);
    SQLite::Database reader(file.string(), SQLite::OPEN_READONLY);
    other = &reader;
    store->put("ns", "a", std::string_view("a"));
    store->put("ns", "b", std::string_view("b"));
    const std::int64_t a_put = used_at("a");
    REQUIRE(store->get("ns", "a").has_value());    // a is read after b's put
    store->put("ns", "c", std::string_view("c"));  // 3 of 3: nothing to evict
    CHECK(used_at("a") == a_put);                  // the access waits in memory
    store->put("ns", "d", std::string_view("d"));  // evicts the least recently used
    CHECK(used_at("a") > a_put);
    CHECK(store->get("ns", "a").has_value());
    CHECK_FALSE(store->get("ns", "b").has_value());
  }
  SECTION("trim()") {
    const Limits limits{.max_entries = 20, .eviction = EvictionPolicy::least_recently_used};
    auto store = detail::SqliteStoreAccess::open({.path = file, .limits = limits}, tuning);
    for (int i = 0; i < 20; ++i) store->put("ns", std::to_string(100 + i), std::string_view("v"));
    REQUIRE(store->get("ns", "100").has_value());          // the first put is the latest access now
    const SqliteStore::TrimReport report = store->trim();  // to 90 %: 2 entries go
    CHECK(report.entries == 2);
    CHECK(store->get("ns", "100").has_value());
    CHECK_FALSE(store->get("ns", "101").has_value());
    CHECK_FALSE(store->get("ns", "102").has_value());
  }
}

TEST_CASE("above the high watermark the store's thread trims to the low one, off the puts",
          "[sqlite][limits][trim]") {
  const test::TempDir dir;
  SqliteStore store({.path = dir / "trim.db", .limits = Limits{.max_entries = 100}});
  // 96 entries: above 95 %, within the bound; no put had to evict.
  for (int i = 0; i < 96; ++i) store.put("ns", std::to_string(i), std::string_view("v"));
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (store.stats().entries > 90 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  const Stats stats = store.stats();
  CHECK(stats.entries == 90);
  CHECK(stats.evictions == 6);
  CHECK(store.get("ns", "95").has_value());
}

TEST_CASE("eviction reads its victims from indexes", "[sqlite][limits][plan]") {
  const test::TempDir dir;
  const fs::path file = dir / "plan.db";
  { SqliteStore store({.path = file}); }
  SQLite::Database db(file.string(), SQLite::OPEN_READONLY);
  const auto plan_of = [&](detail::Sql id) {
    SQLite::Statement explain(db, std::string("EXPLAIN QUERY PLAN ") + detail::sql_text(id));
    std::string plan;
    while (explain.executeStep()) plan += explain.getColumn(3).getString() + "\n";
    return plan;
  };
  const std::string by_use = plan_of(detail::Sql::victims_by_use);
  INFO(by_use);
  CHECK(by_use.find("USING INDEX entries_by_use") != std::string::npos);
  CHECK(by_use.find("TEMP B-TREE") == std::string::npos);
  // least_recently_stored walks the table in rowid order: no index at all.
  const std::string by_put = plan_of(detail::Sql::victims_by_put);
  INFO(by_put);
  CHECK(by_put.find("SCAN entries") != std::string::npos);
  CHECK(by_put.find("INDEX") == std::string::npos);
  CHECK(by_put.find("TEMP B-TREE") == std::string::npos);
  const std::string expired = plan_of(detail::Sql::expired_victims);
  INFO(expired);
  CHECK(expired.find("entries_by_expiry") != std::string::npos);
  CHECK(expired.find("TEMP B-TREE") == std::string::npos);
  for (const auto id : {detail::Sql::namespaces, detail::Sql::usage_row}) {
    const std::string plan = plan_of(id);
    INFO(plan);
    CHECK(plan.find("entries") == std::string::npos);  // the usage rows, never the entries
  }
}

}  // namespace
}  // namespace blobcache

namespace blobcache {
namespace {

TEST_CASE("trim() evicts to the low watermark and says what it removed; compact() shrinks the file",
          "[sqlite][limits][trim]") {
  const test::TempDir dir;
  const fs::path file = dir / "compact.db";
  detail::Tuning tuning;
  tuning.trim_high = 1001;  // no background trim: trim() does it
  const auto opened = detail::SqliteStoreAccess::open({.path = file}, tuning);
  SqliteStore& store = *opened;
  CHECK(store.trim().entries == 0);  // no limits: nothing to do
  for (int i = 0; i < 100; ++i) store.put("ns", std::to_string(i), pattern(10'000, 7));
  store.set_limits({.max_entries = 100});
  const SqliteStore::TrimReport report = store.trim();
  CHECK(report.entries == 10);
  CHECK(report.bytes == 100'000);
  CHECK(store.stats().entries == 90);
  CHECK(store.stats().evictions == 10);
  CHECK_FALSE(store.get("ns", "9").has_value());
  CHECK(store.get("ns", "10").has_value());

  store.set_limits({});
  for (int i = 0; i < 20; ++i) store.put("big", std::to_string(i), pattern(300'000, 8));
  store.erase_namespace("big");
  const SqliteStore::CompactReport compacted = store.compact();
  INFO(compacted.bytes_before << " -> " << compacted.bytes_after);
  CHECK(compacted.bytes_after < compacted.bytes_before - 4 * kMiB);
  {  // A new file is incremental: compact() ran incremental_vacuum, which frees every page.
    SQLite::Database db(file.string(), SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("PRAGMA auto_vacuum").getInt() == detail::kIncrementalVacuum);
    CHECK(db.execAndGet("PRAGMA freelist_count").getInt64() == 0);
  }
  CHECK(store.stats().entries == 90);
  CHECK(store.get("ns", "50")->data == pattern(10'000, 7));
  CHECK_NOTHROW(store.check());
  SqliteStore reader({.path = file, .read_only = true});
  CHECK(errc_of([&] { reader.compact(); }) == Errc::read_only);
  CHECK(errc_of([&] { reader.trim(); }) == Errc::read_only);
}

}  // namespace
}  // namespace blobcache
