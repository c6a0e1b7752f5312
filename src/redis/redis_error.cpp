#include "redis/redis_error.hpp"

#include <array>
#include <utility>

#include "errors.hpp"

namespace blobcache::detail::redis {
namespace {

// The first word of an error reply ("OOM command not allowed ..." -> "OOM").
std::string_view first_word(std::string_view text) noexcept {
  return text.substr(0, text.find(' '));
}

bool is_authentication(std::string_view word) noexcept {
  return word == "NOAUTH" || word == "WRONGPASS" || word == "NOPERM";
}

// An ACL denial met inside a script arrives as a plain ERR (Redis 7.0).
bool is_acl_denial(std::string_view text) noexcept {
  return text.find("can't access at least one of the keys") != std::string_view::npos ||
         text.find("has no permissions to") != std::string_view::npos;
}

}  // namespace

std::string describe_where(const Where& where) {
  return describe_entry(where.operation, where.ns, where.key) + " on " + std::string(where.server);
}

Errc errc_of_reply_error(std::string_view text) noexcept {
  static constexpr std::array<std::pair<std::string_view, Errc>, 15> kByWord = {{
      {"OOM", Errc::no_space},
      {"NOAUTH", Errc::invalid_argument},
      {"WRONGPASS", Errc::invalid_argument},
      {"NOPERM", Errc::invalid_argument},
      {"WRONGTYPE", Errc::corrupt},
      {"READONLY", Errc::read_only},
      {"BUSY", Errc::busy},
      {"LOADING", Errc::unavailable},
      {"MASTERDOWN", Errc::unavailable},
      {"CLUSTERDOWN", Errc::unavailable},
      {"TRYAGAIN", Errc::unavailable},
      {"MOVED", Errc::unsupported},
      {"ASK", Errc::unsupported},
      {"CROSSSLOT", Errc::unsupported},
      {"BLOBCACHE_CORRUPT", Errc::corrupt},  // raised by the store's own scripts
  }};
  const std::string_view word = first_word(text);
  for (const auto& [name, code] : kByWord) {
    if (word == name) return code;
  }
  if (is_acl_denial(text)) return Errc::invalid_argument;
  if (text.find("max number of clients reached") != std::string_view::npos) {
    return Errc::unavailable;
  }
  if (text.find("DB index is out of range") != std::string_view::npos ||
      text.find("invalid DB index") != std::string_view::npos ||
      text.find("AUTH <password> called without any password configured") !=
          std::string_view::npos) {
    return Errc::invalid_argument;
  }
  return Errc::io;
}

void throw_reply_error(const Where& where, std::string_view text) {
  std::string message =
      describe_where(where) + ": the server answered \"" + std::string(text) + '"';
  const std::string_view word = first_word(text);
  if (is_authentication(word) || is_acl_denial(text)) {
    message += word != "NOAUTH" && word != "WRONGPASS"
                   ? " (the Redis user lacks a permission the store needs: keys under the "
                     "prefix, EVALSHA, SCRIPT LOAD, INFO)"
                   : " (check RedisOptions::user and password against the server's requirepass "
                     "or ACL users)";
  } else if (word == "OOM") {
    message += " (maxmemory reached with maxmemory-policy noeviction; nothing was written)";
  } else if (word == "WRONGTYPE") {
    message += " (a key under the store's prefix holds something this store did not write)";
  }
  throw_error(errc_of_reply_error(text), message);
}

void throw_unavailable(const Where& where, std::string_view cause) {
  throw_at(Errc::unavailable, where, cause);
}

void throw_at(Errc code, const Where& where, std::string_view cause) {
  throw_error(code, describe_where(where) + ": " + std::string(cause));
}

}  // namespace blobcache::detail::redis
