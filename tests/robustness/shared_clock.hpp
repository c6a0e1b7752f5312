// A Clock shared by the processes of a test through a small file: it never
// runs backwards and never gives one instant twice, across all of them, and
// keeps to the system clock otherwise. A store stamps updated_at inside its
// write transaction, so with this clock the updated_at of the entries a
// file holds orders their commits, whichever process made them: a reader
// can tell an older version of a key from a newer one.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <fcntl.h>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

#include "blobcache/clock.hpp"

namespace blobcache::test {

class SharedClock final : public Clock {
 public:
  // Maps `file` (created when missing). Throws std::runtime_error.
  explicit SharedClock(const std::filesystem::path& file) {
    const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot open " + file.string());
    // Growing a file to its size again keeps what it holds: no race.
    void* mapping =
        ::ftruncate(fd, sizeof(std::int64_t)) == 0
            ? ::mmap(nullptr, sizeof(std::int64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
            : MAP_FAILED;
    ::close(fd);
    if (mapping == MAP_FAILED) throw std::runtime_error("cannot map " + file.string());
    last_ = static_cast<std::atomic<std::int64_t>*>(mapping);
  }
  ~SharedClock() override { ::munmap(last_, sizeof(std::int64_t)); }
  SharedClock(const SharedClock&) = delete;
  SharedClock& operator=(const SharedClock&) = delete;

  TimePoint now() const override {
    const std::int64_t system = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
    std::int64_t last = last_->load();
    std::int64_t next = 0;
    do {
      next = std::max(system, last + 1);
    } while (!last_->compare_exchange_weak(last, next));
    return TimePoint(
        std::chrono::duration_cast<TimePoint::duration>(std::chrono::nanoseconds(next)));
  }

 private:
  static_assert(std::atomic<std::int64_t>::is_always_lock_free,
                "shared between processes: the atomic must be lock-free");
  std::atomic<std::int64_t>* last_ = nullptr;
};

}  // namespace blobcache::test
