// SqliteStore: every blob and its metadata in one SQLite file (WAL), shared
// safely by the threads of a process and by processes.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>

#include "blobcache/clock.hpp"
#include "blobcache/export.hpp"
#include "blobcache/store.hpp"

namespace blobcache {

// SQLite synchronous=NORMAL or FULL under WAL. normal: a power loss may lose
// the last commits but never corrupts; full: every commit is durable once
// the call returns. Neither survives a disk that acknowledges flushes it
// has not done (docs/design.md, "Crash safety").
enum class Durability { normal, full };

// What opening a corrupt file does. raise: throw Error(Errc::corrupt) naming
// the path, leaving the file untouched. quarantine: rename the file set to
// "<name>.corrupt-<UTC time>" beside it, start an empty store, and report it
// (SqliteStore::quarantined()).
//
// Open checks what it can cheaply (cost independent of the bytes stored): a
// file that is not SQLite, a file shorter than its header says (truncated),
// and damage to the schema or to the entries' metadata (its table and
// indexes). Damage inside stored values is found when they are read: that
// get, read or verify throws Error(Errc::corrupt) (per-chunk checksums; the
// bad bytes are never returned) and other entries still read. check() walks
// the whole file.
enum class OnCorruption { raise, quarantine };

// An aggregate: `SqliteOptions{.path = p, .read_only = true}`.
struct BLOBCACHE_EXPORT SqliteOptions {
  // The one cache file; its folder is created (0700) if missing.
  std::filesystem::path path;
  // How long a call waits for another writer's lock before Error(Errc::busy).
  std::chrono::milliseconds busy_timeout{10'000};
  // Opens without writing anything; writes throw Error(Errc::read_only).
  // Works on read-only media and in folders this process cannot write:
  // when SQLite's WAL index (<file>-shm) exists, it is used read-only, so
  // writes by another user who can write the folder are seen as usual.
  // When it neither exists nor can be created, no process has the file
  // open, and it is opened immutable (no locks, no -shm): a writer that
  // opens it later is not seen by this store, and its checkpoints may make
  // reads here fail with Errc::corrupt (never return wrong bytes); reopen to
  // see its changes. A -wal left without its -shm in such a folder holds
  // commits only a writable open can fold in: Error(Errc::read_only).
  bool read_only = false;
  Durability durability = Durability::normal;
  OnCorruption on_corruption = OnCorruption::quarantine;
  // Stamps updated_at; null: system_clock().
  std::shared_ptr<const Clock> clock;
  // Network filesystems break SQLite's locking (and with it the safety of
  // sharing the file); opening a file on one throws Error(Errc::unsupported)
  // naming the path and the filesystem unless this is true. Detected by
  // statfs type: NFS, SMB/CIFS, 9p, AFS, Ceph, Coda, GPFS, Lustre, BeeGFS,
  // OrangeFS, PanFS, NCP, VirtualBox shared folders; and FUSE mounts whose
  // type names a network filesystem (sshfs, rclone, s3fs, glusterfs,
  // ceph-fuse, ...). Local FUSE filesystems pass.
  bool allow_network_filesystem = false;
  // A cap on the file's size in bytes (SQLite's max_page_count, rounded down
  // to whole pages); 0: none. A write that would grow the file past it
  // throws Error(Errc::no_space) and stores nothing (a put_many: none of its
  // requests). Space freed by erases is reused before the file grows.
  std::int64_t max_file_bytes = 0;
};

// Thread-safe: each thread uses its own pooled connection, so readers run in
// parallel beside one writer (WAL). Process-safe: any number of processes
// may open the same file.
//
// Files are created 0600. Values of any size stream in and out in constant
// memory (stored in chunks). Not fork-safe in the sense of sharing
// connections: after fork() the child reopens its own connections.
//
// Threads and memory it uses: a writable store starts one thread of its own,
// on the first commit that needs it, which copies the WAL into the file
// (checkpoints) off the callers' puts; the destructor joins it. A fork()
// waits while that thread is inside SQLite, and a forked child checkpoints
// on its own commits instead. get() of a value of 64 KiB or more reads it
// through a memory map of the file (its pages count in the process's RSS
// while mapped; open() never maps, nor does a read-only store opened
// immutable, see read_only): so never truncate a live store's file by
// other means, which would end the process with SIGBUS instead of an error.
class BLOBCACHE_EXPORT SqliteStore final : public Store {
 public:
  // Opens (creating when missing, unless read_only) the file at
  // options.path. Throws Error: invalid_argument (empty path), corrupt
  // (with OnCorruption::raise), unsupported (newer schema, network
  // filesystem), read_only (a writable open of a file or folder that cannot
  // be written; the store never changes permissions), no_space, io, busy.
  // Cost: a few milliseconds and O(entries), not O(bytes stored).
  explicit SqliteStore(SqliteOptions options);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // $XDG_CACHE_HOME/<app>/blobcache.db (else ~/.cache/<app>/blobcache.db) on
  // Linux; the platform's user cache folder elsewhere. Throws
  // Error(Errc::invalid_argument) when `app` is not a single valid name
  // segment or no home folder is known.
  static std::filesystem::path default_path(std::string_view app);

  const std::filesystem::path& path() const noexcept;
  // Where a corrupt file found at open was moved (OnCorruption::quarantine);
  // nullopt when none was.
  std::optional<std::filesystem::path> quarantined() const;

 protected:
  std::optional<Blob> do_get(std::string_view ns, std::string_view key) override;
  Meta do_put(std::string_view ns, std::string_view key, BytesView value,
              const PutOptions& opts) override;
  std::unique_ptr<BlobReader> do_open(std::string_view ns, std::string_view key) override;
  Meta do_put_stream(std::string_view ns, std::string_view key, std::istream& in,
                     const PutOptions& opts, std::stop_token stop) override;
  void do_erase(std::string_view ns, std::string_view key) override;
  void do_erase_namespace(std::string_view ns) override;
  std::vector<Object> do_list(std::string_view ns) override;
  std::size_t do_erase_expired(std::string_view ns, TimePoint now, Duration ttl) override;
  std::vector<Meta> do_put_many(std::span<const PutRequest> batch) override;
  std::vector<NamespaceInfo> do_namespaces() override;
  Info do_describe() const override;
  void do_check() override;

 private:
  class BLOBCACHE_HIDDEN Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace blobcache
