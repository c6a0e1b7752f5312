#include "sqlite/sqlite_error.hpp"

#include <sqlite3.h>

#include "errors.hpp"

namespace blobcache::detail {

Errc errc_of_sqlite(int result_code, bool read_only_place) noexcept {
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
    default:  // IOERR and everything that should never happen
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
  text += " in ";
  text += where.file.string();
  return text;
}

void throw_sqlite(const Where& where, int result_code, std::string_view cause) {
  std::string message = describe_where(where);
  message += ": ";
  message += cause;
  if (result_code >= 0) {
    message += " (";
    message += sqlite3_errstr(result_code);
    message += ", SQLite code " + std::to_string(result_code) + ")";
  }
  throw_error(errc_of_sqlite(result_code, where.read_only_place), message);
}

void throw_sqlite(const Where& where, const SQLite::Exception& e) {
  // SQLiteCpp's own misuse errors carry -1; they are bugs, reported as io.
  const int code = e.getExtendedErrorCode() > 0 ? e.getExtendedErrorCode() : e.getErrorCode();
  throw_sqlite(where, code, e.what());
}

}  // namespace blobcache::detail
