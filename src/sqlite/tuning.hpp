// Internal: the SQLite knobs, chosen by measurement (docs/design.md has the
// figures). Measurement programs may override them through tuning() before
// opening a store; the library itself only reads them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace blobcache::detail {

struct Tuning {
  // Applies only when the file is created (WAL files keep their page size).
  int page_size = 4096;
  // Bytes of the file mapped into memory per connection (0: read() only).
  std::int64_t mmap_size = 0;
  // Page cache per connection, in KiB.
  std::int64_t cache_kib = 8 * 1024;
  // The unit a value is stored, checksummed and streamed in.
  std::size_t chunk_size = 256 * 1024;
  // WAL pages after which a commit checkpoints (SQLite's default: 1000).
  int wal_autocheckpoint = 1000;
  // The -wal file is truncated to this size after a checkpoint.
  std::int64_t journal_size_limit = 64 * 1024 * 1024;
};

// The process-wide knobs read by every SqliteStore when it opens. Not
// synchronized: change them only before any store is opened.
Tuning& tuning() noexcept;

}  // namespace blobcache::detail
