// Internal: whether the reads of the calling thread count in Stats.
#pragma once

namespace blobcache::detail {

// While one lives, gets and opens made on its thread are not counted as hits
// or misses (Store::verify reads every entry: those are not lookups).
// Nestable; thread-local, so it costs nothing to other threads.
class UncountedReads {
 public:
  UncountedReads() noexcept { ++depth_; }
  ~UncountedReads() { --depth_; }
  UncountedReads(const UncountedReads&) = delete;
  UncountedReads& operator=(const UncountedReads&) = delete;

  static bool active() noexcept { return depth_ > 0; }

 private:
  static thread_local int depth_;
};

}  // namespace blobcache::detail
