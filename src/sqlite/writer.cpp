#include "sqlite/writer.hpp"

#include <algorithm>
#include <gsl/gsl>
#include <limits>
#include <string>
#include <type_traits>

#include "errors.hpp"
#include "sha256.hpp"
#include "sqlite/metadata_codec.hpp"
#include "sqlite/rows.hpp"
#include "sqlite/staging.hpp"
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
                  std::int64_t checksum, BytesView data, const Where& where) {
  StatementUse insert(connection, Sql::insert_chunk);
  insert->bind(1, chunk_rowid(entry_id, seq, where));
  insert->bind(2, checksum);
  insert->bindNoCopy(3, data.data(), gsl::narrow<int>(data.size()));
  insert->exec();
}

// Inserts an entry row; `ns` empty makes it a staging row owned by `key`.
std::int64_t insert_entry(Connection& connection, std::string_view ns, std::string_view key,
                          const Meta& meta, const Bytes& encoded_metadata) {
  StatementUse insert(connection, Sql::insert_entry);
  if (ns.empty()) {
    insert->bind(1);  // NULL: staged, invisible
  } else {
    bind_text(*insert, 1, ns);
  }
  bind_text(*insert, 2, key);
  bind_meta(*insert, 3, meta, encoded_metadata);
  insert->exec();
  return connection.db().getLastInsertRowid();
}

void delete_entry(Connection& connection, std::string_view ns, std::string_view key) {
  StatementUse erase(connection, Sql::delete_entry);
  bind_text(*erase, 1, ns);
  bind_text(*erase, 2, key);
  erase->exec();
}

void delete_entry_by_id(Connection& connection, std::int64_t id) {
  StatementUse erase(connection, Sql::delete_entry_by_id);
  erase->bind(1, id);
  erase->exec();
}

// REQUIRES: a write transaction on `connection`.
void write_entry(Connection& connection, std::string_view ns, std::string_view key,
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
  if (now < std::numeric_limits<std::int64_t>::min() + span) {
    return std::numeric_limits<std::int64_t>::min();
  }
  return now - span;
}

template <typename WhereOf>
Where where_now(const WhereOf& where) {
  if constexpr (std::is_invocable_v<WhereOf>) {
    return where();
  } else {
    return where;
  }
}

}  // namespace

template <typename WhereOf, typename Body>
auto Writer::transact(const WhereOf& where, Body&& body) {
  db_->require_writable(where_now(where));
  auto lease = db_->lease(where_now(where));
  return translated(where, [&] {
    Transaction transaction(*lease, Transaction::Kind::write);
    if constexpr (std::is_void_v<decltype(body(*lease))>) {
      body(*lease);
      transaction.commit();
    } else {
      auto result = body(*lease);
      transaction.commit();
      return result;
    }
  });
}

Meta Writer::put(std::string_view ns, std::string_view key, BytesView value,
                 const PutOptions& opts) {
  const Where where = db_->where("put", ns, key);
  db_->require_writable(where);
  const std::size_t chunk_size = db_->tuning().chunk_size;
  const PreparedValue prepared = prepare_value(value, opts, chunk_size, where);
  return transact(where, [&](Connection& connection) {
    Meta meta = make_meta(gsl::narrow<std::int64_t>(value.size()), prepared.etag, opts, db_->now());
    write_entry(connection, ns, key, prepared, meta, chunk_size, where);
    return meta;
  });
}

std::vector<Meta> Writer::put_many(std::span<const PutRequest> batch) {
  constexpr std::string_view kOperation = "put_many (nothing stored), at";
  db_->require_writable(db_->where(kOperation, batch.front().ns, batch.front().key));
  const std::size_t chunk_size = db_->tuning().chunk_size;
  std::vector<PreparedValue> prepared;
  prepared.reserve(batch.size());
  for (const PutRequest& request : batch) {
    prepared.push_back(prepare_value(request.value, request.options, chunk_size,
                                     db_->where(kOperation, request.ns, request.key)));
  }
  std::size_t current = 0;  // names the failing request in errors
  const auto where = [&] {
    const PutRequest& request = batch[std::min(current, batch.size() - 1)];
    return db_->where(kOperation, request.ns, request.key);
  };
  return transact(where, [&](Connection& connection) {
    const TimePoint now = db_->now();
    std::vector<Meta> metas;
    metas.reserve(batch.size());
    for (; current < batch.size(); ++current) {
      const PutRequest& request = batch[current];
      metas.push_back(make_meta(gsl::narrow<std::int64_t>(request.value.size()),
                                prepared[current].etag, request.options, now));
      write_entry(connection, request.ns, request.key, prepared[current], metas.back(), chunk_size,
                  where());
    }
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
  const std::int64_t staging_id = transact(where, [&](Connection& connection) {
    return insert_entry(connection, {}, owner, make_meta(0, {}, {}, db_->now()), {});
  });
  try {
    Sha256 hash;
    Bytes buffer(db_->tuning().chunk_size);
    std::int64_t size = 0;
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
      // One short transaction per chunk: the write lock is never held
      // while the caller's stream is read.
      transact(where, [&](Connection& connection) {
        insert_chunk(connection, staging_id, seq, checksum, chunk, where);
      });
      size += gsl::narrow<std::int64_t>(n);
      if (n < buffer.size()) break;
    }
    check_stop();
    const std::string etag = hash.finish_hex();
    return transact(where, [&](Connection& connection) {
      Meta meta = make_meta(size, etag, opts, db_->now());
      delete_entry(connection, ns, key);
      StatementUse publish(connection, Sql::publish_entry);
      bind_text(*publish, 1, ns);
      bind_text(*publish, 2, key);
      bind_meta(*publish, 3, meta, encoded_metadata);
      publish->bind(9, staging_id);
      if (publish->exec() != 1) {
        throw_error(Errc::io, describe_where(where) +
                                  ": the staged chunks were reclaimed by another process");
      }
      return meta;
    });
  } catch (...) {
    discard_staging(staging_id);
    throw;
  }
}

void Writer::erase(std::string_view ns, std::string_view key) {
  transact(db_->where("erase", ns, key),
           [&](Connection& connection) { delete_entry(connection, ns, key); });
}

void Writer::erase_namespace(std::string_view ns) {
  transact(db_->where("erase_namespace", ns), [&](Connection& connection) {
    StatementUse erase(connection, Sql::erase_namespace);
    bind_text(*erase, 1, ns);
    erase->exec();
  });
}

std::size_t Writer::erase_expired(std::string_view ns, TimePoint now, Duration ttl) {
  return transact(db_->where("erase_expired", ns), [&](Connection& connection) {
    const std::int64_t now_nanos = to_nanos(now);
    const bool by_age = ttl > Duration::zero();
    StatementUse erase(connection,
                       by_age ? Sql::erase_expired_by_expiry_or_age : Sql::erase_expired_by_expiry);
    bind_text(*erase, 1, ns);
    erase->bind(2, now_nanos);
    if (by_age) erase->bind(3, age_cutoff(now_nanos, ttl));
    // changes() counts the entries only, not the chunks the trigger deletes.
    return gsl::narrow<std::size_t>(erase->exec());
  });
}

void Writer::reclaim_abandoned_staging() noexcept {
  try {
    const Where where = db_->where("reclaim staged put_streams");
    std::vector<std::int64_t> abandoned;
    {
      auto lease = db_->lease(where);
      translated(where, [&] {
        StatementUse staged(*lease, Sql::staged_entries);
        while (staged->executeStep()) {
          if (staging_owner_gone(staged->getColumn(1).getString())) {
            abandoned.push_back(staged->getColumn(0).getInt64());
          }
        }
      });
    }
    if (abandoned.empty()) return;
    transact(where, [&](Connection& connection) {
      for (const std::int64_t id : abandoned) delete_entry_by_id(connection, id);
    });
  } catch (...) {  // NOLINT(bugprone-empty-catch): retried by the next open or put_stream
  }
}

void Writer::discard_staging(std::int64_t staging_id) noexcept {
  try {
    transact(db_->where("discard a staged put_stream"),
             [&](Connection& connection) { delete_entry_by_id(connection, staging_id); });
  } catch (...) {  // NOLINT(bugprone-empty-catch): reclaimed once this process is gone
  }
}

}  // namespace blobcache::detail
