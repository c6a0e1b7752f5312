// Internal: the values a store keeps in memory for its gets, exact across
// processes through the ChangeLog.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "blobcache/types.hpp"

#include "sqlite/change_log.hpp"

namespace blobcache::detail {

// Thread-safe. Entries (a value with its Meta, or the fact that a key is
// absent) are kept in 16 shards, each an LRU list bounded by its share of
// the capacity; a value larger than max_value is never kept.
//
// Exactness: every write of every process logs the keys it changes before
// it commits (ChangeLog), and this tier applies the log before it answers
// (sync): a logged key is forgotten, a logged namespace or `all` forgets
// more. A value read from SQLite is kept only when nothing that may concern
// it was logged since the read began (the ticket) and no open transaction
// logged it; so a kept value is the committed one, and a get served from
// memory returns what a read of the file would.
class MemoryTier {
 public:
  // What a lookup found.
  struct Found {
    std::shared_ptr<const Blob> blob;  // null: the key is known to be absent
  };
  // The latest access of an entry served from memory (least_recently_used),
  // as nanoseconds since the epoch, until a write transaction takes it.
  struct Access {
    std::string ns;
    std::string key;
    std::int64_t nanos = 0;
  };

  MemoryTier(std::size_t capacity, std::size_t max_value, ChangeLog& log);

  // The entry kept for (ns, key), or nullopt when nothing may be served
  // from memory for it. `hash` is key_hash(ns, key). When `access` is not 0
  // and a value is found, it is recorded as that entry's latest access (in
  // the node: a get served from memory records its access for the cost of
  // a store, see take_accesses()).
  std::optional<Found> find(std::string_view ns, std::string_view key, std::uint64_t hash,
                            std::int64_t access = 0);

  // Every access recorded by find() and not taken yet, also those of
  // entries the tier has forgotten since; leaves none.
  std::vector<Access> take_accesses();
  // How many accesses wait for take_accesses() (about: read without locks).
  std::size_t pending_accesses() const noexcept {
    return pending_accesses_.load(std::memory_order_relaxed);
  }

  // Before a read of the file of (ns, key): what insert() checks the read
  // against; nullopt when an open transaction has logged the key (what the
  // read finds then may be about to change: it must not be kept).
  std::optional<std::uint64_t> ticket(std::string_view ns, std::uint64_t hash);
  // After it: keeps what the read found (`blob` null: absent) unless a
  // change that may concern it was logged since `ticket`.
  void insert(std::string_view ns, std::string_view key, std::uint64_t hash,
              std::shared_ptr<const Blob> blob, std::uint64_t ticket);

  std::size_t max_value() const noexcept { return max_value_; }

 private:
  struct Node {
    std::string ns;
    std::string key;
    std::uint64_t space;  // namespace_hash(ns)
    std::shared_ptr<const Blob> blob;
    std::size_t cost;
    std::list<std::uint64_t>::iterator use;  // in the shard's LRU list
    std::int64_t accessed = 0;               // an access not taken yet; 0: none
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::uint64_t, Node> nodes;  // by key hash; GUARDED_BY(mutex)
    std::list<std::uint64_t> lru;                   // most recent first; GUARDED_BY(mutex)
    std::size_t cost = 0;                           // GUARDED_BY(mutex)
    // The nodes with an access not taken (a hash may repeat or name a node
    // gone since), and the accesses of nodes removed. GUARDED_BY(mutex)
    std::vector<std::uint64_t> accessed;
    std::vector<Access> orphaned;
  };
  static constexpr std::size_t kShards = 16;
  // Past this many accesses of removed nodes a shard drops the rest (only
  // while flushes fail: each write transaction takes them).
  static constexpr std::size_t kMaxOrphaned = 4096;

  Shard& shard_of(std::uint64_t hash) noexcept { return shards_.at(hash % kShards); }
  // REQUIRES: shard.mutex held. Removes the node, keeping its access.
  static std::unordered_map<std::uint64_t, Node>::iterator remove(
      Shard& shard, std::unordered_map<std::uint64_t, Node>::iterator node);
  // Applies the log up to its head.
  void sync();
  // REQUIRES: sync_mutex_ held.
  void sync_locked();
  void forget_key(std::uint64_t hash);
  void forget_namespace(std::uint64_t space);
  void forget_all();
  // An open transaction logged something that may concern (hash, space).
  bool open_for(std::uint64_t hash, std::uint64_t space) const;
  // Something logged in (ticket, synced_] may concern (hash, space).
  bool changed_since(std::uint64_t ticket, std::uint64_t hash, std::uint64_t space) const;

  const std::size_t capacity_;
  const std::size_t max_value_;
  ChangeLog& log_;
  std::array<Shard, kShards> shards_;

  std::mutex sync_mutex_;
  std::atomic<std::uint64_t> synced_{0};
  // The keys of the transaction the log says is open (GUARDED_BY(sync_mutex_)),
  // and whether there are any (read without the mutex on every lookup).
  std::unordered_set<std::uint64_t> open_keys_;
  std::unordered_set<std::uint64_t> open_spaces_;
  bool open_all_ = false;
  std::uint64_t open_transaction_ = 0;
  std::atomic<bool> any_open_{false};
  std::atomic<std::size_t> pending_accesses_{0};
};

}  // namespace blobcache::detail
