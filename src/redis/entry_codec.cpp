#include "redis/entry_codec.hpp"

#include <xxhash.h>
#ifdef BLOBCACHE_XXH3_DISPATCH
#include <xxh_x86dispatch.h>
#endif

#include <algorithm>
#include <array>
#include <bit>
#include <cstdio>
#include <cstring>

#include "sqlite/metadata_codec.hpp"

namespace blobcache::detail::redis {
namespace {

constexpr std::uint8_t kVersion = 1;
constexpr std::uint8_t kHasExpiry = 1;
constexpr std::size_t kEtagLength = 64;

std::int64_t nanos_of(TimePoint t) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

TimePoint time_of(std::int64_t nanos) noexcept {
  return TimePoint(
      std::chrono::duration_cast<TimePoint::duration>(std::chrono::nanoseconds(nanos)));
}

template <typename T>
void put_le(std::string& out, T value) {
  auto bits = static_cast<std::make_unsigned_t<T>>(value);
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    out.push_back(static_cast<char>(bits & 0xFFU));
    bits = static_cast<decltype(bits)>(bits >> 8U);
  }
}

void put_text(std::string& out, std::string_view text) {
  put_le(out, static_cast<std::uint32_t>(text.size()));
  out.append(text);
}

// Reads the encoding front to back; any overrun is corrupt.
class Cursor {
 public:
  Cursor(std::string_view data, const Where& where) : data_(data), where_(where) {}

  template <typename T>
  T le() {
    const std::string_view bytes = take(sizeof(T));
    std::make_unsigned_t<T> bits = 0;
    for (std::size_t i = sizeof(T); i-- > 0;) {
      bits = static_cast<decltype(bits)>((bits << 8U) | static_cast<std::uint8_t>(bytes[i]));
    }
    return static_cast<T>(bits);
  }

  std::string_view take(std::size_t n) {
    if (n > data_.size()) corrupt("its metadata is truncated");
    const std::string_view bytes = data_.substr(0, n);
    data_.remove_prefix(n);
    return bytes;
  }

  std::string_view text() { return take(le<std::uint32_t>()); }

  bool done() const noexcept { return data_.empty(); }

  [[noreturn]] void corrupt(std::string_view what) const {
    throw_at(Errc::corrupt, where_, "the entry is not one this store wrote: " + std::string(what));
  }

 private:
  std::string_view data_;
  const Where& where_;
};

std::uint64_t checksum(BytesView data, std::uint64_t generation, std::int64_t seq) noexcept {
  // Seeded with the generation and position: a chunk of another put, or
  // one moved, fails too.
  const std::uint64_t seed =
      generation ^ (std::bit_cast<std::uint64_t>(seq) * 0x9E3779B97F4A7C15ULL);
#ifdef BLOBCACHE_XXH3_DISPATCH
  return XXH3_64bits_withSeed_dispatch(data.data(), data.size(), seed);
#else
  return XXH3_64bits_withSeed(data.data(), data.size(), seed);
#endif
}

}  // namespace

std::int64_t StoredMeta::chunks() const noexcept {
  if (chunk_size == 0) return 0;
  return (meta.size + chunk_size - 1) / chunk_size;
}

std::string encode_meta(const StoredMeta& stored) {
  const Meta& meta = stored.meta;
  const Bytes metadata = encode_metadata(meta.metadata);
  std::string out;
  out.reserve(64 + kEtagLength + meta.content_type.size() + metadata.size());
  out.push_back(static_cast<char>(kVersion));
  out.push_back(static_cast<char>(meta.expires_at ? kHasExpiry : 0));
  put_le(out, nanos_of(meta.updated_at));
  put_le(out, meta.expires_at ? nanos_of(*meta.expires_at) : std::int64_t{0});
  put_le(out, static_cast<std::uint64_t>(meta.size));
  put_le(out, stored.chunk_size);
  put_le(out, stored.generation);
  out.append(meta.etag);
  put_text(out, meta.content_type);
  put_text(out, as_text(metadata));
  return out;
}

StoredMeta decode_meta(std::string_view encoded, const Where& where) {
  Cursor in(encoded, where);
  StoredMeta stored;
  if (in.le<std::uint8_t>() != kVersion) in.corrupt("unknown metadata version");
  const auto flags = in.le<std::uint8_t>();
  if ((flags & ~kHasExpiry) != 0) in.corrupt("unknown flags");
  Meta& meta = stored.meta;
  meta.updated_at = time_of(in.le<std::int64_t>());
  const auto expires = in.le<std::int64_t>();
  if ((flags & kHasExpiry) != 0) meta.expires_at = time_of(expires);
  const auto size = in.le<std::uint64_t>();
  if (size > static_cast<std::uint64_t>(INT64_MAX)) in.corrupt("impossible size");
  meta.size = static_cast<std::int64_t>(size);
  stored.chunk_size = in.le<std::uint32_t>();
  if (stored.chunk_size == 0) in.corrupt("chunk size 0");
  stored.generation = in.le<std::uint64_t>();
  meta.etag = in.take(kEtagLength);
  if (!std::all_of(meta.etag.begin(), meta.etag.end(),
                   [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })) {
    in.corrupt("the etag is not lowercase hex");
  }
  meta.content_type = in.text();
  meta.metadata = decode_metadata(as_bytes(in.text()));
  if (!in.done()) in.corrupt("bytes after its metadata");
  return stored;
}

std::string frame_chunk(BytesView data, std::uint64_t generation, std::int64_t seq) {
  std::string framed;
  framed.reserve(sizeof(std::uint64_t) + data.size());
  put_le(framed, checksum(data, generation, seq));
  framed.append(as_text(data));
  return framed;
}

BytesView unframe_chunk(std::string_view framed, std::uint64_t generation, std::int64_t seq,
                        std::size_t expected_size, const Where& where) {
  if (framed.size() < sizeof(std::uint64_t)) {
    throw_at(Errc::corrupt, where,
             "chunk " + std::to_string(seq) + " is shorter than its checksum");
  }
  Cursor in(framed, where);
  const auto expected = in.le<std::uint64_t>();
  const BytesView data = as_bytes(framed.substr(sizeof(std::uint64_t)));
  if (data.size() != expected_size) {
    throw_at(Errc::corrupt, where,
             "chunk " + std::to_string(seq) + " holds " + std::to_string(data.size()) +
                 " bytes, its metadata says " + std::to_string(expected_size));
  }
  if (checksum(data, generation, seq) != expected) {
    throw_at(Errc::corrupt, where, "chunk " + std::to_string(seq) + " fails its checksum");
  }
  return data;
}

std::string generation_text(std::uint64_t generation) {
  std::array<char, 17> text{};
  std::snprintf(text.data(), text.size(), "%016llx", static_cast<unsigned long long>(generation));
  return std::string(text.data(), 16);
}

std::string sortable_time(TimePoint t) {
  const std::uint64_t biased = std::bit_cast<std::uint64_t>(nanos_of(t)) ^ (1ULL << 63U);
  std::array<char, 21> text{};
  std::snprintf(text.data(), text.size(), "%020llu", static_cast<unsigned long long>(biased));
  return std::string(text.data(), 20);
}

std::string score_millis(TimePoint t) {
  const std::int64_t nanos = nanos_of(t);
  std::int64_t millis = nanos / 1'000'000;
  if (nanos % 1'000'000 < 0) --millis;  // floor, also before 1970
  return std::to_string(millis);
}

}  // namespace blobcache::detail::redis
