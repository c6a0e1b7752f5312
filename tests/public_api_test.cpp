// Links only blobcache_dep and includes only the umbrella header: proves the
// public headers stand alone, need no private dependency, and that the API
// names compile as the contract writes them. No test framework on purpose.
#include <blobcache/blobcache.hpp>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace {

int failures = 0;

void expect(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "FAILED: %s\n", what);
    ++failures;
  }
}

}  // namespace

int main() {
  using namespace std::chrono_literals;
  static_assert(std::is_aggregate_v<blobcache::PutOptions>);
  static_assert(std::is_aggregate_v<blobcache::Meta>);
  static_assert(std::is_aggregate_v<blobcache::Info>);
  static_assert(std::is_aggregate_v<blobcache::Policy>);
  static_assert(std::is_aggregate_v<blobcache::SqliteOptions>);
  static_assert(std::is_error_code_enum_v<blobcache::Errc>);
#if BLOBCACHE_HAS_REDIS
  static_assert(std::is_aggregate_v<blobcache::RedisOptions>);
  static_assert(std::is_base_of_v<blobcache::Store, blobcache::RedisStore>);
#endif

  auto store = std::make_shared<blobcache::MemoryStore>("root");
  blobcache::Cache cache(store, "public",
                         blobcache::Policy{.ttl = 1h, .clock = blobcache::system_clock()});
  const blobcache::Meta meta =
      cache.put("key", std::string_view("hello"), {.content_type = "text/plain"});
  expect(meta.size == 5, "put returns the size");
  expect(cache.at("key").text() == "hello", "at returns the value");
  expect(cache.dir() == "root", "dir is the root");

  std::istringstream in("streamed");
  store->put_stream("public", "s", in);
  auto reader = store->open("public", "s");
  std::byte buffer[16];
  expect(reader && reader->read(buffer) == 8, "open reads the streamed bytes");

  try {
    store->get("../bad", "k");
    expect(false, "bad namespace throws");
  } catch (const blobcache::Error& e) {
    expect(e.code() == blobcache::Errc::invalid_namespace, "bad namespace is invalid_namespace");
  }
  expect(std::string(BLOBCACHE_VERSION) == blobcache::kVersion, "version header");
  expect(blobcache::SqliteStore::default_path("app").filename() == "blobcache.db", "default_path");

  blobcache::TieredStore tiered(std::make_shared<blobcache::MemoryStore>("near"),
                                std::make_shared<blobcache::MemoryStore>("far"));
  tiered.put("public", "t", std::string_view("tiered"));
  expect(tiered.get("public", "t")->text() == "tiered", "a TieredStore reads what it wrote");

  if (failures == 0) std::puts("public API: ok");
  return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
