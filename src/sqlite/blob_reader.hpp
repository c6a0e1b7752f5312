// Internal: SqliteStore's BlobReader, reading chunk by chunk from one snapshot.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "blobcache/store.hpp"

#include "sqlite/connection_pool.hpp"
#include "sqlite/database.hpp"

namespace blobcache::detail {

// Holds a leased connection and its read transaction for its whole life,
// so a replacement committed meanwhile is not seen (WAL snapshot), and
// shares the store's Database, so it keeps working after the store is
// destroyed. Memory: one chunk (SQLite's copy of the row being read).
class SqliteBlobReader final : public BlobReader {
 public:
  // REQUIRES: `lease` comes from `db`, and `transaction` is a read
  // transaction on its connection in which entry `entry_id` has `meta`.
  SqliteBlobReader(std::shared_ptr<Database> db, ConnectionPool::Lease lease,
                   std::unique_ptr<Transaction> transaction, std::int64_t entry_id, Meta meta,
                   std::string ns, std::string key);
  ~SqliteBlobReader() override;
  SqliteBlobReader(const SqliteBlobReader&) = delete;
  SqliteBlobReader& operator=(const SqliteBlobReader&) = delete;

  std::size_t read(std::span<std::byte> out) override;
  const Meta& meta() const noexcept override { return meta_; }

 private:
  // Steps to the next chunk; false at the end. REQUIRES: the current one is used up.
  bool next_chunk();

  // Destroyed in reverse: statement reset, transaction ended, lease
  // returned, and only then the Database (perhaps the last owner) released.
  std::shared_ptr<Database> db_;
  ConnectionPool::Lease lease_;
  std::unique_ptr<Transaction> transaction_;
  StatementUse chunks_;
  Meta meta_;
  std::string ns_;
  std::string key_;
  std::int64_t entry_id_;
  BytesView chunk_;  // the unread rest of the current chunk
  std::int64_t next_seq_ = 0;
  std::int64_t total_ = 0;  // bytes of the chunks stepped to so far
  bool done_ = false;
};

}  // namespace blobcache::detail
