// Internal: puts that threads of one store make at the same time, committed
// together in one write transaction.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <span>
#include <vector>

#include "per_process.hpp"
#include "sqlite/sqlite_error.hpp"
#include "sqlite/write_context.hpp"

namespace blobcache::detail {

// While one thread of a store writes, the puts its other threads start
// queue here instead of each waiting for SQLite's write lock in turn; the
// next thread to lead takes the queued puts (up to kMaxBatch of them and
// kMaxBatchBytes of values) and commits them in one transaction: one WAL
// append of the pages they share (the usage row, the index and table pages
// above the new rows) instead of one per put. Each put still returns only
// after the commit that holds it, with its own outcome (the Writer's batch
// gives each its own savepoint, and runs them one by one when the shared
// transaction fails as a whole), so the meaning of a put does not change.
// Thread-safe. A forked child starts with an empty queue of its own: the
// parent's, as fork found it, may have a leader that is not in the child.
class GroupCommit {
 public:
  // One queued put.
  struct Job {
    // Its statements, inside the batch's transaction. May throw.
    std::function<void(WriteContext&)> write;
    Where where;               // names the put in its errors
    std::size_t bytes = 0;     // the value's size (see kMaxBatchBytes)
    std::exception_ptr error;  // its outcome once done (null: committed)
    bool done = false;         // GUARDED_BY(Queue::mutex)
  };
  // Commits `batch` (one job or more, in queue order) and sets each job's
  // error. Must not throw.
  using RunBatch = std::function<void(std::span<Job* const> batch)>;

  // The most puts one transaction takes: bounds how long the write lock is
  // held against other processes, and what a failed batch costs to redo.
  static constexpr std::size_t kMaxBatch = 64;
  // The most value bytes one transaction takes, unless its first put alone
  // is bigger: each put of a batch runs in a savepoint, whose sub-journal
  // keeps in memory the pages the put rewrites (temp_store, connection.cpp),
  // up to about its value's size when it reuses free pages.
  static constexpr std::size_t kMaxBatchBytes = std::size_t{4} << 20;

  // Queues `job` and returns once a batch holding it has committed or
  // failed: the calling thread runs that batch itself unless another thread
  // is already leading one. Rethrows the job's error.
  void run(Job& job, const RunBatch& run_batch);

  // Puts waiting for a batch (for tests).
  std::size_t queued() const;

 private:
  struct Queue {
    std::mutex mutex;
    std::condition_variable finished;
    std::vector<Job*> queued;  // GUARDED_BY(mutex)
    bool leading = false;      // GUARDED_BY(mutex)
  };
  mutable PerProcess<Queue> queue_;
};

}  // namespace blobcache::detail
