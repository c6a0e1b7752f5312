// Internal: RedisStore's BlobReader, reading one chunk per round trip.
#pragma once

#include <memory>
#include <string>

#include "blobcache/store.hpp"

#include "redis/entry_codec.hpp"
#include "redis/store_impl.hpp"

namespace blobcache::detail::redis {

// Reads the generation it was opened on. A value of more than one chunk is
// pinned on the server while the reader lives (store_impl.hpp, kPinTtl),
// so a replacement or erase keeps those bytes for it; the destructor ends
// the pin.
class RedisBlobReader final : public BlobReader {
 public:
  // `first_chunk` is chunk 0's field as the get script returned it (empty
  // for an empty value). `pinned`: the script pinned the generation.
  RedisBlobReader(std::shared_ptr<StoreImpl> store, std::string ns, std::string key,
                  StoredMeta stored, std::string first_chunk, bool pinned);
  ~RedisBlobReader() override;
  RedisBlobReader(const RedisBlobReader&) = delete;
  RedisBlobReader& operator=(const RedisBlobReader&) = delete;

  std::size_t read(std::span<std::byte> out) override;
  const Meta& meta() const noexcept override { return stored_.meta; }

 private:
  // Replaces chunk_ with chunk `next_seq_` (one round trip).
  void fetch_next();

  std::shared_ptr<StoreImpl> store_;
  std::string ns_;
  std::string key_;
  StoredMeta stored_;
  std::string chunk_;         // the current chunk's field, framed
  BytesView data_;            // its checked data
  std::size_t position_ = 0;  // in data_
  std::int64_t next_seq_ = 0;
  bool pinned_ = false;
};

// The size of chunk `seq` of `stored`'s value.
std::size_t chunk_bytes(const StoredMeta& stored, std::int64_t seq) noexcept;

}  // namespace blobcache::detail::redis
