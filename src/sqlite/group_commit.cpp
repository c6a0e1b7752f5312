#include "sqlite/group_commit.hpp"

#include <algorithm>

namespace blobcache::detail {

void GroupCommit::run(Job& job, const RunBatch& run_batch) {
  Queue& queue = queue_.get();
  std::unique_lock lock(queue.mutex);
  queue.queued.push_back(&job);
  while (!job.done) {
    if (queue.leading) {
      queue.finished.wait(lock);
      continue;
    }
    queue.leading = true;
    std::size_t taken = 1;  // the first whatever its size
    std::size_t bytes = queue.queued.front()->bytes;
    while (taken < std::min(queue.queued.size(), kMaxBatch) &&
           bytes + queue.queued[taken]->bytes <= kMaxBatchBytes) {
      bytes += queue.queued[taken]->bytes;
      ++taken;
    }
    std::vector<Job*> batch(queue.queued.begin(),
                            queue.queued.begin() + static_cast<std::ptrdiff_t>(taken));
    queue.queued.erase(queue.queued.begin(),
                       queue.queued.begin() + static_cast<std::ptrdiff_t>(taken));
    lock.unlock();
    run_batch(batch);
    lock.lock();
    for (Job* finished : batch) finished->done = true;
    // Wakes the batch's threads, and the queued ones: one of them leads next.
    queue.leading = false;
    queue.finished.notify_all();
  }
  if (job.error) std::rethrow_exception(job.error);
}

std::size_t GroupCommit::queued() const {
  Queue& queue = queue_.get();
  const std::lock_guard lock(queue.mutex);
  return queue.queued.size();
}

}  // namespace blobcache::detail
