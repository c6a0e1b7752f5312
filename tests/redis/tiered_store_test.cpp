// TieredStore(SqliteStore, RedisStore) against a real redis-server.
#include "blobcache/tiered_store.hpp"

#include <sstream>

#include "blobcache/redis_store.hpp"
#include "blobcache/sqlite_store.hpp"
#include "blobcache/testing/contract.hpp"

#include "catch_compat.hpp"
#include "counting_store.hpp"
#include "errc_of.hpp"
#include "redis_server.hpp"
#include "temp_dir.hpp"
#include "values.hpp"
#include "wait_until.hpp"

namespace blobcache {
namespace {

using namespace std::chrono_literals;
using test::CountingStore;
using test::errc_of;
using test::pattern;
using test::read_all;
using test::RedisServer;
using test::TempDir;

TEST_CASE("TieredStore(SqliteStore, RedisStore) passes the store contract") {
  RedisServer server;
  TempDir dir;
  testing::run_store_contract(
      {.open = [&](const std::string& backing) -> std::shared_ptr<Store> {
         return std::make_shared<TieredStore>(
             std::make_shared<SqliteStore>(SqliteOptions{.path = dir / (backing + ".db")}),
             std::make_shared<RedisStore>(server.options(backing)));
       },
       .persistent = true,
       .counts_hits = true});
}

struct Tier {
  std::shared_ptr<SqliteStore> near;
  std::shared_ptr<RedisStore> redis;
  std::shared_ptr<CountingStore> far;
  std::shared_ptr<TieredStore> tiered;
};

Tier make_tier(const RedisServer& server, const TempDir& dir, std::chrono::milliseconds cooldown) {
  Tier tier;
  tier.near = std::make_shared<SqliteStore>(SqliteOptions{.path = dir / "near.db"});
  RedisOptions options = server.options("tier");
  options.connect_timeout = 300ms;
  options.command_timeout = 300ms;
  tier.redis = std::make_shared<RedisStore>(options);
  tier.far = std::make_shared<CountingStore>(tier.redis);
  tier.tiered =
      std::make_shared<TieredStore>(tier.near, tier.far, TieredOptions{.cooldown = cooldown});
  return tier;
}

TEST_CASE("TieredStore: a far hit is copied into near, with far's Meta") {
  RedisServer server;
  TempDir dir;
  Tier tier = make_tier(server, dir, 30s);
  const Meta meta = tier.redis->put("ns", "k", pattern(600'000, 1),
                                    {.content_type = "a/b", .metadata = {{"m", "v"}}});
  CHECK_FALSE(tier.near->get("ns", "k").has_value());
  const auto got = tier.tiered->get("ns", "k");
  REQUIRE(got.has_value());
  CHECK(got->meta == meta);
  REQUIRE(tier.near->get("ns", "k").has_value());  // copied
  const int far_calls = tier.far->calls();
  CHECK(tier.tiered->get("ns", "k")->meta == meta);  // from near, the same Meta
  CHECK(tier.far->calls() == far_calls);
  // open() copies the whole value in, then reads the copy.
  const Meta streamed = tier.redis->put("ns", "s", pattern(900'000, 2));
  auto reader = tier.tiered->open("ns", "s");
  REQUIRE(reader != nullptr);
  CHECK(reader->meta() == streamed);
  CHECK(read_all(*reader) == pattern(900'000, 2));
  CHECK(tier.near->get("ns", "s").has_value());
}

TEST_CASE("TieredStore: far down degrades to near alone, skips far for the cooldown, recovers") {
  RedisServer server;
  TempDir dir;
  Tier tier = make_tier(server, dir, 2s);  // long enough for the calls below
  Store& store = *tier.tiered;
  const Meta before = store.put("ns", "k", std::string_view("both"));
  store.put("ns", "big", pattern(700'000, 3));

  server.kill();
  // The first call pays far's failure; the caller sees none.
  CHECK(store.get("ns", "k")->meta == before);  // near hit: far not even asked
  const int calls_before = tier.far->calls();
  CHECK(store.put("ns", "new", std::string_view("near only")).size == 9);
  CHECK(tier.far->calls() == calls_before + 1);
  CHECK(store.stats().far_failures >= 1);
  const Info info = store.describe();
  CHECK_THAT(info.details.at("far"), Catch::StartsWith("unavailable"));
  CHECK_THAT(info.details.at("far"), Catch::Contains(std::to_string(server.port())));

  // Within the cooldown far is not called at all: no timeout paid per call.
  const int calls_down = tier.far->calls();
  CHECK(store.get("ns", "new")->text() == "near only");
  CHECK_FALSE(store.get("ns", "absent").has_value());
  CHECK(read_all(*store.open("ns", "big")) == pattern(700'000, 3));
  store.erase("ns", "k");
  CHECK(store.list("ns").size() == 2);  // from near: "big" and "new"
  std::istringstream in("streamed while down");
  CHECK(store.put_stream("ns", "s", in).size == 19);
  CHECK(store.namespaces().size() == 1);
  CHECK_NOTHROW(store.check());
  CHECK(tier.far->calls() == calls_down);
  const std::uint64_t failures = store.stats().far_failures;
  CHECK(failures >= 9);

  // Far comes back; after the cooldown a call reaches it again.
  server.restart();
  test::wait_until([&] {
    store.get("ns", "absent");
    return tier.far->calls() > calls_down;
  });
  CHECK(store.describe().details.at("far") == "available");
  store.put("ns", "after", std::string_view("far again"));
  CHECK(tier.redis->get("ns", "after")->text() == "far again");
  CHECK(store.list("ns").size() == 1);  // far is the truth again (it restarted empty)
}

TEST_CASE("TieredStore: a far killed mid-stream is unavailable; one down at the start is not") {
  RedisServer server;
  TempDir dir;
  Tier tier = make_tier(server, dir, 30s);
  test::PatternBuffer buffer(64 << 20, 4, [&] { server.kill(); });
  std::istream in(&buffer);
  // Half the stream is gone with the far store: it cannot be given to near.
  CHECK(errc_of([&] { tier.tiered->put_stream("ns", "k", in); }) == Errc::unavailable);
  // Now far is known down: the next stream goes to near whole.
  std::istringstream second(std::string(300'000, 'x'));
  CHECK(tier.tiered->put_stream("ns", "k2", second).size == 300'000);
  CHECK(tier.near->get("ns", "k2")->data.size() == 300'000);
}

TEST_CASE(
    "TieredStore: while far cools down, a first call after it fails again without waiting twice") {
  RedisServer server;
  TempDir dir;
  Tier tier = make_tier(server, dir, 1s);
  server.kill();
  tier.tiered->put("ns", "k", std::string_view("v"));  // far fails: down
  const int calls = tier.far->calls();
  std::this_thread::sleep_for(1100ms);  // the cooldown is over (a lower bound, not a timing check)
  tier.tiered->get("ns", "absent");     // far tried again, fails again
  CHECK(tier.far->calls() == calls + 1);
  tier.tiered->get("ns", "absent");
  CHECK(tier.far->calls() == calls + 1);  // skipped again
}

}  // namespace
}  // namespace blobcache
