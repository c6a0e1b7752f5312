// Policy: when an entry counts as expired.
#pragma once

#include <memory>

#include "blobcache/clock.hpp"
#include "blobcache/export.hpp"
#include "blobcache/types.hpp"

namespace blobcache {

// An aggregate: `Policy{.ttl = 1h, .clock = my_clock}`. Const methods are
// thread-safe when the clock is.
//
// Every time and duration is accepted, TimePoint::min() to max() and any
// ttl: the arithmetic saturates instead of overflowing. A result that a
// Duration cannot hold (the two instants lie more than ~292 years apart) is
// Duration::max() or Duration::min(), by its true sign; every other result
// is exact. So the signs are always right: is_expired() is true exactly when
// expires_in() < 0 (for an entry with expires_at, or for any entry when
// ttl > 0), and an entry whose updated_at is ahead of now (another process's
// clock runs ahead) has a negative age and is not expired by age.
struct BLOBCACHE_EXPORT Policy {
  // Entries without expires_at expire `ttl` after updated_at; <= 0: never.
  Duration ttl{0};
  // The source of "now"; null: system_clock().
  std::shared_ptr<const Clock> clock;

  TimePoint now() const;
  // now - updated_at (negative when updated_at is in the future).
  Duration age(const Meta& meta) const;
  // expires_at - now when expires_at is set; else ttl - age when ttl > 0;
  // else 0. Negative once expired; 0 at the last instant that is not.
  Duration expires_in(const Meta& meta) const;
  // now > expires_at when expires_at is set (explicit expiry wins over TTL,
  // and the instant of expires_at itself is not expired); else
  // ttl > 0 && age > ttl. Cost: no clock read for an entry that cannot
  // expire; without `clock`, time() (a few ns) for an entry more than ~2 s
  // from its expiry, the precise system clock only nearer to it: exact
  // either way.
  bool is_expired(const Meta& meta) const;

  // The same three, evaluated at `now` instead of the clock's time (to judge
  // many entries against one instant).
  Duration age_at(const Meta& meta, TimePoint now) const;
  Duration expires_in_at(const Meta& meta, TimePoint now) const;
  bool is_expired_at(const Meta& meta, TimePoint now) const;
};

}  // namespace blobcache
