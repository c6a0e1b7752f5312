// Cache::get_or_fill within one process: fresh hits, one fill per key
// among threads, stale-if-error, and what a failing fill leaves behind.
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "blobcache/cache.hpp"
#include "blobcache/error.hpp"
#include "blobcache/memory_store.hpp"

#include "catch_compat.hpp"
#include "errc_of.hpp"
#include "fixed_clock.hpp"

namespace blobcache {
namespace {

using namespace std::chrono_literals;
using test::errc_of;

Fill text_fill(std::string_view text) {
  const BytesView bytes = as_bytes(text);
  return {.data = Bytes(bytes.begin(), bytes.end()), .opts = {.content_type = "text/plain"}};
}

struct NotAStdException {
  int code;
};

TEST_CASE("get_or_fill returns a fresh entry without filling, and fills a missing one once",
          "[cache][fill]") {
  auto store = std::make_shared<MemoryStore>();
  Cache cache(store, "pages", 1h);
  int runs = 0;
  const auto fill = [&] {
    ++runs;
    return text_fill("computed");
  };
  const Lookup first = cache.get_or_fill("k", fill);
  CHECK(first.filled);
  CHECK(first.fresh);
  CHECK(first.blob.text() == "computed");
  CHECK(first.blob.meta.content_type == "text/plain");
  CHECK(first.blob.meta == store->get("pages", "k")->meta);
  const Lookup second = cache.get_or_fill("k", fill);
  CHECK_FALSE(second.filled);
  CHECK(second.fresh);
  CHECK(second.blob.meta.etag == first.blob.meta.etag);
  CHECK(runs == 1);
}

TEST_CASE("8 threads missing one key run the fill once and all get its value",
          "[cache][fill][threads]") {
  auto store = std::make_shared<MemoryStore>();
  std::atomic<int> runs{0};
  std::atomic<int> filled{0};
  std::vector<std::string> etags(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      Cache cache(store, "ns", 0ns);  // one Cache object per thread: they share the flight
      const Lookup got = cache.get_or_fill("slow", [&] {
        ++runs;
        std::this_thread::sleep_for(200ms);
        return text_fill("value");
      });
      if (got.filled) ++filled;
      etags[static_cast<std::size_t>(t)] = got.blob.meta.etag;
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(runs == 1);
  CHECK(filled == 1);
  for (const std::string& etag : etags) CHECK(etag == etags[0]);
}

TEST_CASE("stale-if-error: an expired entry comes back when the fill throws", "[cache][fill]") {
  const auto clock = std::make_shared<test::FixedClock>(TimePoint{} + 1'000'000s);
  auto store = std::make_shared<MemoryStore>("", clock);
  Cache cache(store, "ns", Policy{.ttl = 10s, .clock = clock});
  cache.put("k", std::string_view("old"));
  clock->advance(20s);  // expired now
  SECTION("with stale_if_error the expired entry, not fresh") {
    const Lookup got =
        cache.get_or_fill("k", []() -> Fill { throw std::runtime_error("offline"); });
    CHECK_FALSE(got.fresh);
    CHECK_FALSE(got.filled);
    CHECK(got.blob.text() == "old");
  }
  SECTION("without it, fill's own exception") {
    CHECK_THROWS_AS(cache.get_or_fill("k", []() -> Fill { throw std::runtime_error("offline"); },
                                      {.stale_if_error = false}),
                    std::runtime_error);
  }
  SECTION("a fresh fill replaces the expired entry") {
    const Lookup got = cache.get_or_fill("k", [] { return text_fill("new"); });
    CHECK(got.filled);
    CHECK(got.blob.text() == "new");
  }
}

TEST_CASE(
    "without an entry, fill's exception arrives unchanged, whatever its type, and the next "
    "caller fills",
    "[cache][fill]") {
  auto store = std::make_shared<MemoryStore>();
  Cache cache(store, "ns", 0ns);
  CHECK_THROWS_AS(cache.get_or_fill("k", []() -> Fill { throw std::logic_error("bug"); }),
                  std::logic_error);
  try {
    cache.get_or_fill("k", []() -> Fill { throw NotAStdException{42}; });
    FAIL("nothing thrown");
  } catch (const NotAStdException& e) {
    CHECK(e.code == 42);
  }
  // A fill that returns what cannot be stored: the error, and nothing held.
  CHECK(errc_of([&] {
          cache.get_or_fill("k", [] {
            Fill bad = text_fill("x");
            bad.opts.if_match = "not an etag";
            return bad;
          });
        }) == Errc::invalid_argument);
  CHECK(cache.get_or_fill("k", [] { return text_fill("at last"); }).filled);
}

TEST_CASE("threads waiting on a fill that throws get its exception", "[cache][fill][threads]") {
  auto store = std::make_shared<MemoryStore>();
  std::atomic<int> runs{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      try {
        Cache(store, "ns", 0ns).get_or_fill("k", [&]() -> Fill {
          ++runs;
          std::this_thread::sleep_for(100ms);
          throw std::runtime_error("down");
        });
      } catch (const std::runtime_error&) {
        ++errors;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(errors == 4);
  CHECK(runs >= 1);  // threads that came after the flight landed ran their own
  CHECK(runs <= 4);
}

TEST_CASE("a value written meanwhile by someone else wins over the fill's", "[cache][fill]") {
  auto store = std::make_shared<MemoryStore>();
  Cache cache(store, "ns", 0ns);
  const Lookup got = cache.get_or_fill("k", [&] {
    store->put("ns", "k", std::string_view("written by another writer"));
    return text_fill("the fill's");
  });
  CHECK_FALSE(got.filled);
  CHECK(got.blob.text() == "written by another writer");
  CHECK(store->get("ns", "k")->text() == "written by another writer");
}

TEST_CASE("get_or_fill checks its arguments and its store", "[cache][fill]") {
  Cache disabled(nullptr, "ns", 0ns);
  CHECK(errc_of([&] { disabled.get_or_fill("k", [] { return text_fill("x"); }); }) ==
        Errc::store_not_configured);
  Cache cache(std::make_shared<MemoryStore>(), "ns", 0ns);
  CHECK(errc_of([&] { cache.get_or_fill("", [] { return text_fill("x"); }); }) ==
        Errc::invalid_key);
  CHECK(errc_of([&] { cache.get_or_fill("k", [] { return text_fill("x"); }, {.lease = 0s}); }) ==
        Errc::invalid_argument);
}

}  // namespace
}  // namespace blobcache
