// Gets of big values go through a mapped connection (Tuning::
// mapped_get_min_bytes): same bytes, one snapshot, and never for a
// streaming reader. The stores here keep nothing in memory
// (memory_cache_bytes = 0): every get reads the file. (Damaged chunks
// through the mapped path: configurations_test.cpp.)
#include <SQLiteCpp/Database.h>
#include <atomic>
#include <fstream>
#include <string>
#include <thread>

#include "blobcache/error.hpp"
#include "blobcache/sqlite_store.hpp"

#include "bytes.hpp"
#include "catch_compat.hpp"
#include "sha256.hpp"
#include "sqlite/test_seams.hpp"
#include "temp_dir.hpp"

namespace blobcache {
namespace {

using test::pattern;

constexpr std::size_t kChunk = 256 * 1024;

std::uint64_t mapped_gets(SqliteStore& store) {
  return detail::SqliteStoreAccess::probes(store).mapped_gets.load();
}

std::function<void()>& after_size_probe(SqliteStore& store) {
  return detail::SqliteStoreAccess::probes(store).after_size_probe;
}

// A store whose gets of values of `min_bytes` or more are mapped.
std::unique_ptr<SqliteStore> open_mapping(const std::filesystem::path& file,
                                          std::int64_t min_bytes) {
  detail::Tuning tuning;
  tuning.mapped_get_min_bytes = min_bytes;
  return detail::SqliteStoreAccess::open({.path = file, .memory_cache_bytes = 0}, tuning);
}

// Whether this process has `file` mapped (SQLite maps it on a connection
// with mmap_size > 0 at the first page it fetches).
bool file_is_mapped(const std::filesystem::path& file) {
  std::ifstream maps("/proc/self/maps");
  const std::string name = std::filesystem::canonical(file).string();
  for (std::string line; std::getline(maps, line);) {
    if (line.size() >= name.size() &&
        line.compare(line.size() - name.size(), name.size(), name) == 0) {
      return true;
    }
  }
  return false;
}

TEST_CASE("values at and above the threshold come back byte-identical through the mapped path",
          "[sqlite][mapped]") {
  const auto threshold = static_cast<std::size_t>(detail::Tuning{}.mapped_get_min_bytes);
  REQUIRE(threshold <= kChunk);
  const test::TempDir dir;
  const auto file = dir / "mapped.db";
  SqliteStore store({.path = file, .memory_cache_bytes = 0});
  store.put("ns", "small", std::string_view("tiny"));
  const std::size_t size = GENERATE_COPY(threshold - 1, threshold, threshold + 1, kChunk - 1,
                                         kChunk, kChunk + 1, 3 * kChunk, 3 * kChunk + 17);
  INFO("size " << size);
  const Bytes value = pattern(size, static_cast<std::uint32_t>(size));
  const Meta meta = store.put("ns", "k", value);
  const bool big = size >= threshold;
  // Pages still in the -wal are read from there, never through the map.
  SQLite::Database(file.string(), SQLite::OPEN_READWRITE).exec("PRAGMA wal_checkpoint(TRUNCATE)");

  // After a small get: the size probe decides. After a big get: the mapped
  // connection is tried first. Both must give the same bytes.
  for (const char* before : {"small", "k"}) {
    INFO("after a get of " << before);
    REQUIRE(store.get("ns", before).has_value());
    const std::uint64_t mapped_before = mapped_gets(store);
    const auto blob = store.get("ns", "k");
    REQUIRE(blob.has_value());
    CHECK(blob->data == value);
    CHECK(blob->meta.etag == meta.etag);
    CHECK(blob->meta.size == static_cast<std::int64_t>(size));
    CHECK(mapped_gets(store) - mapped_before == (big ? 1U : 0U));
  }
  CHECK(file_is_mapped(file) == big);
  // A small get right after a big one may be served mapped (once), but the
  // get after it is back on the probe path.
  CHECK(store.get("ns", "small")->text() == "tiny");
  const std::uint64_t mapped_before = mapped_gets(store);
  CHECK(store.get("ns", "small")->text() == "tiny");
  CHECK(mapped_gets(store) == mapped_before);
  CHECK_FALSE(store.get("ns", "missing").has_value());
}

TEST_CASE("an empty value and a missing key through the mapped path", "[sqlite][mapped]") {
  const test::TempDir dir;
  const auto opened = open_mapping(dir / "empty.db", 0);  // every get is mapped
  SqliteStore& store = *opened;
  store.put("ns", "empty", Bytes{});
  store.put("ns", "one", std::string_view("x"));
  const std::uint64_t mapped_before = mapped_gets(store);
  const auto empty = store.get("ns", "empty");
  REQUIRE(empty.has_value());
  CHECK(empty->data.empty());
  CHECK(empty->meta.size == 0);
  CHECK(store.get("ns", "one")->text() == "x");
  CHECK_FALSE(store.get("ns", "missing").has_value());
  CHECK(mapped_gets(store) - mapped_before == 2);
}

TEST_CASE("an entry replaced between the size probe and the mapped read comes back whole",
          "[sqlite][mapped][snapshot]") {
  const test::TempDir dir;
  const auto file = dir / "race.db";
  SqliteStore store({.path = file, .memory_cache_bytes = 0});
  SqliteStore other(
      {.path = file,
       .memory_cache_bytes = 0});  // another connection set, as another process would have
  const Bytes first = pattern(kChunk + 300, 1);
  store.put("ns", "k", first);
  store.put("ns", "small", std::string_view("s"));

  const auto get_after_small = [&] {
    REQUIRE(store.get("ns", "small").has_value());  // the next get probes first
    return store.get("ns", "k");
  };
  SECTION("by a bigger value") {
    const Bytes second = pattern(3 * kChunk + 11, 2);
    after_size_probe(store) = [&] { other.put("ns", "k", second); };
    const auto blob = get_after_small();
    REQUIRE(blob.has_value());
    CHECK(blob->data == second);
    CHECK(blob->meta.etag == detail::Sha256::hex_of(second));
  }
  SECTION("by a small value") {
    after_size_probe(store) = [&] { other.put("ns", "k", std::string_view("now small")); };
    const auto blob = get_after_small();
    REQUIRE(blob.has_value());
    CHECK(blob->text() == "now small");
  }
  SECTION("by nothing: erased") {
    after_size_probe(store) = [&] { other.erase("ns", "k"); };
    CHECK_FALSE(get_after_small().has_value());
  }
}

TEST_CASE("gets beside a writer replacing a big value never return a mix",
          "[sqlite][mapped][threads]") {
  const test::TempDir dir;
  const auto file = dir / "mix.db";
  const Bytes a = pattern(2 * kChunk + 1000, 7);
  const Bytes b = pattern(3 * kChunk - 1000, 8);
  SqliteStore store({.path = file, .memory_cache_bytes = 0});
  store.put("ns", "k", a);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    SqliteStore other({.path = file, .memory_cache_bytes = 0});
    for (int i = 0; !stop.load(); ++i) other.put("ns", "k", i % 2 == 0 ? b : a);
  });
  int seen_a = 0;
  int seen_b = 0;
  const std::uint64_t mapped_before = mapped_gets(store);
  for (int i = 0; i < 300; ++i) {
    const auto blob = store.get("ns", "k");
    REQUIRE(blob.has_value());
    if (blob->data == a) {
      ++seen_a;
    } else {
      REQUIRE(blob->data == b);
      ++seen_b;
    }
    REQUIRE(blob->meta.etag == detail::Sha256::hex_of(blob->data));
  }
  stop = true;
  writer.join();
  CHECK(seen_a + seen_b == 300);
  CHECK(mapped_gets(store) - mapped_before == 300);
}

TEST_CASE("open() streams without mapping the file; a read-only store maps its gets",
          "[sqlite][mapped][memory]") {
  const test::TempDir dir;
  const auto file = dir / "stream.db";
  const Bytes value = pattern(4 * kChunk + 3, 9);
  {
    SqliteStore store({.path = file, .memory_cache_bytes = 0});
    store.put("ns", "k", value);
    auto reader = store.open("ns", "k");
    REQUIRE(reader != nullptr);
    Bytes buffer(64 * 1024);
    Bytes read_back;
    for (std::size_t n = 0; (n = reader->read(buffer)) != 0;) {
      read_back.insert(read_back.end(), buffer.begin(),
                       buffer.begin() + static_cast<std::ptrdiff_t>(n));
    }
    CHECK(read_back == value);
    CHECK_FALSE(file_is_mapped(file));
  }
  SqliteStore store({.path = file, .read_only = true, .memory_cache_bytes = 0});
  const std::uint64_t mapped_before = mapped_gets(store);
  CHECK(store.get("ns", "k")->data == value);
  CHECK(mapped_gets(store) - mapped_before == 1);
  CHECK(file_is_mapped(file));
}

TEST_CASE("mapped gets can be turned off", "[sqlite][mapped]") {
  const test::TempDir dir;
  const auto file = dir / "off.db";
  const auto opened = open_mapping(file, std::numeric_limits<std::int64_t>::max());
  SqliteStore& store = *opened;
  const Bytes value = pattern(2 * kChunk, 3);
  store.put("ns", "k", value);
  const std::uint64_t mapped_before = mapped_gets(store);
  CHECK(store.get("ns", "k")->data == value);
  CHECK(store.get("ns", "k")->data == value);
  CHECK(mapped_gets(store) == mapped_before);
  CHECK_FALSE(file_is_mapped(file));
}

}  // namespace
}  // namespace blobcache
