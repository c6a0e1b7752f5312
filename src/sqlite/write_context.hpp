// Internal: what one write transaction of the Writer carries from the
// operation to the duties that every transaction does before it commits.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "blobcache/sqlite_store.hpp"
#include "blobcache/types.hpp"

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
  // The file's totals row as the transaction found it, once read (see
  // file_totals()): nothing writes it before `usage` is applied.
  std::optional<UsageRow> totals_found;
  // The entries the operation wrote: eviction never takes them.
  std::vector<std::int64_t> written;
  // What it changed that readers may keep in memory, for the ChangeLog.
  std::vector<Change> changes;
  // What the memory tier may keep once the transaction has committed: the
  // values the operation wrote (value set) and the keys it erased (unset).
  // The names and bytes are borrowed from the callers, who wait for the
  // commit (Writer::keep_written).
  struct Written {
    std::string_view ns;
    std::string_view key;
    std::optional<BytesView> value;
    Meta meta;
  };
  std::vector<Written> written_values;

  void changed(std::string_view ns, std::string_view key) {
    changes.push_back({.kind = Change::Kind::key, .value = key_hash(ns, key)});
  }
  void wrote(std::string_view ns, std::string_view key, BytesView value, const Meta& meta) {
    written_values.push_back({.ns = ns, .key = key, .value = value, .meta = meta});
  }
  void erased(std::string_view ns, std::string_view key) {
    written_values.push_back({.ns = ns, .key = key, .value = std::nullopt, .meta = {}});
  }
  void changed_namespace(std::string_view ns) {
    changes.push_back({.kind = Change::Kind::space, .value = namespace_hash(ns)});
  }

  // The file's totals row (ns ''): read on first use, then remembered, since
  // a bounded write asks for it up to three times (does it evict, evict to
  // fit, does it ask for a trim). Throws SQLite::Exception.
  const UsageRow& file_totals() {
    if (!totals_found) totals_found = read_usage(connection, "");
    return *totals_found;
  }

  // entries.used_at for an entry written now: its place in
  // least_recently_used's order, or nullopt (NULL) under any other limits,
  // so that those puts write no entry of the eviction index.
  std::optional<std::int64_t> used_at() const noexcept {
    return orders_by_use(limits) ? std::optional<std::int64_t>(now) : std::nullopt;
  }
};

}  // namespace blobcache::detail
