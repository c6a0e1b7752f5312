#include "sqlite/memory_tier.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

namespace blobcache::detail {
namespace {

// What an entry costs the tier: its bytes, its names, and a fixed overhead
// for the node, the Blob and the strings of its Meta.
std::size_t cost_of(std::string_view ns, std::string_view key, const Blob* blob) noexcept {
  std::size_t cost = 256 + ns.size() + key.size();
  if (blob != nullptr) {
    cost += blob->data.size() + blob->meta.etag.size() + blob->meta.content_type.size();
    for (const auto& [name, value] : blob->meta.metadata) cost += 64 + name.size() + value.size();
  }
  return cost;
}

}  // namespace

MemoryTier::MemoryTier(std::size_t capacity, std::size_t max_value, ChangeLog& log)
    : capacity_(capacity), max_value_(max_value), log_(log) {
  // A transaction may be open in another process now: its keys must count
  // as open here too. So the first sync starts at the latest `begin` the
  // ring holds (its changes forget nothing: nothing is kept yet).
  const std::uint64_t head = log_.head();
  const std::uint64_t window = head > ChangeLog::kCapacity ? head - ChangeLog::kCapacity : 0;
  std::uint64_t latest_begin = 0;
  const bool whole = log_.read(window, head, [&](const Change& change) {
    if (change.kind == Change::Kind::begin) latest_begin = change.value;
  });
  const std::lock_guard lock(sync_mutex_);
  if (latest_begin > 0) {
    synced_.store(latest_begin - 1, std::memory_order_relaxed);
    sync_locked();
  } else {
    synced_.store(head, std::memory_order_relaxed);
    // A transaction with more changes than the ring holds, or a ring read
    // while it wrapped: nothing known, so everything open until the next begin.
    open_all_ = !whole || window > 0;
    any_open_.store(open_all_, std::memory_order_relaxed);
  }
}

std::unordered_map<std::uint64_t, MemoryTier::Node>::iterator MemoryTier::remove(
    Shard& shard, std::unordered_map<std::uint64_t, Node>::iterator node) {
  Node& gone = node->second;
  // An access outlives the node: the eviction order still wants it (the
  // file's used_at only ever rises, so a late or moot access harms nothing).
  if (gone.accessed != 0 && shard.orphaned.size() < kMaxOrphaned) {
    shard.orphaned.push_back(
        {.ns = std::move(gone.ns), .key = std::move(gone.key), .nanos = gone.accessed});
  }
  shard.cost -= gone.cost;
  shard.lru.erase(gone.use);
  return shard.nodes.erase(node);
}

void MemoryTier::forget_key(std::uint64_t hash) {
  Shard& shard = shard_of(hash);
  const std::lock_guard lock(shard.mutex);
  const auto it = shard.nodes.find(hash);
  if (it != shard.nodes.end()) remove(shard, it);
}

void MemoryTier::forget_namespace(std::uint64_t space) {
  for (Shard& shard : shards_) {
    const std::lock_guard lock(shard.mutex);
    for (auto it = shard.nodes.begin(); it != shard.nodes.end();) {
      it = it->second.space == space ? remove(shard, it) : std::next(it);
    }
  }
}

void MemoryTier::forget_all() {
  for (Shard& shard : shards_) {
    const std::lock_guard lock(shard.mutex);
    for (auto it = shard.nodes.begin(); it != shard.nodes.end();) it = remove(shard, it);
  }
}

std::vector<MemoryTier::Access> MemoryTier::take_accesses() {
  std::vector<Access> taken;
  for (Shard& shard : shards_) {
    const std::lock_guard lock(shard.mutex);
    for (const std::uint64_t hash : shard.accessed) {
      const auto it = shard.nodes.find(hash);
      if (it == shard.nodes.end() || it->second.accessed == 0) continue;  // taken or orphaned
      Node& node = it->second;
      taken.push_back({.ns = node.ns, .key = node.key, .nanos = node.accessed});
      node.accessed = 0;
    }
    const std::size_t recorded = shard.accessed.size();
    shard.accessed.clear();
    std::move(shard.orphaned.begin(), shard.orphaned.end(), std::back_inserter(taken));
    pending_accesses_.fetch_sub(recorded, std::memory_order_relaxed);
    shard.orphaned.clear();
  }
  return taken;
}

void MemoryTier::sync_locked() {
  const std::uint64_t from = synced_.load(std::memory_order_relaxed);
  const std::uint64_t to = log_.head();
  if (to == from) return;
  const auto close_transaction = [&] {
    open_keys_.clear();
    open_spaces_.clear();
    open_all_ = false;
    open_transaction_ = 0;
  };
  const bool whole = log_.read(from, to, [&](const Change& change) {
    switch (change.kind) {
      case Change::Kind::begin:
        // SQLite's write lock orders transactions: the previous one is over.
        close_transaction();
        open_transaction_ = change.value;
        break;
      case Change::Kind::key:
        forget_key(change.value);
        open_keys_.insert(change.value);
        break;
      case Change::Kind::space:
        forget_namespace(change.value);
        open_spaces_.insert(change.value);
        break;
      case Change::Kind::all:
        forget_all();
        open_all_ = true;
        break;
      case Change::Kind::end:
        if (change.value == open_transaction_) close_transaction();
        break;
    }
  });
  if (!whole) {
    // The ring moved on past what this process had read: nothing kept can
    // be trusted, nor known about the transaction open now.
    forget_all();
    close_transaction();
    open_all_ = true;
  }
  synced_.store(to, std::memory_order_release);
  any_open_.store(open_all_ || !open_keys_.empty() || !open_spaces_.empty(),
                  std::memory_order_release);
}

void MemoryTier::sync() {
  if (log_.head() == synced_.load(std::memory_order_acquire)) return;
  const std::lock_guard lock(sync_mutex_);
  sync_locked();
}

bool MemoryTier::open_for(std::uint64_t hash, std::uint64_t space) const {
  return open_all_ || open_keys_.contains(hash) || open_spaces_.contains(space);
}

bool MemoryTier::changed_since(std::uint64_t ticket, std::uint64_t hash,
                               std::uint64_t space) const {
  const std::uint64_t now = synced_.load(std::memory_order_relaxed);
  if (ticket == now) return false;
  bool changed = false;
  const bool whole = log_.read(ticket, now, [&](const Change& change) {
    switch (change.kind) {
      case Change::Kind::key:
        changed = changed || change.value == hash;
        break;
      case Change::Kind::space:
        changed = changed || change.value == space;
        break;
      case Change::Kind::all:
        changed = true;
        break;
      case Change::Kind::begin:
      case Change::Kind::end:
        break;
    }
  });
  return changed || !whole;
}

std::optional<MemoryTier::Found> MemoryTier::find(std::string_view ns, std::string_view key,
                                                  std::uint64_t hash, std::int64_t access) {
  sync();
  if (any_open_.load(std::memory_order_acquire)) {
    const std::lock_guard lock(sync_mutex_);
    if (open_for(hash, namespace_hash(ns))) return std::nullopt;
  }
  Shard& shard = shard_of(hash);
  const std::lock_guard lock(shard.mutex);
  const auto it = shard.nodes.find(hash);
  if (it == shard.nodes.end() || it->second.ns != ns || it->second.key != key) return std::nullopt;
  Node& node = it->second;
  shard.lru.splice(shard.lru.begin(), shard.lru, node.use);
  if (access != 0 && node.blob) {
    if (node.accessed == 0) {
      shard.accessed.push_back(hash);
      pending_accesses_.fetch_add(1, std::memory_order_relaxed);
    }
    node.accessed = std::max(node.accessed, access);
  }
  return Found{.blob = node.blob};
}

std::optional<std::uint64_t> MemoryTier::ticket(std::string_view ns, std::uint64_t hash) {
  const std::lock_guard lock(sync_mutex_);
  sync_locked();
  if (open_for(hash, namespace_hash(ns))) return std::nullopt;
  return synced_.load(std::memory_order_relaxed);
}

void MemoryTier::insert(std::string_view ns, std::string_view key, std::uint64_t hash,
                        std::shared_ptr<const Blob> blob, std::uint64_t ticket) {
  if (blob && blob->data.size() > max_value_) return;
  const std::uint64_t space = namespace_hash(ns);
  const std::size_t cost = cost_of(ns, key, blob.get());
  const std::size_t shard_capacity = capacity_ / kShards;
  if (cost > shard_capacity) return;
  // Under the sync mutex: no change can be applied between the checks and
  // the insert (it would be missed, and the entry kept stale).
  const std::lock_guard sync_lock(sync_mutex_);
  sync_locked();
  if (open_for(hash, space) || changed_since(ticket, hash, space)) return;
  Shard& shard = shard_of(hash);
  const std::lock_guard lock(shard.mutex);
  if (const auto old = shard.nodes.find(hash); old != shard.nodes.end()) remove(shard, old);
  while (shard.cost + cost > shard_capacity && !shard.lru.empty()) {
    remove(shard, shard.nodes.find(shard.lru.back()));
  }
  shard.lru.push_front(hash);
  shard.nodes.emplace(hash, Node{.ns = std::string(ns),
                                 .key = std::string(key),
                                 .space = space,
                                 .blob = std::move(blob),
                                 .cost = cost,
                                 .use = shard.lru.begin()});
  shard.cost += cost;
}

}  // namespace blobcache::detail
