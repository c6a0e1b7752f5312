// Internal: the instants least_recently_used records as the accesses of
// reads.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "blobcache/clock.hpp"

namespace blobcache::detail {

// With a Clock the store was given, that clock: exact. With the system
// clock, the kernel's coarse real-time clock (CLOCK_REALTIME_COARSE, ~6 ns
// to read where the precise one costs ~36 ns on the VMs we measure, a tenth
// of a get served from memory; it moves once per kernel tick, 1-4 ms),
// raised past every instant the same thread recorded before and every write
// this process stamped. So one thread's reads and writes keep their exact
// order; only reads made within one tick by different threads or processes,
// or a read and another process's write, may be ordered either way
// (docs/design.md, "Reads never write"). A stamp never runs ahead of the precise
// clock by more than a nanosecond per read recorded in the same tick.
// Thread-safe.
class AccessClock {
 public:
  // `clock`: the store's; system_clock() selects the coarse one.
  explicit AccessClock(std::shared_ptr<const Clock> clock);

  // Nanoseconds since the epoch for a read made now. Throws what the given
  // Clock throws.
  std::int64_t read_stamp() const;
  // Nanoseconds since the epoch for a write transaction starting now: the
  // store's clock, exact; later read stamps of this process come after it.
  std::int64_t write_stamp();

 private:
  std::shared_ptr<const Clock> clock_;
  bool coarse_;
  // The latest write_stamp() given (0: none yet).
  std::atomic<std::int64_t> last_write_{0};
};

}  // namespace blobcache::detail
