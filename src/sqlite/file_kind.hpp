// Internal: what an existing file is, decided without writing a byte.
#pragma once

#include <filesystem>
#include <string>

namespace blobcache::detail {

struct FileKind {
  enum class Is {
    absent,     // no file, or an empty one: a new store may be created
    empty,      // an SQLite database with no schema and no ids: may become a store
    blobcache,  // marked with blobcache's application_id
    foreign,    // a healthy SQLite database of another program
    damaged,    // not SQLite, or SQLite reports it corrupt
    locked,     // another connection holds it (creating or recovering it): ask again
  };
  Is is = Is::absent;
  std::string reason;  // for foreign and damaged: why, for the error message
};

// Looks at `file` (and its -wal) and says what it is. Reads only: it never
// writes the file, never changes its journal mode, and never creates a
// -wal or -shm beside a file that has no -wal (the SQLite probe, needed
// only for a database without an application_id, then opens it immutable).
// Throws Error(Errc::io or read_only) when the file cannot be read, and
// Error(Errc::busy) when another connection holds a lock the probe must
// wait for (the caller retries).
FileKind recognise(const std::filesystem::path& file);

}  // namespace blobcache::detail
