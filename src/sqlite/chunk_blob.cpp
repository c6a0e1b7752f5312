#include "sqlite/chunk_blob.hpp"

#include <SQLiteCpp/Exception.h>
#include <gsl/gsl>
#include <sqlite3.h>

namespace blobcache::detail {

ChunkBlob::~ChunkBlob() {
  if (blob_ != nullptr) sqlite3_blob_close(blob_);
}

std::size_t ChunkBlob::seek(std::int64_t rowid) {
  const int rc = blob_ == nullptr
                     ? sqlite3_blob_open(db_, "main", "chunks", "data", rowid, 0, &blob_)
                     : sqlite3_blob_reopen(blob_, rowid);
  // The row was just stepped to in this read transaction, so a plain
  // SQLITE_ERROR here ("cannot open value of type integer") means its data
  // column is no longer a blob: damage, not a failed operation.
  if (rc == SQLITE_ERROR) throw SQLite::Exception(sqlite3_errmsg(db_), SQLITE_CORRUPT);
  if (rc != SQLITE_OK) throw SQLite::Exception(db_, rc);
  return gsl::narrow<std::size_t>(sqlite3_blob_bytes(blob_));
}

void ChunkBlob::read(std::span<std::byte> out) {
  if (out.empty()) return;
  const int rc = sqlite3_blob_read(blob_, out.data(), gsl::narrow<int>(out.size()), 0);
  if (rc != SQLITE_OK) throw SQLite::Exception(db_, rc);
}

std::atomic<std::uint64_t>& mapped_gets() noexcept {
  static std::atomic<std::uint64_t> count{0};
  return count;
}

std::function<void()>& after_size_probe() noexcept {
  static std::function<void()> hook;
  return hook;
}

}  // namespace blobcache::detail
