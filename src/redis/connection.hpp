// Internal: one connection to a Redis server through hiredis, with a
// deadline on every wait (hiredis 0.14 has none of its own for commands).
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "redis/redis_error.hpp"

struct redisContext;
struct redisReply;

namespace blobcache::detail::redis {

struct ReplyDeleter {
  void operator()(redisReply* reply) const noexcept;
};
// A reply of the server; owns the whole tree of its elements.
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

struct ContextDeleter {
  void operator()(redisContext* context) const noexcept;
};

struct ConnectionSettings {
  std::string host;
  int port = 6379;
  std::string unix_socket;  // used instead of host:port when set
  std::string user;
  std::string password;
  int db = 0;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{5000};
};

// Not thread-safe: one thread at a time (ConnectionPool hands it out).
//
// Every wait for the socket is bounded: connecting by connect_timeout, each
// step of reading a reply or sending a command by command_timeout (the
// socket's SO_RCVTIMEO/SO_SNDTIMEO: a call waits at most that long without
// the server making progress). A failure of the connection (refused, reset, closed, timed out,
// a protocol error) throws Error(Errc::unavailable) and marks it broken:
// the stream may be out of step with the server, so it is never used
// again. Writes never raise SIGPIPE in the process.
class Connection {
 public:
  // Connects, authenticates (AUTH), selects the db (SELECT) and reads the
  // server's INFO (server_info()). Throws Error: unavailable, and what the
  // server answers to AUTH/SELECT (invalid_argument).
  Connection(const ConnectionSettings& settings, const Where& where);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Queues one command (copied: `args` may go away at once).
  void append(std::span<const std::string_view> args);
  void append(std::initializer_list<std::string_view> args);
  // Sends everything queued and reads the next reply. Error replies are
  // returned, not thrown (the caller knows what they mean).
  ReplyPtr read(const Where& where);
  // append + read.
  ReplyPtr command(std::initializer_list<std::string_view> args, const Where& where);

  // How many replies of queued commands were not read yet.
  std::size_t due() const noexcept { return due_; }
  // Reads and drops the replies still due (of commands a failed operation
  // queued), so the next command's reply is its own.
  void drain(const Where& where);

  // True once a failure made the connection unusable, or while replies are
  // due that nobody read (the pool drops such a connection).
  bool broken() const noexcept { return broken_ || due_ != 0; }
  // An idle connection the server closed (or that holds bytes nobody
  // asked for), tested (one poll) when it sat unused for 100 ms or more:
  // a server that restarted since is then met with a new connection, not
  // with an error. A connection in steady use skips the system call.
  bool closed_by_server() const noexcept;

  // INFO "server" and "memory" as the server answered at connection.
  const std::string& server_info() const noexcept { return server_info_; }

 private:
  void connect(const ConnectionSettings& settings, const Where& where);
  // Sends everything queued.
  void flush(const Where& where);
  [[noreturn]] void fail(const Where& where, std::string_view cause);

  // A member, so that a constructor that throws still frees it.
  std::unique_ptr<redisContext, ContextDeleter> context_;
  std::chrono::milliseconds command_timeout_;
  std::string server_info_;
  std::chrono::steady_clock::time_point last_reply_;
  std::size_t due_ = 0;  // replies of queued commands not read yet
  bool broken_ = false;
};

}  // namespace blobcache::detail::redis
