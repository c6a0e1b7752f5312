// Internal: the WAL checkpoints of one writable store, moved off the put path.
#pragma once

#include <cstdint>
#include <memory>
#include <sys/types.h>

#include "sqlite/connection.hpp"

struct sqlite3;

namespace blobcache::detail {

// How many checkpoints a Checkpointer's store ran: by its thread, by
// committing connections, and those that returned neither OK nor a lock
// wait. A test seam (see test_seams.hpp).
struct CheckpointCounts {
  std::uint64_t background = 0;
  std::uint64_t inline_ = 0;
  std::uint64_t failed = 0;
};

// Thread-safe. SQLite's automatic checkpoint runs on the connection whose
// commit crosses the threshold, so one put in thousands paid for copying the
// whole WAL into the file plus an fdatasync. Instead, every writable
// connection of the store reports its commits here (watch()); past
// Tuning::checkpoint_pages a thread of this object runs a PASSIVE checkpoint
// on a connection of its own, and past Tuning::checkpoint_inline_pages the
// committing connection runs one itself, so the WAL stays bounded when the
// thread falls behind. The thread starts on first need and is joined by the
// destructor. In a forked child (which has no such thread, and where the
// parent's thread may have held the mutex at fork) the committing
// connection checkpoints inline from the first threshold on.
class Checkpointer {
 public:
  // `config`: how the thread opens its connection (never one of the pool's).
  explicit Checkpointer(ConnectionConfig config);
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Replaces SQLite's automatic checkpoint of `db` (a writable connection in
  // WAL mode that this object outlives) with the scheme above.
  void watch(sqlite3* db) noexcept;

  CheckpointCounts counts() const noexcept;

 private:
  struct Shared;

  static int on_commit(void* self, sqlite3* db, const char* schema, int wal_pages);
  // Wakes the thread, starting it when needed; false when it cannot run.
  bool request() noexcept;
  static void run(Shared& shared, const ConnectionConfig& config) noexcept;

  const ConnectionConfig config_;
  const pid_t owner_;
  // Leaked, not destroyed, in a forked child: its thread exists only in the
  // parent, and its mutex may have been held there at fork.
  std::unique_ptr<Shared> shared_;
};

}  // namespace blobcache::detail
