#include "store_url.hpp"

#include <charconv>
#include <optional>
#include <string>

#include "blobcache/error.hpp"

#include "parse.hpp"

namespace blobcache::tool {
namespace {

constexpr std::string_view kTcpScheme = "redis://";
constexpr std::string_view kUnixScheme = "redis+unix://";

#if BLOBCACHE_HAS_REDIS

[[noreturn]] void bad(std::string_view url, const std::string& why) {
  throw ParseError("--db \"" + std::string(url) + "\": " + why);
}

std::string decoded(std::string_view url, std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    unsigned value = 0;
    if (i + 2 >= text.size()) bad(url, "a '%' needs two hex digits");
    const auto [end, error] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
    if (error != std::errc() || end != text.data() + i + 3) bad(url, "a '%' needs two hex digits");
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

int number(std::string_view url, std::string_view what, std::string_view text, int low, int high) {
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < low ||
      value > high) {
    bad(url, std::string(what) + " \"" + std::string(text) + "\" is not a number from " +
                 std::to_string(low) + " to " + std::to_string(high));
  }
  return value;
}

void parse_query(std::string_view url, std::string_view query, bool unix_socket,
                 RedisOptions& options) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t equals = pair.find('=');
    if (equals == std::string_view::npos)
      bad(url, "parameter \"" + std::string(pair) + "\" has no '='");
    const std::string_view name = pair.substr(0, equals);
    const std::string value = decoded(url, pair.substr(equals + 1));
    if (name == "prefix") {
      if (value.empty()) bad(url, "prefix must not be empty");
      options.key_prefix = value;
    } else if (name == "db" && unix_socket) {
      options.db = number(url, "db", value, 0, 1 << 20);
    } else if (name == "connect_timeout_ms") {
      options.connect_timeout = std::chrono::milliseconds(number(url, name, value, 1, 1 << 30));
    } else if (name == "command_timeout_ms") {
      options.command_timeout = std::chrono::milliseconds(number(url, name, value, 1, 1 << 30));
    } else {
      bad(url, "unknown parameter \"" + std::string(name) + "\" (known: prefix, " +
                   (unix_socket ? "db, " : "") + "connect_timeout_ms, command_timeout_ms)");
    }
  }
}

#endif

}  // namespace

bool is_store_url(std::string_view db) noexcept {
  return db.starts_with(kTcpScheme) || db.starts_with(kUnixScheme);
}

std::string without_password(std::string_view url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const std::size_t start = scheme + 3;
  const std::size_t end = url.find('/', start);
  const std::size_t at = url.substr(0, end).rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(url);
  const std::size_t colon = url.substr(0, at).find(':', start);
  const std::size_t secret = colon == std::string_view::npos ? start : colon + 1;
  return std::string(url.substr(0, secret)) + "***" + std::string(url.substr(at));
}

#if BLOBCACHE_HAS_REDIS

RedisOptions parse_redis_url(std::string_view url) {
  const bool unix_socket = url.starts_with(kUnixScheme);
  if (!unix_socket && !url.starts_with(kTcpScheme)) bad(url, "not a redis:// or redis+unix:// URL");
  std::string_view rest = url.substr(unix_socket ? kUnixScheme.size() : kTcpScheme.size());
  RedisOptions options;
  const std::size_t question = rest.find('?');
  const std::string_view query =
      question == std::string_view::npos ? std::string_view() : rest.substr(question + 1);
  rest = rest.substr(0, question);
  // Credentials end at the last '@' before the first '/': a password
  // holding '/' must be percent-encoded, one holding '@' may be.
  const std::size_t at = rest.substr(0, rest.find('/')).rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view credentials = rest.substr(0, at);
    const std::size_t colon = credentials.find(':');
    if (colon == std::string_view::npos) {
      options.password = decoded(url, credentials);  // redis://secret@host: a password alone
    } else {
      options.user = decoded(url, credentials.substr(0, colon));
      options.password = decoded(url, credentials.substr(colon + 1));
    }
    rest = rest.substr(at + 1);
  }
  if (unix_socket) {
    if (!rest.starts_with('/')) bad(url, "redis+unix:// needs an absolute socket path");
    options.unix_socket = decoded(url, rest);
    parse_query(url, query, true, options);
    return options;
  }
  const std::size_t path = rest.find('/');
  std::string_view authority = rest.substr(0, path);
  if (path != std::string_view::npos) {
    const std::string_view db = rest.substr(path + 1);
    if (!db.empty()) options.db = number(url, "db", db, 0, 1 << 20);
  }
  std::optional<std::string_view> port;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) bad(url, "an IPv6 host needs its closing ']'");
    options.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(':')) bad(url, "expected ':port' after the IPv6 host");
      port = after.substr(1);
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    options.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (options.host.empty()) bad(url, "the host is empty");
  if (port) options.port = number(url, "port", *port, 1, 65535);
  parse_query(url, query, false, options);
  return options;
}

#endif

std::unique_ptr<Store> open_url_store(std::string_view url, bool refuse_writes) {
#if BLOBCACHE_HAS_REDIS
  RedisOptions options = parse_redis_url(url);
  if (refuse_writes) {
    throw Error(Errc::read_only,
                "--read-only: the command writes, and a Redis server has no "
                "read-only mode of its own; nothing done");
  }
  return std::make_unique<RedisStore>(std::move(options));
#else
  (void)refuse_writes;
  throw ParseError("--db \"" + std::string(url) + "\": this blobcache was built without Redis");
#endif
}

}  // namespace blobcache::tool
