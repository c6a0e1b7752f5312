#include "sqlite/access_clock.hpp"

#include <algorithm>
#include <ctime>
#include <utility>

#include "sqlite/rows.hpp"

namespace blobcache::detail {
namespace {

// The latest read stamp this thread recorded, of any store: a thread's
// stamps only grow.
thread_local std::int64_t last_read_of_thread = 0;

std::int64_t coarse_now() noexcept {
  timespec now{};
  clock_gettime(CLOCK_REALTIME_COARSE, &now);
  constexpr std::int64_t kNanosPerSecond = 1'000'000'000;
  return static_cast<std::int64_t>(now.tv_sec) * kNanosPerSecond + now.tv_nsec;
}

}  // namespace

AccessClock::AccessClock(std::shared_ptr<const Clock> clock)
    : clock_(std::move(clock)), coarse_(clock_ == system_clock()) {}

std::int64_t AccessClock::read_stamp() const {
  if (!coarse_) return to_nanos(clock_->now());
  const std::int64_t stamp = std::max(
      {coarse_now(), last_write_.load(std::memory_order_relaxed) + 1, last_read_of_thread + 1});
  last_read_of_thread = stamp;
  return stamp;
}

std::int64_t AccessClock::write_stamp() {
  const std::int64_t stamp = to_nanos(clock_->now());
  std::int64_t seen = last_write_.load(std::memory_order_relaxed);
  while (seen < stamp &&
         !last_write_.compare_exchange_weak(seen, stamp, std::memory_order_relaxed)) {
  }
  return stamp;
}

}  // namespace blobcache::detail
