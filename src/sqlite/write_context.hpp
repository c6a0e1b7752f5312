// Internal: what one write transaction of the Writer carries from the
// operation to the duties that every transaction does before it commits.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "blobcache/sqlite_store.hpp"

#include "sqlite/change_log.hpp"
#include "sqlite/connection.hpp"
#include "sqlite/usage.hpp"

namespace blobcache::detail {

// Not thread-safe: it lives inside one transaction.
struct WriteContext {
  Connection& connection;
  // The limits as the file holds them, read when the transaction began.
  Limits limits;
  // The instant the transaction stamps on what it writes (nanoseconds).
  std::int64_t now = 0;
  // What the operation changed in the usage rows (applied before commit).
  UsageDelta usage;
  // The entries the operation wrote: eviction never takes them.
  std::vector<std::int64_t> written;
  // What it changed that readers may keep in memory, for the ChangeLog.
  std::vector<Change> changes;

  void changed(std::string_view ns, std::string_view key) {
    changes.push_back({.kind = Change::Kind::key, .value = key_hash(ns, key)});
  }
  void changed_namespace(std::string_view ns) {
    changes.push_back({.kind = Change::Kind::space, .value = namespace_hash(ns)});
  }

  // entries.used_at for an entry written now: its place in
  // least_recently_used's order, or nullopt (NULL) under any other limits,
  // so that those puts write no entry of the eviction index.
  std::optional<std::int64_t> used_at() const noexcept {
    return orders_by_use(limits) ? std::optional<std::int64_t>(now) : std::nullopt;
  }
};

}  // namespace blobcache::detail
