// Errors. Every failure the library reports is a blobcache::Error whose
// code() compares equal to exactly one Errc, and whose what() names the
// operation, the namespace/key or file, and the cause.
//
// A cache miss is never an error: it is an empty std::optional or a null
// reader. No SQLite, SQLiteCpp or OpenSSL exception type reaches the caller.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "blobcache/export.hpp"

namespace blobcache {

enum class Errc {
  store_not_configured = 1,  // a Cache has no store
  entry_not_found,           // Cache::at() on a missing key
  invalid_namespace,         // the namespace breaks the name grammar
  invalid_key,               // the key breaks the name grammar
  invalid_argument,          // any other bad argument (options, sizes, ...)
  busy,                      // the store stayed locked for the whole busy timeout
  corrupt,                   // the file or an entry failed an integrity check
  io,                        // the operating system reported an I/O error
  no_space,                  // the disk (or a quota) is full
  read_only,                 // the store, file or folder cannot be written
  too_large,                 // a value or name exceeds a hard limit
  cancelled,                 // a stop_token asked the operation to stop
  unsupported,               // the backend or file version cannot do this
  precondition_failed,       // a conditional put's condition did not hold (nothing written)
  unavailable,               // a remote backend cannot be reached or stopped answering in time
};

// The category of Errc; name() == "blobcache". Thread-safe.
BLOBCACHE_EXPORT const std::error_category& error_category() noexcept;
BLOBCACHE_EXPORT std::error_code make_error_code(Errc e) noexcept;

// The enumerator's name, e.g. "entry_not_found"; "unknown" for other values.
BLOBCACHE_EXPORT std::string_view errc_name(Errc e) noexcept;

// code() is the Errc (in error_category()); what() is exactly the message
// the library built, one sentence naming the operation, the namespace/key
// or file, and the cause. (std::system_error would append ": " and the
// category's text for the code; the code says that already.) Copies are
// cheap and never throw: the message is shared.
class BLOBCACHE_EXPORT Error : public std::system_error {
 public:
  // what() is `message`; an empty message gives code.message().
  Error(std::error_code code, const std::string& message);
  Error(std::error_code code, const char* message);
  explicit Error(std::error_code code);
  Error(int value, const std::error_category& category, const std::string& message);
  Error(int value, const std::error_category& category, const char* message);
  Error(int value, const std::error_category& category);

  const char* what() const noexcept override;
  // The Errc of this error (code().value() as an Errc).
  Errc errc() const noexcept { return static_cast<Errc>(code().value()); }

 private:
  // std::runtime_error holds its text in a shared, immutable buffer: the
  // one standard string whose copy cannot throw, as an exception's must not.
  std::runtime_error message_;
};

}  // namespace blobcache

template <>
struct std::is_error_code_enum<blobcache::Errc> : std::true_type {};
