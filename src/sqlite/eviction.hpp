// Internal: choosing and removing entries so that a store fits its limits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>

#include "sqlite/write_context.hpp"

namespace blobcache::detail {

// Bounds to fit, in entries and bytes; 0: none.
struct Fit {
  std::int64_t max_entries = 0;
  std::int64_t max_bytes = 0;
};

// `limits` scaled to `per_mille` of each bound, rounded up (a bound of 0
// stays none).
Fit fit_of(const Limits& limits, int per_mille = 1000) noexcept;

// True when the store's totals (the file's usage row plus what `context`
// changed) are within `fit`. Throws SQLite::Exception.
bool fits(WriteContext& context, const Fit& fit);

// How eviction ended.
enum class Eviction {
  fitted,  // the totals are within the bounds
  paused,  // max_victims were evicted, more are needed
  stuck,   // only entries the transaction wrote are left: they cannot fit
};

// Evicts until the totals are within `fit`: expired entries first (of the
// namespaces whose next_expiry says they may hold some, by expires_at), then
// by the eviction order (entries_by_use), never an entry of
// context.written, at most `max_victims`. Each victim is counted as an
// eviction of its namespace. Cost: proportional to the victims, plus one
// index probe per namespace with an expiry due. REQUIRES: a write
// transaction on context.connection, a store with limits. Throws
// SQLite::Exception.
Eviction evict_to_fit(WriteContext& context, const Fit& fit,
                      std::size_t max_victims = std::numeric_limits<std::size_t>::max());

}  // namespace blobcache::detail
