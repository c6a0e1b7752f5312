// Internal: the background thread of one writable store: WAL checkpoints,
// moved off the put path, and the store's periodic duty (flushing what
// reads counted, trimming to the limits).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <sys/types.h>

#include "sqlite/connection.hpp"

struct sqlite3;

namespace blobcache::detail {

// How many checkpoints a store ran: by its thread, by committing
// connections, and those that returned neither OK nor a lock wait. A test
// seam (see test_seams.hpp).
struct CheckpointCounts {
  std::uint64_t background = 0;
  std::uint64_t inline_ = 0;
  std::uint64_t failed = 0;
};

// Thread-safe. One thread per writable store, started on first need and
// joined by the destructor; in a forked child (which has no such thread,
// and where the parent's may have held the mutex at fork) nothing runs on
// it: committing connections checkpoint inline and the duty waits for the
// store's writes.
//
// Checkpoints: SQLite's automatic checkpoint runs on the connection whose
// commit crosses the threshold, so one put in thousands paid for copying
// the whole WAL into the file plus an fdatasync. Instead, every writable
// connection of the store reports its commits here (watch()); past
// Tuning::checkpoint_pages the thread runs a PASSIVE checkpoint on a
// connection of its own, and past Tuning::checkpoint_inline_pages the
// committing connection runs one itself, so the WAL stays bounded when the
// thread falls behind.
//
// The duty: a function of the store's (set_duty) that the thread runs an
// interval after request_duty() asked for it, or at once when asked to.
class Maintenance {
 public:
  // `config`: how the thread opens its checkpoint connection (never one of
  // the pool's).
  explicit Maintenance(ConnectionConfig config);
  ~Maintenance();
  Maintenance(const Maintenance&) = delete;
  Maintenance& operator=(const Maintenance&) = delete;

  // Replaces SQLite's automatic checkpoint of `db` (a writable connection in
  // WAL mode that this object outlives) with the scheme above.
  void watch(sqlite3* db) noexcept;

  CheckpointCounts counts() const noexcept;

  // The duty and how long after a request it runs. It must not throw (what
  // it throws is dropped). Replaces any earlier one.
  void set_duty(std::function<void()> duty, std::chrono::milliseconds interval);
  // Asks for the duty: within the interval, or as soon as the thread is
  // free when `now`. Cheap when a request is already pending (one atomic
  // load): callable from every read.
  void request_duty(bool now = false) noexcept;
  // Removes the duty, after waiting for a run in progress to end.
  void clear_duty() noexcept;

 private:
  struct Shared;

  static int on_commit(void* self, sqlite3* db, const char* schema, int wal_pages);
  // Wakes the thread for a checkpoint, starting it when needed; false when
  // it cannot run.
  bool request() noexcept;
  // REQUIRES: shared_->mutex held. Starts the thread unless it runs.
  void start_thread();
  static void run(Shared& shared, const ConnectionConfig& config) noexcept;

  const ConnectionConfig config_;
  const pid_t owner_;
  // Leaked, not destroyed, in a forked child: its thread exists only in the
  // parent, and its mutex may have been held there at fork.
  std::unique_ptr<Shared> shared_;
};

}  // namespace blobcache::detail
