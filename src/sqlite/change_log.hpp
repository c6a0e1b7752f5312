// Internal: the log of changed keys that every process writing a store
// appends to, so that every process can tell which of the values it keeps
// in memory another process (or thread) may have changed.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace blobcache::detail {

// A hash naming what a change touched. Keys and namespaces hash apart.
std::uint64_t key_hash(std::string_view ns, std::string_view key) noexcept;
std::uint64_t namespace_hash(std::string_view ns) noexcept;

// One change, as logged.
struct Change {
  enum class Kind : std::uint32_t {
    begin = 1,  // a write transaction starts: `value` is its id (its own seq)
    key,        // the entry of hash `value` changed
    space,      // any entry of the namespace of hash `value` may have changed
    all,        // anything may have changed
    end,        // transaction `value` has committed or rolled back
  };
  Kind kind = Kind::all;
  std::uint64_t value = 0;
};

// A ring of Change records in a file beside the database ("<file>-changes",
// mode 0600), mapped shared by every process that opens the store.
// Thread-safe and process-safe:
// - appends take a process-shared robust mutex in the file (a holder that
//   dies is survived: the next appender logs `all`);
// - reads take no lock: a record carries its sequence number, written last
//   and read first and last, so a record overwritten while being read (the
//   ring wrapped) is detected, never misread.
//
// The protocol that keeps memory tiers exact (memory_tier.hpp): a write
// transaction logs `begin`, then what it changes, BEFORE its COMMIT, so a
// reader that loaded the head before a read of SQLite sees whether anything
// it read may have changed meanwhile; it logs `end` after the COMMIT (or the
// rollback). A transaction without `end` yet is open: the keys it logged
// must not be served from memory nor cached. The next `begin` closes it too
// (SQLite's write lock orders transactions), so a writer killed between its
// COMMIT and its `end` leaves its keys uncached only until the next write.
//
// The last process to close the store removes the file (like SQLite's -wal
// and -shm). Never delete or truncate it while the store is open: processes
// that still have the old one mapped would not see the changes logged in a
// new one.
class ChangeLog {
 public:
  // The number of records the ring keeps; a reader further behind than
  // that forgets everything it kept.
  static constexpr std::uint64_t kCapacity = 16384;

  // Maps the log beside `database`, creating it when missing and `writable`.
  // nullptr when it cannot be had (a read-only folder without one, a file
  // that is not a change log): the store then keeps nothing in memory.
  // Never throws.
  static std::unique_ptr<ChangeLog> open(const std::filesystem::path& database,
                                         bool writable) noexcept;

  ~ChangeLog();
  ChangeLog(const ChangeLog&) = delete;
  ChangeLog& operator=(const ChangeLog&) = delete;

  // The sequence number of the latest record (0 before the first).
  std::uint64_t head() const noexcept;
  // This process may append (it opened the file for writing).
  bool writable() const noexcept { return writable_; }

  // Appends `begin`, then `changes`; returns the transaction's id for end().
  // REQUIRES: the caller holds SQLite's write lock (an open write
  // transaction) and a writable log.
  std::uint64_t begin(std::span<const Change> changes) noexcept;
  // Appends `end` of transaction `id`.
  void end(std::uint64_t id) noexcept;

  // Calls `visit` with each record of sequence (from, to], in order.
  // Returns false, having visited only part, when the ring has overwritten
  // some of them (the reader is more than kCapacity behind).
  bool read(std::uint64_t from, std::uint64_t to,
            const std::function<void(const Change&)>& visit) const noexcept;

 private:
  struct Shared;
  ChangeLog(int fd, Shared* shared, bool writable, std::string path) noexcept;
  // Maps the file open as `fd`; null when it is not (yet) a change log of
  // this layout. With `initialise` (REQUIRES: an exclusive flock) a new or
  // half-made file is made one.
  static Shared* map(int fd, bool can_write, bool initialise) noexcept;
  // REQUIRES: the mutex held.
  void append(Change change) noexcept;
  bool lock() noexcept;  // false: the writable log cannot be locked
  void unlock() noexcept;

  int fd_;
  Shared* shared_;
  bool writable_;
  std::string path_;
  pid_t owner_;
};

}  // namespace blobcache::detail
