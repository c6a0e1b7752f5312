#include "redis/connection.hpp"

#include <array>
#include <cerrno>
#include <cstring>
// sds.h (hiredis's strings) has no extern "C" of its own; included first,
// its guard keeps hiredis.h from declaring it again with C++ linkage.
extern "C" {
#include <hiredis/sds.h>
}
#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <vector>

#include "errors.hpp"

namespace blobcache::detail::redis {
namespace {

std::string milliseconds_text(std::chrono::milliseconds ms) {
  return std::to_string(ms.count()) + " ms";
}

}  // namespace

void ReplyDeleter::operator()(redisReply* reply) const noexcept { freeReplyObject(reply); }

void ContextDeleter::operator()(redisContext* context) const noexcept { redisFree(context); }

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

Connection::~Connection() = default;

void Connection::connect(const ConnectionSettings& settings, const Where& where) {
  const auto timeval_of = [](std::chrono::milliseconds ms) {
    return timeval{.tv_sec = static_cast<time_t>(ms.count() / 1000),
                   .tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
  };
  // hiredis connects without blocking and waits for it with poll(),
  // bounded by the timeout.
  const timeval connect_timeout = timeval_of(settings.connect_timeout);
  context_.reset(
      settings.unix_socket.empty()
          ? redisConnectWithTimeout(settings.host.c_str(), settings.port, connect_timeout)
          : redisConnectUnixWithTimeout(settings.unix_socket.c_str(), connect_timeout));
  if (context_ == nullptr) fail(where, "cannot connect: out of memory");
  if (context_->err != 0) {
    fail(where, std::string("cannot connect: ") + context_->errstr +
                    (std::string_view(context_->errstr).find("timed out") != std::string_view::npos
                         ? " (connect_timeout " + milliseconds_text(settings.connect_timeout) + ")"
                         : std::string()));
  }
  // Every read and write of the socket is then bounded by the kernel
  // (SO_RCVTIMEO, SO_SNDTIMEO): a blocking socket costs one system call
  // per step, where poll() would add one more.
  if (redisSetTimeout(context_.get(), timeval_of(command_timeout_)) != REDIS_OK) {
    fail(where, std::string("cannot set the command timeout: ") + context_->errstr);
  }
  if (settings.unix_socket.empty()) redisEnableKeepAlive(context_.get());  // finds dead idle peers
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
  if (redisAppendCommandArgv(context_.get(), static_cast<int>(args.size()), argv, lengths) !=
      REDIS_OK) {
    broken_ = true;
    throw_error(Errc::io, "redis: cannot queue a command: out of memory");
  }
  ++due_;
}

void Connection::append(std::initializer_list<std::string_view> args) {
  append(std::span<const std::string_view>(args.begin(), args.size()));
}

ReplyPtr Connection::read(const Where& where) {
  if (broken_) fail(where, "the connection failed before");
  if (due_ == 0)
    throw_error(Errc::io, describe_where(where) + ": a reply was read that no command asked for");
  flush(where);
  while (true) {
    void* reply = nullptr;
    if (redisGetReplyFromReader(context_.get(), &reply) != REDIS_OK) {
      fail(where, std::string("protocol error: ") + context_->errstr);
    }
    if (reply != nullptr) {
      last_reply_ = std::chrono::steady_clock::now();
      if (due_ > 0) --due_;
      return ReplyPtr(static_cast<redisReply*>(reply));
    }
    errno = 0;
    if (redisBufferRead(context_.get()) != REDIS_OK) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        fail(where,
             "no reply within " + milliseconds_text(command_timeout_) + " (command_timeout)");
      }
      fail(where, context_->errstr);
    }
  }
}

ReplyPtr Connection::command(std::initializer_list<std::string_view> args, const Where& where) {
  append(args);
  return read(where);
}

void Connection::drain(const Where& where) {
  while (due_ > 0 && !broken_) read(where);
}

bool Connection::closed_by_server() const noexcept {
  if (std::chrono::steady_clock::now() - last_reply_ < std::chrono::milliseconds(100)) return false;
  pollfd descriptor{.fd = context_->fd, .events = POLLIN, .revents = 0};
  return ::poll(&descriptor, 1, 0) != 0;
}

void Connection::flush(const Where& where) {
  // hiredis 0.14 writes with write(), which raises SIGPIPE when the server
  // closed the socket, and the default action of SIGPIPE ends the process.
  // So the queued bytes (hiredis's output buffer, an sds string) are sent
  // here with MSG_NOSIGNAL instead: EPIPE comes back as an error, and the
  // application's own SIGPIPE disposition is never touched.
  sds& pending = context_->obuf;
  while (sdslen(pending) > 0) {
    const ssize_t sent = ::send(context_->fd, pending, sdslen(pending), MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        fail(where,
             "could not send within " + milliseconds_text(command_timeout_) + " (command_timeout)");
      }
      fail(where, std::string("send: ") + std::strerror(errno));
    }
    if (static_cast<std::size_t>(sent) == sdslen(pending)) {
      sdsclear(pending);
    } else {
      sdsrange(pending, static_cast<int>(sent), -1);
    }
  }
}

void Connection::fail(const Where& where, std::string_view cause) {
  broken_ = true;
  throw_unavailable(where, cause);
}

}  // namespace blobcache::detail::redis
