#include "sqlite/group_commit.hpp"

#include <algorithm>

namespace blobcache::detail {

void GroupCommit::run(Job& job, const RunBatch& run_batch) {
  std::unique_lock lock(mutex_);
  queued_.push_back(&job);
  while (!job.done) {
    if (leading_) {
      finished_.wait(lock);
      continue;
    }
    leading_ = true;
    std::size_t taken = 1;  // the first whatever its size
    std::size_t bytes = queued_.front()->bytes;
    while (taken < std::min(queued_.size(), kMaxBatch) &&
           bytes + queued_[taken]->bytes <= kMaxBatchBytes) {
      bytes += queued_[taken]->bytes;
      ++taken;
    }
    std::vector<Job*> batch(queued_.begin(), queued_.begin() + static_cast<std::ptrdiff_t>(taken));
    queued_.erase(queued_.begin(), queued_.begin() + static_cast<std::ptrdiff_t>(taken));
    lock.unlock();
    run_batch(batch);
    lock.lock();
    for (Job* finished : batch) finished->done = true;
    // Wakes the batch's threads, and the queued ones: one of them leads next.
    leading_ = false;
    finished_.notify_all();
  }
  if (job.error) std::rethrow_exception(job.error);
}

std::size_t GroupCommit::queued() const {
  const std::lock_guard lock(mutex_);
  return queued_.size();
}

}  // namespace blobcache::detail
