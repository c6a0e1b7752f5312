// Internal: how an entry's metadata and chunks are encoded in its Redis
// HASH. Data, never code. NEVER change version 1's layout: stores on
// running servers depend on it.
//
// Field m, version 1 (integers little-endian):
//   u8 version (1), u8 flags (bit 0: has expires_at),
//   i64 updated_at ns, i64 expires_at ns (0 without), u64 size,
//   u32 chunk size, u64 generation, 64 bytes etag (lowercase hex),
//   u32 length + content type, u32 length + metadata (metadata_codec)
// Chunk fields "0".."n-1": u64 XXH3-64 of the data seeded with
// chunk_seed(generation, seq), then the data (chunk size bytes, the last
// one what is left).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "blobcache/types.hpp"

#include "redis/redis_error.hpp"

namespace blobcache::detail::redis {

// Bytes of value per chunk field.
inline constexpr std::uint32_t kChunkSize = 256 * 1024;

struct StoredMeta {
  Meta meta;
  std::uint64_t generation = 0;
  std::uint32_t chunk_size = kChunkSize;

  std::int64_t chunks() const noexcept;
};

std::string encode_meta(const StoredMeta& stored);
// Throws Error(Errc::corrupt) naming `where` when `encoded` is not a
// version 1 encoding of sane values.
StoredMeta decode_meta(std::string_view encoded, const Where& where);

// The chunk field for `data`, chunk `seq` of `generation`.
std::string frame_chunk(BytesView data, std::uint64_t generation, std::int64_t seq);
// The data of a chunk field read back; throws Error(Errc::corrupt) naming
// `where` when it is shorter than its checksum, fails it, or is not
// `expected_size` bytes long.
BytesView unframe_chunk(std::string_view framed, std::uint64_t generation, std::int64_t seq,
                        std::size_t expected_size, const Where& where);

// The generation as the 16 lowercase hex digits the keys and field g use.
std::string generation_text(std::uint64_t generation);

// A time as 20 decimal digits (ns + 2^63): byte order is time order, which
// the scripts compare as strings (Lua numbers cannot hold nanoseconds).
std::string sortable_time(TimePoint t);
// A time in whole milliseconds, rounded down: a sorted set's score.
std::string score_millis(TimePoint t);

}  // namespace blobcache::detail::redis
