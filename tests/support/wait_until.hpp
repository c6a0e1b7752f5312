// Waiting for an event another thread or process makes happen.
#pragma once

#include <chrono>
#include <thread>

namespace blobcache::test {

// Returns once `happened()` is true, polling it. No deadline: a test waits
// for the event, never for a time (an event that never comes is bounded by
// the test program's Meson timeout, as processes.hpp says). `happened` may
// do work of its own on each call (a put, a read).
template <typename Predicate>
void wait_until(Predicate happened) {
  while (!happened()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

}  // namespace blobcache::test
