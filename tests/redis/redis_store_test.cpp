// RedisStore against a real redis-server (tests/support/redis_server.hpp).
#include "blobcache/redis_store.hpp"

#include <atomic>
#include <csignal>
#include <fstream>
#include <random>
#include <sstream>
#include <streambuf>
#include <thread>

#include "blobcache/cache.hpp"
#include "blobcache/testing/contract.hpp"

#include "catch_compat.hpp"
#include "errc_of.hpp"
#include "processes.hpp"
#include "redis_server.hpp"
#include "sanitized.hpp"
#include "sha256_hex.hpp"
#include "temp_dir.hpp"
#include "values.hpp"
#include "wait_until.hpp"

namespace blobcache {
namespace {

using namespace std::chrono_literals;
using test::env_or_empty;
using test::errc_of;
using test::keys_matching;
using test::pattern;
using test::PatternBuffer;
using test::read_all;
using test::RedisServer;
using test::run_self;
using test::sha256_of;
using test::wait_until;

TEST_CASE("RedisStore passes the store contract") {
  RedisServer server;
  testing::run_store_contract({.open = [&](const std::string& backing) -> std::shared_ptr<Store> {
                                 return std::make_shared<RedisStore>(server.options(backing));
                               },
                               .persistent = true,
                               .counts_hits = true});
}

TEST_CASE("RedisStore passes the store contract over a unix socket with pool_size 1") {
  RedisServer server;
  testing::run_store_contract({.open = [&](const std::string& backing) -> std::shared_ptr<Store> {
                                 RedisOptions options = server.options(backing);
                                 options.unix_socket = server.socket().string();
                                 options.pool_size = 1;
                                 return std::make_shared<RedisStore>(options);
                               },
                               .persistent = true,
                               .counts_hits = true});
}

TEST_CASE("RedisStore validates its options at construction") {
  const auto errc = [](RedisOptions options) {
    return errc_of([&] { RedisStore store(std::move(options)); });
  };
  CHECK(errc({.host = "", .unix_socket = ""}) == Errc::invalid_argument);
  CHECK(errc({.port = 0}) == Errc::invalid_argument);
  CHECK(errc({.port = 65536}) == Errc::invalid_argument);
  CHECK(errc({.port = -1}) == Errc::invalid_argument);
  CHECK(errc({.db = -1}) == Errc::invalid_argument);
  CHECK(errc({.key_prefix = ""}) == Errc::invalid_argument);
  CHECK(errc({.connect_timeout = 0ms}) == Errc::invalid_argument);
  CHECK(errc({.command_timeout = -1ms}) == Errc::invalid_argument);
  CHECK(errc({.pool_size = 0}) == Errc::invalid_argument);
  CHECK(errc({.expiry_grace = -1ms}) == Errc::invalid_argument);
}

TEST_CASE("RedisStore: no server is unavailable at construction, naming host:port or the socket") {
  int port = 0;
  std::string socket;
  {
    RedisServer server;  // a port that was free a moment ago and is free again
    port = server.port();
    socket = server.socket().string();
  }
  try {
    RedisStore store({.port = port, .connect_timeout = 500ms});
    FAIL("connected to a stopped server");
  } catch (const Error& e) {
    CHECK(e.errc() == Errc::unavailable);
    CHECK_THAT(e.what(), Catch::Contains("127.0.0.1:" + std::to_string(port)));
  }
  try {
    RedisStore store({.unix_socket = socket, .connect_timeout = 500ms});
    FAIL("connected to a stopped server");
  } catch (const Error& e) {
    CHECK(e.errc() == Errc::unavailable);
    CHECK_THAT(e.what(), Catch::Contains(socket));
  }
}

TEST_CASE("RedisStore: a killed server makes every call unavailable, then the store works again") {
  RedisServer server;
  RedisOptions options = server.options("killed");
  options.pool_size = 2;
  RedisStore store(options);
  store.put("ns", "k", std::string_view("before"));
  const Bytes big = pattern(600'000, 1);
  store.put("ns", "big", big);
  auto reader = store.open("ns", "big");  // pinned, mid-read when the server dies
  REQUIRE(reader != nullptr);
  Bytes some(1000);
  REQUIRE(reader->read(some) == some.size());

  server.kill();
  const std::string where = "127.0.0.1:" + std::to_string(server.port());
  const std::vector<std::pair<std::string, std::function<void()>>> calls = {
      {"get", [&] { store.get("ns", "k"); }},
      {"open", [&] { store.open("ns", "k"); }},
      {"put", [&] { store.put("ns", "k", std::string_view("x")); }},
      {"put big", [&] { store.put("ns", "k", big); }},
      {"put_stream",
       [&] {
         std::istringstream in(std::string(700'000, 's'));
         store.put_stream("ns", "k", in);
       }},
      {"put_many",
       [&] {
         const std::array batch = {
             PutRequest{.ns = "ns", .key = "a", .value = as_bytes("1"), .options = {}}};
         store.put_many(batch);
       }},
      {"erase", [&] { store.erase("ns", "k"); }},
      {"erase_namespace", [&] { store.erase_namespace("ns"); }},
      {"list", [&] { store.list("ns"); }},
      {"erase_expired", [&] { store.erase_expired("ns", TimePoint{}, 1s); }},
      {"namespaces", [&] { store.namespaces(); }},
      {"stats", [&] { store.stats(); }},
      {"reset_stats", [&] { store.reset_stats(); }},
      {"check", [&] { store.check(); }},
      {"try_acquire_lease", [&] { store.try_acquire_lease("ns", "k", "me", 1s); }},
      {"release_lease", [&] { store.release_lease("ns", "k", "me"); }},
      {"read", [&] { read_all(*reader); }},
  };
  for (int round = 0; round < 2; ++round) {  // the second round: no connection left to reuse
    for (const auto& [name, call] : calls) {
      INFO(name << ", round " << round);
      try {
        call();
        FAIL("no error");
      } catch (const Error& e) {
        CHECK(e.errc() == Errc::unavailable);
        CHECK_THAT(e.what(), Catch::Contains(where));
      }
    }
  }
  CHECK_NOTHROW(store.describe());
  reader.reset();  // its unpin fails quietly

  server.restart();  // empty: nothing was persisted
  CHECK_FALSE(store.get("ns", "k").has_value());
  store.put("ns", "k", std::string_view("after"));
  CHECK(store.get("ns", "k")->text() == "after");
  CHECK_NOTHROW(store.check());
}

TEST_CASE("RedisStore: a server that stops answering is unavailable within command_timeout") {
  RedisServer server;
  RedisOptions options = server.options("paused");
  options.command_timeout = 300ms;
  RedisStore store(options);
  store.put("ns", "k", std::string_view("v"));
  server.pause();
  try {
    store.get("ns", "k");
    FAIL("a paused server answered");
  } catch (const Error& e) {
    CHECK(e.errc() == Errc::unavailable);
    CHECK_THAT(e.what(), Catch::Contains("command_timeout"));
  }
  // A new connection is accepted by the kernel but never answered either.
  CHECK(errc_of([&] { RedisStore other(options); }) == Errc::unavailable);
  server.resume();
  CHECK(store.get("ns", "k")->text() == "v");
}

int sigpipe_handled = 0;
void count_sigpipe(int /*signal*/) { ++sigpipe_handled; }

TEST_CASE("RedisStore: a server gone mid-write never raises SIGPIPE in the process") {
  struct sigaction before {};
  sigaction(SIGPIPE, nullptr, &before);
  const bool with_handler = GENERATE(false, true);
  struct sigaction mine {};
  mine.sa_handler = with_handler ? count_sigpipe : SIG_DFL;  // SIG_DFL: a SIGPIPE kills the test
  sigemptyset(&mine.sa_mask);
  sigaction(SIGPIPE, &mine, nullptr);
  sigpipe_handled = 0;
  {
    RedisServer server;
    RedisStore store(server.options("sigpipe"));
    // The server dies while the put streams 64 MiB to it: later writes meet
    // a closed socket (EPIPE).
    PatternBuffer buffer(64 << 20, 3, [&] { server.kill(); });
    std::istream in(&buffer);
    CHECK(errc_of([&] { store.put_stream("ns", "big", in); }) == Errc::unavailable);
  }
  CHECK(sigpipe_handled == 0);
  struct sigaction now {};
  sigaction(SIGPIPE, nullptr, &now);
  CHECK(now.sa_handler == mine.sa_handler);
  sigset_t pending;
  sigpending(&pending);
  CHECK(sigismember(&pending, SIGPIPE) == 0);
  sigset_t mask;
  pthread_sigmask(SIG_SETMASK, nullptr, &mask);
  CHECK(sigismember(&mask, SIGPIPE) == 0);
  sigaction(SIGPIPE, &before, nullptr);
}

TEST_CASE("RedisStore: AUTH with requirepass") {
  RedisServer server({"--requirepass", "s3cret"});
  RedisOptions options = server.options("auth");
  try {
    RedisStore store(options);
    FAIL("no password was needed");
  } catch (const Error& e) {
    CHECK(e.errc() == Errc::invalid_argument);
    CHECK_THAT(e.what(), Catch::Contains("NOAUTH"));
  }
  options.password = "wrong";
  CHECK(errc_of([&] { RedisStore store(options); }) == Errc::invalid_argument);
  options.password = "s3cret";
  RedisStore store(options);
  store.put("ns", "k", std::string_view("v"));
  CHECK(store.get("ns", "k")->text() == "v");
}

TEST_CASE("RedisStore: an ACL user limited to the prefix, without KEYS, SCAN or @dangerous") {
  // The contract suite's stores use prefixes "contract-N"; the user may
  // touch nothing else, and the commands that walk the server are denied.
  RedisServer server({"--user", "default", "off", "--user", "app", "on", ">pw", "~contract-*",
                      "+@all", "-@dangerous", "-keys", "-scan", "-flushall", "-flushdb"});
  testing::run_store_contract({.open = [&](const std::string& backing) -> std::shared_ptr<Store> {
                                 RedisOptions options = server.options(backing);
                                 options.user = "app";
                                 options.password = "pw";
                                 return std::make_shared<RedisStore>(options);
                               },
                               .persistent = true,
                               .counts_hits = true});
}

TEST_CASE("RedisStore: bad ACL credentials and a user without the prefix's keys") {
  RedisServer server({"--user", "app", "on", ">pw", "~contract-*", "+@all", "--user", "other", "on",
                      ">pw", "~elsewhere:*", "+@all"});
  RedisOptions options = server.options("mine");
  options.user = "app";
  options.password = "wrong";
  try {
    RedisStore store(options);
    FAIL("a wrong password was accepted");
  } catch (const Error& e) {
    CHECK(e.errc() == Errc::invalid_argument);
    CHECK_THAT(e.what(), Catch::Contains("WRONGPASS"));
  }
  options.user = "other";
  options.password = "pw";
  RedisStore store(options);
  try {
    store.put("ns", "k", std::string_view("v"));
    FAIL("a user without the keys could write");
  } catch (const Error& e) {
    CHECK(e.errc() == Errc::invalid_argument);
    CHECK_THAT(e.what(), Catch::Contains("lacks a permission"));
  }
}

TEST_CASE("RedisStore: SELECT db keeps stores apart; a db the server lacks is invalid_argument") {
  RedisServer server;
  RedisOptions zero = server.options("db");
  RedisOptions three = zero;
  three.db = 3;
  RedisStore a(zero);
  RedisStore b(three);
  a.put("ns", "k", std::string_view("zero"));
  CHECK_FALSE(b.get("ns", "k").has_value());
  b.put("ns", "k", std::string_view("three"));
  CHECK(a.get("ns", "k")->text() == "zero");
  CHECK(b.describe().root == "redis://127.0.0.1:" + std::to_string(server.port()) + "/3");
  RedisOptions missing = zero;
  missing.db = 99;
  CHECK(errc_of([&] { RedisStore store(missing); }) == Errc::invalid_argument);
}

TEST_CASE("RedisStore: describe() names the server, its version and memory policy") {
  RedisServer server({"--maxmemory-policy", "allkeys-lru"});
  RedisStore store(server.options("describe"));
  const Info info = store.describe();
  CHECK(info.backend == "redis");
  CHECK(info.root == "redis://127.0.0.1:" + std::to_string(server.port()) + "/0");
  CHECK(info.supports_conditional_put);
  CHECK_THAT(info.details.at("redis_version"), Catch::StartsWith("7."));
  CHECK(info.details.at("maxmemory_policy") == "allkeys-lru");
  CHECK(info.details.at("key_prefix") == "describe");
  RedisOptions unix_options = server.options("describe");
  unix_options.unix_socket = server.socket().string();
  CHECK(RedisStore(unix_options).describe().root ==
        "redis+unix://" + server.socket().string() + "?db=0");
}

TEST_CASE("RedisStore: every key lives under the prefix, in one hash tag") {
  RedisServer server;
  RedisStore store(server.options("pre"));
  store.put("ns", "small", std::string_view("v"));
  store.put("ns", "big", pattern(700'000, 2), {.expires_at = TimePoint{} + 1h});
  store.get("ns", "small");
  const auto all = keys_matching(server, "*");
  REQUIRE_FALSE(all.empty());
  for (const std::string& key : all) CHECK_THAT(key, Catch::StartsWith("pre:{pre}:"));
  // One HASH per entry, whatever its size; no staging keys left.
  CHECK(server.command({"TYPE", "pre:{pre}:e:2:ns:big"}) == "hash");
  CHECK(server.command({"HLEN", "pre:{pre}:e:2:ns:big"}) ==
        std::to_string(6 + 3));  // m g t s n x, 3 chunks
  CHECK(keys_matching(server, "pre:{pre}:t:*").empty());
}

TEST_CASE("RedisStore: OOM under noeviction is no_space, writes nothing, and reads still work") {
  RedisServer server({"--maxmemory", "3mb", "--maxmemory-policy", "noeviction"});
  RedisStore store(server.options("oom"));
  const Bytes value = pattern(64 * 1024, 4);
  int stored = 0;
  for (; stored < 1000; ++stored) {
    const Errc errc = [&] {
      try {
        store.put("ns", "k" + std::to_string(stored), value);
        return Errc{};
      } catch (const Error& e) {
        INFO(e.what());
        return e.errc();
      }
    }();
    if (errc != Errc{}) {
      CHECK(errc == Errc::no_space);
      break;
    }
  }
  REQUIRE(stored > 0);
  REQUIRE(stored < 1000);
  CHECK_FALSE(store.get("ns", "k" + std::to_string(stored)).has_value());
  // A staged put (several chunks) fails too and leaves no staging key.
  CHECK(errc_of([&] { store.put("ns", "large", pattern(2 << 20, 5)); }) == Errc::no_space);
  CHECK_FALSE(store.get("ns", "large").has_value());
  CHECK(keys_matching(server, "oom:{oom}:t:*").empty());
  // Reads, lists and erases work on a full server.
  CHECK(sha256_of(store.get("ns", "k0")->data) == sha256_of(value));
  CHECK(store.list("ns").size() == static_cast<std::size_t>(stored));
  store.erase("ns", "k0");
  store.erase("ns", "k1");
  store.erase_namespace("other");
  CHECK_FALSE(store.get("ns", "k0").has_value());
  CHECK_NOTHROW(store.stats());
  store.erase_namespace("ns");
  CHECK(store.list("ns").empty());
  store.put("ns", "again", value);
}

TEST_CASE("RedisStore: allkeys-lru with a tiny maxmemory: every get is whole or a miss") {
  RedisServer server(
      {"--maxmemory", "4mb", "--maxmemory-policy", "allkeys-lru", "--maxmemory-samples", "3"});
  RedisStore store(server.options("lru"));
  std::mt19937 random(42);
  std::uniform_int_distribution<int> key_of(0, 59);
  std::uniform_int_distribution<std::size_t> size_of(1000, 700'000);  // up to 3 chunks
  int misses = 0;
  int hits = 0;
  int failed_puts = 0;
  for (int round = 0; round < 400; ++round) {
    const std::string key = "k" + std::to_string(key_of(random));
    const auto seed = static_cast<std::uint32_t>(round);
    try {
      store.put("ns", key, pattern(size_of(random), seed),
                {.metadata = {{"seed", std::to_string(seed)}}});
    } catch (const Error& e) {
      INFO(e.what());
      CHECK(e.errc() == Errc::no_space);  // evicted staging, or no room even after evicting
      ++failed_puts;
    }
    for (int g = 0; g < 3; ++g) {
      const std::string probe = "k" + std::to_string(key_of(random));
      const auto blob = store.get("ns", probe);
      if (!blob) {
        ++misses;
        continue;
      }
      ++hits;
      CHECK(blob->meta.size == static_cast<std::int64_t>(blob->data.size()));
      CHECK(sha256_of(blob->data) == blob->meta.etag);
      const auto seed_of = static_cast<std::uint32_t>(std::stoul(blob->meta.metadata.at("seed")));
      CHECK(blob->data == pattern(blob->data.size(), seed_of));
    }
  }
  INFO("hits " << hits << ", misses " << misses << ", failed puts " << failed_puts);
  CHECK(hits > 0);
  CHECK(misses > 0);
  CHECK_THAT(server.command({"INFO", "stats"}), !Catch::Contains("evicted_keys:0\r"));
  for (const Object& object : store.list("ns")) {
    const auto blob = store.get("ns", object.key);
    if (blob) CHECK(sha256_of(blob->data) == blob->meta.etag);
  }
  const Stats stats = store.stats();  // best effort under allkeys-*, but never negative
  CHECK(stats.entries >= 0);
  CHECK(stats.bytes >= 0);
}

TEST_CASE("RedisStore: an entry whose hash vanished is a miss, pruned by list from the totals") {
  RedisServer server;
  RedisStore store(server.options("gone"));
  store.put("ns", "a", std::string_view("12345"));
  store.put("ns", "b", std::string_view("678"));
  store.put("ns", "c", std::string_view("9"));
  // What an eviction does: the hash goes, the index stays.
  REQUIRE(server.command({"DEL", "gone:{gone}:e:2:ns:a", "gone:{gone}:e:2:ns:c"}) == "2");
  CHECK_FALSE(store.get("ns", "a").has_value());
  CHECK(store.stats().entries == 3);  // a get does not look at the index
  const auto listed = store.list("ns");
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].key == "b");
  const Stats stats = store.stats();
  CHECK(stats.entries == 1);
  CHECK(stats.bytes == 3);
  CHECK(stats.evictions == 2);
  CHECK(store.namespaces() == std::vector<NamespaceInfo>{{"ns", 1, 3}});
  // A put over an indexed entry whose hash is gone prunes it first.
  REQUIRE(server.command({"DEL", "gone:{gone}:e:2:ns:b"}) == "1");
  store.put("ns", "b", std::string_view("again"));
  const Stats after = store.stats();
  CHECK(after.entries == 1);
  CHECK(after.bytes == 5);
  CHECK(after.evictions == 3);
  CHECK(store.get("ns", "b")->text() == "again");
}

TEST_CASE("RedisStore: an entry whose chunks are partly gone is a miss, and is cleaned up") {
  RedisServer server;
  RedisStore store(server.options("part"));
  store.put("ns", "first", pattern(700'000, 1));
  store.put("ns", "later", pattern(700'000, 2));
  store.put("ns", "kept", pattern(700'000, 3));
  REQUIRE(server.command({"HDEL", "part:{part}:e:2:ns:first", "0"}) == "1");
  REQUIRE(server.command({"HDEL", "part:{part}:e:2:ns:later", "2"}) == "1");
  CHECK_FALSE(store.get("ns", "first").has_value());
  CHECK_FALSE(store.get("ns", "later").has_value());
  CHECK(keys_matching(server, "part:{part}:e:*").size() == 1);
  const auto listed = store.list("ns");
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].key == "kept");
  CHECK(store.stats().entries == 1);
}

TEST_CASE("RedisStore: a key of the prefix holding something foreign is corrupt") {
  RedisServer server;
  RedisStore store(server.options("foreign"));
  store.put("ns", "k", std::string_view("value"));
  const std::string entry = "foreign:{foreign}:e:2:ns:k";
  SECTION("the entry is a string") {
    server.command({"DEL", entry});
    server.command({"SET", entry, "not a hash"});
    CHECK(errc_of([&] { store.get("ns", "k"); }) == Errc::corrupt);
    CHECK(errc_of([&] { store.put("ns", "k", std::string_view("new")); }) == Errc::corrupt);
    CHECK(server.command({"GET", entry}) == "not a hash");  // nothing written
    CHECK(errc_of([&] { store.erase("ns", "k"); }) == Errc::corrupt);
  }
  SECTION("the metadata is not ours") {
    server.command({"HSET", entry, "m", "garbage"});
    CHECK(errc_of([&] { store.get("ns", "k"); }) == Errc::corrupt);
    CHECK(errc_of([&] { store.open("ns", "k"); }) == Errc::corrupt);
    CHECK(errc_of([&] { store.list("ns"); }) == Errc::corrupt);
  }
  SECTION("a chunk was changed") {
    const std::string chunk = server.command({"HGET", entry, "0"});
    std::string changed = chunk;
    changed.back() = static_cast<char>(changed.back() ^ 1);
    server.command({"HSET", entry, "0", changed});
    CHECK(errc_of([&] { store.get("ns", "k"); }) == Errc::corrupt);
    CHECK(errc_of([&] { store.open("ns", "k"); }) == Errc::corrupt);
    CHECK_FALSE(store.verify().ok());
  }
  SECTION("the index is a string") {
    server.command({"DEL", "foreign:{foreign}:i:ns"});
    server.command({"SET", "foreign:{foreign}:i:ns", "x"});
    CHECK(store.get("ns", "k")->text() == "value");  // a get reads the entry alone
    CHECK(errc_of([&] { store.list("ns"); }) == Errc::corrupt);
    CHECK(errc_of([&] { store.put("ns", "other", std::string_view("v")); }) == Errc::corrupt);
  }
}

TEST_CASE(
    "RedisStore: expires_at becomes PEXPIREAT plus the grace; list never shows what Redis "
    "dropped") {
  RedisServer server;
  RedisOptions options = server.options("ttl");
  options.expiry_grace = 200ms;
  RedisStore store(options);
  const TimePoint soon = std::chrono::system_clock::now() + 100ms;
  store.put("ns", "soon", std::string_view("v"), {.expires_at = soon});
  store.put("ns", "past", std::string_view("v"), {.expires_at = TimePoint{} + 1s});
  store.put("ns", "never", std::string_view("v"));
  CHECK(server.command({"PTTL", "ttl:{ttl}:e:2:ns:never"}) == "-1");
  const auto pttl = std::stoll(server.command({"PTTL", "ttl:{ttl}:e:2:ns:soon"}));
  CHECK(pttl > 0);
  CHECK(pttl <= 300);
  // An entry already expired when put stays readable for the grace.
  CHECK(store.get("ns", "past").has_value());
  wait_until([&] { return keys_matching(server, "ttl:{ttl}:e:2:ns:soon").empty(); });
  wait_until([&] { return keys_matching(server, "ttl:{ttl}:e:2:ns:past").empty(); });
  const auto listed = store.list("ns");
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].key == "never");
  CHECK_FALSE(store.get("ns", "soon").has_value());
  const Stats stats = store.stats();
  CHECK(stats.entries == 1);
  CHECK(stats.expirations == 2);
  CHECK(stats.evictions == 0);
}

TEST_CASE("RedisStore: a replace leaves nothing of the old entry behind (fields, TTL, chunks)") {
  RedisServer server;
  RedisStore store(server.options("over"));
  const std::string entry = "over:{over}:e:2:ns:k";
  store.put("ns", "k", std::string_view("one"), {.expires_at = TimePoint{} + 1s});
  CHECK(std::stoll(server.command({"PTTL", entry})) > 0);
  store.put("ns", "k", std::string_view("two"));  // in place: one chunk each
  CHECK(server.command({"PTTL", entry}) == "-1");
  CHECK(server.command({"HEXISTS", entry, "x"}) == "0");
  store.put("ns", "k", BytesView{});
  CHECK(server.command({"HEXISTS", entry, "0"}) == "0");
  store.put("ns", "k", pattern(600'000, 1), {.expires_at = TimePoint{} + 1s});
  store.put("ns", "k", std::string_view("small"));  // from three chunks to one
  CHECK(server.command({"HLEN", entry}) == "7");    // m g t s n u 0
  CHECK(server.command({"PTTL", entry}) == "-1");
  CHECK(store.get("ns", "k")->text() == "small");
  CHECK(store.stats().bytes == 5);
  CHECK(server.command({"ZCARD", "over:{over}:x:ns"}) == "0");
  CHECK(server.command({"ZCARD", "over:{over}:u:ns"}) == "1");
}

TEST_CASE("RedisStore: a reader keeps its generation through a replace and an erase") {
  RedisServer server;
  RedisStore store(server.options("pin"));
  const Bytes before = pattern(1'000'000, 6);
  store.put("ns", "k", before);
  auto reader = store.open("ns", "k");
  REQUIRE(reader != nullptr);
  Bytes first(300'000);
  REQUIRE(reader->read(first) == first.size());
  store.put("ns", "k", pattern(900'000, 7));
  CHECK(keys_matching(server, "pin:{pin}:o:*").size() == 1);  // kept for the reader
  auto second = store.open("ns", "k");                        // the new value, pinned too
  store.erase("ns", "k");
  Bytes rest = read_all(*reader);
  first.insert(first.end(), rest.begin(), rest.end());
  CHECK(first == before);
  CHECK(read_all(*second) == pattern(900'000, 7));
  reader.reset();
  second.reset();
  // The last reader's close drops the old generations and the pins.
  CHECK(keys_matching(server, "pin:{pin}:o:*").empty());
  CHECK(keys_matching(server, "pin:{pin}:p:*").empty());
  CHECK(keys_matching(server, "pin:{pin}:e:*").empty());
}

TEST_CASE(
    "RedisStore: a reader whose old generation is gone throws entry_not_found, never other bytes") {
  RedisServer server;
  RedisStore store(server.options("lapse"));
  store.put("ns", "k", pattern(1'000'000, 8));
  auto reader = store.open("ns", "k");
  Bytes some(1000);
  REQUIRE(reader->read(some) == some.size());
  store.put("ns", "k", pattern(1'000'000, 9));
  // What a lapsed pin or an eviction does to the kept generation.
  for (const std::string& key : keys_matching(server, "lapse:{lapse}:o:*"))
    server.command({"DEL", key});
  CHECK(errc_of([&] { read_all(*reader); }) == Errc::entry_not_found);
}

TEST_CASE("RedisStore: an interrupted put leaves nothing visible; staged chunks carry a TTL") {
  RedisServer server;
  RedisStore store(server.options("stage"));
  SECTION("cancelled halfway: the staged chunks are deleted") {
    std::stop_source stop;
    PatternBuffer buffer(5 << 20, 1, [&] { stop.request_stop(); });
    std::istream in(&buffer);
    CHECK(errc_of([&] { store.put_stream("ns", "k", in, {}, stop.get_token()); }) ==
          Errc::cancelled);
    CHECK_FALSE(store.get("ns", "k").has_value());
    CHECK(keys_matching(server, "stage:{stage}:t:*").empty());
  }
  SECTION("staged chunks Redis dropped mid-put: no_space, and the old value stays") {
    store.put("ns", "k", std::string_view("old"));
    PatternBuffer buffer(5 << 20, 3, [&] {
      // What an eviction of the staging hash does; the later chunks make it again.
      for (const auto& staging : keys_matching(server, "stage:{stage}:t:*")) {
        server.command({"DEL", staging});
      }
    });
    std::istream in(&buffer);
    CHECK(errc_of([&] { store.put_stream("ns", "k", in); }) == Errc::no_space);
    CHECK(store.get("ns", "k")->text() == "old");
    CHECK(keys_matching(server, "stage:{stage}:t:*").empty());
    CHECK(store.stats().bytes == 3);
  }
  SECTION("a process killed mid-put leaves a staging key that expires") {
    const auto child =
        run_self("redis child put then freeze", {{"REDIS_PORT", std::to_string(server.port())}});
    CHECK(child.signal == SIGKILL);  // killed by its own SIGKILL
    const auto staged = keys_matching(server, "stage:{stage}:t:*");
    REQUIRE(staged.size() == 1);
    const auto pttl = std::stoll(server.command({"PTTL", staged[0]}));
    CHECK(pttl > 0);
    CHECK(pttl <= 10 * 60 * 1000);
    CHECK_FALSE(store.get("ns", "k").has_value());
    CHECK(store.list("ns").empty());
  }
}

TEST_CASE("redis child put then freeze", "[.]") {
  RedisStore store({.port = std::stoi(env_or_empty("REDIS_PORT")), .key_prefix = "stage"});
  PatternBuffer buffer(10 << 20, 2, [] { ::raise(SIGKILL); });
  std::istream in(&buffer);
  store.put_stream("ns", "k", in);
}

TEST_CASE("RedisStore: a stream of 128 MiB goes in and out in constant memory") {
  RedisServer server;
  const auto child =
      run_self("redis child stream 128 MiB", {{"REDIS_PORT", std::to_string(server.port())}});
  CHECK((child.exited && child.code == 0));
  INFO("child peak RSS " << child.max_rss_kib << " KiB");
  if constexpr (blobcache::test::kSanitized) {
    // The sanitizers' quarantine and shadow memory dwarf the store's own use.
    WARN("sanitizer build: the RSS bound is not checked");
  } else {
    CHECK(child.max_rss_kib < 64 * 1024);
  }
}

TEST_CASE("redis child stream 128 MiB", "[.]") {
  RedisStore store({.port = std::stoi(env_or_empty("REDIS_PORT")), .key_prefix = "rss"});
  constexpr std::size_t kSize = std::size_t{128} << 20;
  PatternBuffer buffer(kSize, 10);
  std::istream in(&buffer);
  const Meta meta = store.put_stream("ns", "big", in);
  REQUIRE(meta.size == static_cast<std::int64_t>(kSize));
  auto reader = store.open("ns", "big");
  REQUIRE(reader != nullptr);
  PatternBuffer expected(kSize, 10);
  std::istream want(&expected);
  std::vector<char> got(1 << 20);
  std::vector<char> wanted(1 << 20);
  std::size_t total = 0;
  while (const std::size_t n = reader->read(std::as_writable_bytes(std::span(got)))) {
    want.read(wanted.data(), static_cast<std::streamsize>(n));
    REQUIRE(std::equal(got.begin(), got.begin() + static_cast<std::ptrdiff_t>(n), wanted.begin()));
    total += n;
  }
  REQUIRE(total == kSize);
}

TEST_CASE("RedisStore: two processes share entries through Redis only") {
  RedisServer server;
  const std::map<std::string, std::string> env = {{"REDIS_PORT", std::to_string(server.port())}};
  REQUIRE(run_self("redis child writes", env).code == 0);
  RedisStore store(server.options("shared"));
  const auto listed = store.list("ns");
  REQUIRE(listed.size() == 20);
  for (int i = 0; i < 20; ++i) {
    const auto blob = store.get("ns", "k" + std::to_string(i));
    REQUIRE(blob.has_value());
    CHECK(blob->data ==
          pattern(static_cast<std::size_t>(i) * 50'000, static_cast<std::uint32_t>(i)));
    CHECK(blob->meta.metadata.at("writer") == "child");
  }
  store.erase("ns", "k3");
  store.put("ns", "k4", std::string_view("parent"));
  REQUIRE(run_self("redis child reads back", env).code == 0);
  // The child's hit counts reached the server when its store closed.
  const Stats stats = store.stats();
  CHECK(stats.hits >= 20 + 2);
  CHECK(stats.misses >= 1);
}

// A child forked from a process whose store has connections open must not
// use them: on one socket, the two processes would read each other's
// replies. Both go on with the same store object at once, each checking
// every value it reads.
TEST_CASE("RedisStore: a forked child opens connections of its own") {
  RedisServer server;
  RedisStore store(server.options("forked"));
  const auto value_of = [](const std::string& who, int i) {
    return pattern(1000 + static_cast<std::size_t>(i) * 100,
                   static_cast<std::uint32_t>(i) + (who == "child" ? 100U : 0U));
  };
  for (int i = 0; i < 20; ++i) store.put("ns", "k" + std::to_string(i), value_of("parent", i));
  const auto work = [&](const std::string& who) {
    for (int round = 0; round < 300; ++round) {
      const int i = round % 20;
      const auto blob = store.get("ns", "k" + std::to_string(i));
      if (!blob || blob->data != value_of("parent", i)) return 2;
      store.put("ns", who + std::to_string(i), value_of(who, i));
      const auto own = store.get("ns", who + std::to_string(i));
      if (!own || own->data != value_of(who, i)) return 3;
    }
    return 0;
  };
  const pid_t child = test::in_child([&] { return work("child"); });
  int parent = 1;
  try {
    parent = work("parent");
  } catch (const Error& e) {
    UNSCOPED_INFO("the parent: " << e.what());
  }
  CHECK(test::wait_child(child) == 0);
  CHECK(parent == 0);
}

// Hits are counted in memory and flushed in batches: a child forked before
// its parent's flush must not flush the parent's counts a second time.
TEST_CASE("RedisStore: a forked child flushes only the hits it counted itself") {
  RedisServer server;
  auto store = std::make_unique<RedisStore>(server.options("counted"));
  store->put("ns", "k", std::string_view("v"));
  for (int i = 0; i < 10; ++i) REQUIRE(store->get("ns", "k").has_value());  // counted, not flushed
  const pid_t child = test::in_child([&] {
    for (int i = 0; i < 3; ++i) store->get("ns", "k");
    store.reset();  // flushes what this process counted
    return 0;
  });
  REQUIRE(test::wait_child(child) == 0);
  store.reset();
  const Stats stats = RedisStore(server.options("counted")).stats();
  CHECK(stats.hits == 13);
}

TEST_CASE("redis child writes", "[.]") {
  RedisStore store({.port = std::stoi(env_or_empty("REDIS_PORT")), .key_prefix = "shared"});
  for (int i = 0; i < 20; ++i) {
    store.put("ns", "k" + std::to_string(i),
              pattern(static_cast<std::size_t>(i) * 50'000, static_cast<std::uint32_t>(i)),
              {.metadata = {{"writer", "child"}}});
  }
}

TEST_CASE("redis child reads back", "[.]") {
  RedisStore store({.port = std::stoi(env_or_empty("REDIS_PORT")), .key_prefix = "shared"});
  REQUIRE_FALSE(store.get("ns", "k3").has_value());
  REQUIRE(store.get("ns", "k4")->text() == "parent");
  REQUIRE(store.get("ns", "k5")->data == pattern(250'000, 5));
}

TEST_CASE("RedisStore: of four processes creating one key with if_match \"\", exactly one wins") {
  RedisServer server;
  const std::map<std::string, std::string> env = {{"REDIS_PORT", std::to_string(server.port())}};
  std::vector<std::thread> threads;
  std::atomic<int> won{0};
  std::atomic<int> lost{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      const int code = run_self("redis child creates once", env).code;
      ++(code == 0 ? won : lost);
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(won == 1);
  CHECK(lost == 3);
}

TEST_CASE("redis child creates once", "[.]") {
  RedisStore store({.port = std::stoi(env_or_empty("REDIS_PORT")), .key_prefix = "once"});
  try {
    store.put("ns", "k", pattern(300'000, static_cast<std::uint32_t>(::getpid())),
              {.if_match = std::string()});
  } catch (const Error& e) {
    REQUIRE(e.errc() == Errc::precondition_failed);
    std::exit(1);  // NOLINT(concurrency-mt-unsafe): the child's verdict
  }
}

TEST_CASE("RedisStore: fill leases across two processes") {
  RedisServer server;
  const std::map<std::string, std::string> env = {{"REDIS_PORT", std::to_string(server.port())}};
  RedisStore store(server.options("lease"));
  REQUIRE(store.try_acquire_lease("ns", "k", "parent", 30s));
  CHECK(store.try_acquire_lease("ns", "k", "parent", 30s));  // again: extended
  // The child (owner "child") cannot take it while the parent holds it.
  CHECK(run_self("redis child takes lease", env).code == 1);
  store.release_lease("ns", "k", "child");  // not the owner: nothing happens
  CHECK_FALSE(store.try_acquire_lease("ns", "k", "third", 30s));
  store.release_lease("ns", "k", "parent");
  // Now the child takes it, with a short ttl, and exits holding it.
  CHECK(run_self("redis child takes lease", env).code == 0);
  CHECK_FALSE(store.try_acquire_lease("ns", "k", "parent", 30s));
  // A lease whose owner died ends with its ttl.
  wait_until([&] { return store.try_acquire_lease("ns", "k", "parent", 30s); });
  CHECK(keys_matching(server, "lease:{lease}:l:*").size() == 1);
  store.release_lease("ns", "k", "parent");
  CHECK(keys_matching(server, "lease:{lease}:l:*").empty());
}

TEST_CASE("redis child takes lease", "[.]") {
  RedisStore store({.port = std::stoi(env_or_empty("REDIS_PORT")), .key_prefix = "lease"});
  if (!store.try_acquire_lease("ns", "k", "child", 300ms)) std::exit(1);  // NOLINT
}

TEST_CASE("RedisStore: 32 callers in 4 processes missing one key run get_or_fill's fill once") {
  RedisServer server;
  const test::TempDir dir;
  const std::map<std::string, std::string> env = {{"REDIS_PORT", std::to_string(server.port())},
                                                  {"FILL_RUNS", (dir / "runs").string()}};
  std::vector<std::thread> processes;
  std::atomic<int> failed{0};
  for (int i = 0; i < 4; ++i) {
    processes.emplace_back([&] {
      if (run_self("redis child fills", env).code != 0) ++failed;
    });
  }
  for (auto& process : processes) process.join();
  CHECK(failed == 0);
  std::ifstream runs(dir / "runs");
  int lines = 0;
  for (std::string line; std::getline(runs, line);) ++lines;
  CHECK(lines == 1);
  RedisStore store(server.options("fill"));
  CHECK(store.get("ns", "key")->data == Bytes(1000, std::byte{7}));
  CHECK(store.try_acquire_lease("ns", "key", "someone", 1s));  // no lease left behind
}

TEST_CASE("redis child fills", "[.]") {
  auto store = std::make_shared<RedisStore>(
      RedisOptions{.port = std::stoi(env_or_empty("REDIS_PORT")), .key_prefix = "fill"});
  std::atomic<int> failures{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&] {
      try {
        Cache cache(store, "ns", 0ns);
        cache.get_or_fill("key", [&] {
          std::ofstream(env_or_empty("FILL_RUNS"), std::ios::app) << ::getpid() << '\n';
          std::this_thread::sleep_for(200ms);
          return Fill{.data = Bytes(1000, std::byte{7}), .opts = {}};
        });
      } catch (...) {
        ++failures;
      }
    });
  }
  for (auto& caller : callers) caller.join();
  REQUIRE(failures == 0);
}

TEST_CASE("RedisStore: erase_namespace and erase_expired work in batches") {
  RedisServer server;
  RedisStore store(server.options("batch"));
  const TimePoint now = std::chrono::system_clock::now();
  std::vector<PutRequest> batch;
  std::vector<std::string> keys;
  keys.reserve(1000);
  for (int i = 0; i < 1000; ++i) keys.push_back("k" + std::to_string(i));
  for (int i = 0; i < 1000; ++i) {
    // 700 expired (the same millisecond for many), 300 not.
    const TimePoint expires = i < 700 ? now - 1h + std::chrono::microseconds(i % 3) : now + 1h;
    batch.push_back({.ns = "exp",
                     .key = keys[static_cast<std::size_t>(i)],
                     .value = as_bytes("v"),
                     .options = {.expires_at = expires}});
  }
  store.put_many(batch);
  for (PutRequest& request : batch) request.ns = "gone";
  store.put_many(batch);
  store.put("gone/kept", "k", std::string_view("v"));
  CHECK(store.erase_expired("exp", now, 0s) == 700);
  CHECK(store.list("exp").size() == 300);
  CHECK(store.stats().expirations == 700);
  store.erase_namespace("gone");
  CHECK(store.list("gone").empty());
  CHECK_FALSE(store.get("gone", "k1").has_value());
  CHECK(keys_matching(server, "batch:{batch}:e:4:gone:*").empty());
  CHECK(keys_matching(server, "batch:{batch}:z*").empty());
  CHECK(store.get("gone/kept", "k")->text() == "v");
  const auto spaces = store.namespaces();
  REQUIRE(spaces.size() == 2);
  CHECK(spaces[0].name == "exp");
  CHECK(spaces[1].name == "gone/kept");
}

TEST_CASE("RedisStore: an erase_namespace a dead process left half done is finished by the next") {
  RedisServer server;
  RedisStore store(server.options("half"));
  for (int i = 0; i < 300; ++i) store.put("ns", "k" + std::to_string(i), std::string_view("v"));
  // What erase_namespace's first step leaves when its process dies next.
  server.command({"RENAME", "half:{half}:i:ns", "half:{half}:z:dead"});
  server.command({"HSET", "half:{half}:zs", "half:{half}:z:dead", "ns"});
  CHECK(keys_matching(server, "half:{half}:e:*").size() == 300);
  store.erase_namespace("other");
  CHECK(keys_matching(server, "half:{half}:e:*").empty());
  CHECK(keys_matching(server, "half:{half}:z*").empty());
}

TEST_CASE("RedisStore: scripts the server lost are loaded again") {
  RedisServer server;
  RedisStore store(server.options("flush"));
  store.put("ns", "k", std::string_view("v"));
  server.command({"SCRIPT", "FLUSH"});
  CHECK(store.get("ns", "k")->text() == "v");
  store.put("ns", "k", std::string_view("w"));
  CHECK(store.get("ns", "k")->text() == "w");
}

TEST_CASE("RedisStore: functions the server lost are loaded again, also after a restart") {
  RedisServer server;
  RedisStore store(server.options("fn"));
  const Bytes big = pattern(700'000, 12);  // pinned and read by functions
  store.put("ns", "k", std::string_view("v"));
  store.put("ns", "big", big);
  CHECK_THAT(server.command({"FUNCTION", "LIST"}), Catch::Contains("blobcache_"));
  server.command({"FUNCTION", "FLUSH"});
  CHECK(sha256_of(store.get("ns", "big")->data) == sha256_of(big));
  server.command({"FUNCTION", "FLUSH"});
  store.put("ns", "k", std::string_view("w"));
  CHECK(store.get("ns", "k")->text() == "w");
  CHECK_THAT(server.command({"FUNCTION", "LIST"}), Catch::Contains("blobcache_"));
  server.command({"FUNCTION", "FLUSH"});
  server.command({"SCRIPT", "FLUSH"});
  store.erase("ns", "big");
  CHECK(store.stats().entries == 1);
  // A restarted server has neither the data nor the functions. (The pause:
  // a connection idle for 100 ms is tested before reuse, a busier one fails.)
  server.restart();
  std::this_thread::sleep_for(150ms);
  CHECK_FALSE(store.get("ns", "k").has_value());
  store.put("ns", "a", std::string_view("123"));
  store.put("ns", "b", big);
  CHECK(store.get("ns", "a")->text() == "123");
  CHECK(store.stats().entries == 2);
  CHECK(store.stats().bytes == 3 + static_cast<std::int64_t>(big.size()));
  CHECK_THAT(server.command({"FUNCTION", "LIST"}), Catch::Contains("blobcache_"));
}

TEST_CASE("RedisStore: a user denied FCALL and FUNCTION runs the same operations as scripts") {
  RedisServer server({"--user", "app", "on", ">pw", "~nofn:*", "+@all", "-fcall", "-function"});
  RedisOptions options = server.options("nofn");
  options.user = "app";
  options.password = "pw";
  RedisStore store(options);
  const Bytes big = pattern(700'000, 13);
  store.put("ns", "k", std::string_view("v"), {.expires_at = TimePoint{} + 1h});
  store.put("ns", "big", big);
  CHECK(sha256_of(store.get("ns", "big")->data) == sha256_of(big));
  store.put("ns", "big", std::string_view("small"));  // a small put over several chunks
  CHECK(store.get("ns", "big")->text() == "small");
  store.put("ns", "big", big);
  CHECK(errc_of([&] { store.put("ns", "k", std::string_view("x"), {.if_match = ""}); }) ==
        Errc::precondition_failed);
  CHECK(store.erase_expired("ns", TimePoint{} + 2h, Duration::zero()) == 1);
  CHECK(store.stats().entries == 1);
  CHECK(store.stats().bytes == static_cast<std::int64_t>(big.size()));
  store.erase_namespace("ns");
  CHECK(store.list("ns").empty());
  CHECK(server.command({"FUNCTION", "LIST"}).empty());  // nothing was loaded
}

TEST_CASE(
    "RedisStore: a batch's totals stay exact: one namespace twice, a key twice, a pruned key") {
  RedisServer server;
  RedisStore store(server.options("tot"));
  store.put("ns", "gone", std::string_view("12345"));
  store.put("ns", "kept", std::string_view("1"));
  REQUIRE(server.command({"DEL", "tot:{tot}:e:2:ns:gone"}) == "1");  // as an eviction does
  const std::string big(100'000, 'b');
  const std::vector<PutRequest> batch = {
      {.ns = "ns", .key = "gone", .value = as_bytes(std::string_view("12")), .options = {}},
      {.ns = "ns", .key = "new", .value = as_bytes(std::string_view(big)), .options = {}},
      {.ns = "other", .key = "x", .value = as_bytes(std::string_view("xyz")), .options = {}},
      {.ns = "ns", .key = "new", .value = as_bytes(std::string_view("abcd")), .options = {}},
      {.ns = "ns", .key = "kept", .value = as_bytes(std::string_view("123456")), .options = {}},
  };
  store.put_many(batch);
  CHECK(store.namespaces() == std::vector<NamespaceInfo>{{"ns", 3, 2 + 4 + 6}, {"other", 1, 3}});
  const Stats stats = store.stats();
  CHECK(stats.entries == 4);
  CHECK(stats.bytes == 15);
  CHECK(stats.evictions == 1);
  CHECK(store.get("ns", "new")->text() == "abcd");
  store.put("ns", "new", std::string_view(big));
  store.erase("ns", "kept");
  CHECK(store.namespaces() ==
        std::vector<NamespaceInfo>{{"ns", 2, 2 + static_cast<std::int64_t>(big.size())},
                                   {"other", 1, 3}});
}

TEST_CASE("RedisStore: many threads over one connection") {
  RedisServer server;
  RedisOptions options = server.options("threads");
  options.pool_size = 1;
  RedisStore store(options);
  const Bytes big = pattern(700'000, 11);
  store.put("ns", "big", big);
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      try {
        for (int i = 0; i < 10; ++i) {
          if (store.get("ns", "big")->data != big) ++bad;
          auto reader = store.open("ns", "big");
          if (read_all(*reader) != big) ++bad;
          store.put("ns", "t" + std::to_string(t), std::string_view("v"));
        }
      } catch (...) {
        ++bad;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(bad == 0);
}

}  // namespace
}  // namespace blobcache
