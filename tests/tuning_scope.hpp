// Restores the process-wide SqliteStore knobs (detail::tuning()) when a test
// that changed them ends, so the next test case starts from the defaults.
// Test cases in one program run one after another (Catch2), which is what
// makes changing process-wide knobs in them sound.
#pragma once

#include "sqlite/tuning.hpp"

namespace blobcache::test {

class TuningScope {
 public:
  TuningScope() : saved_(detail::tuning()) {}
  ~TuningScope() { detail::tuning() = saved_; }
  TuningScope(const TuningScope&) = delete;
  TuningScope& operator=(const TuningScope&) = delete;

 private:
  detail::Tuning saved_;
};

}  // namespace blobcache::test
