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

}  // namespace

void Tallies::forget_if_forked() {
  const pid_t pid = current_pid();
  if (owner_ == pid) return;
  pending_ = {};
  pending_accesses_.store(0, std::memory_order_relaxed);
  owner_ = pid;
}

void Tallies::count(std::string_view ns, bool hit) {
  const std::lock_guard lock(mutex_);
  forget_if_forked();
  auto it = pending_.reads.find(ns);
  if (it == pending_.reads.end()) it = pending_.reads.emplace(std::string(ns), Reads{}).first;
  ++(hit ? it->second.hits : it->second.misses);
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

Tallies::Pending Tallies::take() {
  const std::lock_guard lock(mutex_);
  forget_if_forked();
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

std::map<std::string, Tallies::Reads, std::less<>> Tallies::pending_reads() const {
  const std::lock_guard lock(mutex_);
  if (owner_ != current_pid()) return {};
  return pending_.reads;
}

bool Tallies::empty() const {
  const std::lock_guard lock(mutex_);
  return owner_ != current_pid() || pending_.empty();
}

void Tallies::forget_reads() {
  const std::lock_guard lock(mutex_);
  forget_if_forked();
  pending_.reads.clear();
}

}  // namespace blobcache::detail
