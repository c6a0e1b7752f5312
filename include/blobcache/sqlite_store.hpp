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

namespace detail {
class SqliteStoreAccess;
}  // namespace detail

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

// Which entries a store evicts first once expired ones are gone (Limits).
enum class EvictionPolicy {
  // The oldest puts first: a put, also one that replaces an entry, goes
  // last; a put_stream takes its place when it begins.
  // Needs no bookkeeping on reads, and none on puts: the order is the
  // entries' rowids. (Entries replaced in place while the store had no
  // limits, or under least_recently_used, keep the place of their first put.)
  least_recently_stored,
  // The entries read least recently first. A get or open records its
  // access in memory only; the accesses are written in batches (by the
  // store's next write transaction that evicts, before it chooses victims,
  // by trim(), by its background thread within about a second, and when the
  // store is destroyed), so reads never become write transactions, a put
  // that evicts nothing writes no access, and the order survives a restart.
  // Another process's evictions see this process's accesses once they are
  // written (within about a second). An access not yet
  // written when the process dies is lost (the entry keeps its older place).
  // A store opened read_only records none. With the system clock the
  // accesses are stamped by the kernel's coarse clock (1-4 ms steps), in
  // order within each thread; reads by different threads or processes
  // within one step may be ordered either way. Cost per get: one read of
  // the coarse clock (~6 ns) and, for a value served from memory, a store
  // into its node.
  least_recently_used,
};

// Bounds on a store's contents, kept in the file: every process that opens
// it honours the same ones. An aggregate: `Limits{.max_bytes = 500 << 20}`.
struct Limits {
  // Bound on the sum of the values' sizes (not the file's size, which also
  // holds metadata, indexes and free pages); 0: none. Otherwise at least
  // one page (4 KiB, the page size of the files this version creates).
  std::int64_t max_bytes = 0;
  // Bound on the number of entries; 0: none.
  std::int64_t max_entries = 0;
  EvictionPolicy eviction = EvictionPolicy::least_recently_stored;
  friend bool operator==(const Limits&, const Limits&) = default;
};

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
  // requests). Space freed by erases is reused before the file grows. At
  // least 64 pages (256 KiB with the default page size) when set.
  std::int64_t max_file_bytes = 0;
  // nullopt: the limits stored in the file (none for a new file). Set: stored
  // in the file at open (as set_limits() does), so every process that opens
  // it honours the same limits; not allowed with read_only.
  std::optional<Limits> limits;
  // Bytes of recently read or written values (with their metadata, and
  // keys found absent or erased) the store keeps in memory, so that gets of
  // them read nothing from the file; 0: none. Values over 256 KiB (or 1/16 of this) are never
  // kept. Exact across threads and processes: every write of every process
  // logs the keys it changes in "<path>-changes" (a small file beside the
  // database, like -wal and -shm) before it commits, and a get consults
  // that log first, so it never returns a value another writer has
  // replaced. Needs write access to the folder the first time (a read-only
  // store without that file keeps nothing in memory). A store that cannot
  // write that file (it belongs to another user) serves reads but refuses
  // every write with Errc::read_only naming it: an unlogged write could
  // leave other processes serving what it replaced. Give every process that
  // writes the database write access to it.
  std::size_t memory_cache_bytes = std::size_t{32} << 20;
};

// Thread-safe: each thread uses its own pooled connection, so readers run in
// parallel beside one writer (WAL); puts that several threads make at once
// commit in one transaction, each with its own outcome. Process-safe: any
// number of processes may open the same file.
//
// Files are created 0600. Values of any size stream in and out in constant
// memory (stored in chunks). Not fork-safe in the sense of sharing
// connections: after fork() the child reopens its own connections.
//
// Threads and memory it uses: a writable store starts one thread of its own,
// on first need, which copies the WAL into the file (checkpoints) off the
// callers' puts, writes what reads counted (Stats' hits and misses,
// least_recently_used's accesses) within about a second, and trims a
// bounded store; the destructor joins it after writing what is still
// counted. A fork() waits while that thread is awake (working, not waiting
// for work), and a forked child checkpoints on its own commits instead.
// Counts wait in memory: a few dozen bytes per namespace read, and per
// entry read with least_recently_used (at most 16,384 entries before a
// write is asked for). get() of a value of 64 KiB or more reads it through
// a memory map of the file (its pages count in the process's RSS while
// mapped; open() never maps, nor does a read-only store opened immutable,
// see read_only): so never truncate a live store's file by other means,
// which would end the process with SIGBUS instead of an error.
//
// erase_expired() costs O(entries it removes) with ttl == 0 (an index of
// expiries), and with a ttl reads every entry row of the namespace: no index
// of ages is kept, so that puts write less (docs/design.md, "Schema").
class BLOBCACHE_EXPORT SqliteStore final : public Store {
 public:
  // Opens (creating when missing, unless read_only) the file at
  // options.path. A file another program made (a non-empty SQLite database
  // without blobcache's mark) is refused and left untouched, whatever
  // on_corruption says. Throws Error: invalid_argument (empty path, a
  // negative busy_timeout, max_file_bytes negative or below 64 pages, bad
  // limits, limits with read_only; no file is created), entry_not_found (a
  // read-only open of a file that does not exist), corrupt (with
  // OnCorruption::raise, or read_only), unsupported (another program's
  // file, a newer schema, a network filesystem), read_only (a writable open
  // of a file or folder that cannot be written; the store never changes
  // permissions), no_space, io, busy. Cost: a few milliseconds and
  // O(entries) (the metadata's integrity check), not O(bytes stored); a
  // migration from an older version counts the entries once.
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

  // The limits in force, as the file holds them now (another process may
  // have changed them). Throws Error: busy, io, corrupt.
  Limits limits() const;
  // Stores `limits` in the file, so every process honours them from its
  // next write on, and evicts at once (in the same transaction) what the
  // new bounds leave no room for: expired entries first, then by the
  // policy. Cost: O(entries evicted); choosing least_recently_used also
  // stamps every entry's place in its order, O(entries), and leaving it for
  // least_recently_stored clears them, O(entries).
  // Throws Error: invalid_argument (a negative bound, max_bytes below one
  // page, an unknown policy; nothing changed), read_only, busy, io,
  // no_space.
  void set_limits(const Limits& limits);

  // What trim() removed, or compact() reclaimed.
  struct TrimReport {
    std::int64_t entries = 0;  // entries evicted
    std::int64_t bytes = 0;    // the sum of their sizes
  };
  struct CompactReport {
    std::int64_t bytes_before = 0;  // the file and its -wal before
    std::int64_t bytes_after = 0;   // ... and after
  };

  // Evicts now, as the store's background thread does after a write that
  // left the store near a bound: down to 90 % of each limit (rounded up),
  // expired entries first, then by the policy, in transactions of a few
  // hundred entries. Nothing when the store has no limits. Cost: O(entries
  // evicted). Throws Error: read_only, busy, io.
  TrimReport trim();
  // Gives the file's free pages back to the filesystem and empties the
  // -wal. A file this version created (incremental auto_vacuum) moves its
  // last pages into the free ones (PRAGMA incremental_vacuum): cost
  // O(free pages), no extra disk space. A file made by an older version
  // (PRAGMA auto_vacuum 0) is rewritten once (VACUUM: O(file size) time and
  // up to the file's size again in free disk space), which also converts
  // it, so later compacts take the cheap path. Other writers wait for it (up
  // to their busy_timeout), readers go on. Entries, ids and settings are unchanged.
  // Throws Error: read_only, busy, no_space, io.
  CompactReport compact();

 protected:
  std::optional<Blob> do_get(std::string_view ns, std::string_view key) override;
  bool do_get_into(std::string_view ns, std::string_view key, Blob& out) override;
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
  Stats do_stats() override;
  void do_reset_stats() override;
  bool do_try_acquire_lease(std::string_view ns, std::string_view key, std::string_view owner,
                            Duration ttl) override;
  void do_release_lease(std::string_view ns, std::string_view key, std::string_view owner) override;

 private:
  class BLOBCACHE_HIDDEN Impl;
  friend class detail::SqliteStoreAccess;  // the internal open path (tests, benchmark)
  explicit SqliteStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace blobcache
