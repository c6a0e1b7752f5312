#include "sqlite/usage.hpp"

#include <gsl/gsl>
#include <string>

#include "errors.hpp"
#include "sqlite/rows.hpp"

namespace blobcache::detail {
namespace {

void bind_optional(SQLite::Statement& statement, int index, std::optional<std::int64_t> value) {
  if (value) {
    statement.bind(index, *value);
  } else {
    statement.bind(index);
  }
}

std::int64_t as_signed(std::uint64_t count) { return gsl::narrow<std::int64_t>(count); }

// A counter read from the file: a negative one is damage.
std::uint64_t counter(const SQLite::Statement& statement, int column) {
  const std::int64_t value = statement.getColumn(column).getInt64();
  return value < 0 ? 0 : static_cast<std::uint64_t>(value);
}

}  // namespace

UsageDelta::Row& UsageDelta::row(std::string_view ns) {
  auto it = rows_.find(ns);
  if (it == rows_.end()) it = rows_.emplace(std::string(ns), Row{}).first;
  return it->second;
}

void UsageDelta::added(std::string_view ns, std::int64_t size,
                       std::optional<std::int64_t> expires_at) {
  Row& changed = row(ns);
  changed.entries += 1;
  changed.bytes += size;
  entries_ += 1;
  bytes_ += size;
  if (expires_at) {
    changed.expiring += 1;
    expiring_ += 1;
    if (!changed.earliest_expiry || *expires_at < *changed.earliest_expiry) {
      changed.earliest_expiry = expires_at;
    }
  }
}

void UsageDelta::removed(std::string_view ns, std::int64_t size, bool expiring) {
  Row& changed = row(ns);
  changed.entries -= 1;
  changed.bytes -= size;
  entries_ -= 1;
  bytes_ -= size;
  if (expiring) {
    changed.expiring -= 1;
    expiring_ -= 1;
  }
}

void UsageDelta::cleared(std::string_view ns, std::int64_t entries, std::int64_t bytes,
                         std::int64_t expiring) {
  Row& changed = row(ns);
  changed.entries -= entries;
  changed.bytes -= bytes;
  changed.expiring -= expiring;
  entries_ -= entries;
  bytes_ -= bytes;
  expiring_ -= expiring;
}

void UsageDelta::read(std::string_view ns, std::uint64_t hits, std::uint64_t misses) {
  Row& changed = row(ns);
  changed.hits += hits;
  changed.misses += misses;
}

void UsageDelta::apply(Connection& connection) const {
  if (rows_.empty()) return;
  const bool totals_change = entries_ != 0 || bytes_ != 0 || expiring_ != 0;
  // One namespace: its row and the totals row (the same changes) in one
  // statement.
  const bool together = rows_.size() == 1 && totals_change;
  for (const auto& [ns, changed] : rows_) {
    StatementUse upsert(connection, together ? Sql::usage_add_with_totals : Sql::usage_add);
    bind_text(*upsert, 1, ns);
    upsert->bind(2, changed.entries);
    upsert->bind(3, changed.bytes);
    upsert->bind(4, changed.expiring);
    bind_optional(*upsert, 5, changed.earliest_expiry);
    upsert->bind(6, as_signed(changed.hits));
    upsert->bind(7, as_signed(changed.misses));
    upsert->bind(8, as_signed(changed.evictions));
    upsert->bind(9, as_signed(changed.expirations));
    upsert->exec();
  }
  if (together || !totals_change) return;
  StatementUse totals(connection, Sql::usage_add_totals);
  totals->bind(1, entries_);
  totals->bind(2, bytes_);
  totals->bind(3, expiring_);
  totals->exec();
}

UsageRow read_usage(Connection& connection, std::string_view ns) {
  StatementUse query(connection, Sql::usage_row);
  bind_text(*query, 1, ns);
  if (!query->executeStep()) return {};
  return {.entries = query->getColumn(0).getInt64(),
          .bytes = query->getColumn(1).getInt64(),
          .expiring = query->getColumn(2).getInt64()};
}

Limits read_limits(Connection& connection, const Where& where) {
  StatementUse query(connection, Sql::limits_read);
  if (!query->executeStep()) {
    throw_error(Errc::corrupt, describe_where(where) + ": the limits row is missing");
  }
  Limits limits{.max_bytes = query->getColumn(0).getInt64(),
                .max_entries = query->getColumn(1).getInt64(),
                .eviction = EvictionPolicy::least_recently_stored};
  const std::int64_t policy = query->getColumn(2).getInt64();
  if (limits.max_bytes < 0 || limits.max_entries < 0 || policy < 0 || policy > 1) {
    throw_error(Errc::corrupt, describe_where(where) + ": the limits row is damaged");
  }
  limits.eviction = static_cast<EvictionPolicy>(policy);
  return limits;
}

void write_limits(Connection& connection, const Limits& limits) {
  StatementUse update(connection, Sql::limits_write);
  update->bind(1, limits.max_bytes);
  update->bind(2, limits.max_entries);
  update->bind(3, static_cast<int>(limits.eviction));
  update->exec();
}

void validate_limits(const Limits& limits, std::int64_t page_size, const Where& where) {
  const auto invalid = [&](const std::string& why) {
    throw_error(Errc::invalid_argument, describe_where(where) + ": " + why + "; nothing changed");
  };
  if (limits.max_bytes < 0) invalid("Limits::max_bytes is negative");
  if (limits.max_entries < 0) invalid("Limits::max_entries is negative");
  if (limits.max_bytes > 0 && limits.max_bytes < page_size) {
    invalid("Limits::max_bytes is " + std::to_string(limits.max_bytes) +
            "; it must be 0 (none) or at least one page (" + std::to_string(page_size) + " bytes)");
  }
  if (limits.eviction != EvictionPolicy::least_recently_stored &&
      limits.eviction != EvictionPolicy::least_recently_used) {
    invalid("Limits::eviction is not a known policy");
  }
}

Stats read_stats(Connection& connection) {
  Stats stats;
  StatementUse query(connection, Sql::usage_all);
  while (query->executeStep()) {
    std::string ns = query->getColumn(0).getString();
    if (ns.empty()) {
      stats.entries = query->getColumn(1).getInt64();
      stats.bytes = query->getColumn(2).getInt64();
      continue;
    }
    NamespaceStats space{.ns = std::move(ns),
                         .entries = query->getColumn(1).getInt64(),
                         .bytes = query->getColumn(2).getInt64(),
                         .hits = counter(*query, 3),
                         .misses = counter(*query, 4),
                         .evictions = counter(*query, 5),
                         .expirations = counter(*query, 6)};
    stats.hits += space.hits;
    stats.misses += space.misses;
    stats.evictions += space.evictions;
    stats.expirations += space.expirations;
    stats.namespaces.push_back(std::move(space));
  }
  return stats;
}

void reset_counters(Connection& connection) {
  StatementUse reset(connection, Sql::usage_reset_counters);
  reset->exec();
  StatementUse prune(connection, Sql::usage_prune);
  prune->exec();
}

std::string usage_mismatch(Connection& connection) {
  SQLite::Statement query(connection.db(), R"sql(
    WITH counted(ns, entries, bytes, expiring) AS (
      SELECT ns, count(*), sum(size), count(expires_at) FROM entries WHERE ns IS NOT NULL
      GROUP BY ns
      UNION ALL
      SELECT '', count(*), coalesce(sum(size), 0), count(expires_at) FROM entries
      WHERE ns IS NOT NULL),
    names(ns) AS (SELECT ns FROM counted UNION SELECT ns FROM usage)
    SELECT n.ns, coalesce(c.entries, 0), coalesce(c.bytes, 0), coalesce(c.expiring, 0),
           coalesce(u.entries, 0), coalesce(u.bytes, 0), coalesce(u.expiring, 0)
    FROM names AS n LEFT JOIN counted AS c ON c.ns = n.ns LEFT JOIN usage AS u ON u.ns = n.ns
    WHERE coalesce(c.entries, 0) != coalesce(u.entries, 0)
       OR coalesce(c.bytes, 0) != coalesce(u.bytes, 0)
       OR coalesce(c.expiring, 0) != coalesce(u.expiring, 0))sql");
  std::string problems;
  while (query.executeStep()) {
    const std::string ns = query.getColumn(0).getString();
    problems += (problems.empty() ? "" : "; ") + std::string("usage of ") +
                (ns.empty() ? std::string("the whole store") : "namespace \"" + ns + "\"") +
                " says " + query.getColumn(4).getString() + " entries, " +
                query.getColumn(5).getString() + " bytes, " + query.getColumn(6).getString() +
                " expiring; the entries count " + query.getColumn(1).getString() + ", " +
                query.getColumn(2).getString() + ", " + query.getColumn(3).getString();
  }
  return problems;
}

}  // namespace blobcache::detail
