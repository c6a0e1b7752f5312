// Internal: the one place where SQLite result codes become Errc, and the
// wrapper that keeps SQLiteCpp exceptions from reaching callers.
#pragma once

#include <SQLiteCpp/Exception.h>
#include <cerrno>
#include <filesystem>
#include <string>
#include <string_view>

#include "blobcache/error.hpp"

namespace blobcache::detail {

// What was being done when SQLite failed, for the Error's message. Borrows
// everything it names; build it on the stack around one call.
struct Where {
  std::string_view operation;         // "put", "open", ...
  const std::filesystem::path& file;  // the database file
  std::string_view ns = {};
  std::string_view key = {};
  // The file or its folder cannot be written (decides READONLY/CANTOPEN).
  bool read_only_place = false;
};

// The Errc for an OS error (errno) met by the store's own file operations:
// EACCES/EPERM/EROFS read_only, ENOSPC/EDQUOT/EFBIG no_space, else io.
Errc errc_of_errno(int error) noexcept;

// The Errc for an SQLite (extended or primary) result code. `system_errno`
// is the OS error behind it (0 when unknown): an IOERR caused by ENOSPC,
// EDQUOT or EFBIG (past RLIMIT_FSIZE or the filesystem's largest file) is a
// full disk, not an I/O fault.
Errc errc_of_sqlite(int result_code, int system_errno, bool read_only_place) noexcept;

// "put \"ns\"/\"key\" in /path/cache.db: <cause>": the message prefix every
// error of the SQLite backend carries.
std::string describe_where(const Where& where);

// Throws Error(errc_of_sqlite(...)) naming `where`, `cause` and, when not
// 0, the OS error.
[[noreturn]] void throw_sqlite(const Where& where, int result_code, std::string_view cause,
                               int system_errno = 0);
// The same for an exception SQLiteCpp raised; `system_errno` as captured by
// translated() (consulted only for IOERR and CANTOPEN).
[[noreturn]] void throw_sqlite(const Where& where, const SQLite::Exception& e,
                               int system_errno = 0);

// Runs `body`, turning any SQLite::Exception into blobcache::Error. Errors
// the body raises itself (blobcache::Error) pass through unchanged.
//
// The OS error behind an IOERR: sqlite3_system_errno() is not enough, as
// SQLite (3.40) records it only for errors raised inside a statement, not
// for a failed COMMIT (the WAL append that meets EFBIG returns IOERR_WRITE
// with sqlite3_system_errno() == 0). So errno is cleared before the body and
// read first thing after it fails: non-zero, it is the last system call
// that failed during this operation, the one SQLite stopped at.
template <typename Body>
decltype(auto) translated(const Where& where, Body&& body) {
  errno = 0;
  try {
    return body();
  } catch (const SQLite::Exception& e) {
    const int system_errno = errno;
    throw_sqlite(where, e, system_errno);
  }
}

}  // namespace blobcache::detail
