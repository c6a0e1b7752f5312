#include "redis/hit_counters.hpp"

#include <utility>

namespace blobcache::detail::redis {

bool HitCounters::count(std::string_view ns, bool hit) {
  Counts& counts = counts_.get();
  const std::lock_guard lock(counts.mutex);
  auto it = counts.pending.find(ns);
  if (it == counts.pending.end()) it = counts.pending.emplace(std::string(ns), HitCounts{}).first;
  ++(hit ? it->second.hits : it->second.misses);
  ++counts.calls;
  return counts.calls >= kCallsPerFlush ||
         std::chrono::steady_clock::now() - counts.last_take >= kFlushInterval;
}

PendingHits HitCounters::take() {
  Counts& counts = counts_.get();
  const std::lock_guard lock(counts.mutex);
  counts.calls = 0;
  counts.last_take = std::chrono::steady_clock::now();
  return std::exchange(counts.pending, {});
}

void HitCounters::restore(const PendingHits& taken) {
  Counts& counts = counts_.get();
  const std::lock_guard lock(counts.mutex);
  for (const auto& [ns, count] : taken) {
    HitCounts& pending = counts.pending[ns];
    pending.hits += count.hits;
    pending.misses += count.misses;
  }
}

void HitCounters::clear() {
  Counts& counts = counts_.get();
  const std::lock_guard lock(counts.mutex);
  counts.pending.clear();
  counts.calls = 0;
}

}  // namespace blobcache::detail::redis
