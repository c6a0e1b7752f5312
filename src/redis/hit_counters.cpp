#include "redis/hit_counters.hpp"

#include <utility>

namespace blobcache::detail::redis {

bool HitCounters::count(std::string_view ns, bool hit) {
  const std::lock_guard lock(mutex_);
  auto it = pending_.find(ns);
  if (it == pending_.end()) it = pending_.emplace(std::string(ns), HitCounts{}).first;
  ++(hit ? it->second.hits : it->second.misses);
  ++calls_;
  return calls_ >= kCallsPerFlush ||
         std::chrono::steady_clock::now() - last_take_ >= kFlushInterval;
}

PendingHits HitCounters::take() {
  const std::lock_guard lock(mutex_);
  calls_ = 0;
  last_take_ = std::chrono::steady_clock::now();
  return std::exchange(pending_, {});
}

void HitCounters::restore(const PendingHits& counts) {
  const std::lock_guard lock(mutex_);
  for (const auto& [ns, count] : counts) {
    HitCounts& pending = pending_[ns];
    pending.hits += count.hits;
    pending.misses += count.misses;
  }
}

void HitCounters::clear() {
  const std::lock_guard lock(mutex_);
  pending_.clear();
  calls_ = 0;
}

}  // namespace blobcache::detail::redis
