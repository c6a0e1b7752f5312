#include "sqlite/busy_handler.hpp"

#include <algorithm>
#include <sqlite3.h>
#include <thread>

namespace blobcache::detail {
namespace {

// A writer holds the lock for about 100 us; SQLite's default handler sleeps
// 1, 2, 5, 10 ... ms, so waiters oversleep by 10-100x. Yield a few times,
// then sleep briefly, doubling, never more than 1 ms per pause.
constexpr int kYields = 8;
constexpr std::chrono::microseconds kFirstSleep{5};
constexpr std::chrono::microseconds kMaxSleep{1000};

int on_busy(void* context, int count) {
  auto& wait = *static_cast<BusyWait*>(context);
  const auto now = std::chrono::steady_clock::now();
  if (count == 0) wait.started = now;
  if (now - wait.started >= wait.timeout) return 0;  // give up: SQLITE_BUSY
  back_off(count);
  return 1;
}

}  // namespace

void install_busy_handler(sqlite3* db, BusyWait& wait) {
  sqlite3_busy_handler(db, &on_busy, &wait);
}

std::chrono::microseconds pause_before(int attempt) noexcept {
  if (attempt < kYields) return std::chrono::microseconds::zero();
  const int doublings = std::min(attempt - kYields, 10);
  return std::min(kFirstSleep * (1 << doublings), kMaxSleep);
}

void back_off(int attempt) {
  const auto pause = pause_before(attempt);
  if (pause == std::chrono::microseconds::zero()) {
    std::this_thread::yield();
  } else {
    std::this_thread::sleep_for(pause);
  }
}

}  // namespace blobcache::detail
