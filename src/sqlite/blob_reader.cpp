#include "sqlite/blob_reader.hpp"

#include <algorithm>
#include <cstring>

#include "sqlite/rows.hpp"

namespace blobcache::detail {

SqliteBlobReader::SqliteBlobReader(std::shared_ptr<Database> db, ConnectionPool::Lease lease,
                                   std::unique_ptr<Transaction> transaction, std::int64_t entry_id,
                                   Meta meta, std::string ns, std::string key)
    : db_(std::move(db)),
      lease_(std::move(lease)),
      transaction_(std::move(transaction)),
      chunks_(*lease_, Sql::read_chunk),
      meta_(std::move(meta)),
      ns_(std::move(ns)),
      key_(std::move(key)),
      entry_id_(entry_id) {
  chunks_->bind(1, entry_id);
}

SqliteBlobReader::~SqliteBlobReader() = default;

bool SqliteBlobReader::next_chunk() {
  const Where where = db_->where("read", ns_, key_);
  return translated(where, [&] {
    if (!chunks_->executeStep()) {
      check_total(total_, meta_.size, where);
      done_ = true;
      return false;
    }
    chunk_ = checked_chunk(*chunks_, 0, entry_id_, next_seq_, where);
    ++next_seq_;
    total_ += static_cast<std::int64_t>(chunk_.size());
    if (total_ > meta_.size) check_total(total_, meta_.size, where);  // more bytes than the size
    return true;
  });
}

std::size_t SqliteBlobReader::read(std::span<std::byte> out) {
  std::size_t filled = 0;
  while (filled < out.size() && !done_) {
    if (chunk_.empty() && !next_chunk()) break;
    const std::size_t n = std::min(chunk_.size(), out.size() - filled);
    if (n > 0) std::memcpy(out.data() + filled, chunk_.data(), n);
    chunk_ = chunk_.subspan(n);
    filled += n;
  }
  return filled;
}

}  // namespace blobcache::detail
