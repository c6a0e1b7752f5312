#include "blobcache/policy.hpp"

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

}  // namespace
}  // namespace blobcache
