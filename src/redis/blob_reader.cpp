#include "redis/blob_reader.hpp"

#include <algorithm>
#include <cstring>

#include "redis/reply.hpp"

namespace blobcache::detail::redis {

std::size_t chunk_bytes(const StoredMeta& stored, std::int64_t seq) noexcept {
  const std::int64_t start = seq * stored.chunk_size;
  return static_cast<std::size_t>(
      std::min<std::int64_t>(stored.chunk_size, stored.meta.size - start));
}

RedisBlobReader::RedisBlobReader(std::shared_ptr<StoreImpl> store, std::string ns, std::string key,
                                 StoredMeta stored, std::string first_chunk, bool pinned)
    : store_(std::move(store)),
      ns_(std::move(ns)),
      key_(std::move(key)),
      stored_(std::move(stored)),
      chunk_(std::move(first_chunk)),
      pinned_(pinned) {
  if (stored_.chunks() > 0) {
    const Where where{.operation = "open", .server = store_->server(), .ns = ns_, .key = key_};
    data_ = unframe_chunk(chunk_, stored_.generation, 0, chunk_bytes(stored_, 0), where);
    next_seq_ = 1;
  }
}

RedisBlobReader::~RedisBlobReader() {
  if (pinned_) store_->unpin(ns_, key_, stored_.generation);
}

std::size_t RedisBlobReader::read(std::span<std::byte> out) {
  std::size_t copied = 0;
  while (copied < out.size()) {
    if (position_ == data_.size()) {
      if (next_seq_ >= stored_.chunks()) break;
      fetch_next();
    }
    const std::size_t n = std::min(out.size() - copied, data_.size() - position_);
    std::memcpy(out.data() + copied, data_.data() + position_, n);
    copied += n;
    position_ += n;
  }
  return copied;
}

void RedisBlobReader::fetch_next() {
  const Where where{.operation = "read", .server = store_->server(), .ns = ns_, .key = key_};
  auto lease = store_->connection(where);
  const std::string seq = std::to_string(next_seq_);
  const ReplyPtr reply = store_->eval(*lease, Script::read_chunks,
                                      {ns_, key_, generation_text(stored_.generation), seq}, where);
  const std::string_view from = text_of(element(*reply, 0, where), where);
  if (from == "gone") {
    throw_at(Errc::entry_not_found, where,
             "the value being read was replaced or erased and its old bytes are gone (the "
             "reader was idle past its pin, or Redis evicted them); open it again");
  }
  const redisReply& field = element(*reply, 1, where);
  if (is_nil(field)) {
    throw_at(Errc::corrupt, where,
             "chunk " + seq + " of " + std::to_string(stored_.chunks()) +
                 " is missing from the entry's hash");
  }
  chunk_.assign(text_of(field, where));
  data_ =
      unframe_chunk(chunk_, stored_.generation, next_seq_, chunk_bytes(stored_, next_seq_), where);
  position_ = 0;
  ++next_seq_;
}
}  // namespace blobcache::detail::redis
