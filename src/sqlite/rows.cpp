#include "sqlite/rows.hpp"

#include <xxhash.h>
#ifdef BLOBCACHE_XXH3_DISPATCH
#include <xxh_x86dispatch.h>
#endif

#include <bit>
#include <gsl/gsl>
#include <limits>
#include <string>

#include "errors.hpp"
#include "sqlite/metadata_codec.hpp"

namespace blobcache::detail {
namespace {

[[noreturn]] void corrupt(const Where& where, const std::string& what) {
  throw_error(Errc::corrupt, describe_where(where) + ": " + what);
}

}  // namespace

std::int64_t to_nanos(TimePoint t) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

TimePoint from_nanos(std::int64_t nanos) noexcept {
  return TimePoint(
      std::chrono::duration_cast<TimePoint::duration>(std::chrono::nanoseconds(nanos)));
}

std::int64_t add_saturating(std::int64_t nanos, Duration span) noexcept {
  std::int64_t sum = 0;
  if (!__builtin_add_overflow(nanos, span.count(), &sum)) return sum;
  return span.count() > 0 ? std::numeric_limits<std::int64_t>::max()
                          : std::numeric_limits<std::int64_t>::min();
}

std::int64_t chunk_checksum(BytesView data, std::int64_t seq) noexcept {
#ifdef BLOBCACHE_XXH3_DISPATCH
  return std::bit_cast<std::int64_t>(
      XXH3_64bits_withSeed_dispatch(data.data(), data.size(), std::bit_cast<std::uint64_t>(seq)));
#else
  return std::bit_cast<std::int64_t>(
      XXH3_64bits_withSeed(data.data(), data.size(), std::bit_cast<std::uint64_t>(seq)));
#endif
}

std::int64_t chunk_rowid(std::int64_t entry_id, std::int64_t seq, const Where& where) {
  if (seq < 0 || seq >= kMaxChunksPerValue) {
    throw_error(Errc::too_large, describe_where(where) + ": a value holds at most " +
                                     std::to_string(kMaxChunksPerValue) + " chunks");
  }
  if (entry_id < 0 || entry_id > kMaxEntryId) {
    throw_error(Errc::unsupported, describe_where(where) + ": entry id " +
                                       std::to_string(entry_id) +
                                       " is past the last one chunks can name");
  }
  return (entry_id << kChunkSeqBits) | seq;
}

void bind_text(SQLite::Statement& statement, int index, std::string_view text) {
  // SQLiteCpp binds a pointer and length only as a BLOB, which would never
  // compare equal to the TEXT columns.
  statement.bind(index, std::string(text));
}

void bind_meta(SQLite::Statement& statement, int first, const Meta& meta,
               const Bytes& encoded_metadata) {
  statement.bind(first, meta.size);
  statement.bind(first + 1, to_nanos(meta.updated_at));
  if (meta.expires_at) {
    statement.bind(first + 2, to_nanos(*meta.expires_at));
  } else {
    statement.bind(first + 2);  // NULL
  }
  statement.bindNoCopy(first + 3, meta.etag);
  statement.bindNoCopy(first + 4, meta.content_type);
  // A zero-length blob must not be bound as NULL (metadata is NOT NULL).
  static constexpr std::byte kEmpty{};
  statement.bindNoCopy(first + 5, encoded_metadata.empty() ? &kEmpty : encoded_metadata.data(),
                       gsl::narrow<int>(encoded_metadata.size()));
}

Meta read_meta(const SQLite::Statement& statement, int first, const Where& where) {
  Meta meta;
  meta.size = statement.getColumn(first).getInt64();
  meta.updated_at = from_nanos(statement.getColumn(first + 1).getInt64());
  if (!statement.isColumnNull(first + 2)) {
    meta.expires_at = from_nanos(statement.getColumn(first + 2).getInt64());
  }
  meta.etag = statement.getColumn(first + 3).getString();
  meta.content_type = statement.getColumn(first + 4).getString();
  const auto metadata = statement.getColumn(first + 5);
  try {
    meta.metadata = decode_metadata(BytesView(static_cast<const std::byte*>(metadata.getBlob()),
                                              gsl::narrow<std::size_t>(metadata.getBytes())));
  } catch (const Error& e) {
    corrupt(where, e.what());
  }
  if (meta.size < 0 || meta.etag.size() != 64)
    corrupt(where, "the entry's metadata row is damaged");
  return meta;
}

std::int64_t check_chunk_rowid(const SQLite::Statement& statement, int first, std::int64_t entry_id,
                               std::int64_t expected_seq, const Where& where) {
  const std::int64_t rowid = statement.getColumn(first).getInt64();
  if (rowid != chunk_rowid(entry_id, expected_seq, where)) {
    corrupt(where, "chunk " + std::to_string(expected_seq) + " is missing (found chunk " +
                       std::to_string(rowid & (kMaxChunksPerValue - 1)) + ")");
  }
  return rowid;
}

void check_chunk_bytes(const SQLite::Statement& statement, int first, std::int64_t seq,
                       BytesView bytes, const Where& where) {
  if (chunk_checksum(bytes, seq) != statement.getColumn(first + 1).getInt64()) {
    corrupt(where, "chunk " + std::to_string(seq) + " fails its checksum");
  }
}

BytesView checked_chunk(const SQLite::Statement& statement, int first, std::int64_t entry_id,
                        std::int64_t expected_seq, const Where& where) {
  check_chunk_rowid(statement, first, entry_id, expected_seq, where);
  const auto data = statement.getColumn(first + 2);
  const BytesView bytes(static_cast<const std::byte*>(data.getBlob()),
                        gsl::narrow<std::size_t>(data.getBytes()));
  check_chunk_bytes(statement, first, expected_seq, bytes, where);
  return bytes;
}

void check_total(std::int64_t total, std::int64_t size, const Where& where) {
  if (total != size) {
    corrupt(where,
            "read " + std::to_string(total) + " bytes, metadata says " + std::to_string(size));
  }
}

}  // namespace blobcache::detail
