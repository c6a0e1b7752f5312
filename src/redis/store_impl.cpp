#include "redis/store_impl.hpp"

#include <array>
#include <vector>

#include "per_process.hpp"
#include "read_counting.hpp"
#include "redis/reply.hpp"

namespace blobcache::detail::redis {

namespace {

ConnectionSettings settings_of(const RedisOptions& options) {
  return {.host = options.host,
          .port = options.port,
          .unix_socket = options.unix_socket,
          .user = options.user,
          .password = options.password,
          .db = options.db,
          .connect_timeout = options.connect_timeout,
          .command_timeout = options.command_timeout};
}

std::string server_of(const RedisOptions& options) {
  if (!options.unix_socket.empty()) {
    return "redis+unix://" + options.unix_socket + "?db=" + std::to_string(options.db);
  }
  const bool ipv6 = options.host.find(':') != std::string::npos;
  return "redis://" + (ipv6 ? "[" + options.host + "]" : options.host) + ":" +
         std::to_string(options.port) + "/" + std::to_string(options.db);
}

// The fields of INFO that describe() reports.
std::map<std::string, std::string> parse_info(std::string_view info) {
  static constexpr std::array<std::string_view, 4> kFields = {"redis_version", "maxmemory_policy",
                                                              "maxmemory", "maxmemory_human"};
  std::map<std::string, std::string> fields;
  while (!info.empty()) {
    const std::size_t end = info.find('\n');
    std::string_view line = info.substr(0, end);
    info = end == std::string_view::npos ? std::string_view() : info.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = line.substr(0, colon);
    for (const std::string_view wanted : kFields) {
      if (name == wanted) fields.emplace(name, line.substr(colon + 1));
    }
  }
  return fields;
}

}  // namespace

StoreImpl::StoreImpl(RedisOptions options)
    : options_(std::move(options)),
      server_(server_of(options_)),
      layout_(options_.key_prefix),
      clock_(options_.clock ? options_.clock : system_clock()),
      pin_ttl_(std::to_string(kPinTtl.count())),
      grace_(std::to_string(options_.expiry_grace.count())),
      random_(std::random_device{}()),
      pool_(settings_of(options_), options_.pool_size,
            [this](const Connection& connection) { read_server_info(connection); }) {}

namespace {

// What a server without functions, or a user denied them, answers FCALL or
// FUNCTION LOAD with. An ACL denial inside a function is a plain ERR that
// names no command (redis_error.cpp).
bool refuses_functions(std::string_view text) noexcept {
  return text.starts_with("ERR unknown command") ||
         (text.starts_with("NOPERM") && (text.find("'fcall'") != std::string_view::npos ||
                                         text.find("'function") != std::string_view::npos));
}

}  // namespace

void StoreImpl::queue_call(Connection& connection, Script script,
                           std::span<const std::string_view> args, bool as_function) const {
  const ScriptSource& source = source_of(script);
  std::vector<std::string_view> command = {as_function ? "FCALL" : "EVALSHA",
                                           as_function ? source.function : source.sha1,
                                           "0",
                                           layout_.base(),
                                           pin_ttl_,
                                           grace_};
  command.insert(command.end(), args.begin(), args.end());
  connection.append(command);
}

void StoreImpl::queue_eval(Connection& connection, Script script,
                           std::span<const std::string_view> args) {
  queue_call(connection, script, args, functions_.load(std::memory_order_relaxed));
}

bool StoreImpl::load_library(Connection& connection, const Where& where) {
  // REPLACE: another process may load the same library at the same time.
  const ReplyPtr reply = connection.command({"FUNCTION", "LOAD", "REPLACE", library()}, where);
  if (reply->type != REDIS_REPLY_ERROR) return true;
  // Otherwise, mostly OOM (FUNCTION LOAD is refused on a full server, where
  // an allow-oom script still runs): this call goes as a script.
  if (refuses_functions(std::string_view(reply->str, reply->len))) {
    functions_.store(false, std::memory_order_relaxed);
  }
  return false;
}

ReplyPtr StoreImpl::read_eval(Connection& connection, Script script,
                              std::span<const std::string_view> args, const Where& where) {
  // A lost function, then a lost script: at most three calls more.
  for (int retry = 0;; ++retry) {
    ReplyPtr reply = connection.read(where);
    if (reply->type != REDIS_REPLY_ERROR || retry == 3) {
      check(*reply, where);
      return reply;
    }
    const std::string_view text(reply->str, reply->len);
    bool as_function = false;
    if (text.starts_with("NOSCRIPT")) {
      // A restarted server, or SCRIPT FLUSH: the script did not run.
      checked(connection.command({"SCRIPT", "LOAD", source_of(script).body}, where), where);
    } else if (text.starts_with("ERR Function not found")) {
      // A restarted server, FUNCTION FLUSH or DELETE: it did not run either.
      as_function = load_library(connection, where);
    } else if (refuses_functions(text)) {
      functions_.store(false, std::memory_order_relaxed);
    } else {
      check(*reply, where);  // throws
    }
    queue_call(connection, script, args, as_function);
  }
}

ReplyPtr StoreImpl::eval(Connection& connection, Script script,
                         std::span<const std::string_view> args, const Where& where) {
  queue_eval(connection, script, args);
  return read_eval(connection, script, args, where);
}

ReplyPtr StoreImpl::eval(Connection& connection, Script script,
                         std::initializer_list<std::string_view> args, const Where& where) {
  return eval(connection, script, std::span<const std::string_view>(args.begin(), args.size()),
              where);
}

std::uint64_t StoreImpl::new_generation() {
  // The pid keeps a forked child, which inherits the generator's state,
  // from repeating its parent's generations.
  const auto pid = static_cast<std::uint64_t>(current_pid());
  const std::lock_guard lock(random_mutex_);
  return random_() ^ (pid * 0x9E3779B97F4A7C15ULL);
}

void StoreImpl::count(Connection& connection, std::string_view ns, bool hit) {
  if (UncountedReads::active()) return;  // verify()'s reads are not lookups
  if (counters_.count(ns, hit)) flush_counts(connection, false);
}

void StoreImpl::flush_counts(Connection& connection, bool rethrow) {
  const PendingHits counts = counters_.take();
  if (counts.empty()) return;
  const Where where{.operation = "count hits", .server = server_};
  std::string failure;
  try {
    for (const auto& [ns, count] : counts) {
      const std::string stats = layout_.stats(ns);
      connection.append({"HINCRBY", stats, "hits", std::to_string(count.hits)});
      connection.append({"HINCRBY", stats, "misses", std::to_string(count.misses)});
      connection.append({"SADD", layout_.namespaces(), ns});
    }
    for (std::size_t i = 0; i < 3 * counts.size(); ++i) {
      const ReplyPtr reply = connection.read(where);
      if (reply->type == REDIS_REPLY_ERROR && failure.empty())
        failure.assign(reply->str, reply->len);
    }
  } catch (const Error&) {
    counters_.restore(counts);
    if (rethrow) throw;
    return;
  }
  // Under OOM every write fails alike, so none of the counts was added.
  if (!failure.empty()) {
    counters_.restore(counts);
    if (rethrow) throw_reply_error(where, failure);
  }
}

void StoreImpl::unpin(std::string_view ns, std::string_view key,
                      std::uint64_t generation) noexcept {
  try {
    const Where where{.operation = "close reader", .server = server_, .ns = ns, .key = key};
    auto lease = connection(where);
    eval(*lease, Script::unpin, {ns, key, generation_text(generation)}, where);
  } catch (...) {  // NOLINT(bugprone-empty-catch): the pin expires by itself
  }
}

std::map<std::string, std::string> StoreImpl::details() const {
  const std::lock_guard lock(details_mutex_);
  return details_;
}

void StoreImpl::read_server_info(const Connection& connection) {
  std::map<std::string, std::string> fields = parse_info(connection.server_info());
  const std::lock_guard lock(details_mutex_);
  for (auto& [name, value] : fields) details_[name] = std::move(value);
}

}  // namespace blobcache::detail::redis
