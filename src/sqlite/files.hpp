// Internal: the store's files as the operating system sees them.
#pragma once

#include <filesystem>
#include <string>

namespace blobcache::detail {

// Creates the missing folders of `file`'s parent 0700 (existing ones keep
// their permissions) and the file itself 0600 when missing, so SQLite's
// -wal and -shm (which copy the file's mode) are 0600 too. Throws
// Error(read_only) when the place cannot be written, Error(io) otherwise.
void create_file_private(const std::filesystem::path& file);

// True when `file` (or its folder) cannot be written by this process.
bool place_is_read_only(const std::filesystem::path& file) noexcept;

// Throws Error(Errc::unsupported) when `file`'s folder is on a network
// filesystem (NFS, SMB/CIFS, 9p, AFS, Ceph, ...), whose locks SQLite cannot trust.
void require_local_filesystem(const std::filesystem::path& file);

// Renames `file` and its -wal/-shm to "<file>.corrupt-<UTC YYYYMMDDTHHMMSSZ>"
// (plus -wal/-shm) beside it and returns the new name of the file. Throws
// Error(io) when the rename fails.
std::filesystem::path quarantine_files(const std::filesystem::path& file);

}  // namespace blobcache::detail
