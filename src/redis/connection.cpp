#include "redis/connection.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <vector>

#include "errors.hpp"

namespace blobcache::detail::redis {
namespace {

using Clock = std::chrono::steady_clock;

// hiredis 0.14 writes with write(), not send(MSG_NOSIGNAL): a server that
// closed the socket would raise SIGPIPE, whose default action ends the
// process. While alive, this blocks SIGPIPE in the calling thread only (the
// application's disposition and other threads are untouched); a SIGPIPE
// the write raised is then pending on this thread and is consumed before
// the old mask comes back, unless one was already pending before (the
// application's own, left for it).
class SigpipeBlock {
 public:
  SigpipeBlock() noexcept {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    if (sigismember(&old_, SIGPIPE) == 1) {
      sigset_t pending;
      sigpending(&pending);
      was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    }
  }
  ~SigpipeBlock() {
    if (wrote_to_closed_ && !was_pending_) {
      const timespec zero{};
      while (sigtimedwait(&pipe_, nullptr, &zero) == -1 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

  // A write failed with EPIPE: a SIGPIPE is pending for this thread.
  void wrote_to_closed() noexcept { wrote_to_closed_ = true; }

 private:
  sigset_t pipe_{};
  sigset_t old_{};
  bool was_pending_ = false;
  bool wrote_to_closed_ = false;
};

std::string milliseconds_text(std::chrono::milliseconds ms) {
  return std::to_string(ms.count()) + " ms";
}

}  // namespace

void ReplyDeleter::operator()(redisReply* reply) const noexcept { freeReplyObject(reply); }

Connection::Connection(const ConnectionSettings& settings, const Where& where)
    : command_timeout_(settings.command_timeout) {
  connect(settings, where);
  // One round trip: AUTH, SELECT, INFO. INFO doubles as the proof that the
  // server accepts commands (NOAUTH when a password is needed and missing).
  std::size_t replies = 0;
  if (!settings.password.empty()) {
    if (settings.user.empty()) {
      append({"AUTH", settings.password});
    } else {
      append({"AUTH", settings.user, settings.password});
    }
    ++replies;
  }
  const std::string db = std::to_string(settings.db);
  if (settings.db != 0) {
    append({"SELECT", db});
    ++replies;
  }
  append({"INFO", "server", "memory"});
  ++replies;
  for (std::size_t i = 0; i < replies; ++i) {
    ReplyPtr reply = read(where);
    const bool last = i + 1 == replies;
    if (reply->type == REDIS_REPLY_ERROR) {
      const std::string_view text(reply->str, reply->len);
      // A user without +info may still use the store: only a missing AUTH
      // is fatal there.
      if (last && !text.starts_with("NOAUTH")) continue;
      broken_ = true;
      throw_reply_error(where, text);
    }
    if (last && reply->type == REDIS_REPLY_STRING) server_info_.assign(reply->str, reply->len);
  }
}

Connection::~Connection() {
  if (context_ != nullptr) redisFree(context_);
}

void Connection::connect(const ConnectionSettings& settings, const Where& where) {
  context_ = settings.unix_socket.empty()
                 ? redisConnectNonBlock(settings.host.c_str(), settings.port)
                 : redisConnectUnixNonBlock(settings.unix_socket.c_str());
  if (context_ == nullptr) fail(where, "cannot connect: out of memory");
  if (context_->err != 0) fail(where, std::string("cannot connect: ") + context_->errstr);
  // The connect is under way (non-blocking); it is done when the socket
  // becomes writable, and SO_ERROR says how it went.
  pollfd descriptor{.fd = context_->fd, .events = POLLOUT, .revents = 0};
  const auto deadline = Clock::now() + settings.connect_timeout;
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    const int ready =
        ::poll(&descriptor, 1, static_cast<int>(std::max<long long>(0, left.count())));
    if (ready > 0) break;
    if (ready == 0) {
      fail(where, "cannot connect: no connection within " +
                      milliseconds_text(settings.connect_timeout) + " (connect_timeout)");
    }
    if (errno != EINTR) fail(where, std::string("cannot connect: poll: ") + std::strerror(errno));
  }
  int error = 0;
  socklen_t length = sizeof error;
  if (::getsockopt(context_->fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
  if (error != 0) fail(where, std::string("cannot connect: ") + std::strerror(error));
  if (settings.unix_socket.empty()) redisEnableKeepAlive(context_);  // finds dead idle peers
}

void Connection::append(std::span<const std::string_view> args) {
  constexpr std::size_t kInline = 32;
  std::array<const char*, kInline> inline_argv{};
  std::array<std::size_t, kInline> inline_lengths{};
  std::vector<const char*> heap_argv;
  std::vector<std::size_t> heap_lengths;
  const char** argv = inline_argv.data();
  std::size_t* lengths = inline_lengths.data();
  if (args.size() > kInline) {
    heap_argv.resize(args.size());
    heap_lengths.resize(args.size());
    argv = heap_argv.data();
    lengths = heap_lengths.data();
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    argv[i] = args[i].empty() ? "" : args[i].data();  // NOLINT: indexes checked above
    lengths[i] = args[i].size();                      // NOLINT
  }
  if (redisAppendCommandArgv(context_, static_cast<int>(args.size()), argv, lengths) != REDIS_OK) {
    broken_ = true;
    throw_error(Errc::io, "redis: cannot queue a command: out of memory");
  }
}

void Connection::append(std::initializer_list<std::string_view> args) {
  append(std::span<const std::string_view>(args.begin(), args.size()));
}

ReplyPtr Connection::read(const Where& where) {
  if (broken_) fail(where, "the connection failed before");
  flush(where);
  while (true) {
    void* reply = nullptr;
    if (redisGetReplyFromReader(context_, &reply) != REDIS_OK) {
      fail(where, std::string("protocol error: ") + context_->errstr);
    }
    if (reply != nullptr) return ReplyPtr(static_cast<redisReply*>(reply));
    wait(POLLIN, Clock::now() + command_timeout_, where);
    if (redisBufferRead(context_) != REDIS_OK) fail(where, context_->errstr);
  }
}

ReplyPtr Connection::command(std::initializer_list<std::string_view> args, const Where& where) {
  append(args);
  return read(where);
}

bool Connection::closed_by_server() const noexcept {
  pollfd descriptor{.fd = context_->fd, .events = POLLIN, .revents = 0};
  return ::poll(&descriptor, 1, 0) != 0;
}

void Connection::flush(const Where& where) {
  while (true) {
    int done = 0;
    int result = REDIS_OK;
    {
      SigpipeBlock block;
      errno = 0;
      result = redisBufferWrite(context_, &done);
      if (result != REDIS_OK && errno == EPIPE) block.wrote_to_closed();
    }
    if (result != REDIS_OK) fail(where, context_->errstr);
    if (done != 0) return;
    wait(POLLOUT, Clock::now() + command_timeout_, where);
  }
}

void Connection::wait(short events, Clock::time_point deadline, const Where& where) {
  pollfd descriptor{.fd = context_->fd, .events = events, .revents = 0};
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()) +
        std::chrono::milliseconds(1);
    const int ready =
        ::poll(&descriptor, 1, static_cast<int>(std::max<long long>(0, left.count())));
    if (ready > 0) return;  // readable, writable, or an error the next call reports
    if (ready == 0) {
      fail(where, "no reply within " + milliseconds_text(command_timeout_) + " (command_timeout)");
    }
    if (errno != EINTR) fail(where, std::string("poll: ") + std::strerror(errno));
  }
}

void Connection::fail(const Where& where, std::string_view cause) {
  broken_ = true;
  throw_unavailable(where, cause);
}

}  // namespace blobcache::detail::redis
