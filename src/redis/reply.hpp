// Internal: reading hiredis replies, with every surprise reported as an
// Error naming where it happened.
#pragma once

#include <cstdint>
#include <hiredis/hiredis.h>
#include <string_view>

#include "redis/connection.hpp"

namespace blobcache::detail::redis {

// Throws Error (errc_of_reply_error) when `reply` is an error reply.
void check(const redisReply& reply, const Where& where);
inline ReplyPtr checked(ReplyPtr reply, const Where& where) {
  check(*reply, where);
  return reply;
}

inline bool is_nil(const redisReply& reply) noexcept { return reply.type == REDIS_REPLY_NIL; }

// The bytes of a string or status reply; Error(Errc::corrupt) for another type.
std::string_view text_of(const redisReply& reply, const Where& where);
// An integer reply (or a string holding one); Error(Errc::corrupt) otherwise.
std::int64_t integer_of(const redisReply& reply, const Where& where);
// Element `i` of an array reply of at least i + 1 elements; else corrupt.
const redisReply& element(const redisReply& reply, std::size_t i, const Where& where);

}  // namespace blobcache::detail::redis
