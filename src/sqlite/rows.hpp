// Internal: moving Meta and chunks between C++ and the schema's rows.
#pragma once

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Statement.h>
#include <cstdint>
#include <string_view>

#include "blobcache/types.hpp"

#include "sqlite/schema.hpp"
#include "sqlite/sqlite_error.hpp"

namespace blobcache::detail {

std::int64_t to_nanos(TimePoint t) noexcept;
TimePoint from_nanos(std::int64_t nanos) noexcept;
// nanos + span, clamped to the int64 range instead of overflowing.
std::int64_t add_saturating(std::int64_t nanos, Duration span) noexcept;

// The XXH3-64 of a chunk, seeded with its seq, as SQLite stores it.
std::int64_t chunk_checksum(BytesView data, std::int64_t seq) noexcept;

// The rowid of chunk `seq` of entry `entry_id`. Throws Error(Errc::too_large)
// naming `where` when the value has more than kMaxChunksPerValue chunks, and
// Error(Errc::unsupported) when the entry's id is past kMaxEntryId (SQLite
// gives ids in order: ~5e11 entries would have to be written first).
std::int64_t chunk_rowid(std::int64_t entry_id, std::int64_t seq, const Where& where);

// Binds `text` as TEXT to parameter `index` (SQLite keeps a copy).
void bind_text(SQLite::Statement& statement, int index, std::string_view text);

// Binds meta's columns (size, updated_at, expires_at, etag, content_type,
// metadata) to parameters first..first+5. `encoded_metadata` must outlive
// the statement's next step.
void bind_meta(SQLite::Statement& statement, int first, const Meta& meta,
               const Bytes& encoded_metadata);

// Reads the same six columns starting at column `first`. Throws
// Error(Errc::corrupt) naming `where` when they are not what was written.
Meta read_meta(const SQLite::Statement& statement, int first, const Where& where);

// The bytes of the chunk in columns first (rowid), first+1 (checksum) and
// first+2 (data), after checking that it is chunk `expected_seq` of entry
// `entry_id` and that its bytes match the checksum. The view lives until the
// statement steps. Throws Error(Errc::corrupt) naming `where` otherwise.
BytesView checked_chunk(const SQLite::Statement& statement, int first, std::int64_t entry_id,
                        std::int64_t expected_seq, const Where& where);

// The two halves of checked_chunk, for bytes read by other means (a
// ChunkBlob): the row's rowid in column `first` is chunk `expected_seq` of
// entry `entry_id` (returned); `bytes` match the checksum in column first+1.
std::int64_t check_chunk_rowid(const SQLite::Statement& statement, int first, std::int64_t entry_id,
                               std::int64_t expected_seq, const Where& where);
void check_chunk_bytes(const SQLite::Statement& statement, int first, std::int64_t seq,
                       BytesView bytes, const Where& where);

// Throws Error(Errc::corrupt) naming `where` unless `total` bytes were read
// for an entry whose metadata says `size`.
void check_total(std::int64_t total, std::int64_t size, const Where& where);

}  // namespace blobcache::detail
