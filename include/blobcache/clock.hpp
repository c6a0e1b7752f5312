// The source of "now" for stores and policies; inject a fixed clock in tests.
#pragma once

#include <memory>

#include "blobcache/export.hpp"
#include "blobcache/types.hpp"

namespace blobcache {

// Implementations must be safe to call from many threads at once.
class BLOBCACHE_EXPORT Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

// The process-wide std::chrono::system_clock (nanosecond resolution on Linux).
// Never null; the same object on every call.
BLOBCACHE_EXPORT std::shared_ptr<const Clock> system_clock();

}  // namespace blobcache
