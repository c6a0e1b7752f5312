// Internal: reading chunk bytes straight into the caller's buffer.
#pragma once

#include <cstdint>
#include <span>

struct sqlite3;
struct sqlite3_blob;

namespace blobcache::detail {

// One incremental-blob handle on chunks.data, moved from row to row
// (sqlite3_blob_reopen re-seeks; a new open compiles a program). Reading a
// chunk this way copies each of its overflow pages once, into the caller's
// buffer (a memcpy from the mapping on a mapped connection), where
// sqlite3_column_blob would first assemble the value in a buffer of its own.
// Not thread-safe: use it on the connection's thread, inside the read
// transaction of the statement that produced the rowids.
class ChunkBlob {
 public:
  explicit ChunkBlob(sqlite3* db) noexcept : db_(db) {}
  ~ChunkBlob();
  ChunkBlob(const ChunkBlob&) = delete;
  ChunkBlob& operator=(const ChunkBlob&) = delete;

  // Points the handle at chunk row `rowid`; returns its size in bytes.
  // Throws SQLite::Exception.
  std::size_t seek(std::int64_t rowid);
  // Reads the whole current chunk. REQUIRES: out.size() is what seek()
  // returned. Throws SQLite::Exception (SQLITE_CORRUPT for a broken page chain).
  void read(std::span<std::byte> out);

 private:
  sqlite3* db_;
  sqlite3_blob* blob_ = nullptr;
};

}  // namespace blobcache::detail
