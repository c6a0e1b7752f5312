#include "sqlite/chunk_blob.hpp"

#include <SQLiteCpp/Exception.h>
#include <gsl/gsl>
#include <sqlite3.h>

#include "sqlite/sqlite_error.hpp"

namespace blobcache::detail {

ChunkBlob::~ChunkBlob() {
  if (blob_ != nullptr) sqlite3_blob_close(blob_);
}

std::size_t ChunkBlob::seek(std::int64_t rowid) {
  const int rc = blob_ == nullptr
                     ? sqlite3_blob_open(db_, "main", "chunks", "data", rowid, 0, &blob_)
                     : sqlite3_blob_reopen(blob_, rowid);
  if (rc != SQLITE_OK) {
    throw SQLite::Exception(sqlite3_errmsg(db_), result_of_blob_open_on_stepped_row(rc));
  }
  return gsl::narrow<std::size_t>(sqlite3_blob_bytes(blob_));
}

void ChunkBlob::read(std::span<std::byte> out) {
  if (out.empty()) return;
  const int rc = sqlite3_blob_read(blob_, out.data(), gsl::narrow<int>(out.size()), 0);
  if (rc != SQLITE_OK) throw SQLite::Exception(db_, rc);
}

}  // namespace blobcache::detail
