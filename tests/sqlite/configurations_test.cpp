// SqliteStore under every configuration (configurations.hpp): the store
// contract, put_many's all-or-nothing, readers beside a writer, values at
// every chunk and mapping boundary, and damaged chunks. Each test names the
// configuration it runs under in a section of its own; meson runs this
// program with --durations yes, so the log lists every configuration run.
#include "configurations.hpp"

#include <SQLiteCpp/Database.h>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "blobcache/error.hpp"
#include "blobcache/sqlite_store.hpp"
#include "blobcache/testing/contract.hpp"

#include "bytes.hpp"
#include "catch_compat.hpp"
#include "errc_of.hpp"
#include "files.hpp"
#include "sha256_hex.hpp"
#include "sqlite/test_seams.hpp"
#include "temp_dir.hpp"

namespace blobcache {
namespace {

namespace fs = std::filesystem;
using test::Configuration;
using test::errc_of;
using test::message_of;
using test::pattern;
using test::sha256_hex;

std::uint64_t mapped_gets(SqliteStore& store) {
  return detail::SqliteStoreAccess::probes(store).mapped_gets.load();
}

Bytes read_all(BlobReader& reader, std::size_t step) {
  Bytes out;
  Bytes buffer(step);
  while (const std::size_t n = reader.read(buffer)) {
    out.insert(out.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
  }
  return out;
}

TEST_CASE("SqliteStore keeps the store contract under every configuration", "[sqlite][contract]") {
  const Configuration config = GENERATE(from_range(test::configurations()));
  DYNAMIC_SECTION("configuration: " << config.name) {
    const test::TempDir dir;
    testing::run_store_contract({
        .open = [&](const std::string& backing) -> std::shared_ptr<Store> {
          return config.open({.path = dir / (backing + ".db")});
        },
        .persistent = true,
        .counts_hits = false,
    });
  }
}

TEST_CASE("put_many stores all or nothing under every configuration", "[sqlite][put_many]") {
  const Configuration config = GENERATE(from_range(test::configurations()));
  DYNAMIC_SECTION("configuration: " << config.name) {
    const test::TempDir dir;
    // Room for the schema and a few hundred KiB, not for the whole batch.
    const auto store = config.open({.path = dir / "limited.db", .max_file_bytes = 1024 * 1024});
    store->put("batch", "a", std::string_view("before"));
    const Bytes big = pattern(400'000, 9);
    const std::array batch = {
        PutRequest{.ns = "batch", .key = "a", .value = as_bytes("replaced"), .options = {}},
        PutRequest{.ns = "batch", .key = "b", .value = big, .options = {}},
        PutRequest{.ns = "batch", .key = "c", .value = big, .options = {}},
        PutRequest{.ns = "batch", .key = "d", .value = big, .options = {}},
    };
    const std::string message = message_of([&] { store->put_many(batch); });
    CHECK(errc_of([&] { store->put_many(batch); }) == Errc::no_space);
    CHECK(message.find("put_many") != std::string::npos);
    CHECK(store->get("batch", "a")->text() == "before");
    CHECK(store->list("batch").size() == 1);
    // A batch that fits goes in whole.
    const auto metas = store->put_many(std::span(batch).first(2));
    CHECK(metas.size() == 2);
    CHECK(store->get("batch", "a")->text() == "replaced");
    CHECK(store->get("batch", "b")->data == big);
  }
}

TEST_CASE("readers on many threads run beside a writer under every configuration",
          "[sqlite][threads]") {
  const Configuration config = GENERATE(from_range(test::configurations()));
  DYNAMIC_SECTION("configuration: " << config.name) {
    const test::TempDir dir;
    const auto opened = config.open({.path = dir / "threads.db"});
    SqliteStore& store = *opened;
    const Bytes value = pattern(200'000, 8);
    store.put("ns", "k", value);
    auto held = store.open("ns", "k");  // a long reader holds its snapshot
    std::atomic<int> bad{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 50; ++i) {
          const auto got = store.get("ns", "k");
          if (!got || got->data != value) ++bad;
        }
      });
    }
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) store.put("ns", "other" + std::to_string(i), value);
    });
    for (auto& thread : threads) thread.join();
    CHECK(bad == 0);
    CHECK(store.list("ns").size() == 21);
    Bytes all(value.size() + 10);
    CHECK(held->read(all) == value.size());
  }
}

TEST_CASE("values at every chunk and mapping boundary come back whole under every configuration",
          "[sqlite][values]") {
  const Configuration config = GENERATE(from_range(test::configurations()));
  DYNAMIC_SECTION("configuration: " << config.name) {
    const test::TempDir dir;
    // The file every time: what the read paths return is the point here.
    const auto opened = config.open({.path = dir / "values.db", .memory_cache_bytes = 0});
    SqliteStore& store = *opened;
    const std::size_t chunk = config.chunk_size();
    std::set<std::size_t> sizes = {0, 1, chunk - 1, chunk, chunk + 1, 3 * chunk + 17};
    const auto threshold = static_cast<std::uint64_t>(config.knobs().mapped_get_min_bytes);
    if (threshold < 16 * chunk) sizes.insert({threshold - 1, threshold, threshold + 1});
    for (const std::size_t size : sizes) {
      INFO("size " << size);
      const Bytes value = pattern(size, static_cast<std::uint32_t>(size));
      const Meta meta = store.put("ns", "k", value);
      CHECK(meta.etag == sha256_hex(value));
      store.put("ns", "small", std::string_view("s"));
      REQUIRE(store.get("ns", "small").has_value());  // the next get probes the size first
      for (int round = 0; round < 2; ++round) {       // then, after a big one, maps first
        const std::uint64_t mapped_before = mapped_gets(store);
        const auto got = store.get("ns", "k");
        REQUIRE(got.has_value());
        CHECK(got->data == value);
        CHECK(got->meta == meta);
        CHECK(mapped_gets(store) - mapped_before == (config.maps_get_of(size) ? 1U : 0U));
      }
      auto reader = store.open("ns", "k");
      REQUIRE(reader != nullptr);
      CHECK(read_all(*reader, 7000) == value);
      reader.reset();
      std::istringstream in(std::string(as_text(value)));
      CHECK(store.put_stream("ns", "streamed", in).etag == meta.etag);
      CHECK(store.get("ns", "streamed")->data == value);
    }
  }
}

// The ways a stored value can be damaged, each as found by a different
// check: the chunk checksums, SQLite's page structure, the entry's size.
enum class Damage {
  byte_flipped_on_disk,  // one byte of the value, in the file's bytes
  page_of_garbage,       // the whole page holding it
  chunk_changed,         // a chunk's bytes, its checksum kept
  chunk_missing,         // a chunk row deleted
  chunk_not_a_blob,      // a chunk's data column now a number
  size_past_the_chunks,  // the entry says one byte more than its chunks hold
};

const char* name_of(Damage damage) {
  switch (damage) {
    case Damage::byte_flipped_on_disk:
      return "a byte flipped on disk";
    case Damage::page_of_garbage:
      return "a page of garbage";
    case Damage::chunk_changed:
      return "a chunk changed, its checksum kept";
    case Damage::chunk_missing:
      return "a chunk missing";
    case Damage::chunk_not_a_blob:
      return "a chunk that is a number";
    case Damage::size_past_the_chunks:
      return "a size past the chunks";
  }
  return "?";
}

// The page size in a database file's header (bytes 16-17; 1 means 65536).
std::size_t page_size_of(const std::string& bytes) {
  const auto raw = static_cast<unsigned>(static_cast<unsigned char>(bytes.at(16)) << 8 |
                                         static_cast<unsigned char>(bytes.at(17)));
  return raw == 1 ? 65536 : raw;
}

void write_at(const fs::path& file, std::size_t offset, const std::string& bytes) {
  std::fstream out(file, std::ios::in | std::ios::out | std::ios::binary);
  out.seekp(static_cast<std::streamoff>(offset));
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

// Damages entry `victim` of the closed store file `file` (its WAL folded in).
void damage(const fs::path& file, Damage how, const std::string& marker) {
  const std::string victim_chunk = "((SELECT id FROM entries WHERE key = 'victim') << 24)";
  switch (how) {
    case Damage::byte_flipped_on_disk:
    case Damage::page_of_garbage: {
      const std::string bytes = test::read_file(file);
      const std::size_t at = bytes.find(marker);
      REQUIRE(at != std::string::npos);
      REQUIRE(bytes.find(marker, at + 1) == std::string::npos);
      if (how == Damage::byte_flipped_on_disk) {
        const std::size_t flip = at + marker.size() / 2;
        write_at(file, flip, std::string(1, static_cast<char>(bytes[flip] ^ 0x20)));
      } else {
        const std::size_t page = page_size_of(bytes);
        std::mt19937 rng(11);
        std::string garbage(page, '\0');
        for (auto& c : garbage) c = static_cast<char>(rng());
        write_at(file, at / page * page, garbage);
      }
      return;
    }
    case Damage::chunk_changed:
      SQLite::Database(file.string(), SQLite::OPEN_READWRITE)
          .exec(
              "UPDATE chunks SET data = substr(data, 1, 100) || x'00' || substr(data, 102)"
              " WHERE id = " +
              victim_chunk + " | 1");
      return;
    case Damage::chunk_missing:
      SQLite::Database(file.string(), SQLite::OPEN_READWRITE)
          .exec("DELETE FROM chunks WHERE id = " + victim_chunk + " | 1");
      return;
    case Damage::chunk_not_a_blob:
      SQLite::Database(file.string(), SQLite::OPEN_READWRITE)
          .exec("UPDATE chunks SET data = 7 WHERE id = " + victim_chunk);
      return;
    case Damage::size_past_the_chunks:
      SQLite::Database(file.string(), SQLite::OPEN_READWRITE)
          .exec("UPDATE entries SET size = size + 1 WHERE key = 'victim'");
      return;
  }
}

TEST_CASE(
    "a damaged chunk is corrupt for its entry alone: get, a stream and verify say so, others "
    "still read",
    "[sqlite][corrupt]") {
  const Damage how =
      GENERATE(Damage::byte_flipped_on_disk, Damage::page_of_garbage, Damage::chunk_changed,
               Damage::chunk_missing, Damage::chunk_not_a_blob, Damage::size_past_the_chunks);
  const Configuration config = GENERATE(from_range(test::configurations()));
  DYNAMIC_SECTION("configuration: " << config.name << ", damage: " << name_of(how)) {
    const test::TempDir dir;
    const fs::path file = dir / "damaged.db";
    // Three chunks at least, the marker in the middle one.
    const std::size_t size = std::max<std::size_t>(600'000, 3 * config.chunk_size());
    const std::string marker = "ROT-MARKER-" + std::string(64, 'm');
    Bytes value = pattern(size, 4);
    std::memcpy(value.data() + size / 2, marker.data(), marker.size());
    {
      const auto store = config.open({.path = file, .memory_cache_bytes = 0});
      store->put("ns", "victim", value);
      store->put("ns", "healthy", std::string_view("still fine"));
    }
    damage(file, how, marker);

    // Open reads the metadata only: it does not see the damage.
    const auto opened = config.open(
        {.path = file, .on_corruption = OnCorruption::raise, .memory_cache_bytes = 0});
    SqliteStore& store = *opened;
    CHECK_FALSE(store.quarantined().has_value());
    for (int round = 0; round < 2; ++round) {  // the size probe first, then (big) mapped first
      const std::uint64_t mapped_before = mapped_gets(store);
      CHECK(errc_of([&] { store.get("ns", "victim"); }) == Errc::corrupt);
      const std::uint64_t mapped = mapped_gets(store) - mapped_before;
      if (how == Damage::page_of_garbage) {
        // The size probe walks the entry's chunk rows: with chunks small
        // enough to sit in b-tree leaves it meets a broken leaf itself.
        CHECK(mapped <= (config.maps_get_of(size) ? 1U : 0U));
      } else {
        CHECK(mapped == (config.maps_get_of(size) ? 1U : 0U));
      }
    }
    CHECK(errc_of([&] {
            const auto reader = store.open("ns", "victim");
            if (reader) read_all(*reader, 4096);
          }) == Errc::corrupt);
    CHECK(store.get("ns", "healthy")->text() == "still fine");
    CHECK(store.list("ns").size() == 2);
    const VerifyReport report = store.verify();
    REQUIRE(report.failures.size() == 1);
    CHECK(report.failures[0].key == "victim");
    CHECK(report.entries_checked == 2);
    // check() walks SQLite's pages: it sees broken pages, not wrong bytes;
    // and it recounts the entries: a size changed under the store no longer
    // matches the usage rows.
    if (how == Damage::page_of_garbage || how == Damage::size_past_the_chunks) {
      CHECK(errc_of([&] { store.check(); }) == Errc::corrupt);
    } else {
      CHECK_NOTHROW(store.check());
    }
  }
}

}  // namespace
}  // namespace blobcache
