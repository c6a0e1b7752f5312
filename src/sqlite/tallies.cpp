#include "sqlite/tallies.hpp"

#include <utility>

#include "sqlite/connection_pool.hpp"
#include "sqlite/rows.hpp"

namespace blobcache::detail {
namespace {

// Records the access of `entry` at `nanos`, unless a later one is recorded.
template <typename Entry>
void raise_access(decltype(Tallies::Pending::accesses)& accesses, Entry&& entry,
                  std::int64_t nanos) {
  auto [it, inserted] = accesses.try_emplace(std::forward<Entry>(entry), nanos);
  if (!inserted && it->second < nanos) it->second = nanos;
}

std::atomic<std::uint64_t> next_tallies_id{1};

}  // namespace

Tallies::Tallies() : id_(next_tallies_id.fetch_add(1, std::memory_order_relaxed)) {}

void Tallies::forget_if_forked() {
  const pid_t pid = current_pid();
  if (owner_.load(std::memory_order_relaxed) == pid) return;
  pending_ = {};
  zero_counters();
  pending_accesses_.store(0, std::memory_order_relaxed);
  owner_.store(pid, std::memory_order_relaxed);
}

Tallies::Counters& Tallies::counters_of(std::string_view ns) {
  auto it = counters_.find(ns);
  if (it == counters_.end()) {
    it = counters_.emplace(std::string(ns), std::make_unique<Counters>()).first;
  }
  return *it->second;
}

void Tallies::add_counts(ReadsByNamespace& into, bool drain) const {
  // The counters are reached through unique_ptrs: draining changes no
  // member of this object, only what the threads count on.
  const auto read = [drain](std::atomic<std::uint64_t>& counter) {
    return drain ? counter.exchange(0, std::memory_order_relaxed)
                 : counter.load(std::memory_order_relaxed);
  };
  for (const auto& [ns, counters] : counters_) {
    const std::uint64_t hits = read(counters->hits);
    const std::uint64_t misses = read(counters->misses);
    if (hits == 0 && misses == 0) continue;
    Reads& reads = into[ns];
    reads.hits += hits;
    reads.misses += misses;
  }
}

void Tallies::zero_counters() {
  for (auto& [ns, counters] : counters_) {
    counters->hits.store(0, std::memory_order_relaxed);
    counters->misses.store(0, std::memory_order_relaxed);
  }
}

void Tallies::count(std::string_view ns, bool hit) {
  // The counters this thread counted on last, and whose they are.
  struct Remembered {
    std::uint64_t tallies = 0;  // an id_; 0: none
    std::string ns;
    Counters* counters = nullptr;
  };
  thread_local Remembered last;
  Counters* counters = last.counters;
  if (counters == nullptr || last.tallies != id_ || last.ns != ns ||
      owner_.load(std::memory_order_relaxed) != current_pid()) {
    const std::lock_guard lock(mutex_);
    forget_if_forked();
    counters = &counters_of(ns);
    last.tallies = 0;  // until all three are this one's again
    last.counters = counters;
    last.ns.assign(ns);
    last.tallies = id_;
  }
  (hit ? counters->hits : counters->misses).fetch_add(1, std::memory_order_relaxed);
}

void Tallies::accessed(std::string_view ns, std::string_view key, std::int64_t nanos) {
  const std::lock_guard lock(mutex_);
  forget_if_forked();
  const auto it = pending_.accesses.find(std::pair(ns, key));
  if (it == pending_.accesses.end()) {
    pending_.accesses.emplace(std::pair(std::string(ns), std::string(key)), nanos);
    pending_accesses_.store(pending_.accesses.size(), std::memory_order_relaxed);
  } else if (it->second < nanos) {
    it->second = nanos;
  }
}

void Tallies::merge_access(Pending& into, std::string&& ns, std::string&& key, std::int64_t nanos) {
  raise_access(into.accesses, std::pair(std::move(ns), std::move(key)), nanos);
}

Tallies::Pending Tallies::take(Take what) {
  const std::lock_guard lock(mutex_);
  forget_if_forked();
  add_counts(pending_.reads, /*drain=*/true);
  if (what == Take::reads) return {.reads = std::exchange(pending_.reads, {}), .accesses = {}};
  pending_accesses_.store(0, std::memory_order_relaxed);
  return std::exchange(pending_, Pending{});
}

void Tallies::give_back(Pending pending) {
  const std::lock_guard lock(mutex_);
  forget_if_forked();
  for (auto& [ns, reads] : pending.reads) {
    Reads& mine = pending_.reads[ns];
    mine.hits += reads.hits;
    mine.misses += reads.misses;
  }
  for (auto& [entry, nanos] : pending.accesses) raise_access(pending_.accesses, entry, nanos);
  pending_accesses_.store(pending_.accesses.size(), std::memory_order_relaxed);
}

Tallies::ReadsByNamespace Tallies::pending_reads() const {
  const std::lock_guard lock(mutex_);
  if (owner_.load(std::memory_order_relaxed) != current_pid()) return {};
  ReadsByNamespace reads = pending_.reads;
  add_counts(reads, /*drain=*/false);
  return reads;
}

bool Tallies::empty() const {
  const std::lock_guard lock(mutex_);
  if (owner_.load(std::memory_order_relaxed) != current_pid()) return true;
  if (!pending_.empty()) return false;
  for (const auto& [ns, counters] : counters_) {
    if (counters->hits.load(std::memory_order_relaxed) != 0 ||
        counters->misses.load(std::memory_order_relaxed) != 0) {
      return false;
    }
  }
  return true;
}

void Tallies::forget_reads() {
  const std::lock_guard lock(mutex_);
  forget_if_forked();
  pending_.reads.clear();
  zero_counters();
}

}  // namespace blobcache::detail
