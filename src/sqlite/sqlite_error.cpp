#include "sqlite/sqlite_error.hpp"

#include <cerrno>
#include <cstring>
#include <sqlite3.h>

#include "errors.hpp"

namespace blobcache::detail {

bool is_lock_wait(int result_code) noexcept {
  return (result_code & 0xFF) == SQLITE_BUSY || (result_code & 0xFF) == SQLITE_LOCKED;
}

bool is_corruption(int result_code) noexcept {
  return (result_code & 0xFF) == SQLITE_CORRUPT || (result_code & 0xFF) == SQLITE_NOTADB;
}

int read_failure_in_check(std::string_view finding) noexcept {
  // The words of SQLite's checkTreePage and checkList (btree.c).
  constexpr std::string_view kCoded = "unable to get the page. error code=";
  if (const auto at = finding.find(kCoded); at != std::string_view::npos) {
    int code = 0;
    for (std::size_t i = at + kCoded.size();
         i < finding.size() && finding[i] >= '0' && finding[i] <= '9' && code < 100'000; ++i) {
      code = code * 10 + (finding[i] - '0');
    }
    return is_corruption(code) ? 0 : (code != 0 ? code : SQLITE_IOERR);
  }
  return finding.find("failed to get page") != std::string_view::npos ? SQLITE_IOERR : 0;
}

int result_of_blob_open_on_stepped_row(int rc) noexcept {
  return rc == SQLITE_ERROR ? SQLITE_CORRUPT : rc;
}

Errc errc_of_errno(int error) noexcept {
  switch (error) {
    case EACCES:
    case EPERM:
    case EROFS:
      return Errc::read_only;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:  // RLIMIT_FSIZE: the space this process may use is full
      return Errc::no_space;
    default:
      return Errc::io;
  }
}

Errc errc_of_sqlite(int result_code, int system_errno, bool read_only_place) noexcept {
  switch (result_code & 0xFF) {  // the primary code of an extended one
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Errc::busy;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Errc::corrupt;
    case SQLITE_FULL:
      return Errc::no_space;
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return Errc::read_only;
    case SQLITE_CANTOPEN:
      return read_only_place ? Errc::read_only : Errc::io;
    case SQLITE_TOOBIG:
      return Errc::too_large;
    case SQLITE_INTERRUPT:
      return Errc::cancelled;
    case SQLITE_IOERR:
      // SQLite itself reports only ENOSPC on write() as SQLITE_FULL; the
      // same condition met by fsync, ftruncate, fallocate of the -wal or
      // -shm, a quota (EDQUOT) or RLIMIT_FSIZE (EFBIG) arrives as IOERR.
      return errc_of_errno(system_errno) == Errc::no_space ? Errc::no_space : Errc::io;
    default:  // everything that should never happen
      return Errc::io;
  }
}

std::string describe_where(const Where& where) {
  std::string text(where.operation);
  if (!where.ns.empty()) {
    text += " \"";
    text += where.ns;
    text += '"';
    if (!where.key.empty()) {
      text += "/\"";
      text += where.key;
      text += '"';
    }
  }
  // "put \"ns\"/\"key\" in /path", but "open /path", "check /path".
  text += where.ns.empty() ? " " : " in ";
  text += where.file.string();
  return text;
}

void throw_sqlite(const Where& where, int result_code, std::string_view cause, int system_errno) {
  std::string message = describe_where(where);
  message += ": ";
  message += cause;
  if (result_code >= 0) {
    message += " (";
    message += sqlite3_errstr(result_code);
    message += ", SQLite code " + std::to_string(result_code) + ")";
  }
  if (system_errno != 0) {
    message += ": ";
    message += std::strerror(
        system_errno);  // NOLINT(concurrency-mt-unsafe): glibc's is thread-safe for known codes
  }
  throw_error(errc_of_sqlite(result_code, system_errno, where.read_only_place), message);
}

void throw_sqlite(const Where& where, const SqliteFailure& failure) {
  // SQLiteCpp's own misuse errors carry -1; they are bugs, reported as io.
  const int code = failure.result_code;
  // The OS error matters only for I/O failures; for any other code it is
  // whatever some unrelated call left behind.
  const bool os_failure =
      code > 0 && ((code & 0xFF) == SQLITE_IOERR || (code & 0xFF) == SQLITE_CANTOPEN);
  throw_sqlite(where, code, failure.cause, os_failure ? failure.system_errno : 0);
}

}  // namespace blobcache::detail
