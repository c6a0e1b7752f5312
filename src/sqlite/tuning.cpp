#include "sqlite/tuning.hpp"

namespace blobcache::detail {

Tuning& tuning() noexcept {
  static Tuning knobs;
  return knobs;
}

}  // namespace blobcache::detail
