#include "sqlite/writer.hpp"

#include <algorithm>
#include <exception>
#include <gsl/gsl>
#include <limits>
#include <memory>
#include <optional>
#include <sqlite3.h>
#include <string>
#include <type_traits>
#include <utility>

#include "errors.hpp"
#include "sha256.hpp"
#include "sqlite/eviction.hpp"
#include "sqlite/files.hpp"
#include "sqlite/metadata_codec.hpp"
#include "sqlite/rows.hpp"
#include "sqlite/schema.hpp"
#include "sqlite/staging.hpp"
#include "sqlite/usage.hpp"
#include "stream_read.hpp"

namespace blobcache::detail {
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
  if (chunks > 0) chunk_rowid(0, gsl::narrow<std::int64_t>(chunks - 1), where);
  PreparedValue prepared{.bytes = bytes,
                         .etag = Sha256::hex_of(bytes),
                         .encoded_metadata = encode_metadata(opts.metadata),
                         .checksums = {}};
  prepared.checksums.reserve(chunks);
  for (std::size_t offset = 0, seq = 0; offset < bytes.size(); offset += chunk_size, ++seq) {
    const auto chunk = bytes.subspan(offset, std::min(chunk_size, bytes.size() - offset));
    prepared.checksums.push_back(chunk_checksum(chunk, gsl::narrow<std::int64_t>(seq)));
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

void insert_chunk(Connection& connection, std::int64_t entry_id, std::int64_t seq,
                  std::int64_t checksum, BytesView data, const Where& where,
                  Sql statement = Sql::insert_chunk) {
  StatementUse insert(connection, statement);
  insert->bind(1, chunk_rowid(entry_id, seq, where));
  insert->bind(2, checksum);
  insert->bindNoCopy(3, data.data(), gsl::narrow<int>(data.size()));
  insert->exec();
}

void bind_optional(SQLite::Statement& statement, int index, std::optional<std::int64_t> value) {
  if (value) {
    statement.bind(index, *value);
  } else {
    statement.bind(index);
  }
}

std::optional<std::int64_t> expiry_of(const Meta& meta) {
  if (!meta.expires_at) return std::nullopt;
  return to_nanos(*meta.expires_at);
}

// Inserts an entry row and counts it; `ns` empty makes it a staging row
// owned by `key`, which counts nowhere until published.
std::int64_t insert_entry(WriteContext& context, std::string_view ns, std::string_view key,
                          const Meta& meta, const Bytes& encoded_metadata) {
  StatementUse insert(context.connection, Sql::insert_entry);
  if (ns.empty()) {
    insert->bind(1);  // NULL: staged, invisible
  } else {
    bind_text(*insert, 1, ns);
  }
  bind_text(*insert, 2, key);
  bind_meta(*insert, 3, meta, encoded_metadata);
  bind_optional(*insert, 9, ns.empty() ? std::nullopt : context.used_at());
  insert->exec();
  const std::int64_t id = context.connection.db().getLastInsertRowid();
  if (!ns.empty()) {
    context.usage.added(ns, meta.size, expiry_of(meta));
    context.written.push_back(id);
    context.changed(ns, key);
  }
  return id;
}

// Deletes the staged row `id` of `owner` (its chunks go with it), if it is
// still one: another store may have reclaimed it, and SQLite may have
// given its id to a new entry since.
void delete_staged(Connection& connection, std::int64_t id, std::string_view owner) {
  StatementUse erase(connection, Sql::delete_staged);
  erase->bind(1, id);
  bind_text(*erase, 2, owner);
  erase->exec();
}

// The entry a put replaces, as its row says.
struct Existing {
  std::int64_t id = 0;
  std::int64_t size = 0;
  bool expiring = false;
  std::string etag;
};

std::optional<Existing> find_existing(WriteContext& context, std::string_view ns,
                                      std::string_view key) {
  StatementUse find(context.connection, Sql::find_entry);
  bind_text(*find, 1, ns);
  bind_text(*find, 2, key);
  if (!find->executeStep()) return std::nullopt;
  return Existing{.id = find->getColumn(0).getInt64(),
                  .size = find->getColumn(1).getInt64(),
                  .expiring = !find->isColumnNull(3),
                  .etag = find->getColumn(4).getString()};
}

// Deletes the entry `existing` of ns/key, as find_existing read it, and
// uncounts it; its chunks go with it (the trigger).
void delete_entry(WriteContext& context, std::string_view ns, std::string_view key,
                  const Existing& existing) {
  StatementUse erase(context.connection, Sql::delete_entry_by_id);
  erase->bind(1, existing.id);
  if (erase->exec() == 0) return;
  context.usage.removed(ns, existing.size, existing.expiring);
  context.changed(ns, key);
}

// The same for ns/key, if it is stored.
void delete_entry(WriteContext& context, std::string_view ns, std::string_view key) {
  if (const std::optional<Existing> existing = find_existing(context, ns, key)) {
    delete_entry(context, ns, key, *existing);
  }
}

// Throws Error(Errc::precondition_failed) naming `where` unless the entry's
// current etag is what `opts.if_match` asks for.
void check_condition(const std::optional<Existing>& existing, const PutOptions& opts,
                     const Where& where) {
  if (!opts.if_match) return;
  const std::optional<std::string> current =
      existing ? std::optional<std::string>(existing->etag) : std::nullopt;
  const std::string& wanted = *opts.if_match;
  if (wanted.empty() ? !current.has_value() : current == wanted) return;
  std::string why;
  if (wanted.empty()) {
    why = "an entry exists (if_match \"\" asks for none)";
  } else if (!current) {
    why = "no entry exists (if_match names etag " + wanted + ")";
  } else {
    why = "its etag is " + *current + ", not " + wanted;
  }
  throw_error(Errc::precondition_failed, describe_where(where) + ": " + why + "; nothing written");
}

// Updates the row of an entry being replaced with `meta`, in place.
void replace_entry(WriteContext& context, std::string_view ns, std::string_view key,
                   const Existing& existing, const Meta& meta, const Bytes& encoded_metadata) {
  StatementUse update(context.connection, Sql::replace_entry);
  update->bind(1, existing.id);
  bind_meta(*update, 2, meta, encoded_metadata);
  bind_optional(*update, 8, context.used_at());
  update->exec();
  context.usage.removed(ns, existing.size, existing.expiring);
  context.usage.added(ns, meta.size, expiry_of(meta));
  context.written.push_back(existing.id);
  context.changed(ns, key);
}

// REQUIRES: a write transaction (context).
void write_entry(WriteContext& context, std::string_view ns, std::string_view key,
                 const PreparedValue& value, const Meta& meta, std::size_t chunk_size,
                 const PutOptions& opts, const Where& where) {
  std::optional<Existing> existing = find_existing(context, ns, key);
  check_condition(existing, opts, where);
  if (existing && orders_by_row(context.limits)) {
    // least_recently_stored evicts by rowid: the new value takes a new,
    // last row (a delete and an insert, where a replace in place is cheaper).
    delete_entry(context, ns, key, *existing);
    existing.reset();
  }
  std::int64_t id = 0;
  if (existing) {
    // Same id: the chunk rowids are the same, so each new chunk replaces
    // the old one of its seq, and what a shorter value leaves goes.
    id = existing->id;
    replace_entry(context, ns, key, *existing, meta, value.encoded_metadata);
    StatementUse trim(context.connection, Sql::delete_chunks_from);
    trim->bind(1, id);
    trim->bind(2, gsl::narrow<std::int64_t>(value.checksums.size()));
    trim->exec();
  } else {
    id = insert_entry(context, ns, key, meta, value.encoded_metadata);
  }
  for (std::size_t seq = 0; seq < value.checksums.size(); ++seq) {
    const std::size_t offset = seq * chunk_size;
    insert_chunk(context.connection, id, gsl::narrow<std::int64_t>(seq), value.checksums[seq],
                 value.bytes.subspan(offset, std::min(chunk_size, value.bytes.size() - offset)),
                 where, existing ? Sql::replace_chunk : Sql::insert_chunk);
  }
}

// Throws Error(Errc::too_large) naming `where` when `size` bytes can never
// fit the store's byte limit (checked before anything is evicted).
void require_fits_alone(std::int64_t size, const Limits& limits, const Where& where) {
  if (limits.max_bytes > 0 && size > limits.max_bytes) {
    throw_error(Errc::too_large, describe_where(where) + ": " + std::to_string(size) +
                                     " bytes exceed the store's limit of " +
                                     std::to_string(limits.max_bytes) + " (Limits::max_bytes)");
  }
}

// now - ttl, clamped: an instant before every representable updated_at
// when the subtraction would overflow.
std::int64_t age_cutoff(std::int64_t now, Duration ttl) noexcept {
  const std::int64_t span = ttl.count();
  if (now < std::numeric_limits<std::int64_t>::min() + span) {
    return std::numeric_limits<std::int64_t>::min();
  }
  return now - span;
}

// Logs a transaction's changes in the ChangeLog for its lifetime: `begin`
// and the changes when made, `end` when destroyed (after the commit, or the
// rollback an exception brings).
class LoggedTransaction {
 public:
  LoggedTransaction(ChangeLog* log, std::span<const Change> changes) noexcept
      : log_(changes.empty() ? nullptr : log),
        id_(log_ ? log_->begin(changes) : 0),
        changes_(changes.size()) {}
  ~LoggedTransaction() {
    if (log_) log_->end(id_);
  }
  LoggedTransaction(const LoggedTransaction&) = delete;
  LoggedTransaction& operator=(const LoggedTransaction&) = delete;

  // The sequence number of its last change (begin() appends them all at
  // once), or 0 when nothing was logged.
  std::uint64_t last_change() const noexcept { return id_ == 0 ? 0 : id_ + changes_; }

 private:
  ChangeLog* log_;
  std::uint64_t id_;
  std::uint64_t changes_;
};

template <typename WhereOf>
Where where_now(const WhereOf& where) {
  if constexpr (std::is_invocable_v<WhereOf>) {
    return where();
  } else {
    return where;
  }
}

// Adds the reads counted in memory to the usage rows and, for
// least_recently_used, moves the entries read later in the eviction order.
void apply_tallies(WriteContext& context, const Tallies::Pending& pending) {
  for (const auto& [ns, reads] : pending.reads) context.usage.read(ns, reads.hits, reads.misses);
  if (!orders_by_use(context.limits)) return;  // accesses matter only to that order
  for (const auto& [entry, nanos] : pending.accesses) {
    StatementUse touch(context.connection, Sql::touch_entry);
    bind_text(*touch, 1, entry.first);
    bind_text(*touch, 2, entry.second);
    touch->bind(3, nanos);
    touch->exec();
  }
}

}  // namespace

template <typename WhereOf, typename Body>
auto Writer::transact(const WhereOf& where, Body&& body, Accesses accesses) {
  db_->require_writable(where_now(where));
  auto lease = db_->lease(where_now(where));
  Tallies::Pending counted;
  bool took = false;
  try {
    return translated(where, [&] {
      Transaction transaction(*lease, Transaction::Kind::write);
      WriteContext context{.connection = *lease,
                           .limits = read_limits(*lease, where_now(where)),
                           .now = db_->write_stamp(),
                           .usage = {},
                           .totals_found = {},
                           .written = {}};
      db_->remember_limits(context.limits);
      const auto take_tallies = [&](Tallies::Take what) {
        counted = db_->take_reads(what);
        took = true;
        apply_tallies(context, counted);
      };
      if (accesses == Accesses::first) take_tallies(Tallies::Take::reads_and_accesses);
      const auto finish = [&] {
        if (!took) {
          // Accesses move entries in the eviction order only: a transaction
          // that evicts nothing leaves them to the flushes, which write the
          // accesses of many transactions in one (docs/design.md).
          const bool evicts = bounded(context.limits) && !fits(context, fit_of(context.limits));
          take_tallies(evicts ? Tallies::Take::reads_and_accesses : Tallies::Take::reads);
        }
        if (bounded(context.limits)) {
          if (evict_to_fit(context, fit_of(context.limits)) == Eviction::stuck) {
            throw_error(Errc::too_large,
                        describe_where(where_now(where)) +
                            ": what it writes does not fit the store's limits (" +
                            std::to_string(context.limits.max_entries) + " entries, " +
                            std::to_string(context.limits.max_bytes) +
                            " bytes) even with everything else evicted; nothing stored");
          }
        }
        // Before apply(): fits() adds the transaction's changes to the file's totals.
        const bool trim = bounded(context.limits) &&
                          !fits(context, fit_of(context.limits, db_->tuning().trim_high));
        context.usage.apply(context.connection);
        context.totals_found.reset();  // written just now
        std::uint64_t logged_through = 0;
        {
          // Logged before the commit, ended after it (change_log.hpp).
          const LoggedTransaction logged(db_->change_log(), context.changes);
          transaction.commit();
          logged_through = logged.last_change();
        }
        keep_written(context.written_values, logged_through);
        if (trim) {
          db_->trim_wanted().store(true, std::memory_order_relaxed);
          if (Maintenance* thread = db_->maintenance()) thread->request_duty(true);
        }
      };
      if constexpr (std::is_void_v<decltype(body(context))>) {
        body(context);
        finish();
      } else {
        auto result = body(context);
        finish();
        return result;
      }
    });
  } catch (...) {
    if (took) db_->tallies().give_back(std::move(counted));
    throw;
  }
}

Meta Writer::put(std::string_view ns, std::string_view key, BytesView value,
                 const PutOptions& opts) {
  const Where where = db_->where("put", ns, key);
  db_->require_writable(where);
  require_fits_alone(gsl::narrow<std::int64_t>(value.size()), db_->known_limits(), where);
  const std::size_t chunk_size = db_->tuning().chunk_size;
  const PreparedValue prepared = prepare_value(value, opts, chunk_size, where);
  std::optional<Meta> meta;
  GroupCommit::Job job{
      .write =
          [&](WriteContext& context) {
            require_fits_alone(gsl::narrow<std::int64_t>(value.size()), context.limits, where);
            meta = make_meta(gsl::narrow<std::int64_t>(value.size()), prepared.etag, opts,
                             from_nanos(context.now));
            write_entry(context, ns, key, prepared, *meta, chunk_size, opts, where);
            context.wrote(ns, key, value, *meta);
          },
      .where = where,
      .bytes = value.size()};
  group_commit_.run(job, [this](std::span<GroupCommit::Job* const> batch) { commit_batch(batch); });
  return std::move(meta).value();
}

void Writer::keep_written(std::span<WriteContext::Written> written,
                          std::uint64_t logged_through) noexcept {
  MemoryTier* tier = db_->memory_tier();
  if (tier == nullptr || logged_through == 0) return;
  try {
    for (WriteContext::Written& entry : written) {
      const std::uint64_t hash = key_hash(entry.ns, entry.key);
      if (!entry.value) {
        tier->insert(entry.ns, entry.key, hash, nullptr, logged_through);
      } else if (entry.value->size() <= tier->max_value()) {
        auto blob = std::make_shared<const Blob>(
            Blob{.data = Bytes(entry.value->begin(), entry.value->end()),
                 .meta = std::move(entry.meta)});
        tier->insert(entry.ns, entry.key, hash, std::move(blob), logged_through);
      }
    }
  } catch (const std::exception&) {
    // Nothing kept is no harm (memory, a lock): the next get reads the file.
  }
}

void Writer::commit_batch(std::span<GroupCommit::Job* const> batch) noexcept {
  const auto alone = [this](GroupCommit::Job& job) {
    try {
      transact(job.where, job.write);
      job.error = nullptr;
    } catch (...) {
      job.error = std::current_exception();
    }
  };
  if (db_->probes().before_batch) db_->probes().before_batch(batch.size());
  if (batch.size() == 1) {
    alone(*batch.front());
    return;
  }
  try {
    transact(batch.front()->where, [&](WriteContext& context) {
      SQLite::Database& connection = context.connection.db();
      for (GroupCommit::Job* job : batch) {
        const UsageDelta usage = context.usage;
        const std::size_t written = context.written.size();
        const std::size_t changes = context.changes.size();
        const std::size_t values = context.written_values.size();
        connection.exec("SAVEPOINT group_put");
        try {
          translated(job->where, [&] { job->write(context); });
          connection.exec("RELEASE group_put");
          job->error = nullptr;
        } catch (const Error&) {
          // SQLite rolled the whole transaction back (some I/O errors do):
          // the batch runs again, one put at a time.
          if (sqlite3_get_autocommit(connection.getHandle()) != 0) throw;
          connection.exec("ROLLBACK TO group_put; RELEASE group_put");
          context.usage = usage;
          context.written.resize(written);
          context.changes.resize(changes);
          context.written_values.resize(values);
          job->error = std::current_exception();
        }
      }
    });
    for (const GroupCommit::Job* job : batch) {
      if (!job->error) db_->probes().grouped_puts.fetch_add(1, std::memory_order_relaxed);
    }
  } catch (...) {
    for (GroupCommit::Job* job : batch) alone(*job);
  }
}

std::vector<Meta> Writer::put_many(std::span<const PutRequest> batch) {
  constexpr std::string_view kOperation = "put_many (nothing stored), at";
  db_->require_writable(db_->where(kOperation, batch.front().ns, batch.front().key));
  const std::size_t chunk_size = db_->tuning().chunk_size;
  std::vector<PreparedValue> prepared;
  prepared.reserve(batch.size());
  for (const PutRequest& request : batch) {
    const Where at = db_->where(kOperation, request.ns, request.key);
    require_fits_alone(gsl::narrow<std::int64_t>(request.value.size()), db_->known_limits(), at);
    prepared.push_back(prepare_value(request.value, request.options, chunk_size, at));
  }
  std::size_t current = 0;  // names the failing request in errors
  const auto where = [&] {
    const PutRequest& request = batch[std::min(current, batch.size() - 1)];
    return db_->where(kOperation, request.ns, request.key);
  };
  return transact(where, [&](WriteContext& context) {
    std::vector<Meta> metas;
    metas.reserve(batch.size());
    for (; current < batch.size(); ++current) {
      const PutRequest& request = batch[current];
      const auto size = gsl::narrow<std::int64_t>(request.value.size());
      require_fits_alone(size, context.limits, where());
      metas.push_back(
          make_meta(size, prepared[current].etag, request.options, from_nanos(context.now)));
      write_entry(context, request.ns, request.key, prepared[current], metas.back(), chunk_size,
                  request.options, where());
      context.wrote(request.ns, request.key, request.value, metas.back());
    }
    current = batch.size() - 1;  // a failure at commit names the last request
    return metas;
  });
}

Meta Writer::put_stream(std::string_view ns, std::string_view key, std::istream& in,
                        const PutOptions& opts, const std::stop_token& stop) {
  const Where where = db_->where("put_stream", ns, key);
  db_->require_writable(where);
  reclaim_abandoned_staging();
  const Bytes encoded_metadata = encode_metadata(opts.metadata);
  const std::string owner = staging_owner();
  // The staging row (ns NULL) owns the chunks until publication swaps it in.
  const std::int64_t staging_id = transact(where, [&](WriteContext& context) {
    return insert_entry(context, {}, owner, make_meta(0, {}, {}, from_nanos(context.now)), {});
  });
  try {
    Sha256 hash;
    Bytes buffer(db_->tuning().chunk_size);
    std::int64_t size = 0;
    const Limits known = db_->known_limits();
    const auto check_stop = [&] {
      if (stop.stop_requested())
        throw_error(Errc::cancelled, describe_where(where) + ": cancelled");
    };
    for (std::int64_t seq = 0;; ++seq) {
      check_stop();
      const std::size_t n = read_chunk(in, buffer, describe_where(where));
      if (n == 0) break;
      const BytesView chunk(buffer.data(), n);
      hash.update(chunk);
      const std::int64_t checksum = chunk_checksum(chunk, seq);
      size += gsl::narrow<std::int64_t>(n);
      // Stops as soon as the stream is known to be too big for the store.
      require_fits_alone(size, known, where);
      // One short transaction per chunk: the write lock is never held
      // while the caller's stream is read.
      transact(where, [&](WriteContext& context) {
        insert_chunk(context.connection, staging_id, seq, checksum, chunk, where);
      });
      if (n < buffer.size()) break;
    }
    check_stop();
    const std::string etag = hash.finish_hex();
    return transact(where, [&](WriteContext& context) {
      require_fits_alone(size, context.limits, where);
      check_condition(find_existing(context, ns, key), opts, where);
      Meta meta = make_meta(size, etag, opts, from_nanos(context.now));
      delete_entry(context, ns, key);
      StatementUse publish(context.connection, Sql::publish_entry);
      bind_text(*publish, 1, ns);
      bind_text(*publish, 2, key);
      bind_meta(*publish, 3, meta, encoded_metadata);
      publish->bind(9, staging_id);
      bind_optional(*publish, 10, context.used_at());
      if (publish->exec() != 1) {
        throw_error(Errc::io, describe_where(where) +
                                  ": the staged chunks were reclaimed by another process");
      }
      context.usage.added(ns, size, expiry_of(meta));
      context.written.push_back(staging_id);
      context.changed(ns, key);
      return meta;
    });
  } catch (...) {
    discard_staging(staging_id, owner);
    throw;
  }
}

void Writer::erase(std::string_view ns, std::string_view key) {
  transact(db_->where("erase", ns, key), [&](WriteContext& context) {
    delete_entry(context, ns, key);
    context.erased(ns, key);
  });
}

void Writer::erase_namespace(std::string_view ns) {
  transact(db_->where("erase_namespace", ns), [&](WriteContext& context) {
    // The namespace's usage row says what goes: no count of the entries.
    const UsageRow gone = read_usage(context.connection, ns);
    StatementUse erase(context.connection, Sql::erase_namespace);
    bind_text(*erase, 1, ns);
    erase->exec();
    context.usage.cleared(ns, gone.entries, gone.bytes, gone.expiring);
    context.changed_namespace(ns);
  });
}

std::size_t Writer::erase_expired(std::string_view ns, TimePoint now, Duration ttl) {
  return transact(db_->where("erase_expired", ns), [&](WriteContext& context) {
    const std::int64_t now_nanos = to_nanos(now);
    const bool by_age = ttl > Duration::zero();
    StatementUse erase(context.connection,
                       by_age ? Sql::erase_expired_by_expiry_or_age : Sql::erase_expired_by_expiry);
    bind_text(*erase, 1, ns);
    erase->bind(2, now_nanos);
    if (by_age) erase->bind(3, age_cutoff(now_nanos, ttl));
    std::size_t erased = 0;
    while (erase->executeStep()) {  // RETURNING: each deleted entry
      context.usage.removed(ns, erase->getColumn(0).getInt64(), !erase->isColumnNull(1));
      ++erased;
    }
    if (erased > 0) {
      context.usage.expired(ns, erased);
      context.changed_namespace(ns);
    }
    return erased;
  });
}

void Writer::set_limits(const Limits& limits) {
  const Where where = db_->where("set_limits");
  validate_limits(limits, db_->tuning().page_size, where);
  transact(where, [&](WriteContext& context) {
    // Only least_recently_used keeps an order in used_at: it starts from
    // the put order; least_recently_stored's is the rowid's.
    if (orders_by_use(limits) && !orders_by_use(context.limits)) {
      StatementUse stamp(context.connection, Sql::stamp_eviction_order);
      stamp->exec();
    } else if (orders_by_row(limits) && !orders_by_row(context.limits)) {
      StatementUse clear(context.connection, Sql::clear_eviction_order);
      clear->exec();
    }
    write_limits(context.connection, limits);
    context.limits = limits;  // the duties evict to the new bounds
  });
  db_->remember_limits(limits);
}

void Writer::reset_stats() {
  transact(db_->where("reset_stats"), [&](WriteContext& context) {
    // What this process counted before the reset goes too.
    db_->tallies().forget_reads();
    reset_counters(context.connection);
  });
}

bool Writer::try_acquire_lease(std::string_view ns, std::string_view key, std::string_view owner,
                               Duration ttl) {
  return transact(db_->where("try_acquire_lease", ns, key), [&](WriteContext& context) {
    StatementUse cleanup(context.connection, Sql::lease_cleanup);
    cleanup->bind(1, context.now);
    cleanup->exec();
    StatementUse acquire(context.connection, Sql::lease_acquire);
    bind_text(*acquire, 1, ns);
    bind_text(*acquire, 2, key);
    bind_text(*acquire, 3, owner);
    acquire->bind(4, add_saturating(context.now, ttl));
    acquire->bind(5, context.now);
    return acquire->exec() == 1;
  });
}

void Writer::release_lease(std::string_view ns, std::string_view key, std::string_view owner) {
  transact(db_->where("release_lease", ns, key), [&](WriteContext& context) {
    StatementUse release(context.connection, Sql::lease_release);
    bind_text(*release, 1, ns);
    bind_text(*release, 2, key);
    bind_text(*release, 3, owner);
    release->exec();
  });
}

SqliteStore::TrimReport Writer::trim_to_low_watermark(std::string_view operation) {
  SqliteStore::TrimReport report;
  const Where where = db_->where(operation);
  // One transaction for the counts, the expired leases and a first batch of
  // evictions; more batches while the store is above the low watermark.
  for (;;) {
    Eviction outcome = Eviction::fitted;
    transact(
        where,
        [&](WriteContext& context) {
          StatementUse cleanup(context.connection, Sql::lease_cleanup);
          cleanup->bind(1, context.now);
          cleanup->exec();
          if (!bounded(context.limits)) return;
          const std::int64_t entries = context.usage.entries();
          const std::int64_t bytes = context.usage.bytes();
          outcome = evict_to_fit(context, fit_of(context.limits, db_->tuning().trim_low),
                                 db_->tuning().trim_batch);
          report.entries += entries - context.usage.entries();
          report.bytes += bytes - context.usage.bytes();
        },
        Accesses::first);
    if (outcome != Eviction::paused) return report;
  }
}

void Writer::maintain() {
  if (db_->trim_wanted().exchange(false, std::memory_order_relaxed)) {
    trim_to_low_watermark("maintenance");
  } else if (db_->reads_pending()) {
    flush_tallies();
  }
}

SqliteStore::TrimReport Writer::trim() { return trim_to_low_watermark("trim"); }

SqliteStore::CompactReport Writer::compact() {
  const Where where = db_->where("compact");
  db_->require_writable(where);
  SqliteStore::CompactReport report{.bytes_before = file_bytes(db_->options().path)};
  flush_tallies();
  auto lease = db_->lease(where);
  translated(where, [&] {
    auto& db = lease->db();
    if (db.execAndGet("PRAGMA auto_vacuum").getInt() == kIncrementalVacuum) {
      // Moves the pages past the free ones into them: O(free pages).
      db.exec("PRAGMA incremental_vacuum");
    } else {
      // A file made before blobcache chose incremental auto_vacuum: the one
      // VACUUM that reclaims its pages also converts it. VACUUM keeps
      // INTEGER PRIMARY KEY values, so chunk rowids stay valid.
      // VACUUM builds the new file as a temporary database: on disk, not in
      // this connection's memory (temp_store, connection.cpp).
      db.exec("PRAGMA temp_store = FILE");
      const auto in_memory_again = gsl::finally([&db]() noexcept {
        try {
          db.exec("PRAGMA temp_store = MEMORY");
        } catch (...) {  // NOLINT(bugprone-empty-catch): only the batches' speed is at stake
        }
      });
      db.exec("PRAGMA auto_vacuum = " + std::to_string(kIncrementalVacuum));
      db.exec("VACUUM");
    }
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  });
  report.bytes_after = file_bytes(db_->options().path);
  return report;
}

void Writer::flush_tallies() noexcept {
  try {
    if (db_->options().read_only || !db_->reads_pending()) return;
    transact(
        db_->where("write the counts of reads"), [](WriteContext&) {}, Accesses::first);
  } catch (...) {  // NOLINT(bugprone-empty-catch): what reads counted is lost, nothing else
  }
}

void Writer::reclaim_abandoned_staging() noexcept {
  try {
    const Where where = db_->where("reclaim staged put_streams");
    std::vector<std::pair<std::int64_t, std::string>> abandoned;  // id, owner
    {
      auto lease = db_->lease(where);
      translated(where, [&] {
        StatementUse staged(*lease, Sql::staged_entries);
        while (staged->executeStep()) {
          std::string owner = staged->getColumn(1).getString();
          if (staging_owner_gone(owner)) {
            abandoned.emplace_back(staged->getColumn(0).getInt64(), std::move(owner));
          }
        }
      });
    }
    if (abandoned.empty()) return;
    if (const auto& hook = db_->probes().after_staging_listed) hook();
    transact(where, [&](WriteContext& context) {
      for (const auto& [id, owner] : abandoned) delete_staged(context.connection, id, owner);
    });
  } catch (...) {  // NOLINT(bugprone-empty-catch): retried by the next open or put_stream
  }
}

void Writer::discard_staging(std::int64_t staging_id, std::string_view owner) noexcept {
  try {
    transact(db_->where("discard a staged put_stream"),
             [&](WriteContext& context) { delete_staged(context.connection, staging_id, owner); });
  } catch (...) {  // NOLINT(bugprone-empty-catch): reclaimed once this process is gone
  }
}

}  // namespace blobcache::detail
