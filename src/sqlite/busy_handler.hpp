// Internal: a lock-wait policy for SQLite that backs off from microseconds.
#pragma once

#include <chrono>

struct sqlite3;

namespace blobcache::detail {

// One connection's wait state. SQLite calls the handler with a count that
// restarts at 0 for each lock it waits on; the first call starts the clock.
struct BusyWait {
  std::chrono::nanoseconds timeout{};
  std::chrono::steady_clock::time_point started{};
};

// Installs the handler on `db`; `wait` must outlive the connection.
void install_busy_handler(sqlite3* db, BusyWait& wait);

// The pause before attempt `attempt` (0-based) of a lock wait: zero (a
// yield) for the first 8, then 5 us doubling up to 1 ms. Pure.
std::chrono::microseconds pause_before(int attempt) noexcept;

// Pauses before attempt `attempt`: yields, or sleeps pause_before(attempt).
// Also used by open(), whose steps SQLite does not always retry itself.
void back_off(int attempt);

}  // namespace blobcache::detail
