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
#include "blobcache/store.hpp"

namespace blobcache {

// SQLite synchronous=NORMAL or FULL under WAL. normal: a power loss may lose
// the last commits but never corrupts; full: every commit is durable.
enum class Durability { normal, full };

// What opening a corrupt file does. raise: throw Error(Errc::corrupt) naming
// the path. quarantine: rename the file set to "<name>.corrupt-<UTC time>"
// beside it, start an empty store, and report it (SqliteStore::quarantined()).
enum class OnCorruption { raise, quarantine };

// An aggregate: `SqliteOptions{.path = p, .read_only = true}`.
struct SqliteOptions {
  // The one cache file; its folder is created (0700) if missing.
  std::filesystem::path path;
  // How long a call waits for another writer's lock before Error(Errc::busy).
  std::chrono::milliseconds busy_timeout{10'000};
  // Opens without writing anything; writes throw Error(Errc::read_only).
  bool read_only = false;
  Durability durability = Durability::normal;
  OnCorruption on_corruption = OnCorruption::quarantine;
  // Stamps updated_at; null: system_clock().
  std::shared_ptr<const Clock> clock;
  // Network filesystems (NFS, SMB/CIFS, 9p, FUSE network mounts) break
  // SQLite's locking; opening a file on one throws Error(Errc::unsupported)
  // unless this is true.
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
class SqliteStore final : public Store {
 public:
  // Opens (creating when missing, unless read_only) the file at
  // options.path. Throws Error: invalid_argument (empty path), corrupt
  // (with OnCorruption::raise), unsupported (newer schema, network
  // filesystem), read_only, io, busy.
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
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace blobcache
