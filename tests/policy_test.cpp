#include "blobcache/policy.hpp"

#include <vector>

#include "catch_compat.hpp"
#include "fixed_clock.hpp"

namespace blobcache {
namespace {

using namespace std::chrono_literals;

const TimePoint kNow = TimePoint{} + 1'700'000'000s;

Meta updated(TimePoint at, std::optional<TimePoint> expires = std::nullopt) {
  Meta meta;
  meta.updated_at = at;
  meta.expires_at = expires;
  return meta;
}

TEST_CASE("Policy measures age and expires_in against its clock", "[policy]") {
  auto clock = std::make_shared<test::FixedClock>(kNow);
  const Policy policy{.ttl = 10min, .clock = clock};

  CHECK(policy.now() == kNow);
  CHECK(policy.age(updated(kNow - 3min)) == 3min);
  CHECK(policy.expires_in(updated(kNow - 3min)) == 7min);
  CHECK(policy.expires_in(updated(kNow - 15min)) == -5min);
  CHECK(policy.expires_in(updated(kNow - 15min, kNow + 1h)) == 1h);

  clock->advance(1min);
  CHECK(policy.age(updated(kNow)) == 1min);
}

TEST_CASE("Policy: the age boundary is not expired, one nanosecond past is", "[policy]") {
  auto clock = std::make_shared<test::FixedClock>(kNow);
  const Policy policy{.ttl = 10min, .clock = clock};
  CHECK_FALSE(policy.is_expired(updated(kNow - 10min)));
  CHECK(policy.is_expired(updated(kNow - 10min - 1ns)));
}

TEST_CASE("Policy: explicit expiry wins over TTL", "[policy]") {
  auto clock = std::make_shared<test::FixedClock>(kNow);
  const Policy policy{.ttl = 1s, .clock = clock};
  // Old by TTL, fresh by its own expiry.
  CHECK_FALSE(policy.is_expired(updated(kNow - 1h, kNow + 1s)));
  // Young by TTL, past its own expiry.
  CHECK(policy.is_expired(updated(kNow, kNow - 1ns)));
  // Exactly at expires_at is not expired.
  CHECK_FALSE(policy.is_expired(updated(kNow - 1h, kNow)));
}

TEST_CASE("Policy: ttl <= 0 never expires by age", "[policy]") {
  auto clock = std::make_shared<test::FixedClock>(kNow);
  const Duration ttl = GENERATE(Duration::zero(), Duration(-1s));
  const Policy policy{.ttl = ttl, .clock = clock};
  CHECK_FALSE(policy.is_expired(updated(kNow - 10'000h)));
  CHECK(policy.expires_in(updated(kNow - 10'000h)) == Duration::zero());
  CHECK(policy.is_expired(updated(kNow - 1h, kNow - 1s)));
}

// ---- Regressions of issue 10, defect 4: the arithmetic overflowed (UB) ----

const TimePoint kMinTime = TimePoint::min();
const TimePoint kMaxTime = TimePoint::max();

TEST_CASE("Policy regression: an expires_at in 1700 is expired with a negative expires_in",
          "[policy][regression]") {
  // 1700-01-01 is 323 years before kNow: more than a Duration can hold.
  const TimePoint year_1700 = TimePoint{} - 8'520'336'000s;
  const Policy policy{.ttl = 1h, .clock = std::make_shared<test::FixedClock>(kNow)};
  const Meta meta = updated(kNow - 1min, year_1700);
  CHECK(policy.is_expired(meta));
  CHECK(policy.expires_in(meta) == Duration::min());  // saturated, not +94100 days
  CHECK(policy.expires_in(updated(year_1700, kNow)) == Duration::zero());
  CHECK(policy.age(updated(year_1700)) == Duration::max());
}

TEST_CASE("Policy regression: an updated_at of TimePoint::min() is very old, not young",
          "[policy][regression]") {
  const Duration ttl = GENERATE(1ns, 1h, Duration::max());
  CAPTURE(ttl.count());
  const Policy policy{.ttl = ttl, .clock = std::make_shared<test::FixedClock>(kNow)};
  const Meta meta = updated(kMinTime);
  CHECK(policy.age(meta) == Duration::max());
  CHECK(policy.is_expired(meta));
  CHECK(policy.expires_in(meta) < Duration::zero());
}

TEST_CASE("Policy regression: a ttl of Duration::max() keeps a young entry fresh",
          "[policy][regression]") {
  const Policy policy{.ttl = Duration::max(), .clock = std::make_shared<test::FixedClock>(kNow)};
  // Clock skew: another process stamped updated_at a second ahead of ours.
  const Meta skewed = updated(kNow + 1s);
  CHECK(policy.age(skewed) == -1s);
  CHECK(policy.expires_in(skewed) == Duration::max());  // ttl + 1s saturates
  CHECK_FALSE(policy.is_expired(skewed));
  const Meta fresh = updated(kNow);
  CHECK(policy.expires_in(fresh) == Duration::max());
  CHECK_FALSE(policy.is_expired(fresh));
}

TEST_CASE("Policy regression: an updated_at ahead of now (clock skew) is not expired",
          "[policy][regression]") {
  const Policy policy{.ttl = 10min, .clock = std::make_shared<test::FixedClock>(kNow)};
  CHECK(policy.age(updated(kNow + 1s)) == -1s);
  CHECK(policy.expires_in(updated(kNow + 1s)) == 10min + 1s);
  CHECK_FALSE(policy.is_expired(updated(kNow + 1s)));
  // Far ahead, past what a Duration holds.
  CHECK(policy.age_at(updated(kMaxTime), kMinTime) == Duration::min());
  CHECK(policy.expires_in_at(updated(kMaxTime), kMinTime) == Duration::max());
  CHECK_FALSE(policy.is_expired_at(updated(kMaxTime), kMinTime));
}

// The exact value of a + b - c, in 128 bits (GCC and Clang on 64-bit
// targets), clamped to a Duration: what Policy must return.
__extension__ using Wide = __int128;
Duration clamped(Wide exact) {
  if (exact > Wide{Duration::max().count()}) return Duration::max();
  if (exact < Wide{Duration::min().count()}) return Duration::min();
  return Duration{static_cast<Duration::rep>(exact)};
}
Wide ticks(TimePoint t) { return t.time_since_epoch().count(); }

TEST_CASE("Policy saturates exactly at the edges of TimePoint and Duration",
          "[policy][regression]") {
  const std::vector<TimePoint> times{
      kMinTime, kMinTime + 1ns, kMinTime + 1h, TimePoint{} - 1s, TimePoint{},
      kNow,     kNow + 1s,      kMaxTime - 1h, kMaxTime - 1ns,   kMaxTime};
  const std::vector<Duration> ttls{
      Duration::min(), -1s, Duration::zero(), 1ns, 10min, Duration::max() - 1ns, Duration::max()};
  for (const TimePoint now : times) {
    for (const TimePoint stamped : times) {
      for (const Duration ttl : ttls) {
        const Policy policy{.ttl = ttl};
        const Meta by_age = updated(stamped);
        const Meta by_expiry = updated(kNow, stamped);
        CAPTURE(ticks(now), ticks(stamped), ttl.count());
        CHECK(policy.age_at(by_age, now) == clamped(ticks(now) - ticks(stamped)));
        CHECK(policy.expires_in_at(by_expiry, now) == clamped(ticks(stamped) - ticks(now)));
        CHECK(policy.is_expired_at(by_expiry, now) == (now > stamped));
        CHECK(policy.is_expired_at(by_expiry, now) ==
              (policy.expires_in_at(by_expiry, now) < Duration::zero()));
        if (ttl > Duration::zero()) {
          const Wide left = Wide{ttl.count()} - (ticks(now) - ticks(stamped));
          CHECK(policy.expires_in_at(by_age, now) == clamped(left));
          CHECK(policy.is_expired_at(by_age, now) == (left < 0));
          CHECK(policy.is_expired_at(by_age, now) ==
                (policy.expires_in_at(by_age, now) < Duration::zero()));
        } else {
          CHECK(policy.expires_in_at(by_age, now) == Duration::zero());
          CHECK_FALSE(policy.is_expired_at(by_age, now));
        }
      }
    }
  }
}

TEST_CASE("Policy without a clock uses the system clock", "[policy]") {
  const Policy policy{.ttl = 1h, .clock = nullptr};
  // Read between two readings of the system clock (no bound on how long
  // the call took: that is the machine's business).
  const TimePoint before = std::chrono::system_clock::now();
  const TimePoint now = policy.now();
  const TimePoint after = std::chrono::system_clock::now();
  CHECK(before <= now);
  CHECK(now <= after);
}

// Without a clock, is_expired() proves most entries fresh with the coarse
// system clock plus a margin; entries near their expiry must still be judged
// by the precise clock, to the millisecond.
TEST_CASE("Policy without a clock is exact near the expiry instant", "[policy]") {
  const Policy by_age{.ttl = 1h, .clock = nullptr};
  const Policy never{.ttl = Duration::zero(), .clock = nullptr};
  const TimePoint now = std::chrono::system_clock::now();

  CHECK(by_age.is_expired(updated(now - 1h - 2ms)));
  CHECK(by_age.is_expired(updated(now - 1h - 200ms)));
  CHECK_FALSE(by_age.is_expired(updated(now - 1h + 5s)));
  CHECK_FALSE(by_age.is_expired(updated(now - 1h + 1min)));

  CHECK(by_age.is_expired(updated(now, now - 2ms)));
  CHECK(never.is_expired(updated(now, now - 2ms)));
  CHECK_FALSE(never.is_expired(updated(now - 10'000h)));
  CHECK_FALSE(never.is_expired(updated(now, now + 5s)));
  CHECK_FALSE(by_age.is_expired(updated(now - 10'000h, now + 5s)));
}

}  // namespace
}  // namespace blobcache
