// A clock the test sets by hand.
#pragma once

#include <atomic>
#include <memory>

#include "blobcache/clock.hpp"

namespace blobcache::test {

class FixedClock final : public Clock {
 public:
  explicit FixedClock(TimePoint start) : now_(start.time_since_epoch().count()) {}
  TimePoint now() const override { return TimePoint(Duration(now_.load())); }
  void set(TimePoint t) { now_ = t.time_since_epoch().count(); }
  void advance(Duration d) { now_ += d.count(); }

 private:
  std::atomic<Duration::rep> now_;
};

}  // namespace blobcache::test
