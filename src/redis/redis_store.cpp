#include "blobcache/redis_store.hpp"

#include <algorithm>
#include <array>
#include <istream>
#include <limits>

#include "blobcache/error.hpp"

#include "errors.hpp"
#include "redis/blob_reader.hpp"
#include "redis/reply.hpp"
#include "redis/store_impl.hpp"
#include "sha256.hpp"
#include "stream_read.hpp"

namespace blobcache {

using namespace detail::redis;

namespace {

using Impl = StoreImpl;

// Chunk writes of one put kept in flight: enough to hide the round trips,
// few enough to keep a put's memory constant (4 x 256 KiB).
constexpr std::size_t kChunksInFlight = 4;
// Values up to this size travel inside the publish script's arguments.
constexpr std::size_t kInlineMax = 8 * 1024;
// Chunks fetched per round trip by get() (which holds the value anyway).
constexpr std::size_t kChunksPerRead = 4;
// get() starts again when the generation it read was dropped under it
// (replaced and evicted); after this many tries the entry counts as absent.
constexpr int kGetAttempts = 4;

void validate(const RedisOptions& options) {
  const auto bad = [](const std::string& what) {
    detail::throw_error(Errc::invalid_argument, "RedisStore: " + what);
  };
  if (options.unix_socket.empty() && options.host.empty()) {
    bad("the host is empty and no unix_socket is set");
  }
  if (options.port < 1 || options.port > 65535) {
    bad("port " + std::to_string(options.port) + " is outside 1-65535");
  }
  if (options.db < 0) bad("db " + std::to_string(options.db) + " is negative");
  if (options.pool_size == 0) bad("pool_size must be at least 1");
  if (options.key_prefix.empty()) bad("key_prefix must not be empty");
  if (options.connect_timeout.count() <= 0 || options.command_timeout.count() <= 0) {
    bad("connect_timeout and command_timeout must be positive");
  }
  if (options.expiry_grace.count() < 0) bad("expiry_grace must not be negative");
}

// One put on its way to the publish script.
struct Pending {
  std::string_view ns;
  std::string_view key;
  std::string condition;  // "*": none; "": no entry; else the etag required
  StoredMeta stored;
  std::string generation;
  bool staged = false;  // its chunks wait in the staging hash t:<generation>
  std::string chunk0;   // the one chunk, framed, when not staged
};

Pending prepare(Impl& impl, std::string_view ns, std::string_view key, const PutOptions& opts,
                std::int64_t size, std::string etag) {
  Pending pending{.ns = ns,
                  .key = key,
                  .condition = opts.if_match ? *opts.if_match : std::string("*"),
                  .stored = {},
                  .generation = {},
                  .staged = false,
                  .chunk0 = {}};
  pending.stored.meta = Meta{.size = size,
                             .updated_at = impl.clock().now(),
                             .expires_at = opts.expires_at,
                             .etag = std::move(etag),
                             .content_type = opts.content_type,
                             .metadata = opts.metadata};
  pending.stored.generation = impl.new_generation();
  pending.generation = generation_text(pending.stored.generation);
  return pending;
}

// Reads replies due on `connection` until `keep` remain; keeps the first
// error reply in `failure`.
void read_due(Connection& connection, std::size_t keep, std::string& failure, const Where& where) {
  while (connection.due() > keep) {
    const ReplyPtr reply = connection.read(where);
    if (reply->type == REDIS_REPLY_ERROR && failure.empty()) failure.assign(reply->str, reply->len);
  }
}

// Writes chunk `seq` of a put into its staging hash, renewing the hash's
// TTL (a put that dies leaves nothing behind for long). A few chunks stay
// in flight: the publish script is queued behind the last ones and reads
// their replies (publish()).
void stage(Impl& impl, Connection& connection, Pending& pending, std::int64_t seq, BytesView data,
           const Where& where) {
  const std::string key = impl.layout().temp(pending.generation);
  const std::string framed = frame_chunk(data, pending.stored.generation, seq);
  connection.append({"HSET", key, std::to_string(seq), framed});
  connection.append({"PEXPIRE", key, std::to_string(Impl::kStagingTtl.count())});
  pending.staged = true;
  std::string failure;
  read_due(connection, 2 * kChunksInFlight, failure, where);
  if (!failure.empty()) {
    read_due(connection, 0, failure, where);
    throw_reply_error(where, failure);
  }
}

// Stages `value` when it needs more than one chunk or is large (a Lua
// argument of 64 KiB costs the server ~100 us more than an HSET of it), else
// frames it for the publish script to carry.
void load(Impl& impl, Connection& connection, Pending& pending, BytesView value,
          const Where& where) {
  if (value.size() <= kInlineMax) {
    if (!value.empty()) pending.chunk0 = frame_chunk(value, pending.stored.generation, 0);
    return;
  }
  for (std::int64_t seq = 0; seq < pending.stored.chunks(); ++seq) {
    const std::size_t start = static_cast<std::size_t>(seq) * kChunkSize;
    stage(impl, connection, pending, seq,
          value.subspan(start, std::min<std::size_t>(kChunkSize, value.size() - start)), where);
  }
}

// Best effort: staging hashes of puts that failed (their TTL removes what
// this cannot).
void discard_staged(Impl& impl, Connection& connection,
                    std::span<const Pending> pendings) noexcept {
  try {
    const Where where{.operation = "discard staged chunks", .server = impl.server()};
    connection.drain(where);  // of the chunk writes in flight when the put failed
    if (connection.broken()) return;
    std::size_t replies = 0;
    for (const Pending& pending : pendings) {
      if (!pending.staged) continue;
      connection.append({"UNLINK", impl.layout().temp(pending.generation)});
      ++replies;
    }
    for (std::size_t i = 0; i < replies; ++i) connection.read(where);
  } catch (...) {  // NOLINT(bugprone-empty-catch): the staging TTL cleans up
  }
}

[[noreturn]] void throw_precondition(std::string_view operation, const Pending& pending,
                                     std::string_view current) {
  const std::string& wanted = pending.condition;
  const std::string why =
      wanted.empty()    ? std::string("an entry exists (if_match \"\" asks for none)")
      : current.empty() ? "no entry exists (if_match names etag " + wanted + ")"
                        : "its etag is " + std::string(current) + ", not " + wanted;
  detail::throw_error(Errc::precondition_failed,
                      detail::describe_entry(operation, pending.ns, pending.key) + ": " + why +
                          "; nothing written");
}

// Publishes every pending put as one step (the publish script), or none.
void publish(Impl& impl, Connection& connection, std::span<Pending> pendings,
             std::string_view operation, const Where& where) {
  // The strings the arguments view; sized first, so they never move.
  struct Fields {
    std::string m, size, ms, sortable, chunks;
  };
  std::vector<Fields> fields(pendings.size());
  const std::string count = std::to_string(pendings.size());
  std::vector<std::string_view> args = {count};
  args.reserve(1 + 12 * pendings.size());
  for (std::size_t j = 0; j < pendings.size(); ++j) {
    const Pending& pending = pendings[j];
    const Meta& meta = pending.stored.meta;
    Fields& f = fields[j];
    f.m = encode_meta(pending.stored);
    f.size = std::to_string(meta.size);
    // The time the entry's time index sorts it by: expires_at, or updated_at
    // for an entry without one.
    const TimePoint time = meta.expires_at ? *meta.expires_at : meta.updated_at;
    f.ms = score_millis(time);
    f.sortable = sortable_time(time);
    f.chunks = std::to_string(pending.stored.chunks());
    args.insert(args.end(),
                {pending.ns, pending.key, pending.condition, pending.generation, f.m, meta.etag,
                 f.size, meta.expires_at ? "x" : "u", f.ms, f.sortable, f.chunks, pending.chunk0});
  }
  const Script script = pendings.size() == 1 ? Script::publish_one : Script::publish;
  // Queued behind the staged chunks still in flight: one round trip.
  ReplyPtr reply;
  std::string staging_failure;
  try {
    impl.queue_eval(connection, script, args);
    read_due(connection, 1, staging_failure, where);
    reply = impl.read_eval(connection, script, args, where);
  } catch (...) {
    discard_staged(impl, connection, pendings);
    throw;
  }
  const std::string_view status = text_of(element(*reply, 0, where), where);
  if (status == "OK") return;
  discard_staged(impl, connection, pendings);
  if (!staging_failure.empty()) throw_reply_error(where, staging_failure);  // OOM, mostly
  const std::int64_t j = integer_of(element(*reply, 1, where), where) - 1;
  if (j < 0 || static_cast<std::size_t>(j) >= pendings.size()) {
    throw_at(Errc::io, where, "the publish script answered an impossible index");
  }
  const Pending& failed = pendings[static_cast<std::size_t>(j)];
  if (status == "PRECONDITION") {
    throw_precondition(operation, failed, text_of(element(*reply, 2, where), where));
  }
  const Where at{
      .operation = operation, .server = impl.server(), .ns = failed.ns, .key = failed.key};
  if (status == "STAGING") {
    throw_at(Errc::no_space, at,
             "Redis dropped the staged chunks before they were published (evicted under "
             "maxmemory, or the put took longer than their TTL); nothing written");
  }
  throw_at(Errc::io, at, "the publish script answered \"" + std::string(status) + "\"");
}

std::vector<std::string> strings_of(const redisReply& reply, const Where& where) {
  std::vector<std::string> strings;
  if (reply.type != REDIS_REPLY_ARRAY) element(reply, 0, where);  // throws: not an array
  strings.reserve(reply.elements);
  for (std::size_t i = 0; i < reply.elements; ++i) {
    strings.emplace_back(text_of(element(reply, i, where), where));
  }
  return strings;
}

std::string milliseconds_rounded_up(Duration d) {
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(d).count();
  return std::to_string(std::max<std::int64_t>(1, ms));
}

// Appends chunks 1.. of a pinned generation to `data`; false when the
// generation is gone (replaced and then evicted, or the pin lapsed) or
// partly gone (then it is erased: an entry missing chunks is a miss).
bool read_rest(Impl& impl, Connection& connection, std::string_view ns, std::string_view key,
               const StoredMeta& stored, Bytes& data, const Where& where) {
  const std::string generation = generation_text(stored.generation);
  for (std::int64_t first = 1; first < stored.chunks();
       first += static_cast<std::int64_t>(kChunksPerRead)) {
    const std::int64_t last =
        std::min<std::int64_t>(stored.chunks(), first + static_cast<std::int64_t>(kChunksPerRead));
    std::vector<std::string> numbers;
    for (std::int64_t seq = first; seq < last; ++seq) numbers.push_back(std::to_string(seq));
    std::vector<std::string_view> args = {ns, key, generation};
    args.insert(args.end(), numbers.begin(), numbers.end());
    const ReplyPtr reply = impl.eval(connection, Script::read_chunks, args, where);
    const std::string_view from = text_of(element(*reply, 0, where), where);
    if (from == "gone") return false;
    for (std::int64_t seq = first; seq < last; ++seq) {
      const redisReply& field = element(*reply, static_cast<std::size_t>(seq - first + 1), where);
      if (is_nil(field)) {
        if (from == "current") impl.eval(connection, Script::erase, {ns, key, generation}, where);
        return false;
      }
      const BytesView bytes = unframe_chunk(text_of(field, where), stored.generation, seq,
                                            chunk_bytes(stored, seq), where);
      data.insert(data.end(), bytes.begin(), bytes.end());  // chunks come in order
    }
  }
  return true;
}

// Ends a get's own pin on the connection it holds (the pool may have no
// other); best effort, the pin expires by itself.
void unpin_on(Impl& impl, Connection& connection, std::string_view ns, std::string_view key,
              std::uint64_t generation, const Where& where) noexcept {
  try {
    if (!connection.broken()) {
      impl.eval(connection, Script::unpin, {ns, key, generation_text(generation)}, where);
    }
  } catch (...) {  // NOLINT(bugprone-empty-catch)
  }
}

}  // namespace

RedisStore::RedisStore(RedisOptions options) {
  validate(options);
  impl_ = std::make_shared<Impl>(std::move(options));
  // Connects at once, so a bad address or password fails here.
  const Where where{.operation = "connect", .server = impl_->server()};
  const auto lease = impl_->connection(where);
}

RedisStore::~RedisStore() {
  try {
    const Where where{.operation = "count hits", .server = impl_->server()};
    auto lease = impl_->connection(where);
    impl_->flush_counts(*lease, false);
  } catch (...) {  // NOLINT(bugprone-empty-catch): documented as best effort
  }
}

const RedisOptions& RedisStore::options() const noexcept { return impl_->options(); }

namespace {

// What one HMGET reads of an entry: its metadata and its first chunk.
struct Head {
  StoredMeta stored;
  std::string first_chunk;  // framed; empty for an empty value
};

// The entry's head, or nullopt on a miss. An entry missing its first
// chunk (never whole: not one this store published) is a miss too, and
// is erased.
std::optional<Head> read_head(Impl& impl, Connection& connection, std::string_view ns,
                              std::string_view key, const Where& where) {
  const ReplyPtr reply =
      checked(connection.command({"HMGET", impl.layout().entry(ns, key), "m", "0"}, where), where);
  const redisReply& m = element(*reply, 0, where);
  if (is_nil(m)) return std::nullopt;
  Head head{decode_meta(text_of(m, where), where), {}};
  const redisReply& first = element(*reply, 1, where);
  if (head.stored.chunks() > 0 && is_nil(first)) {
    impl.eval(connection, Script::erase, {ns, key, generation_text(head.stored.generation)}, where);
    return std::nullopt;
  }
  if (!is_nil(first)) head.first_chunk = text_of(first, where);
  return head;
}

// Pins the head's generation when its value has more chunks to read; false
// when the entry became another generation meanwhile (read it again).
bool pin(Impl& impl, Connection& connection, std::string_view ns, std::string_view key,
         const Head& head, const Where& where) {
  if (head.stored.chunks() <= 1) return true;
  const std::string generation = generation_text(head.stored.generation);
  return integer_of(*impl.eval(connection, Script::pin, {ns, key, generation}, where), where) == 1;
}

}  // namespace

std::optional<Blob> RedisStore::do_get(std::string_view ns, std::string_view key) {
  const Where where{.operation = "get", .server = impl_->server(), .ns = ns, .key = key};
  auto lease = impl_->connection(where);
  for (int attempt = 0; attempt < kGetAttempts; ++attempt) {
    std::optional<Head> head = read_head(*impl_, *lease, ns, key, where);
    if (!head) break;
    StoredMeta& stored = head->stored;
    if (!pin(*impl_, *lease, ns, key, *head, where)) continue;
    Blob blob;
    blob.data.reserve(static_cast<std::size_t>(stored.meta.size));  // filled, never zeroed
    bool complete = true;
    try {
      if (stored.chunks() > 0) {
        const BytesView first =
            unframe_chunk(head->first_chunk, stored.generation, 0, chunk_bytes(stored, 0), where);
        blob.data.insert(blob.data.end(), first.begin(), first.end());
      }
      if (stored.chunks() > 1)
        complete = read_rest(*impl_, *lease, ns, key, stored, blob.data, where);
    } catch (...) {
      if (stored.chunks() > 1) unpin_on(*impl_, *lease, ns, key, stored.generation, where);
      throw;
    }
    if (stored.chunks() > 1) unpin_on(*impl_, *lease, ns, key, stored.generation, where);
    if (complete) {
      blob.meta = std::move(stored.meta);
      impl_->count(*lease, ns, true);
      return blob;
    }
  }
  impl_->count(*lease, ns, false);
  return std::nullopt;
}

std::unique_ptr<BlobReader> RedisStore::do_open(std::string_view ns, std::string_view key) {
  const Where where{.operation = "open", .server = impl_->server(), .ns = ns, .key = key};
  auto lease = impl_->connection(where);
  for (int attempt = 0; attempt < kGetAttempts; ++attempt) {
    std::optional<Head> head = read_head(*impl_, *lease, ns, key, where);
    if (!head) break;
    if (!pin(*impl_, *lease, ns, key, *head, where)) continue;
    const bool pinned = head->stored.chunks() > 1;
    std::unique_ptr<BlobReader> reader;
    try {
      reader =
          std::make_unique<RedisBlobReader>(impl_, std::string(ns), std::string(key), head->stored,
                                            std::move(head->first_chunk), pinned);
    } catch (...) {
      if (pinned) unpin_on(*impl_, *lease, ns, key, head->stored.generation, where);
      throw;
    }
    impl_->count(*lease, ns, true);
    return reader;
  }
  impl_->count(*lease, ns, false);
  return nullptr;
}

Meta RedisStore::do_put(std::string_view ns, std::string_view key, BytesView value,
                        const PutOptions& opts) {
  const Where where{.operation = "put", .server = impl_->server(), .ns = ns, .key = key};
  std::array<Pending, 1> pending = {prepare(*impl_, ns, key, opts,
                                            static_cast<std::int64_t>(value.size()),
                                            detail::Sha256::hex_of(value))};
  auto lease = impl_->connection(where);
  try {
    load(*impl_, *lease, pending[0], value, where);
  } catch (...) {
    discard_staged(*impl_, *lease, pending);
    throw;
  }
  publish(*impl_, *lease, pending, "put", where);
  return pending[0].stored.meta;
}

std::vector<Meta> RedisStore::do_put_many(std::span<const PutRequest> batch) {
  const Where where{.operation = "put_many", .server = impl_->server()};
  std::vector<Pending> pendings;
  pendings.reserve(batch.size());
  for (const PutRequest& request : batch) {
    pendings.push_back(prepare(*impl_, request.ns, request.key, request.options,
                               static_cast<std::int64_t>(request.value.size()),
                               detail::Sha256::hex_of(request.value)));
  }
  auto lease = impl_->connection(where);
  try {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      load(*impl_, *lease, pendings[i], batch[i].value, where);
    }
  } catch (...) {
    discard_staged(*impl_, *lease, pendings);
    throw;
  }
  publish(*impl_, *lease, pendings, "put_many (nothing stored), at", where);
  std::vector<Meta> metas;
  metas.reserve(pendings.size());
  for (Pending& pending : pendings) metas.push_back(std::move(pending.stored.meta));
  return metas;
}

Meta RedisStore::do_put_stream(std::string_view ns, std::string_view key, std::istream& in,
                               const PutOptions& opts, std::stop_token stop) {
  const Where where{.operation = "put_stream", .server = impl_->server(), .ns = ns, .key = key};
  const std::string what = detail::describe_entry("put_stream", ns, key);
  // The size and etag are known at the end; prepare() fills in the rest.
  std::array<Pending, 1> pending = {prepare(*impl_, ns, key, opts, 0, {})};
  Pending& put = pending[0];
  auto lease = impl_->connection(where);
  Bytes buffer(kChunkSize);
  detail::Sha256 hash;
  try {
    for (std::int64_t seq = 0;; ++seq) {
      if (stop.stop_requested()) detail::throw_error(Errc::cancelled, what + ": cancelled");
      const std::size_t n = detail::read_chunk(in, buffer, what);
      const BytesView chunk(buffer.data(), n);
      hash.update(chunk);
      put.stored.meta.size += static_cast<std::int64_t>(n);
      if (seq == 0 && n <= kInlineMax) {  // the whole value rides with the publish
        if (n > 0) put.chunk0 = frame_chunk(chunk, put.stored.generation, 0);
        break;
      }
      if (n == 0) break;  // the stream ended on a chunk boundary
      stage(*impl_, *lease, put, seq, chunk, where);
      if (n < kChunkSize) break;
    }
  } catch (...) {
    discard_staged(*impl_, *lease, pending);
    throw;
  }
  put.stored.meta.etag = hash.finish_hex();
  publish(*impl_, *lease, pending, "put_stream", where);
  return put.stored.meta;
}

void RedisStore::do_erase(std::string_view ns, std::string_view key) {
  const Where where{.operation = "erase", .server = impl_->server(), .ns = ns, .key = key};
  auto lease = impl_->connection(where);
  impl_->eval(*lease, Script::erase, {ns, key}, where);
}

void RedisStore::do_erase_namespace(std::string_view ns) {
  const Where where{.operation = "erase_namespace", .server = impl_->server(), .ns = ns};
  auto lease = impl_->connection(where);
  const std::string id = generation_text(impl_->new_generation());
  const ReplyPtr trash = impl_->eval(*lease, Script::erase_namespace_begin, {ns, id}, where);
  // Its own trash and any a dead process left behind.
  const std::string limit = std::to_string(Impl::kBatch);
  for (const std::string& key : strings_of(*trash, where)) {
    while (integer_of(*impl_->eval(*lease, Script::erase_namespace_batch, {key, limit}, where),
                      where) == static_cast<std::int64_t>(Impl::kBatch)) {
    }
  }
}

std::vector<Object> RedisStore::do_list(std::string_view ns) {
  const Where where{.operation = "list", .server = impl_->server(), .ns = ns};
  auto lease = impl_->connection(where);
  std::vector<std::string> keys = strings_of(
      *checked(lease->command({"ZRANGE", impl_->layout().index(ns), "0", "-1"}, where), where),
      where);
  std::vector<Object> objects;
  objects.reserve(keys.size());
  std::vector<std::string_view> gone = {ns};
  std::erase_if(keys, [](const std::string& key) { return key.starts_with('\0'); });  // totals
  for (std::size_t first = 0; first < keys.size(); first += Impl::kBatch) {
    const std::size_t last = std::min(keys.size(), first + Impl::kBatch);
    for (std::size_t i = first; i < last; ++i) {
      lease->append({"HGET", impl_->layout().entry(ns, keys[i]), "m"});
    }
    for (std::size_t i = first; i < last; ++i) {
      const ReplyPtr reply = lease->read(where);
      if (is_nil(*reply)) {
        gone.push_back(keys[i]);  // expired or evicted by Redis
        continue;
      }
      const Where at{.operation = "list", .server = impl_->server(), .ns = ns, .key = keys[i]};
      objects.push_back({keys[i], decode_meta(text_of(*reply, at), at).meta});
    }
  }
  if (gone.size() > 1) impl_->eval(*lease, Script::prune, gone, where);
  std::sort(objects.begin(), objects.end(),
            [](const Object& a, const Object& b) { return a.key < b.key; });
  return objects;
}

std::size_t RedisStore::do_erase_expired(std::string_view ns, TimePoint now, Duration ttl) {
  const Where where{.operation = "erase_expired", .server = impl_->server(), .ns = ns};
  const std::string now_ms = score_millis(now);
  const std::string now_sortable = sortable_time(now);
  std::string cutoff_ms;
  std::string cutoff_sortable;
  const auto now_nanos = std::chrono::duration_cast<Duration>(now.time_since_epoch()).count();
  // ttl <= 0 never expires by age; nor does anything when now - ttl is
  // before the first representable time.
  if (ttl > Duration::zero() &&
      now_nanos >= std::numeric_limits<std::int64_t>::min() + ttl.count()) {
    const TimePoint cutoff = now - std::chrono::duration_cast<TimePoint::duration>(ttl);
    cutoff_ms = score_millis(cutoff);
    cutoff_sortable = sortable_time(cutoff);
  }
  const std::string limit = std::to_string(Impl::kBatch);
  auto lease = impl_->connection(where);
  std::size_t erased = 0;
  std::int64_t skip_x = 0;
  std::int64_t skip_u = 0;
  while (true) {
    const std::string skip_x_text = std::to_string(skip_x);
    const std::string skip_u_text = std::to_string(skip_u);
    const ReplyPtr reply = impl_->eval(
        *lease, Script::expire_batch,
        {ns, now_ms, now_sortable, cutoff_ms, cutoff_sortable, limit, skip_x_text, skip_u_text},
        where);
    std::array<std::int64_t, 5> counts{};
    for (std::size_t i = 0; i < counts.size(); ++i) {
      counts.at(i) = integer_of(element(*reply, i, where), where);
    }
    erased += static_cast<std::size_t>(counts[0]);
    skip_x += counts[2];
    skip_u += counts[4];
    const auto full = static_cast<std::int64_t>(Impl::kBatch);
    if (counts[1] < full && counts[3] < full) break;
  }
  return erased;
}

namespace {

// The totals a namespace's index holds besides its keys (scripts.cpp).
const std::string kEntriesTotal("\0entries", 8);
const std::string kBytesTotal("\0bytes", 6);

// entries, bytes (from the index), hits, misses, evictions, expirations (s:<ns>).
using Totals = std::array<std::int64_t, 6>;

// The totals and counters of every namespace of the set n, in batches.
std::vector<std::pair<std::string, Totals>> read_totals(Impl& impl, Connection& connection,
                                                        const Where& where) {
  const std::vector<std::string> names = strings_of(
      *checked(connection.command({"SMEMBERS", impl.layout().namespaces()}, where), where), where);
  std::vector<std::pair<std::string, Totals>> totals;
  totals.reserve(names.size());
  for (std::size_t first = 0; first < names.size(); first += Impl::kBatch) {
    const std::size_t last = std::min(names.size(), first + Impl::kBatch);
    for (std::size_t i = first; i < last; ++i) {
      connection.append({"ZMSCORE", impl.layout().index(names[i]), kEntriesTotal, kBytesTotal});
      connection.append(
          {"HMGET", impl.layout().stats(names[i]), "hits", "misses", "evictions", "expirations"});
    }
    for (std::size_t i = first; i < last; ++i) {
      Totals values{};
      std::size_t field = 0;
      for (std::size_t reply = 0; reply < 2; ++reply) {
        const ReplyPtr answer = connection.read(where);
        for (std::size_t e = 0; e < (reply == 0 ? 2U : 4U); ++e, ++field) {
          const redisReply& value = element(*answer, e, where);
          values.at(field) =
              is_nil(value) ? 0 : std::max<std::int64_t>(0, integer_of(value, where));
        }
      }
      totals.emplace_back(names[i], values);
    }
  }
  std::sort(totals.begin(), totals.end());
  return totals;
}

}  // namespace

std::vector<NamespaceInfo> RedisStore::do_namespaces() {
  const Where where{.operation = "namespaces", .server = impl_->server()};
  auto lease = impl_->connection(where);
  std::vector<NamespaceInfo> spaces;
  for (auto& [name, totals] : read_totals(*impl_, *lease, where)) {
    if (totals[0] > 0) spaces.push_back({std::move(name), totals[0], totals[1]});
  }
  return spaces;
}

Stats RedisStore::do_stats() {
  const Where where{.operation = "stats", .server = impl_->server()};
  auto lease = impl_->connection(where);
  impl_->flush_counts(*lease, false);
  Stats stats;
  for (auto& [name, v] : read_totals(*impl_, *lease, where)) {
    if (std::all_of(v.begin(), v.end(), [](std::int64_t x) { return x == 0; })) continue;
    NamespaceStats space{.ns = std::move(name),
                         .entries = v[0],
                         .bytes = v[1],
                         .hits = static_cast<std::uint64_t>(v[2]),
                         .misses = static_cast<std::uint64_t>(v[3]),
                         .evictions = static_cast<std::uint64_t>(v[4]),
                         .expirations = static_cast<std::uint64_t>(v[5])};
    stats.entries += space.entries;
    stats.bytes += space.bytes;
    stats.hits += space.hits;
    stats.misses += space.misses;
    stats.evictions += space.evictions;
    stats.expirations += space.expirations;
    stats.namespaces.push_back(std::move(space));
  }
  return stats;
}

void RedisStore::do_reset_stats() {
  const Where where{.operation = "reset_stats", .server = impl_->server()};
  auto lease = impl_->connection(where);
  impl_->hit_counters().clear();
  const std::vector<std::string> names = strings_of(
      *checked(lease->command({"SMEMBERS", impl_->layout().namespaces()}, where), where), where);
  for (std::size_t first = 0; first < names.size(); first += Impl::kBatch) {
    const std::size_t last = std::min(names.size(), first + Impl::kBatch);
    const std::vector<std::string_view> batch(names.begin() + static_cast<std::ptrdiff_t>(first),
                                              names.begin() + static_cast<std::ptrdiff_t>(last));
    impl_->eval(*lease, Script::reset_stats, batch, where);
  }
}

Info RedisStore::do_describe() const {
  Info info{.backend = "redis",
            .root = impl_->server(),
            .supports_list = true,
            .supports_stream = true,
            .supports_delete_namespace = true,
            .supports_conditional_put = true,
            .details = impl_->details()};
  info.details["key_prefix"] = impl_->options().key_prefix;
  return info;
}

void RedisStore::do_check() {
  const Where where{.operation = "check", .server = impl_->server()};
  auto lease = impl_->connection(where);
  const ReplyPtr reply = checked(lease->command({"PING"}, where), where);
  if (text_of(*reply, where) != "PONG") throw_at(Errc::io, where, "PING was not answered PONG");
}

bool RedisStore::do_try_acquire_lease(std::string_view ns, std::string_view key,
                                      std::string_view owner, Duration ttl) {
  const Where where{
      .operation = "try_acquire_lease", .server = impl_->server(), .ns = ns, .key = key};
  auto lease = impl_->connection(where);
  const std::string name = impl_->layout().lease(ns, key);
  const std::string ms = milliseconds_rounded_up(ttl);
  return integer_of(*impl_->eval(*lease, Script::acquire_lease, {name, owner, ms}, where), where) ==
         1;
}

void RedisStore::do_release_lease(std::string_view ns, std::string_view key,
                                  std::string_view owner) {
  const Where where{.operation = "release_lease", .server = impl_->server(), .ns = ns, .key = key};
  auto lease = impl_->connection(where);
  impl_->eval(*lease, Script::release_lease, {impl_->layout().lease(ns, key), owner}, where);
}

}  // namespace blobcache
