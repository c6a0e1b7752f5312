#include "blobcache/policy.hpp"

#include <chrono>
#include <ctime>
#include <limits>
#include <type_traits>

namespace blobcache {
namespace {

using Rep = Duration::rep;
static_assert(std::is_same_v<TimePoint::duration, Duration>,
              "the saturating arithmetic below assumes TimePoint counts Duration ticks");

constexpr Rep kMax = std::numeric_limits<Rep>::max();
constexpr Rep kMin = std::numeric_limits<Rep>::min();

// a - b, clamped to [kMin, kMax]; exact whenever it fits.
Rep saturating_difference(Rep a, Rep b) noexcept {
  Rep result = 0;
  if (!__builtin_sub_overflow(a, b, &result)) return result;
  return a > b ? kMax : kMin;
}

// a + t - n for t > 0, clamped to [kMin, kMax]; exact whenever it fits.
// (updated_at + ttl - now: the time left before an entry expires by age.)
Rep saturating_sum_difference(Rep a, Rep t, Rep n) noexcept {
  Rep difference = 0;
  Rep result = 0;
  if (!__builtin_sub_overflow(a, n, &difference)) {
    // t > 0 can only push the sum past the top.
    return __builtin_add_overflow(difference, t, &result) ? kMax : result;
  }
  if (a > n) return kMax;  // a - n is already past the top, and t > 0
  // a - n is below the bottom, so a < 0 < n: a + t cannot overflow, and
  // subtracting n > 0 can only go past the bottom.
  return __builtin_sub_overflow(a + t, n, &result) ? kMin : result;
}

// An upper bound of std::chrono::system_clock::now(): time() reads the
// seconds of the coarse clock (which lags the precise one by at most a tick),
// for a fifth of the cost of the precise clock; a margin of 2 s covers the
// second it truncates and the tick, with room to spare.
TimePoint latest_system_now() noexcept {
  const std::time_t seconds = std::time(nullptr);
  if (seconds == static_cast<std::time_t>(-1)) return TimePoint::max();
  return TimePoint(std::chrono::seconds(seconds + 2));
}

}  // namespace

// Without a clock, the system clock is read directly: system_clock() hands
// out a shared_ptr, and its reference count would cost every freshness check
// two atomic operations.
TimePoint Policy::now() const { return clock ? clock->now() : std::chrono::system_clock::now(); }

Duration Policy::age(const Meta& meta) const { return age_at(meta, now()); }

Duration Policy::expires_in(const Meta& meta) const { return expires_in_at(meta, now()); }

// An entry that cannot expire needs no reading of the clock. With the system
// clock, an entry still fresh at the latest instant "now" can be is fresh:
// only entries within about 2 s of their expiry pay for the precise clock
// (36 ns here against 6 ns for time(), docs/performance.md).
bool Policy::is_expired(const Meta& meta) const {
  if (!meta.expires_at && ttl <= Duration::zero()) return false;
  if (!clock && !is_expired_at(meta, latest_system_now())) return false;
  return is_expired_at(meta, now());
}

Duration Policy::age_at(const Meta& meta, TimePoint now) const {
  return Duration{saturating_difference(now.time_since_epoch().count(),
                                        meta.updated_at.time_since_epoch().count())};
}

Duration Policy::expires_in_at(const Meta& meta, TimePoint now) const {
  const Rep at = now.time_since_epoch().count();
  if (meta.expires_at) {
    return Duration{saturating_difference(meta.expires_at->time_since_epoch().count(), at)};
  }
  if (ttl > Duration::zero()) {
    return Duration{
        saturating_sum_difference(meta.updated_at.time_since_epoch().count(), ttl.count(), at)};
  }
  return Duration::zero();
}

// One definition for both: saturation keeps the sign, so "expires_in < 0"
// is exactly "now > expires_at" and "age > ttl".
bool Policy::is_expired_at(const Meta& meta, TimePoint now) const {
  if (!meta.expires_at && ttl <= Duration::zero()) return false;
  return expires_in_at(meta, now) < Duration::zero();
}

}  // namespace blobcache
