// The configurations SqliteStore's main tests run under: the defaults and,
// one knob each, the settings that take other code paths. A test names the
// configuration it runs under in its log (a DYNAMIC_SECTION named after it).
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "blobcache/sqlite_store.hpp"

#include "sqlite/test_seams.hpp"
#include "sqlite/tuning.hpp"

namespace blobcache::test {

struct Configuration {
  std::string name;
  Durability durability = Durability::normal;
  // Keeps values in memory (SqliteOptions::memory_cache_bytes), unless a
  // test that must read the file every time asks for none.
  bool memory_tier = true;
  // nullopt: the public constructor, i.e. the default knobs.
  std::optional<detail::Tuning> tuning;

  // Opens a store on `options` with this configuration's durability and knobs.
  std::unique_ptr<SqliteStore> open(SqliteOptions options) const {
    options.durability = durability;
    if (!memory_tier) options.memory_cache_bytes = 0;
    if (!tuning) return std::make_unique<SqliteStore>(std::move(options));
    return detail::SqliteStoreAccess::open(std::move(options), *tuning);
  }
  const detail::Tuning& knobs() const {
    static const detail::Tuning kDefaults;
    return tuning ? *tuning : kDefaults;
  }
  std::size_t chunk_size() const { return knobs().chunk_size; }
  // Whether a get of a value of `size` bytes is served by a mapped connection.
  bool maps_get_of(std::size_t size) const {
    return static_cast<std::uint64_t>(size) >=
           static_cast<std::uint64_t>(knobs().mapped_get_min_bytes);
  }
};

inline std::vector<Configuration> configurations() {
  const auto with = [](auto change) {
    detail::Tuning tuning;
    change(tuning);
    return tuning;
  };
  return {
      {.name = "defaults"},
      // Every commit syncs the WAL.
      {.name = "Durability::full", .durability = Durability::full},
      // SQLite's own automatic checkpoint in the committing connection.
      {.name = "background checkpoints off",
       .tuning = with([](detail::Tuning& t) { t.background_checkpoints = false; })},
      // Every get on the read() path, whatever its size.
      {.name = "mapped gets off", .tuning = with([](detail::Tuning& t) {
                                    t.mapped_get_min_bytes =
                                        std::numeric_limits<std::int64_t>::max();
                                  })},
      // Every get reads the file.
      {.name = "memory tier off", .memory_tier = false},
      // Multi-chunk values (assembly, streaming, checksums per chunk) on small data.
      {.name = "4 KiB chunks", .tuning = with([](detail::Tuning& t) { t.chunk_size = 4096; })},
  };
}

}  // namespace blobcache::test
