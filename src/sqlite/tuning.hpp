// Internal: the SQLite knobs, chosen by measurement (docs/design.md has the
// figures). Every store has its own copy, fixed when it opens: SqliteStore's
// public constructor takes the defaults below, and tests and the benchmark
// open stores with other values through the internal path (test_seams.hpp),
// side by side in one process.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace blobcache::detail {

struct Tuning {
  // Applies only when the file is created (WAL files keep their page size).
  // 4 KiB (SQLite's default) since WAL frames reach the file in one write
  // per transaction (coalesce_wal_writes): small puts write a quarter of
  // the bytes of 16 KiB pages, and big values no longer pay a write call per
  // page (docs/performance.md, ninth session).
  int page_size = 4096;
  // Bytes of the file mapped into memory per connection (0: read() only).
  // Mapped pages count in the process's RSS, which must stay small while a
  // 1 GiB value streams through.
  std::int64_t mmap_size = 0;
  // A get of a value at least this big re-reads it on a connection of the
  // mapped pool (mmap_size = mapped_mmap_size) straight into the Blob: one
  // memcpy from the mapping per page instead of a pread and a copy. Small
  // gets stay off those connections: a mapped page skips the page cache, so
  // each fetch re-runs SQLite's cell checks, and any commit by another
  // connection unmaps the whole file. INT64_MAX: never. docs/design.md.
  std::int64_t mapped_get_min_bytes = 64 * 1024;
  // SQLite clamps it to its compile-time maximum (2 GiB - 64 KiB on Debian);
  // pages past it are read with pread.
  std::int64_t mapped_mmap_size = std::int64_t{2} << 30;
  // Page cache per connection, in KiB (SQLite default: 2000). Every leased
  // connection may fill its own, so it bounds RSS per thread in use.
  std::int64_t cache_kib = 4 * 1024;
  // The unit a value is stored, checksummed and streamed in.
  std::size_t chunk_size = 256 * 1024;
  // WAL pages after which a commit asks the store's thread for a PASSIVE
  // checkpoint (see Maintenance), or without background_checkpoints
  // runs one itself (SQLite's wal_autocheckpoint). 4000 pages = 16 MiB at
  // 4 KiB pages (64 MiB in files made with 16 KiB pages); journal_size_limit
  // trims the -wal after.
  int checkpoint_pages = 4000;
  // Checkpoints on the store's thread (see checkpoint_pages). Off:
  // SQLite's automatic checkpoint. On: put 1 KiB 1.3-1.7x, put 1 MiB 1.3x,
  // mixed loads within noise (docs/performance.md).
  bool background_checkpoints = true;
  // WAL pages after which the committing connection checkpoints itself, so
  // the WAL stays bounded when the thread falls behind (a forked child does
  // so from checkpoint_pages on).
  int checkpoint_inline_pages = 4 * 4000;
  // PRAGMA secure_delete: 0 OFF, 1 ON, 2 FAST. Debian builds SQLite with
  // SECURE_DELETE on, so every delete, replace and eviction zeroed the pages
  // it freed and wrote them to the WAL; FAST zeroes deleted content only on
  // pages the transaction writes anyway (docs/performance.md).
  int secure_delete = 2;
  // The -wal file is truncated to this size after a checkpoint.
  std::int64_t journal_size_limit = 64 * 1024 * 1024;
  // Gets and opens count their hits and misses (Stats). Off only to measure
  // what counting costs (bench/limits_bench.cpp).
  bool count_reads = true;
  // How long what reads counted (hits and misses, least_recently_used's
  // accesses) may wait in memory before the store's thread writes it, when
  // no write of the store carries it sooner.
  std::chrono::milliseconds flush_interval{1000};
  // Accesses of this many entries waiting ask for a write at once (bounds
  // the memory they hold: ~100 bytes plus the names each).
  std::size_t flush_accesses = 16384;
  // With limits: a write that leaves the store above trim_high (per mille
  // of a limit) asks the store's thread to evict down to trim_low, in
  // transactions of at most trim_batch entries, so that puts rarely pay for
  // evicting themselves (a put still evicts what it needs when the thread
  // is behind).
  int trim_high = 950;
  int trim_low = 900;
  std::size_t trim_batch = 256;
  // The largest value the memory tier keeps (SqliteOptions::memory_cache_bytes).
  std::size_t memory_tier_max_value = 256 * 1024;
  // The SQLite VFS every connection of the store opens with (empty: the
  // default). A seam for tests that inject faults (tests/support).
  std::string vfs;
  // Connections open `vfs` through wal_coalescing_vfs.hpp: one write call
  // per transaction's WAL frames instead of two per frame.
  bool coalesce_wal_writes = true;
};

}  // namespace blobcache::detail
