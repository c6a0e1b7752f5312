#include "blobcache/sqlite_store.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <gsl/gsl>
#include <limits>
#include <mutex>
#include <sqlite3.h>
#include <string>
#include <unistd.h>

#include "errors.hpp"
#include "metadata_codec.hpp"
#include "sha256.hpp"
#include "sqlite/blob_reader.hpp"
#include "sqlite/checkpointer.hpp"
#include "sqlite/chunk_blob.hpp"
#include "sqlite/connection_pool.hpp"
#include "sqlite/files.hpp"
#include "sqlite/rows.hpp"
#include "sqlite/schema.hpp"
#include "sqlite/sqlite_error.hpp"
#include "sqlite/staging.hpp"
#include "stream_read.hpp"

namespace blobcache {

using detail::ConnectionPool;
using detail::Sql;
using detail::StatementUse;
using detail::Transaction;
using detail::Where;

namespace {

// A value ready to be written: everything that costs CPU is computed before
// the write lock is taken.
struct PreparedValue {
  BytesView bytes;
  std::string etag;
  Bytes encoded_metadata;
  std::vector<std::int64_t> checksums;  // one per chunk
};

PreparedValue prepare_value(BytesView bytes, const PutOptions& opts, std::size_t chunk_size,
                            const Where& where) {
  // Checked before any work: the chunk rowids could not name the rest.
  const std::size_t chunks = (bytes.size() + chunk_size - 1) / chunk_size;
  if (chunks > 0) detail::chunk_rowid(0, gsl::narrow<std::int64_t>(chunks - 1), where);
  PreparedValue prepared{.bytes = bytes,
                         .etag = detail::Sha256::hex_of(bytes),
                         .encoded_metadata = detail::encode_metadata(opts.metadata),
                         .checksums = {}};
  prepared.checksums.reserve(bytes.size() / chunk_size + 1);
  for (std::size_t offset = 0, seq = 0; offset < bytes.size(); offset += chunk_size, ++seq) {
    const auto chunk = bytes.subspan(offset, std::min(chunk_size, bytes.size() - offset));
    prepared.checksums.push_back(detail::chunk_checksum(chunk, gsl::narrow<std::int64_t>(seq)));
  }
  return prepared;
}

Meta make_meta(std::int64_t size, std::string etag, const PutOptions& opts, TimePoint now) {
  return Meta{.size = size,
              .updated_at = now,
              .expires_at = opts.expires_at,
              .etag = std::move(etag),
              .content_type = opts.content_type,
              .metadata = opts.metadata};
}

void insert_chunk(detail::Connection& connection, std::int64_t entry_id, std::int64_t seq,
                  std::int64_t checksum, BytesView data, const Where& where) {
  StatementUse insert(connection, Sql::insert_chunk);
  insert->bind(1, detail::chunk_rowid(entry_id, seq, where));
  insert->bind(2, checksum);
  insert->bindNoCopy(3, data.data(), gsl::narrow<int>(data.size()));
  insert->exec();
}

// Inserts an entry row; `ns` empty makes it a staging row owned by `key`.
std::int64_t insert_entry(detail::Connection& connection, const std::string& ns,
                          const std::string& key, const Meta& meta, const Bytes& encoded_metadata) {
  StatementUse insert(connection, Sql::insert_entry);
  if (ns.empty()) {
    insert->bind(1);  // NULL: staged, invisible
  } else {
    insert->bindNoCopy(1, ns);
  }
  insert->bindNoCopy(2, key);
  detail::bind_meta(*insert, 3, meta, encoded_metadata);
  insert->exec();
  return connection.db().getLastInsertRowid();
}

void delete_entry(detail::Connection& connection, const std::string& ns, const std::string& key) {
  StatementUse erase(connection, Sql::delete_entry);
  erase->bindNoCopy(1, ns);
  erase->bindNoCopy(2, key);
  erase->exec();
}

// REQUIRES: a write transaction on `connection`.
void write_entry(detail::Connection& connection, const std::string& ns, const std::string& key,
                 const PreparedValue& value, const Meta& meta, std::size_t chunk_size,
                 const Where& where) {
  delete_entry(connection, ns, key);
  const std::int64_t id = insert_entry(connection, ns, key, meta, value.encoded_metadata);
  for (std::size_t seq = 0; seq < value.checksums.size(); ++seq) {
    const std::size_t offset = seq * chunk_size;
    insert_chunk(connection, id, gsl::narrow<std::int64_t>(seq), value.checksums[seq],
                 value.bytes.subspan(offset, std::min(chunk_size, value.bytes.size() - offset)),
                 where);
  }
}

// now - ttl, clamped: an instant before every representable updated_at
// when the subtraction would overflow.
std::int64_t age_cutoff(std::int64_t now, Duration ttl) noexcept {
  const std::int64_t span = ttl.count();
  if (now < std::numeric_limits<std::int64_t>::min() + span)
    return std::numeric_limits<std::int64_t>::min();
  return now - span;
}

}  // namespace

class SqliteStore::Impl {
 public:
  explicit Impl(SqliteOptions opts);

  Where where(std::string_view operation, std::string_view ns = {},
              std::string_view key = {}) const {
    return Where{.operation = operation,
                 .file = options.path,
                 .ns = ns,
                 .key = key,
                 .read_only_place = options.read_only};
  }

  void require_writable(std::string_view operation, std::string_view ns,
                        std::string_view key) const {
    if (options.read_only) {
      detail::throw_error(Errc::read_only, detail::describe_where(where(operation, ns, key)) +
                                               ": the store was opened read-only");
    }
  }

  std::size_t chunk_size() const noexcept { return pool->config().tuning.chunk_size; }

  // A connection of `from` (the ordinary pool unless said) for one call;
  // opening a new one may fail.
  detail::ConnectionPool::Lease lease(const Where& at) const { return lease(at, *pool); }
  static detail::ConnectionPool::Lease lease(const Where& at, ConnectionPool& from) {
    return detail::translated(at, [&] { return from.acquire(); });
  }

  // The get of a value of at least mapped_get_min_bytes, on a mapped
  // connection, in a read transaction of its own: the entry may have
  // changed since the size probe, and this get returns whatever version
  // that snapshot holds, whole.
  std::optional<Blob> get_mapped(const std::string& ns, const std::string& key, const Where& where);

  // Deletes staged put_streams whose process is gone. Best effort: a failure
  // leaves them for the next attempt.
  void reclaim_abandoned_staging() noexcept;
  // Deletes one staged put_stream. Best effort, never throws.
  void discard_staging(std::int64_t staging_id) noexcept;

  SqliteOptions options;
  std::shared_ptr<const Clock> clock;
  std::optional<std::filesystem::path> quarantined;
  // Before the pool: every writable connection reports to it, so it must
  // outlive them. Null for a read-only store, and unless
  // Tuning::background_checkpoints (then SQLite's automatic checkpoint runs).
  std::unique_ptr<detail::Checkpointer> checkpointer;
  std::unique_ptr<ConnectionPool> pool;
  // Connections with the file mapped (Tuning::mapped_mmap_size), only for
  // gets of big values; null when those are off. A BlobReader never leases
  // one: mapped pages count in RSS, and a stream must stay small.
  std::unique_ptr<ConnectionPool> mapped_pool;
  std::int64_t mapped_get_min_bytes = std::numeric_limits<std::int64_t>::max();
  // The last get of this store found a big value: the next one starts on a
  // mapped connection without the size probe (one read transaction instead
  // of two). A small value read there clears it, so a run of small gets
  // costs one mapped read at most.
  std::atomic<bool> last_get_big{false};

 private:
  // One attempt at opening: returns the first connection, or "" in
  // `corruption` with the reason the file is corrupt.
  std::unique_ptr<detail::Connection> open_connection(const detail::ConnectionConfig& config,
                                                      const Where& at_open,
                                                      std::string& corruption);
  void open_with_retries(const detail::ConnectionConfig& config);
};

namespace {

bool is_corruption(int code) noexcept {
  return (code & 0xFF) == SQLITE_CORRUPT || (code & 0xFF) == SQLITE_NOTADB;
}

bool is_lock_wait(int code) noexcept {
  return (code & 0xFF) == SQLITE_BUSY || (code & 0xFF) == SQLITE_LOCKED;
}

}  // namespace

SqliteStore::Impl::Impl(SqliteOptions opts) : options(std::move(opts)) {
  clock = options.clock ? options.clock : system_clock();
  if (options.path.empty())
    detail::throw_error(Errc::invalid_argument, "open: SqliteOptions::path is empty");
  if (options.busy_timeout.count() < 0) {
    detail::throw_error(Errc::invalid_argument,
                        "open " + options.path.string() + ": busy_timeout is negative");
  }
  if (options.read_only) {
    if (::access(options.path.c_str(), F_OK) != 0) {
      detail::throw_error(Errc::io,
                          "open " + options.path.string() + " read-only: the file does not exist");
    }
  } else {
    detail::create_file_private(options.path);
  }
  if (!options.allow_network_filesystem) detail::require_local_filesystem(options.path);
  const bool immutable = options.read_only && detail::read_only_open_mode(options.path) ==
                                                  detail::ReadOnlyOpen::immutable;

  detail::ConnectionConfig config{.path = options.path,
                                  .read_only = options.read_only,
                                  .immutable = immutable,
                                  .busy_timeout = options.busy_timeout,
                                  .durability = options.durability,
                                  .max_file_bytes = options.max_file_bytes,
                                  .tuning = detail::tuning()};
  if (!options.read_only && config.tuning.background_checkpoints) {
    checkpointer = std::make_unique<detail::Checkpointer>(config);
    config.checkpointer = checkpointer.get();
  }
  open_with_retries(config);
  // Not for an immutable open: no lock then keeps a writer from truncating
  // the file under the mapping, and a read past its end is SIGBUS, not an
  // error (docs/design.md).
  if (!immutable && config.tuning.mapped_get_min_bytes < std::numeric_limits<std::int64_t>::max()) {
    detail::ConnectionConfig mapped = config;
    mapped.tuning.mmap_size = config.tuning.mapped_mmap_size;
    // These connections only read (SQLite's default is off, and it stays
    // safe on corrupt pages without it); a damaged chunk still fails its
    // XXH3 check. On: 0.85x on 64 KiB gets.
    mapped.cell_size_check = false;
    mapped_pool = std::make_unique<ConnectionPool>(std::move(mapped));
    mapped_get_min_bytes = config.tuning.mapped_get_min_bytes;
  }
  if (!options.read_only) reclaim_abandoned_staging();
}

std::unique_ptr<detail::Connection> SqliteStore::Impl::open_connection(
    const detail::ConnectionConfig& config, const Where& at_open, std::string& corruption) {
  auto connection = std::make_unique<detail::Connection>(config);
  errno = 0;  // see detail::translated
  try {
    if (config.read_only) {
      detail::check_schema_read_only(*connection);
    } else {
      detail::prepare_schema(*connection, config.tuning.page_size);
    }
    // Not a full quick_check: that reads every page of the file, which a
    // command-line tool opening a big cache many times cannot afford
    // (docs/design.md, "Open cost"). check() runs the full one.
    corruption = detail::check_at_open(*connection);
  } catch (const SQLite::Exception& e) {
    const int system_errno = errno;
    // Lock waits are retried and corruption handled by the caller.
    if (is_lock_wait(e.getErrorCode()) || is_corruption(e.getErrorCode())) throw;
    detail::throw_sqlite(at_open, e, system_errno);
  }
  if (!corruption.empty()) return nullptr;
  return connection;
}

void SqliteStore::Impl::open_with_retries(const detail::ConnectionConfig& config) {
  const auto deadline = std::chrono::steady_clock::now() + options.busy_timeout;
  const Where at_open{
      .operation = "open",
      .file = options.path,
      .ns = {},
      .key = {},
      .read_only_place = options.read_only || detail::place_is_read_only(options.path)};
  for (int attempt = 0;; ++attempt) {
    std::string corruption;
    errno = 0;  // see detail::translated
    try {
      if (auto connection = open_connection(config, at_open, corruption)) {
        pool = std::make_unique<ConnectionPool>(config);
        pool->adopt(std::move(connection));
        return;
      }
    } catch (const SQLite::Exception& e) {
      const int system_errno = errno;
      // Schema creation and the WAL switch need the write lock, and SQLite
      // does not call the busy handler for every step of opening: retry
      // here until the timeout, so many processes can open a new file at once.
      if (is_lock_wait(e.getErrorCode()) && std::chrono::steady_clock::now() < deadline) {
        detail::back_off(attempt);
        continue;
      }
      if (!is_corruption(e.getErrorCode())) detail::throw_sqlite(at_open, e, system_errno);
      corruption = e.what();
    }
    // The file is corrupt.
    if (options.on_corruption == OnCorruption::raise || options.read_only || quarantined) {
      detail::throw_error(Errc::corrupt,
                          "open " + options.path.string() + ": the file is corrupt: " + corruption);
    }
    quarantined = detail::quarantine_files(options.path);
    detail::create_file_private(options.path);
  }
}

void SqliteStore::Impl::reclaim_abandoned_staging() noexcept {
  try {
    auto lease = pool->acquire();
    std::vector<std::int64_t> abandoned;
    {
      StatementUse staged(*lease, Sql::staged_entries);
      while (staged->executeStep()) {
        if (detail::staging_owner_gone(staged->getColumn(1).getString())) {
          abandoned.push_back(staged->getColumn(0).getInt64());
        }
      }
    }
    if (abandoned.empty()) return;
    Transaction transaction(*lease, Transaction::Kind::write);
    for (const std::int64_t id : abandoned) {
      StatementUse erase(*lease, Sql::delete_entry_by_id);
      erase->bind(1, id);
      erase->exec();
    }
    transaction.commit();
  } catch (...) {  // NOLINT(bugprone-empty-catch): retried by the next open or put_stream
  }
}

void SqliteStore::Impl::discard_staging(std::int64_t staging_id) noexcept {
  try {
    auto lease = pool->acquire();
    StatementUse erase(*lease, Sql::delete_entry_by_id);
    erase->bind(1, staging_id);
    erase->exec();
  } catch (...) {  // NOLINT(bugprone-empty-catch): reclaimed once this process is gone
  }
}

SqliteStore::SqliteStore(SqliteOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

SqliteStore::~SqliteStore() = default;

const std::filesystem::path& SqliteStore::path() const noexcept { return impl_->options.path; }

std::optional<std::filesystem::path> SqliteStore::quarantined() const { return impl_->quarantined; }

std::optional<Blob> SqliteStore::Impl::get_mapped(const std::string& ns, const std::string& key,
                                                  const Where& where) {
  auto lease = Impl::lease(where, *mapped_pool);
  return detail::translated(where, [&]() -> std::optional<Blob> {
    StatementUse query(*lease, Sql::get_entry_with_chunk_ids);
    query->bindNoCopy(1, ns);
    query->bindNoCopy(2, key);
    if (!query->executeStep()) return std::nullopt;
    detail::mapped_gets().fetch_add(1, std::memory_order_relaxed);
    Blob blob{.data = {}, .meta = detail::read_meta(*query, 1, where)};
    blob.data.reserve(gsl::narrow<std::size_t>(std::min<std::int64_t>(blob.meta.size, 1LL << 30)));
    if (!query->isColumnNull(7)) {  // LEFT JOIN: an empty value has no chunk
      // Each chunk is read while the statement sits on its row: the blob
      // handle shares the statement's read transaction, so every chunk
      // comes from the snapshot the metadata came from.
      const std::int64_t id = query->getColumn(0).getInt64();
      detail::ChunkBlob chunk(lease->db().getHandle());
      std::int64_t seq = 0;
      do {
        const std::size_t n = chunk.seek(detail::check_chunk_rowid(*query, 7, id, seq, where));
        const std::size_t at = blob.data.size();
        // A damaged row must not make us allocate past the entry's size.
        if (gsl::narrow<std::int64_t>(at + n) > blob.meta.size) {
          detail::check_total(gsl::narrow<std::int64_t>(at + n), blob.meta.size, where);
        }
        blob.data.resize(at + n);
        const std::span<std::byte> bytes(blob.data.data() + at, n);
        chunk.read(bytes);
        detail::check_chunk_bytes(*query, 7, seq++, bytes, where);
      } while (query->executeStep());
    }
    detail::check_total(gsl::narrow<std::int64_t>(blob.data.size()), blob.meta.size, where);
    return blob;
  });
}

std::optional<Blob> SqliteStore::do_get(std::string_view ns, std::string_view key) {
  const Where where = impl_->where("get", ns, key);
  const std::string ns_text(ns);
  const std::string key_text(key);
  if (impl_->last_get_big.load(std::memory_order_relaxed)) {
    auto blob = impl_->get_mapped(ns_text, key_text, where);
    if (!blob || blob->meta.size < impl_->mapped_get_min_bytes) {
      impl_->last_get_big.store(false, std::memory_order_relaxed);
    }
    return blob;
  }
  bool big = false;
  {
    auto lease = impl_->lease(where);
    auto small = detail::translated(where, [&]() -> std::optional<Blob> {
      StatementUse query(*lease, Sql::get_entry_with_chunks);
      query->bindNoCopy(1, ns_text);
      query->bindNoCopy(2, key_text);
      query->bind(3, impl_->mapped_get_min_bytes);
      if (!query->executeStep()) return std::nullopt;
      // A big value came without its chunks (the statement's ON clause).
      big = query->getColumn(1).getInt64() >= impl_->mapped_get_min_bytes;
      if (big) return std::nullopt;
      Blob blob{.data = {}, .meta = detail::read_meta(*query, 1, where)};
      // A damaged size must not make us reserve absurd amounts up front.
      blob.data.reserve(
          gsl::narrow<std::size_t>(std::min<std::int64_t>(blob.meta.size, 1LL << 30)));
      if (!query->isColumnNull(7)) {  // LEFT JOIN: an empty value has no chunk
        const std::int64_t id = query->getColumn(0).getInt64();
        std::int64_t seq = 0;
        do {
          const BytesView chunk = detail::checked_chunk(*query, 7, id, seq++, where);
          blob.data.insert(blob.data.end(), chunk.begin(), chunk.end());
        } while (query->executeStep());
      }
      detail::check_total(gsl::narrow<std::int64_t>(blob.data.size()), blob.meta.size, where);
      return blob;
    });
    if (!big) return small;
  }  // the small lease goes back before the mapped one is taken
  impl_->last_get_big.store(true, std::memory_order_relaxed);
  if (const auto& hook = detail::after_size_probe()) hook();
  return impl_->get_mapped(ns_text, key_text, where);
}

Meta SqliteStore::do_put(std::string_view ns, std::string_view key, BytesView value,
                         const PutOptions& opts) {
  impl_->require_writable("put", ns, key);
  const Where where = impl_->where("put", ns, key);
  const PreparedValue prepared = prepare_value(value, opts, impl_->chunk_size(), where);
  auto lease = impl_->lease(where);
  return detail::translated(where, [&] {
    const std::string ns_text(ns);
    const std::string key_text(key);
    Transaction transaction(*lease, Transaction::Kind::write);
    Meta meta = make_meta(gsl::narrow<std::int64_t>(value.size()), prepared.etag, opts,
                          impl_->clock->now());
    write_entry(*lease, ns_text, key_text, prepared, meta, impl_->chunk_size(), where);
    transaction.commit();
    return meta;
  });
}

std::vector<Meta> SqliteStore::do_put_many(std::span<const PutRequest> batch) {
  impl_->require_writable("put_many", batch.front().ns, batch.front().key);
  std::vector<PreparedValue> prepared;
  prepared.reserve(batch.size());
  for (const PutRequest& request : batch) {
    prepared.push_back(
        prepare_value(request.value, request.options, impl_->chunk_size(),
                      impl_->where("put_many (nothing stored), at", request.ns, request.key)));
  }
  std::size_t current = 0;  // names the failing request in errors
  auto lease = impl_->lease(
      impl_->where("put_many (nothing stored), at", batch.front().ns, batch.front().key));
  errno = 0;  // see detail::translated
  try {
    Transaction transaction(*lease, Transaction::Kind::write);
    const TimePoint now = impl_->clock->now();
    std::vector<Meta> metas;
    metas.reserve(batch.size());
    for (; current < batch.size(); ++current) {
      const PutRequest& request = batch[current];
      metas.push_back(make_meta(gsl::narrow<std::int64_t>(request.value.size()),
                                prepared[current].etag, request.options, now));
      write_entry(*lease, std::string(request.ns), std::string(request.key), prepared[current],
                  metas.back(), impl_->chunk_size(),
                  impl_->where("put_many (nothing stored), at", request.ns, request.key));
    }
    current = batch.size() - 1;
    transaction.commit();
    return metas;
  } catch (const SQLite::Exception& e) {
    const int system_errno = errno;
    detail::throw_sqlite(
        impl_->where("put_many (nothing stored), at", batch[current].ns, batch[current].key), e,
        system_errno);
  }
}

std::unique_ptr<BlobReader> SqliteStore::do_open(std::string_view ns, std::string_view key) {
  const Where where = impl_->where("open", ns, key);
  auto lease = impl_->lease(where);
  return detail::translated(where, [&]() -> std::unique_ptr<BlobReader> {
    const std::string ns_text(ns);
    const std::string key_text(key);
    // The reader keeps this read transaction: its snapshot is the value.
    auto transaction = std::make_unique<Transaction>(*lease, Transaction::Kind::read);
    std::int64_t id = 0;
    Meta meta;
    {
      StatementUse find(*lease, Sql::find_entry);
      find->bindNoCopy(1, ns_text);
      find->bindNoCopy(2, key_text);
      if (!find->executeStep()) return nullptr;
      id = find->getColumn(0).getInt64();
      meta = detail::read_meta(*find, 1, where);
    }
    return std::make_unique<detail::SqliteBlobReader>(std::move(lease), std::move(transaction), id,
                                                      std::move(meta), impl_->options.path, ns_text,
                                                      key_text);
  });
}

Meta SqliteStore::do_put_stream(std::string_view ns, std::string_view key, std::istream& in,
                                const PutOptions& opts, std::stop_token stop) {
  impl_->require_writable("put_stream", ns, key);
  const Where where = impl_->where("put_stream", ns, key);
  impl_->reclaim_abandoned_staging();
  const Bytes encoded_metadata = detail::encode_metadata(opts.metadata);
  const std::string ns_text(ns);
  const std::string key_text(key);

  auto lease = impl_->lease(where);
  // The staging row (ns NULL) owns the chunks until publication swaps it in.
  const std::int64_t staging_id = detail::translated(where, [&] {
    const Meta placeholder = make_meta(0, {}, {}, impl_->clock->now());
    Transaction transaction(*lease, Transaction::Kind::write);
    const std::int64_t id = insert_entry(*lease, {}, detail::staging_owner(), placeholder, {});
    transaction.commit();
    return id;
  });
  try {
    detail::Sha256 hash;
    Bytes buffer(impl_->chunk_size());
    std::int64_t size = 0;
    const auto check_stop = [&] {
      if (stop.stop_requested()) {
        detail::throw_error(Errc::cancelled, detail::describe_where(where) + ": cancelled");
      }
    };
    for (std::int64_t seq = 0;; ++seq) {
      check_stop();
      const std::size_t n = detail::read_chunk(in, buffer, detail::describe_where(where));
      if (n == 0) break;
      const BytesView chunk(buffer.data(), n);
      hash.update(chunk);
      const std::int64_t checksum = detail::chunk_checksum(chunk, seq);
      // One short transaction per chunk: the write lock is never held
      // while the caller's stream is read.
      detail::translated(where, [&] {
        Transaction transaction(*lease, Transaction::Kind::write);
        insert_chunk(*lease, staging_id, seq, checksum, chunk, where);
        transaction.commit();
      });
      size += gsl::narrow<std::int64_t>(n);
      if (n < buffer.size()) break;
    }
    check_stop();
    const std::string etag = hash.finish_hex();
    return detail::translated(where, [&] {
      Transaction transaction(*lease, Transaction::Kind::write);
      Meta meta = make_meta(size, etag, opts, impl_->clock->now());
      delete_entry(*lease, ns_text, key_text);
      StatementUse publish(*lease, Sql::publish_entry);
      publish->bindNoCopy(1, ns_text);
      publish->bindNoCopy(2, key_text);
      detail::bind_meta(*publish, 3, meta, encoded_metadata);
      publish->bind(9, staging_id);
      if (publish->exec() != 1) {
        detail::throw_error(Errc::io, detail::describe_where(where) +
                                          ": the staged chunks were reclaimed by another process");
      }
      transaction.commit();
      return meta;
    });
  } catch (...) {
    impl_->discard_staging(staging_id);
    throw;
  }
}

void SqliteStore::do_erase(std::string_view ns, std::string_view key) {
  impl_->require_writable("erase", ns, key);
  const Where where = impl_->where("erase", ns, key);
  auto lease = impl_->lease(where);
  detail::translated(where, [&] {
    delete_entry(*lease, std::string(ns), std::string(key));  // one statement: its own transaction
  });
}

void SqliteStore::do_erase_namespace(std::string_view ns) {
  impl_->require_writable("erase_namespace", ns, {});
  const Where where = impl_->where("erase_namespace", ns);
  auto lease = impl_->lease(where);
  detail::translated(where, [&] {
    const std::string ns_text(ns);
    StatementUse erase(*lease, Sql::erase_namespace);
    erase->bindNoCopy(1, ns_text);
    erase->exec();
  });
}

std::vector<Object> SqliteStore::do_list(std::string_view ns) {
  const Where where = impl_->where("list", ns);
  auto lease = impl_->lease(where);
  return detail::translated(where, [&] {
    const std::string ns_text(ns);
    StatementUse query(*lease, Sql::list_entries);
    query->bindNoCopy(1, ns_text);
    std::vector<Object> objects;
    while (query->executeStep()) {
      std::string key = query->getColumn(0).getString();
      Meta meta = detail::read_meta(*query, 1, where);
      objects.push_back({std::move(key), std::move(meta)});
    }
    return objects;
  });
}

std::size_t SqliteStore::do_erase_expired(std::string_view ns, TimePoint now, Duration ttl) {
  impl_->require_writable("erase_expired", ns, {});
  const Where where = impl_->where("erase_expired", ns);
  auto lease = impl_->lease(where);
  return detail::translated(where, [&] {
    const std::string ns_text(ns);
    const std::int64_t now_nanos = detail::to_nanos(now);
    const bool by_age = ttl > Duration::zero();
    StatementUse erase(*lease,
                       by_age ? Sql::erase_expired_by_expiry_or_age : Sql::erase_expired_by_expiry);
    erase->bindNoCopy(1, ns_text);
    erase->bind(2, now_nanos);
    if (by_age) erase->bind(3, age_cutoff(now_nanos, ttl));
    // changes() counts the entries only, not the chunks the trigger deletes.
    return gsl::narrow<std::size_t>(erase->exec());
  });
}

std::vector<NamespaceInfo> SqliteStore::do_namespaces() {
  const Where where = impl_->where("namespaces");
  auto lease = impl_->lease(where);
  return detail::translated(where, [&] {
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

Info SqliteStore::do_describe() const {
  return Info{.backend = "sqlite",
              .root = impl_->options.path.string(),
              .supports_list = true,
              .supports_stream = true,
              .supports_delete_namespace = true};
}

void SqliteStore::do_check() {
  const Where where = impl_->where("check");
  auto lease = impl_->lease(where);
  detail::translated(where, [&] {
    const std::string problems = detail::quick_check(*lease);
    if (!problems.empty())
      detail::throw_error(Errc::corrupt, detail::describe_where(where) + ": " + problems);
    if (impl_->options.read_only) return;
    if (detail::place_is_read_only(impl_->options.path)) {
      detail::throw_error(Errc::read_only,
                          detail::describe_where(where) + ": the file is not writable");
    }
    // Taking the write lock proves the -wal and -shm can be written; the
    // transaction writes nothing and is rolled back.
    const Transaction probe(*lease, Transaction::Kind::write);
  });
}

}  // namespace blobcache
