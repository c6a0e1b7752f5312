#include "sqlite/reader.hpp"

#include <algorithm>
#include <gsl/gsl>
#include <optional>
#include <string>
#include <utility>

#include "errors.hpp"
#include "read_counting.hpp"
#include "sqlite/blob_reader.hpp"
#include "sqlite/chunk_blob.hpp"
#include "sqlite/files.hpp"
#include "sqlite/rows.hpp"
#include "sqlite/schema.hpp"
#include "sqlite/usage.hpp"

namespace blobcache::detail {
namespace {

// How a get reads chunk bytes: copied out of SQLite's row buffer on an
// ordinary connection, or straight from the file's mapping into the Blob
// (sqlite3_blob_read) on a mapped one.
enum class Route { ordinary, mapped };

// What one read of an entry on one route found.
struct ValueRead {
  enum class Found { miss, value, too_big_for_route };
  Found found = Found::miss;
  Blob blob;
};

// A Blob's first allocation. The size comes from the file: a damaged one
// must not make a get allocate absurd amounts before the chunks prove it
// wrong (the data never grows past the size either, see append_chunk).
constexpr std::int64_t kMaxFirstReserve = std::int64_t{64} << 20;

// Makes room for `n` more bytes at the end of `blob` and returns them.
// Throws Error(Errc::corrupt) naming `where` when the chunks hold more
// bytes than the entry's size.
std::span<std::byte> append_chunk(Blob& blob, std::size_t n, const Where& where) {
  const std::size_t at = blob.data.size();
  if (n > static_cast<std::size_t>(blob.meta.size) - at) {
    check_total(static_cast<std::int64_t>(at + n), blob.meta.size, where);  // throws
  }
  blob.data.resize(at + n);
  return {blob.data.data() + at, n};
}

// Reads (ns, key) whole in one statement, so its metadata and every chunk
// come from one snapshot; each chunk is checked (place and checksum). On
// the ordinary route a value of at least `min_mapped` bytes is reported as
// too_big_for_route before any of its chunks is read; on the mapped route
// an entry found is counted in `probes`.
ValueRead read_value(Connection& connection, Route route, std::string_view ns, std::string_view key,
                     std::int64_t min_mapped, const Where& where, Probes& probes) {
  StatementUse query(connection, route == Route::ordinary ? Sql::get_entry_with_chunks
                                                          : Sql::get_entry_with_chunk_ids);
  bind_text(*query, 1, ns);
  bind_text(*query, 2, key);
  if (route == Route::ordinary) query->bind(3, min_mapped);
  if (!query->executeStep()) return {};
  if (route == Route::ordinary && query->getColumn(1).getInt64() >= min_mapped) {
    return {.found = ValueRead::Found::too_big_for_route, .blob = {}};
  }
  if (route == Route::mapped) probes.mapped_gets.fetch_add(1, std::memory_order_relaxed);
  ValueRead read{.found = ValueRead::Found::value, .blob = {}};
  Blob& blob = read.blob;
  blob.meta = read_meta(*query, 1, where);
  blob.data.reserve(static_cast<std::size_t>(std::min(blob.meta.size, kMaxFirstReserve)));
  if (!query->isColumnNull(7)) {  // LEFT JOIN: an empty value has no chunk
    const std::int64_t id = query->getColumn(0).getInt64();
    // On the mapped route each chunk is read while the statement sits on
    // its row: the blob handle shares the statement's read transaction.
    std::optional<ChunkBlob> mapped;
    if (route == Route::mapped) mapped.emplace(connection.db().getHandle());
    std::int64_t seq = 0;
    do {
      if (route == Route::ordinary) {
        const BytesView chunk = checked_chunk(*query, 7, id, seq, where);
        std::copy(chunk.begin(), chunk.end(), append_chunk(blob, chunk.size(), where).begin());
      } else {
        const std::size_t n = mapped->seek(check_chunk_rowid(*query, 7, id, seq, where));
        const std::span<std::byte> bytes = append_chunk(blob, n, where);
        mapped->read(bytes);
        check_chunk_bytes(*query, 7, seq, bytes, where);
      }
      ++seq;
    } while (query->executeStep());
  }
  check_total(static_cast<std::int64_t>(blob.data.size()), blob.meta.size, where);
  return read;
}

}  // namespace

bool Reader::counts_reads() const { return db_->tuning().count_reads && !UncountedReads::active(); }

std::int64_t Reader::access_stamp() const {
  if (!db_->records_accesses() || !counts_reads() || db_->options().read_only) return 0;
  return db_->read_stamp();
}

void Reader::count(std::string_view ns, std::string_view key, bool found, std::int64_t stamp,
                   bool recorded) {
  if (!counts_reads()) return;
  Tallies& tallies = db_->tallies();
  tallies.count(ns, found);
  if (found && stamp != 0 && !recorded) tallies.accessed(ns, key, stamp);
  if (Maintenance* thread = db_->maintenance()) {
    // Within the flush interval; at once when the accesses grow many.
    thread->request_duty(stamp != 0 && db_->pending_accesses() >= db_->tuning().flush_accesses);
  }
}

// Inlined: a call here costs a tier hit about 2 % (callgrind).
[[gnu::always_inline]] inline std::optional<MemoryTier::Found> Reader::from_tier(
    MemoryTier& tier, std::string_view ns, std::string_view key, std::uint64_t hash) {
  const std::int64_t stamp = access_stamp();
  std::optional<MemoryTier::Found> kept = tier.find(ns, key, hash, stamp);
  if (kept) {
    db_->probes().tier_hits.fetch_add(1, std::memory_order_relaxed);
    count(ns, key, kept->blob != nullptr, stamp, true);
  }
  return kept;
}

std::optional<Blob> Reader::read_through(MemoryTier& tier, std::string_view ns,
                                         std::string_view key, std::uint64_t hash) {
  const std::optional<std::uint64_t> ticket = tier.ticket(ns, hash);
  std::optional<Blob> read = read_file(ns, key);
  if (!ticket) return read;
  if (!read) {
    tier.insert(ns, key, hash, nullptr, *ticket);
  } else if (read->data.size() <= tier.max_value()) {
    tier.insert(ns, key, hash, std::make_shared<const Blob>(*read), *ticket);
  }
  return read;
}

std::optional<Blob> Reader::get(std::string_view ns, std::string_view key) {
  MemoryTier* tier = db_->memory_tier();
  if (tier == nullptr) return read_file(ns, key);
  const std::uint64_t hash = key_hash(ns, key);
  if (const auto kept = from_tier(*tier, ns, key, hash)) {
    if (!kept->blob) return std::nullopt;
    return *kept->blob;
  }
  return read_through(*tier, ns, key, hash);
}

bool Reader::get_into(std::string_view ns, std::string_view key, Blob& out) {
  MemoryTier* tier = db_->memory_tier();
  std::optional<Blob> read;
  if (tier == nullptr) {
    read = read_file(ns, key);
  } else {
    const std::uint64_t hash = key_hash(ns, key);
    if (const auto kept = from_tier(*tier, ns, key, hash)) {
      if (!kept->blob) return false;
      out = *kept->blob;
      return true;
    }
    read = read_through(*tier, ns, key, hash);
  }
  if (!read) return false;
  out = std::move(*read);
  return true;
}

std::optional<Blob> Reader::read_file(std::string_view ns, std::string_view key) {
  const Where where = db_->where("get", ns, key);
  const std::int64_t min_mapped = db_->mapped_get_min_bytes();
  Route route = db_->maps_big_gets() && last_get_big_.load(std::memory_order_relaxed)
                    ? Route::mapped
                    : Route::ordinary;
  for (;;) {
    ValueRead read;
    {
      auto lease = route == Route::mapped ? db_->lease_mapped(where) : db_->lease(where);
      read = translated(where, [&] {
        return read_value(*lease, route, ns, key, min_mapped, where, db_->probes());
      });
    }  // the lease goes back before another is taken
    if (read.found == ValueRead::Found::too_big_for_route) {
      // The entry may change before the mapped read: that read returns
      // whatever version its own snapshot holds, whole.
      last_get_big_.store(true, std::memory_order_relaxed);
      if (const auto& hook = db_->probes().after_size_probe) hook();
      route = Route::mapped;
      continue;
    }
    if (route == Route::mapped &&
        (read.found == ValueRead::Found::miss || read.blob.meta.size < min_mapped)) {
      last_get_big_.store(false, std::memory_order_relaxed);
    }
    count(ns, key, read.found == ValueRead::Found::value, access_stamp());
    if (read.found == ValueRead::Found::miss) return std::nullopt;
    return std::move(read.blob);
  }
}

std::unique_ptr<BlobReader> Reader::open(std::string_view ns, std::string_view key) {
  const Where where = db_->where("open", ns, key);
  auto lease = db_->lease(where);
  auto reader = translated(where, [&]() -> std::unique_ptr<BlobReader> {
    // The reader keeps this read transaction: its snapshot is the value.
    auto transaction = std::make_unique<Transaction>(*lease, Transaction::Kind::read);
    std::int64_t id = 0;
    Meta meta;
    {
      StatementUse find(*lease, Sql::find_entry);
      bind_text(*find, 1, ns);
      bind_text(*find, 2, key);
      if (!find->executeStep()) return nullptr;
      id = find->getColumn(0).getInt64();
      meta = read_meta(*find, 1, where);
    }
    return std::make_unique<SqliteBlobReader>(db_, std::move(lease), std::move(transaction), id,
                                              std::move(meta), std::string(ns), std::string(key));
  });
  count(ns, key, reader != nullptr, access_stamp());
  return reader;
}

std::vector<Object> Reader::list(std::string_view ns) {
  const Where where = db_->where("list", ns);
  auto lease = db_->lease(where);
  return translated(where, [&] {
    StatementUse query(*lease, Sql::list_entries);
    bind_text(*query, 1, ns);
    std::vector<Object> objects;
    while (query->executeStep()) {
      std::string key = query->getColumn(0).getString();
      Meta meta = read_meta(*query, 1, where);
      objects.push_back({std::move(key), std::move(meta)});
    }
    return objects;
  });
}

std::vector<NamespaceInfo> Reader::namespaces() {
  const Where where = db_->where("namespaces");
  auto lease = db_->lease(where);
  return translated(where, [&] {
    StatementUse query(*lease, Sql::namespaces);
    std::vector<NamespaceInfo> spaces;
    while (query->executeStep()) {
      spaces.push_back({.name = query->getColumn(0).getString(),
                        .entries = query->getColumn(1).getInt64(),
                        .bytes = query->getColumn(2).getInt64()});
    }
    return spaces;
  });
}

void Reader::check() {
  const Where where = db_->where("check");
  auto lease = db_->lease(where);
  translated(where, [&] {
    const std::string problems = quick_check(*lease);
    if (!problems.empty()) throw_error(Errc::corrupt, describe_where(where) + ": " + problems);
    if (db_->options().read_only) return;
    if (place_is_read_only(db_->options().path)) {
      throw_error(Errc::read_only, describe_where(where) + ": the file is not writable");
    }
    // Taking the write lock proves the -wal and -shm can be written; the
    // transaction writes nothing and is rolled back.
    const Transaction probe(*lease, Transaction::Kind::write);
    // The accounting must equal a recount of the entries (O(entries), like
    // the page walk above).
    const std::string drift = usage_mismatch(*lease);
    if (!drift.empty()) throw_error(Errc::corrupt, describe_where(where) + ": " + drift);
  });
}

Limits Reader::limits() {
  const Where where = db_->where("limits");
  auto lease = db_->lease(where);
  Limits limits = translated(where, [&] { return read_limits(*lease, where); });
  db_->remember_limits(limits);
  return limits;
}

Stats Reader::stats() {
  const Where where = db_->where("stats");
  Stats stats;
  {
    auto lease = db_->lease(where);
    translated(where, [&] {
      const Transaction snapshot(*lease, Transaction::Kind::read);
      stats = read_stats(*lease);
      const Limits limits = read_limits(*lease, where);
      stats.max_bytes = limits.max_bytes;
      stats.max_entries = limits.max_entries;
    });
  }
  // This process's counts not yet in the file.
  for (const auto& [ns, reads] : db_->tallies().pending_reads()) {
    auto space = std::lower_bound(
        stats.namespaces.begin(), stats.namespaces.end(), ns,
        [](const NamespaceStats& a, const std::string& name) { return a.ns < name; });
    if (space == stats.namespaces.end() || space->ns != ns) {
      space = stats.namespaces.insert(space, NamespaceStats{.ns = ns});
    }
    space->hits += reads.hits;
    space->misses += reads.misses;
    stats.hits += reads.hits;
    stats.misses += reads.misses;
  }
  stats.file_bytes = file_bytes(db_->options().path);
  return stats;
}

}  // namespace blobcache::detail
