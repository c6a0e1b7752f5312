// Internal: the one place where SQLite result codes become Errc, and the
// wrapper that keeps SQLiteCpp exceptions from reaching callers.
#pragma once

#include <SQLiteCpp/Exception.h>
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

// The Errc for an SQLite (extended or primary) result code.
Errc errc_of_sqlite(int result_code, bool read_only_place) noexcept;

// "put \"ns\"/\"key\" in /path/cache.db: <cause>": the message prefix every
// error of the SQLite backend carries.
std::string describe_where(const Where& where);

// Throws Error(errc_of_sqlite(result_code)) naming `where` and `cause`.
[[noreturn]] void throw_sqlite(const Where& where, int result_code, std::string_view cause);
[[noreturn]] void throw_sqlite(const Where& where, const SQLite::Exception& e);

// Runs `body`, turning any SQLite::Exception into blobcache::Error. Errors
// the body raises itself (blobcache::Error) pass through unchanged.
template <typename Body>
decltype(auto) translated(const Where& where, Body&& body) {
  try {
    return body();
  } catch (const SQLite::Exception& e) {
    throw_sqlite(where, e);
  }
}

}  // namespace blobcache::detail
