// Internal: the store's files as the operating system sees them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace blobcache::detail {

// Creates the missing folders of `file`'s parent 0700 (existing ones keep
// their permissions) and the file itself 0600 when missing, so SQLite's
// -wal and -shm (which copy the file's mode) are 0600 too. Throws
// Error(read_only) when the place cannot be written, Error(io) otherwise.
void create_file_private(const std::filesystem::path& file);

// The bytes `file` and its -wal take (their sizes); 0 for what is missing.
std::int64_t file_bytes(const std::filesystem::path& file) noexcept;

// True when `file` (or its folder) cannot be written by this process.
bool place_is_read_only(const std::filesystem::path& file) noexcept;

// The name of the network filesystem a statfs() f_type stands for ("NFS",
// "SMB/CIFS", "9p", ...), or "" for a local one. FUSE has one f_type for
// every FUSE filesystem: `fuse_type` is then the mount's type from
// /proc/self/mountinfo ("fuse.sshfs", "fuse.rclone", ...), which decides.
// Pure: the seam the tests use.
std::string_view network_filesystem_name(unsigned long f_type,
                                         std::string_view fuse_type = {}) noexcept;

// Throws Error(Errc::unsupported) naming `file` and the filesystem when the
// file (or, before it exists, its folder) is on a network filesystem (see
// network_filesystem_name), whose locks SQLite cannot trust.
void require_local_filesystem(const std::filesystem::path& file);

// How a read-only store opens an existing WAL file.
enum class ReadOnlyOpen {
  // SQLITE_OPEN_READONLY: coordinated with writers through the -shm, which
  // exists already (a writer has the file open; SQLite can read it even
  // when it cannot write it) or can be created in the folder.
  shared,
  // URI immutable=1: no -shm, no locks, the file taken as it is. Only when
  // the -shm neither exists nor can be created: then no connection has the
  // file open (each WAL connection keeps the -shm, the last one removes it).
  immutable,
};

// Decides between the two for `file`. Throws Error(Errc::read_only) naming
// the file when it has a non-empty -wal but no -shm and the folder cannot
// be written: committed transactions may live only in that -wal, which
// immutable would ignore, and replaying it needs write access.
ReadOnlyOpen read_only_open_mode(const std::filesystem::path& file);

// Renames `file` and its -wal/-shm/-changes to
// "<file>.corrupt-<UTC YYYYMMDDTHHMMSSZ>" (plus the suffix) beside it and returns the new name of
// the file. Throws Error(io) when the rename fails.
std::filesystem::path quarantine_files(const std::filesystem::path& file);

}  // namespace blobcache::detail
