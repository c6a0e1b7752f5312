#include "blobcache/error.hpp"

#include <string>

#include "errors.hpp"

namespace blobcache {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "blobcache"; }
  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::store_not_configured:
        return "blob store is not configured";
      case Errc::entry_not_found:
        return "cache entry not found";
      case Errc::invalid_namespace:
        return "invalid namespace";
      case Errc::invalid_key:
        return "invalid key";
      case Errc::invalid_argument:
        return "invalid argument";
      case Errc::busy:
        return "store is busy (locked by another connection)";
      case Errc::corrupt:
        return "data is corrupt";
      case Errc::io:
        return "input/output error";
      case Errc::no_space:
        return "no space left on device";
      case Errc::read_only:
        return "store is read-only";
      case Errc::too_large:
        return "value or name is too large";
      case Errc::cancelled:
        return "operation cancelled";
      case Errc::unsupported:
        return "operation not supported";
      case Errc::precondition_failed:
        return "precondition failed";
      case Errc::unavailable:
        return "remote store unavailable";
    }
    return "unknown blobcache error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const Category category;
  return category;
}

std::error_code make_error_code(Errc e) noexcept { return {static_cast<int>(e), error_category()}; }

std::string_view errc_name(Errc e) noexcept {
  switch (e) {
    case Errc::store_not_configured:
      return "store_not_configured";
    case Errc::entry_not_found:
      return "entry_not_found";
    case Errc::invalid_namespace:
      return "invalid_namespace";
    case Errc::invalid_key:
      return "invalid_key";
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::busy:
      return "busy";
    case Errc::corrupt:
      return "corrupt";
    case Errc::io:
      return "io";
    case Errc::no_space:
      return "no_space";
    case Errc::read_only:
      return "read_only";
    case Errc::too_large:
      return "too_large";
    case Errc::cancelled:
      return "cancelled";
    case Errc::unsupported:
      return "unsupported";
    case Errc::precondition_failed:
      return "precondition_failed";
    case Errc::unavailable:
      return "unavailable";
  }
  return "unknown";
}

namespace {

std::string or_code_message(const std::string& message, std::error_code code) {
  return message.empty() ? code.message() : message;
}

}  // namespace

Error::Error(std::error_code code, const std::string& message)
    : std::system_error(code, message), message_(or_code_message(message, code)) {}

Error::Error(std::error_code code, const char* message) : Error(code, std::string(message)) {}

Error::Error(std::error_code code) : Error(code, std::string()) {}

Error::Error(int value, const std::error_category& category, const std::string& message)
    : Error(std::error_code(value, category), message) {}

Error::Error(int value, const std::error_category& category, const char* message)
    : Error(std::error_code(value, category), std::string(message)) {}

Error::Error(int value, const std::error_category& category)
    : Error(std::error_code(value, category), std::string()) {}

const char* Error::what() const noexcept { return message_.what(); }

namespace detail {

void throw_error(Errc code, const std::string& message) {
  throw Error(make_error_code(code), message);
}

std::string describe_entry(std::string_view operation, std::string_view ns, std::string_view key) {
  std::string text(operation);
  if (!ns.empty()) {
    text.append(" \"").append(ns).append("\"");
    if (!key.empty()) text.append("/\"").append(key).append("\"");
  }
  return text;
}

}  // namespace detail
}  // namespace blobcache
