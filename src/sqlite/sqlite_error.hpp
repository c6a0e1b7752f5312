// Internal: the one place where SQLite result codes become Errc, and the
// wrapper that keeps SQLiteCpp exceptions from reaching callers.
#pragma once

#include <SQLiteCpp/Exception.h>
#include <cerrno>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

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

// The classes of SQLite result codes (extended or primary) the store acts
// on itself; everything else it reports through errc_of_sqlite.
// Another connection holds a lock (BUSY, LOCKED): worth waiting for.
bool is_lock_wait(int result_code) noexcept;
// The file or a page is damaged (CORRUPT, NOTADB).
bool is_corruption(int result_code) noexcept;

// The result code behind one finding of PRAGMA quick_check or
// integrity_check that is not damage: a page SQLite could not read ("unable
// to get the page. error code=266", "failed to get page 31") is a failing
// disk, and must never set a healthy file aside. 0 for any other finding.
int read_failure_in_check(std::string_view finding) noexcept;

// What sqlite3_blob_open/reopen's result `rc` means on a row the caller has
// just stepped to in the same read transaction: SQLITE_ERROR there ("cannot
// open value of type integer") says the column holds no blob, which only
// damage explains, so it becomes SQLITE_CORRUPT; other codes stay.
int result_of_blob_open_on_stepped_row(int rc) noexcept;

// The Errc for an OS error (errno) met by the store's own file operations:
// EACCES/EPERM/EROFS read_only, ENOSPC/EDQUOT/EFBIG no_space, else io.
Errc errc_of_errno(int error) noexcept;

// The Errc for an SQLite (extended or primary) result code. `system_errno`
// is the OS error behind it (0 when unknown): an IOERR caused by ENOSPC,
// EDQUOT or EFBIG (past RLIMIT_FSIZE or the filesystem's largest file) is a
// full disk, not an I/O fault.
Errc errc_of_sqlite(int result_code, int system_errno, bool read_only_place) noexcept;

// "put \"ns\"/\"key\" in /path/cache.db", or "open /path/cache.db" for an
// operation on the whole file: the start of every error message of the
// SQLite backend (followed by ": <cause>").
std::string describe_where(const Where& where);

// Throws Error(errc_of_sqlite(...)) naming `where`, `cause` and, when not
// 0, the OS error.
[[noreturn]] void throw_sqlite(const Where& where, int result_code, std::string_view cause,
                               int system_errno = 0);

// An SQLite failure as SQLiteCpp raised it, with the OS error behind it.
struct SqliteFailure {
  int result_code = 0;  // extended when SQLite gave one; -1 for SQLiteCpp misuse
  int system_errno = 0;
  std::string cause;  // SQLite's message
};

// The same for a failure captured by attempt().
[[noreturn]] void throw_sqlite(const Where& where, const SqliteFailure& failure);

// The one wrapper around SQLite work. Runs `body` (returning nothing); an
// SQLite::Exception it raises is returned as a failure for the caller to
// act on (retry a lock wait, quarantine a corrupt file); nullopt when the
// body succeeded. Errors the body raises itself (blobcache::Error) pass
// through unchanged.
//
// The OS error behind an IOERR: sqlite3_system_errno() is not enough, as
// SQLite (3.40) records it only for errors raised inside a statement, not
// for a failed COMMIT (the WAL append that meets EFBIG returns IOERR_WRITE
// with sqlite3_system_errno() == 0). So errno is cleared before the body and
// read first thing after it fails: non-zero, it is the last system call
// that failed during this operation, the one SQLite stopped at.
template <typename Body>
std::optional<SqliteFailure> attempt(Body&& body) {
  errno = 0;
  try {
    body();
    return std::nullopt;
  } catch (const SQLite::Exception& e) {
    const int system_errno = errno;
    return SqliteFailure{
        .result_code = e.getExtendedErrorCode() > 0 ? e.getExtendedErrorCode() : e.getErrorCode(),
        .system_errno = system_errno,
        .cause = e.what()};
  }
}

// Runs `body` and returns what it returns, turning any SQLite::Exception
// into blobcache::Error naming `where`: a Where, or a callable giving one
// when the failure happens (a batch names the request it failed at).
template <typename WhereOf, typename Body>
decltype(auto) translated(WhereOf&& where, Body&& body) {
  using Result = decltype(body());
  std::optional<SqliteFailure> failure;
  if constexpr (std::is_void_v<Result>) {
    failure = attempt(body);
    if (!failure) return;
  } else {
    std::optional<Result> result;
    failure = attempt([&] { result.emplace(body()); });
    if (!failure) return Result(std::move(*result));
  }
  if constexpr (std::is_invocable_v<WhereOf>) {
    throw_sqlite(where(), *failure);
  } else {
    throw_sqlite(where, *failure);
  }
}

}  // namespace blobcache::detail
