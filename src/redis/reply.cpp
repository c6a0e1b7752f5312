#include "redis/reply.hpp"

#include <charconv>
#include <string>

namespace blobcache::detail::redis {
namespace {

[[noreturn]] void unexpected(const redisReply& reply, std::string_view wanted, const Where& where) {
  throw_at(Errc::corrupt, where,
           "unexpected reply (type " + std::to_string(reply.type) + ", wanted " +
               std::string(wanted) + "): the server holds something this store did not write");
}

}  // namespace

void check(const redisReply& reply, const Where& where) {
  if (reply.type == REDIS_REPLY_ERROR)
    throw_reply_error(where, std::string_view(reply.str, reply.len));
}

std::string_view text_of(const redisReply& reply, const Where& where) {
  if (reply.type != REDIS_REPLY_STRING && reply.type != REDIS_REPLY_STATUS) {
    check(reply, where);
    unexpected(reply, "a string", where);
  }
  return {reply.str, reply.len};
}

std::int64_t integer_of(const redisReply& reply, const Where& where) {
  if (reply.type == REDIS_REPLY_INTEGER) return reply.integer;
  const std::string_view text = text_of(reply, where);
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size())
    unexpected(reply, "an integer", where);
  return value;
}

const redisReply& element(const redisReply& reply, std::size_t i, const Where& where) {
  if (reply.type != REDIS_REPLY_ARRAY) {
    check(reply, where);
    unexpected(reply, "an array", where);
  }
  if (i >= reply.elements) unexpected(reply, "a longer array", where);
  return *reply.element[i];  // NOLINT: checked above
}

}  // namespace blobcache::detail::redis
