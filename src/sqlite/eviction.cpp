#include "sqlite/eviction.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "sqlite/rows.hpp"

namespace blobcache::detail {
namespace {

// `bound` times per_mille / 1000, rounded up (without overflow): a small
// bound keeps its whole size (3 entries at 900 per mille stay 3), so only
// bounds with room between their watermarks are trimmed below themselves.
std::int64_t scaled(std::int64_t bound, int per_mille) noexcept {
  if (bound <= 0) return 0;
  return bound / 1000 * per_mille + (bound % 1000 * per_mille + 999) / 1000;
}

// How far the totals are above `fit`; both <= 0 when they fit.
struct Excess {
  std::int64_t entries = 0;
  std::int64_t bytes = 0;
  std::int64_t mean_size = 0;  // of the store's entries, at the start
  bool any() const noexcept { return entries > 0 || bytes > 0; }
};

Excess excess_of(WriteContext& context, const Fit& fit) {
  const UsageRow& totals = context.file_totals();
  const std::int64_t entries = totals.entries + context.usage.entries();
  const std::int64_t bytes = totals.bytes + context.usage.bytes();
  return {.entries = fit.max_entries > 0 ? entries - fit.max_entries : 0,
          .bytes = fit.max_bytes > 0 ? bytes - fit.max_bytes : 0,
          .mean_size = entries > 0 ? bytes / entries : 0};
}

// How many candidates a victims query reads, at most kMaxRead: the first
// read, about as many as the excess needs at the mean entry size, plus one
// (a put at the limit needs one or two victims: reading 64 rows of names
// for them made it 64 times the work); each further read, twice the last.
constexpr std::int64_t kMaxRead = 64;

std::int64_t first_read(const Excess& excess) {
  std::int64_t wanted = std::max<std::int64_t>(excess.entries, 0);
  if (excess.bytes > 0) {
    wanted = std::max(wanted, excess.mean_size > 0 ? excess.bytes / excess.mean_size : kMaxRead);
  }
  return std::clamp<std::int64_t>(wanted + 1, 1, kMaxRead);
}

std::int64_t next_read(std::int64_t last) { return std::min(last * 2, kMaxRead); }

std::int64_t within_budget(std::int64_t read, std::size_t budget) {
  return std::min(read, static_cast<std::int64_t>(std::min<std::size_t>(budget, kMaxRead)));
}

bool written_here(const WriteContext& context, std::int64_t id) {
  return std::find(context.written.begin(), context.written.end(), id) != context.written.end();
}

// An entry the eviction order offers, with what evicting it changes.
struct Candidate {
  std::int64_t id;
  std::int64_t size;
  std::string ns;
  std::string key;
  bool expiring;
};

// The candidates `query` (a victims statement, bound) returns.
std::vector<Candidate> candidates_of(StatementUse& query) {
  std::vector<Candidate> candidates;
  while (query->executeStep()) {
    candidates.push_back({.id = query->getColumn(0).getInt64(),
                          .size = query->getColumn(1).getInt64(),
                          .ns = query->getColumn(2).getString(),
                          .key = query->getColumn(3).getString(),
                          .expiring = !query->isColumnNull(4)});
  }
  return candidates;
}

// Removes `victim`; false when it was gone already.
bool evict(WriteContext& context, const Candidate& victim, Excess& excess) {
  StatementUse remove(context.connection, Sql::delete_entry_by_id);
  remove->bind(1, victim.id);
  if (remove->exec() == 0) return false;
  context.usage.removed(victim.ns, victim.size, victim.expiring);
  context.usage.evicted(victim.ns);
  context.changed(victim.ns, victim.key);
  excess.entries -= 1;
  excess.bytes -= victim.size;
  return true;
}

// Expired entries of the namespaces that may hold some, oldest expiry first
// within each.
void evict_expired(WriteContext& context, Excess& excess, std::size_t& budget) {
  std::vector<std::string> spaces;
  {
    StatementUse due(context.connection, Sql::namespaces_with_expired);
    due->bind(1, context.now);
    while (due->executeStep()) spaces.push_back(due->getColumn(0).getString());
  }
  for (const std::string& ns : spaces) {
    std::int64_t read = first_read(excess);
    for (; excess.any() && budget > 0; read = next_read(read)) {
      const std::int64_t limit = within_budget(read, budget);
      std::vector<Candidate> victims;
      {
        StatementUse query(context.connection, Sql::expired_victims);
        bind_text(*query, 1, ns);
        query->bind(2, context.now);
        query->bind(3, limit);
        victims = candidates_of(query);
      }
      std::size_t taken = 0;
      for (const Candidate& victim : victims) {
        if (!excess.any() || budget == 0) break;
        if (written_here(context, victim.id)) continue;
        if (evict(context, victim, excess)) {
          --budget;
          ++taken;
        }
      }
      if (taken == 0 && std::cmp_equal(victims.size(), limit) &&
          within_budget(next_read(read), budget) > limit) {
        continue;  // all this transaction's own: read further
      }
      if (taken == 0) {
        // Nothing (more) expired here: record the earliest expiry left, so
        // later evictions skip this namespace until then.
        StatementUse earliest(context.connection, Sql::earliest_expiry);
        bind_text(*earliest, 1, ns);
        std::optional<std::int64_t> next;
        if (earliest->executeStep() && !earliest->isColumnNull(0)) {
          next = earliest->getColumn(0).getInt64();
        }
        StatementUse set(context.connection, Sql::set_next_expiry);
        bind_text(*set, 1, ns);
        if (next && *next >= context.now) {
          set->bind(2, *next);
        } else if (next) {
          set->bind(2, context.now);  // what is left was written by this transaction
        } else {
          set->bind(2);
        }
        set->exec();
        break;
      }
    }
    if (!excess.any() || budget == 0) return;
  }
}

}  // namespace

Fit fit_of(const Limits& limits, int per_mille) noexcept {
  return {.max_entries = scaled(limits.max_entries, per_mille),
          .max_bytes = scaled(limits.max_bytes, per_mille)};
}

bool fits(WriteContext& context, const Fit& fit) { return !excess_of(context, fit).any(); }

Eviction evict_to_fit(WriteContext& context, const Fit& fit, std::size_t max_victims) {
  Excess excess = excess_of(context, fit);
  if (!excess.any()) return Eviction::fitted;
  std::size_t budget = max_victims;
  evict_expired(context, excess, budget);
  // Then by the policy: the entries that come first in the eviction order,
  // skipping (by OFFSET) those this transaction wrote, which stay first
  // once everything before them is gone.
  std::int64_t skipped = 0;
  for (std::int64_t read = first_read(excess); excess.any() && budget > 0; read = next_read(read)) {
    std::vector<Candidate> candidates;
    {
      StatementUse query(context.connection,
                         orders_by_use(context.limits) ? Sql::victims_by_use : Sql::victims_by_put);
      query->bind(1, within_budget(read, budget));
      query->bind(2, skipped);
      candidates = candidates_of(query);
    }
    if (candidates.empty()) return Eviction::stuck;
    for (const Candidate& candidate : candidates) {
      if (!excess.any() || budget == 0) break;
      if (written_here(context, candidate.id)) {
        ++skipped;
        continue;
      }
      if (evict(context, candidate, excess)) --budget;
    }
  }
  return excess.any() ? Eviction::paused : Eviction::fitted;
}

}  // namespace blobcache::detail
