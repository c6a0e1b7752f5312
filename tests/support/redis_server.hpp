// A real redis-server for one test case: started on 127.0.0.1 on a free
// port (and a unix socket) in a temporary folder, without persistence,
// stopped at the end. It can be killed and restarted mid-test on the same
// port, and poked with raw commands (hiredis) to set up what a store alone
// cannot (foreign keys, CONFIG, ACL users, simulated eviction).
#pragma once

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <hiredis/hiredis.h>
#include <initializer_list>
#include <memory>
#include <netinet/in.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "blobcache/redis_store.hpp"

#include "processes.hpp"
#include "temp_dir.hpp"
#include "wait_until.hpp"

namespace blobcache::test {

// The executable's full path when it is on PATH, else "".
inline std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe)
  std::string rest = path ? path : "";
  while (!rest.empty()) {
    const std::size_t colon = rest.find(':');
    const std::filesystem::path candidate = std::filesystem::path(rest.substr(0, colon)) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    if (colon == std::string::npos) break;
    rest = rest.substr(colon + 1);
  }
  return {};
}

class RedisServer {
 public:
  // `extra`: more redis-server options, e.g. {"--maxmemory", "2mb"}.
  // Throws std::runtime_error when there is no redis-server on PATH: the
  // Redis tests fail, loudly, rather than skip (scripts/deps.sh installs it;
  // -Dredis=disabled builds without RedisStore and its tests).
  explicit RedisServer(std::vector<std::string> extra = {}) : extra_(std::move(extra)) {
    if (find_on_path("redis-server").empty()) {
      throw std::runtime_error(
          "redis-server is not on PATH: the Redis tests need a real server (scripts/deps.sh "
          "installs it; -Dredis=disabled builds without RedisStore)");
    }
    for (int attempt = 0; attempt < 20; ++attempt) {
      port_ = free_port();
      if (start()) return;
    }
    throw std::runtime_error("redis-server did not start (see " + log().string() + ")");
  }
  ~RedisServer() { stop(SIGTERM); }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const noexcept { return port_; }
  std::filesystem::path socket() const { return dir_ / "redis.sock"; }
  std::filesystem::path log() const { return dir_ / "redis.log"; }
  const std::filesystem::path& dir() const noexcept { return dir_.path(); }

  // Options for a store of this server under `prefix`, with short timeouts.
  RedisOptions options(const std::string& prefix) const {
    RedisOptions options;
    options.port = port_;
    options.key_prefix = prefix;
    options.connect_timeout = std::chrono::milliseconds(1000);
    options.command_timeout = std::chrono::milliseconds(2000);
    return options;
  }

  // SIGKILL: the server vanishes at once, as in a crash.
  void kill() { stop(SIGKILL); }
  // SIGSTOP/SIGCONT: the server stops answering but keeps its sockets.
  void pause() const { ::kill(pid_, SIGSTOP); }
  void resume() const { ::kill(pid_, SIGCONT); }

  // Starts again on the same port (empty: nothing was persisted).
  void restart() {
    if (pid_ > 0) stop(SIGTERM);
    for (int attempt = 0; attempt < 200; ++attempt) {
      if (start()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("redis-server did not restart on port " + std::to_string(port_));
  }

  // A raw command through hiredis, for the test's own setup; returns the
  // reply as text ("(nil)", integers in decimal, errors as "ERR ...",
  // arrays as their elements joined by '\n').
  std::string command(std::initializer_list<std::string> args) const {
    std::unique_ptr<redisContext, decltype(&redisFree)> context(redisConnect("127.0.0.1", port_),
                                                                &redisFree);
    if (!context || context->err != 0) throw std::runtime_error("cannot reach the test server");
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const std::string& arg : args) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    auto* reply = static_cast<redisReply*>(redisCommandArgv(
        context.get(), static_cast<int>(argv.size()), argv.data(), lengths.data()));
    if (reply == nullptr) throw std::runtime_error("the test server did not answer");
    std::string text = to_text(*reply);
    freeReplyObject(reply);
    return text;
  }

 private:
  static std::string to_text(const redisReply& reply) {
    switch (reply.type) {
      case REDIS_REPLY_NIL:
        return "(nil)";
      case REDIS_REPLY_INTEGER:
        return std::to_string(reply.integer);
      case REDIS_REPLY_ARRAY: {
        std::string joined;
        for (std::size_t i = 0; i < reply.elements; ++i) {
          if (i != 0) joined += '\n';
          joined += to_text(*reply.element[i]);  // NOLINT
        }
        return joined;
      }
      default:
        return {reply.str, reply.len};
    }
  }

  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 ||  // NOLINT
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {    // NOLINT
      throw std::runtime_error("no free port");
    }
    ::close(fd);
    return ntohs(address.sin_port);
  }

  // Starts redis-server and waits until it accepts connections; false when
  // it exited first (the port was taken meanwhile).
  bool start() {
    std::vector<std::string> argv = {"redis-server",
                                     "--port",
                                     std::to_string(port_),
                                     "--bind",
                                     "127.0.0.1",
                                     "--save",
                                     "",
                                     "--appendonly",
                                     "no",
                                     "--dir",
                                     dir_.path().string(),
                                     "--unixsocket",
                                     socket().string(),
                                     "--unixsocketperm",
                                     "700",
                                     "--logfile",
                                     log().string()};
    argv.insert(argv.end(), extra_.begin(), extra_.end());
    pid_ = spawn({.argv = argv});
    // No deadline (wait_until.hpp): a server that never comes up is bounded
    // by the test program's Meson timeout.
    bool exited = false;
    wait_until([&] {
      int status = 0;
      exited = ::waitpid(pid_, &status, WNOHANG) == pid_;
      return exited || answers();
    });
    if (exited) pid_ = -1;
    return !exited;
  }

  bool answers() const {
    std::unique_ptr<redisContext, decltype(&redisFree)> context(redisConnect("127.0.0.1", port_),
                                                                &redisFree);
    if (!context || context->err != 0) return false;
    auto* reply = static_cast<redisReply*>(redisCommand(context.get(), "PING"));
    if (reply == nullptr) return false;
    // PONG, or NOAUTH when the test configured a password: either way it is up.
    const bool up = reply->type == REDIS_REPLY_STATUS || reply->type == REDIS_REPLY_ERROR;
    freeReplyObject(reply);
    return up;
  }

  void stop(int signal) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    std::error_code ignored;
    std::filesystem::remove(socket(), ignored);
  }

  TempDir dir_;
  std::vector<std::string> extra_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace blobcache::test
