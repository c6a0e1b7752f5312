#include "blobcache/policy.hpp"

namespace blobcache {

TimePoint Policy::now() const { return clock ? clock->now() : system_clock()->now(); }

Duration Policy::age(const Meta& meta) const { return age_at(meta, now()); }

Duration Policy::expires_in(const Meta& meta) const { return expires_in_at(meta, now()); }

bool Policy::is_expired(const Meta& meta) const { return is_expired_at(meta, now()); }

Duration Policy::age_at(const Meta& meta, TimePoint now) const { return now - meta.updated_at; }

Duration Policy::expires_in_at(const Meta& meta, TimePoint now) const {
  if (meta.expires_at) return *meta.expires_at - now;
  if (ttl > Duration::zero()) return ttl - age_at(meta, now);
  return Duration::zero();
}

bool Policy::is_expired_at(const Meta& meta, TimePoint now) const {
  if (meta.expires_at) return now > *meta.expires_at;
  return ttl > Duration::zero() && age_at(meta, now) > ttl;
}

}  // namespace blobcache
