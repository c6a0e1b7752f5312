// A fault-injecting SQLite VFS for tests: a wrapper around SQLite's "unix"
// VFS that makes reads, writes, syncs or truncations of a database file or
// its -wal fail on demand, as a full or failing disk would, so the no_space
// and io paths run without root, a small filesystem or a bad disk.
//
// A failing call sets errno as the system call would and returns what the
// unix VFS returns for it: SQLITE_FULL for a write that met ENOSPC,
// SQLITE_IOERR_WRITE for any other write error, SQLITE_IOERR_FSYNC,
// SQLITE_IOERR_TRUNCATE or SQLITE_IOERR_READ for the others. It changes
// nothing on disk. Everything else goes to the unix VFS untouched.
//
// A store uses it through its Tuning (Tuning::vfs = name()), or every
// connection of the process does when it is made the default VFS.
//
// Thread-safe: connections on any thread may use it while a test arms or
// clears a fault.
#pragma once

#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>

namespace blobcache::test {

// The file operation a fault hits.
enum class FaultOp { read, write, sync, truncate };

// The files it hits. The -shm is never hit: it is shared memory, written
// through a mapping, not through these calls.
enum class FaultTarget { database, wal, both };

struct Fault {
  FaultOp op = FaultOp::write;
  FaultTarget target = FaultTarget::both;
  // The errno the failing system call leaves: ENOSPC, EDQUOT, EFBIG, EIO...
  int error = EIO;
  // The nth call of `op` on `target` counted from arm() fails, and so does
  // every one after it until clear(): a full disk stays full until space is
  // freed. REQUIRES: nth >= 1.
  std::uint64_t nth = 1;
};

class FaultVfs {
 public:
  // Registers a VFS of its own name around "unix"; with make_default, it
  // becomes the process's default VFS too (until destroyed).
  explicit FaultVfs(bool make_default = false);
  // Unregisters it. REQUIRES: no connection opened through it is still open.
  ~FaultVfs();
  FaultVfs(const FaultVfs&) = delete;
  FaultVfs& operator=(const FaultVfs&) = delete;

  // Its registered name, for Tuning::vfs or sqlite3_open_v2.
  const std::string& name() const noexcept;

  // Arms `fault`, replacing the one armed before; counting starts now.
  void arm(const Fault& fault);
  // Lifts the armed fault: every call succeeds again (as the disk lets it).
  void clear();
  // The calls failed since the last arm().
  std::uint64_t fired() const;
  // The calls of the armed fault's kind seen since the last arm(), failed
  // or not.
  std::uint64_t seen() const;

  // How many times a connection through this VFS was refused a lock
  // another connection held (SQLITE_BUSY from xLock or xShmLock), since it
  // was made: the event that proves a connection is waiting for a lock.
  std::uint64_t lock_refusals() const;

  // What the unix VFS returns for `op` failing with `error` (see above).
  static int result_code(FaultOp op, int error) noexcept;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace blobcache::test
