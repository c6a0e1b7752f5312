#include "blobcache/cache.hpp"

#include <array>
#include <sstream>
#include <stop_token>

#include "blobcache/error.hpp"
#include "blobcache/memory_store.hpp"

#include "catch_compat.hpp"
#include "errc_of.hpp"
#include "fixed_clock.hpp"

namespace blobcache {
namespace {

using namespace std::chrono_literals;

const TimePoint kStart = TimePoint{} + 1'700'000'000s;

using test::errc_of;
using test::message_of;

struct Fixture {
  std::shared_ptr<test::FixedClock> clock = std::make_shared<test::FixedClock>(kStart);
  std::shared_ptr<MemoryStore> store = std::make_shared<MemoryStore>("/cache/root", clock);
};

TEST_CASE("Cache lists entries with age and expires_in", "[cache]") {
  Fixture f;
  Cache cache(f.store, "pages", Policy{.ttl = 10min, .clock = f.clock});
  cache.put("a", std::string_view("1"));
  f.clock->advance(4min);
  cache.put("b", std::string_view("2"),
            {.content_type = {}, .expires_at = kStart + 1h, .metadata = {}});
  f.clock->advance(1min);

  const auto entries = cache.list();
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].key == "a");
  CHECK(entries[0].age == 5min);
  CHECK(entries[0].expires_in == 5min);
  CHECK(entries[1].key == "b");
  CHECK(entries[1].age == 1min);
  CHECK(entries[1].expires_in == 55min);  // explicit expiry wins over the TTL
}

TEST_CASE("Cache::clean_expired erases what the policy calls expired and counts it", "[cache]") {
  Fixture f;
  Cache cache(f.store, "pages", Policy{.ttl = 10min, .clock = f.clock});
  Cache other(f.store, "other", Policy{.ttl = 10min, .clock = f.clock});
  cache.put("old", std::string_view("1"));
  cache.put("pinned", std::string_view("2"),
            {.content_type = {}, .expires_at = kStart + 1h, .metadata = {}});
  other.put("old", std::string_view("3"));
  f.clock->advance(10min);
  cache.put("young", std::string_view("4"));

  CHECK(cache.clean_expired() == 0);  // exactly ttl old: not expired
  f.clock->advance(1ns);
  CHECK(cache.clean_expired() == 1);
  CHECK_FALSE(cache.get("old").has_value());
  CHECK(cache.get("pinned").has_value());
  CHECK(cache.get("young").has_value());
  CHECK(other.get("old").has_value());  // other namespaces untouched

  f.clock->advance(2h);
  CHECK(cache.clean_expired() == 2);
  CHECK(cache.list().empty());
}

TEST_CASE("Cache::get returns expired entries; the policy tells them apart", "[cache]") {
  Fixture f;
  Cache cache(f.store, "ns", Policy{.ttl = 1min, .clock = f.clock});
  cache.put("k", std::string_view("stale"));
  f.clock->advance(1h);
  const auto blob = cache.get("k");
  REQUIRE(blob.has_value());
  CHECK(blob->text() == "stale");
  CHECK(cache.policy().is_expired(blob->meta));
}

TEST_CASE("Cache::at throws entry_not_found for a missing key", "[cache]") {
  Fixture f;
  Cache cache(f.store, "ns", 1h);
  CHECK(errc_of([&] { (void)cache.at("missing"); }) == Errc::entry_not_found);
  cache.put("k", std::string_view("v"));
  CHECK(cache.at("k").text() == "v");
}

TEST_CASE("Cache::get_fresh returns an entry only while the policy calls it fresh", "[cache]") {
  Fixture f;
  Cache cache(f.store, "ns", Policy{.ttl = 10min, .clock = f.clock});
  CHECK_FALSE(cache.get_fresh("absent").has_value());
  cache.put("k", std::string_view("v"));
  cache.put("pinned", std::string_view("p"),
            {.content_type = {}, .expires_at = kStart + 1h, .metadata = {}});
  f.clock->advance(10min);  // exactly ttl old: still fresh
  REQUIRE(cache.get_fresh("k").has_value());
  CHECK(cache.get_fresh("k")->text() == "v");
  f.clock->advance(1ns);
  CHECK_FALSE(cache.get_fresh("k").has_value());
  CHECK(cache.get("k").has_value());             // still there: get_fresh erases nothing
  CHECK(cache.get_fresh("pinned").has_value());  // its own expiry wins over the ttl
  f.clock->set(kStart + 1h + 1ns);
  CHECK_FALSE(cache.get_fresh("pinned").has_value());

  Cache forever(f.store, "ns", Policy{.ttl = 0s, .clock = f.clock});
  CHECK(forever.get_fresh("k").has_value());  // ttl 0: never expires by age
  CHECK(errc_of([&] { (void)cache.get_fresh("/bad"); }) == Errc::invalid_key);
}

TEST_CASE("Cache::open reads an entry in pieces; nullptr when absent", "[cache]") {
  Fixture f;
  Cache cache(f.store, "ns", Policy{.ttl = 1min, .clock = f.clock});
  CHECK(cache.open("absent") == nullptr);
  std::string value(200'000, 'x');
  value[123'456] = 'y';
  cache.put("big", value);
  f.clock->advance(1h);
  const std::unique_ptr<BlobReader> reader = cache.open("big");
  REQUIRE(reader != nullptr);
  CHECK(reader->meta().size == 200'000);
  CHECK(cache.policy().is_expired(reader->meta()));  // open, like get, returns expired entries
  std::string read;
  std::array<std::byte, 4096> buffer{};
  while (const std::size_t n = reader->read(buffer)) read += as_text(BytesView(buffer.data(), n));
  CHECK(read == value);
  CHECK(f.store->open("ns", "big") != nullptr);  // the same namespace of the same store
}

TEST_CASE("Cache::put_stream stores a stream under the cache's namespace", "[cache]") {
  Fixture f;
  Cache cache(f.store, "media", 1h);
  std::istringstream in(std::string(100'000, 'z'));
  const Meta meta = cache.put_stream("video", in, {.content_type = "video/x-matroska"});
  CHECK(meta.size == 100'000);
  CHECK(meta.content_type == "video/x-matroska");
  const auto blob = f.store->get("media", "video");
  REQUIRE(blob.has_value());
  CHECK(blob->text() == std::string(100'000, 'z'));
  CHECK(blob->meta == meta);

  std::stop_source stop;
  stop.request_stop();
  std::istringstream other("other");
  CHECK(errc_of([&] { cache.put_stream("video", other, {}, stop.get_token()); }) ==
        Errc::cancelled);
  CHECK(f.store->get("media", "video")->meta == meta);  // the cancelled put left it alone
  CHECK(errc_of([&] { cache.put_stream("", other); }) == Errc::invalid_key);
}

TEST_CASE("Cache messages name the operation, the namespace/key and the cause", "[cache]") {
  Fixture f;
  Cache cache(f.store, "ns", 1h);
  CHECK(message_of([&] { (void)cache.at("gone"); }) == "at \"ns\"/\"gone\": no such entry");
  Cache disabled(nullptr, "ns", 1h);
  CHECK(message_of([&] { (void)disabled.get("k"); }) == "get \"ns\"/\"k\": the cache has no store");
  CHECK(message_of([&] { (void)disabled.open("k"); }) ==
        "open \"ns\"/\"k\": the cache has no store");
}

TEST_CASE("Cache over a null store", "[cache]") {
  Cache cache(nullptr, "ns", 1h);
  CHECK(errc_of([&] { (void)cache.get("k"); }) == Errc::store_not_configured);
  CHECK(errc_of([&] { (void)cache.get_fresh("k"); }) == Errc::store_not_configured);
  CHECK(errc_of([&] { (void)cache.at("k"); }) == Errc::store_not_configured);
  CHECK(errc_of([&] { (void)cache.open("k"); }) == Errc::store_not_configured);
  CHECK(errc_of([&] { cache.put("k", std::string_view("v")); }) == Errc::store_not_configured);
  std::istringstream in("v");
  CHECK(errc_of([&] { cache.put_stream("k", in); }) == Errc::store_not_configured);
  CHECK_NOTHROW(cache.erase("k"));
  CHECK_NOTHROW(cache.erase_namespace());
  CHECK(cache.clean_expired() == 0);
  CHECK(cache.list().empty());
  CHECK(cache.dir().empty());
  CHECK(cache.ttl() == 1h);
  CHECK(cache.ns() == "ns");
}

TEST_CASE("Cache::dir comes from describe()", "[cache]") {
  Fixture f;
  CHECK(Cache(f.store, "ns", 0s).dir() == "/cache/root");
  CHECK(describe(nullptr, "none").backend == "none");
  CHECK(describe(f.store.get(), "none").backend == "memory");
  CHECK_NOTHROW(check(nullptr));
}

TEST_CASE("Cache rejects a bad namespace up front", "[cache]") {
  Fixture f;
  CHECK(errc_of([&] { Cache(f.store, "../up", 1h); }) == Errc::invalid_namespace);
  CHECK(errc_of([&] { Cache(f.store, "", 1h); }) == Errc::invalid_namespace);
}

TEST_CASE("Cache::erase and erase_namespace reach the store", "[cache]") {
  Fixture f;
  Cache cache(f.store, "ns", 0s);
  Cache child(f.store, "ns/child", 0s);
  cache.put("a", std::string_view("1"));
  cache.put("b", std::string_view("2"));
  child.put("a", std::string_view("3"));
  cache.erase("a");
  CHECK(cache.list().size() == 1);
  cache.erase_namespace();
  CHECK(cache.list().empty());
  CHECK(child.list().size() == 1);
}

}  // namespace
}  // namespace blobcache
