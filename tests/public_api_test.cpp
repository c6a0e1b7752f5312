// Links only blobcache_dep and includes only the umbrella header: proves the
// public headers stand alone, need no private dependency, and that the API
// names compile as the contract writes them. No test framework on purpose.
#include <blobcache/blobcache.hpp>

// The umbrella header includes no private dependency. Their headers sit in
// /usr/include beside the standard library's, so compiling is no proof:
// each defines an include guard or a version macro, checked here. (A few
// headers define none: SQLiteCpp's Exception.h, Transaction.h and
// Savepoint.h, OpenSSL's macro-only tables; tests/boundary/check_includes.py
// reads the compiler's list of included files for those.)
#if defined(SQLITE3_H) || defined(SQLITE_VERSION)
#error "a public header includes <sqlite3.h>"
#endif
#if defined(SQLITECPP_VERSION) || defined(SQLITECPP_API) || defined(SQLITECPP_ASSERT) || \
    defined(SQLITECPP_PURE_FUNC) || defined(SQLITECPP_HAVE_STD_FILESYSTEM)
#error "a public header includes SQLiteCpp"
#endif
#if defined(GSL_GSL_H) || defined(GSL_CONTRACTS_H) || defined(GSL_ASSERT_H) ||   \
    defined(GSL_UTIL_H) || defined(GSL_NARROW_H) || defined(GSL_SPAN_H) ||       \
    defined(GSL_SPAN_EXT_H) || defined(GSL_POINTERS_H) || defined(GSL_BYTE_H) || \
    defined(GSL_ALGORITHM_H) || defined(GSL_STRING_SPAN_H) || defined(Expects) || defined(Ensures)
#error "a public header includes GSL"
#endif
#if defined(OPENSSL_VERSION_NUMBER) || defined(OPENSSL_MACROS_H) || defined(OPENSSL_E_OS2_H) || \
    defined(OPENSSL_OPENSSLCONF_H) || defined(HEADER_E_OS2_H)
#error "a public header includes OpenSSL"
#endif
#if defined(__HIREDIS_H) || defined(__HIREDIS_READ_H) || defined(__HIREDIS_ASYNC_H) || \
    defined(HIREDIS_ALLOC_H) || defined(__SDS_H) || defined(HIREDIS_MAJOR)
#error "a public header includes hiredis"
#endif
#if defined(XXHASH_H_5627135585666179) || defined(XXH_VERSION_MAJOR)
#error "a public header includes xxHash"
#endif

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

#if BLOBCACHE_HAS_REDIS
  // Links RedisStore's exported constructor; bad options fail before any
  // connection, so no server is needed.
  try {
    blobcache::RedisStore redis(blobcache::RedisOptions{.pool_size = 0});
    expect(false, "a RedisStore with pool_size 0 throws");
  } catch (const blobcache::Error& e) {
    expect(e.code() == blobcache::Errc::invalid_argument, "pool_size 0 is invalid_argument");
  }
#endif

  if (failures == 0) std::puts("public API: ok");
  return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
