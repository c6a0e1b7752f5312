// Internal: the one place where Redis error replies and connection failures
// become Errc, and the messages every error of RedisStore carries.
#pragma once

#include <string>
#include <string_view>

#include "blobcache/error.hpp"

namespace blobcache::detail::redis {

// What was being done when Redis failed, for the Error's message. Borrows
// everything it names; build it on the stack around one call.
struct Where {
  std::string_view operation;  // "get", "put", "connect", ...
  std::string_view server;     // "redis://127.0.0.1:6379/0" or the socket
  std::string_view ns = {};
  std::string_view key = {};
};

// "get \"ns\"/\"key\" on redis://127.0.0.1:6379/0": the prefix of every
// message of the Redis backend.
std::string describe_where(const Where& where);

// The Errc for an error reply, by its first word: OOM no_space; NOAUTH,
// WRONGPASS, NOPERM invalid_argument; WRONGTYPE (a key of the prefix that
// holds something else) corrupt; READONLY read_only; BUSY busy; LOADING,
// MASTERDOWN, CLUSTERDOWN, TRYAGAIN and "max number of clients" unavailable;
// MOVED, ASK, CROSSSLOT unsupported (a cluster); anything else io.
Errc errc_of_reply_error(std::string_view text) noexcept;

// Throws Error(errc_of_reply_error(text)) naming `where` and the reply,
// with a hint for the errors a person must act on (authentication).
[[noreturn]] void throw_reply_error(const Where& where, std::string_view text);

// Throws Error(Errc::unavailable): the server cannot be reached or stopped
// answering; `cause` says how ("connection refused", "no reply within 5000
// ms", ...).
[[noreturn]] void throw_unavailable(const Where& where, std::string_view cause);

// Throws Error(code) naming `where` and `cause`.
[[noreturn]] void throw_at(Errc code, const Where& where, std::string_view cause);

}  // namespace blobcache::detail::redis
