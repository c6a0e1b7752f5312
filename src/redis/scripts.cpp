#include "redis/scripts.hpp"

#include <array>
#include <openssl/evp.h>

#include "errors.hpp"

namespace blobcache::detail::redis {
namespace {

// Scripts that only read, or only delete and refresh TTLs, run even when
// the server is over maxmemory (allow-oom): a full server must still serve
// gets and accept erases. The others carry no flag, so Redis refuses them
// with OOM before they start (never halfway: a script's writes are not
// rolled back).
constexpr std::string_view kMayRunFull = "#!lua flags=allow-oom\n";
constexpr std::string_view kDenyWhenFull = "#!lua\n";

// Shared by every script. Sizes and amounts stay strings: Lua numbers are
// doubles, and redis.call would format big ones as 1.2e+15. B, PIN_TTL and
// GRACE are declared before it (kScriptCommon, kLibraryCommon).
constexpr std::string_view kPrelude = R"lua(
-- The namespace's totals live in its index, as two members no key can be
-- (names hold no NUL): an eviction of the index takes them along.
local ENTRIES, BYTES = '\0entries', '\0bytes'
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function entry_key(ns, key) return B .. 'e:' .. #ns .. ':' .. ns .. ':' .. key end
local function negate(amount)
  if string.sub(amount, 1, 1) == '-' then return string.sub(amount, 2) end
  return '-' .. amount
end
-- Adds amount (an integer as a string: exact) to a total of the index i.
local function add(i, total, amount)
  if amount ~= '0' then redis.call('ZINCRBY', i, amount, total) end
end
-- Forgets a namespace left without entries; its counters (s:<ns>) stay.
local function settle(ns)
  local i = B .. 'i:' .. ns
  local entries = redis.call('ZSCORE', i, ENTRIES)
  if entries and tonumber(entries) <= 0 and redis.call('ZCARD', i) <= 2 then
    redis.call('DEL', i)
  end
  if redis.call('EXISTS', i, B .. 's:' .. ns) == 0 then redis.call('SREM', B .. 'n', ns) end
end
-- Removes an entry's hash. A generation that readers pinned moves to
-- o:<gen> for them instead, until the last one is done or the pin expires.
local function retire(e, gen)
  local pins = redis.call('GET', B .. 'p:' .. gen)
  if pins and tonumber(pins) > 0 then
    local old = B .. 'o:' .. gen
    redis.call('RENAME', e, old)
    redis.call('PEXPIRE', old, PIN_TTL)
  else
    redis.call('UNLINK', e)
  end
end
-- Drops key (whose size, a string, the index held) from the namespace.
local function unindex(ns, key, size)
  local i = B .. 'i:' .. ns
  redis.call('ZREM', i, key)
  redis.call('ZREM', B .. 'x:' .. ns, key)
  redis.call('ZREM', B .. 'u:' .. ns, key)
  add(i, ENTRIES, '-1')
  add(i, BYTES, negate(size))
  settle(ns)
end
-- Whether an if_match condition ("*": none, "": absent, else the etag it
-- must have) fails on an entry whose etag is etag (false: no entry).
local function refuses(cond, etag)
  return cond ~= '*' and ((cond == '' and etag) or (cond ~= '' and etag ~= cond))
end
-- Before an entry of one chunk at most is overwritten in place by one of
-- one chunk at most (never pinned): drops what the new one lacks.
local function drop_stale(e, was_expiring, expiring, old_chunks, chunks)
  local stale = {}
  if was_expiring ~= expiring then stale[#stale + 1] = was_expiring and 'x' or 'u' end
  if old_chunks == 1 and chunks == '0' then stale[#stale + 1] = '0' end
  if #stale > 0 then redis.call('HDEL', e, unpack(stale)) end
  if was_expiring and not expiring then redis.call('PERSIST', e) end
end
-- An indexed entry whose hash Redis removed itself: past its expires_at
-- plus the grace it was an expiry, else an eviction (maxmemory).
local function prune(ns, key, size)
  local x = redis.call('ZSCORE', B .. 'x:' .. ns, key)
  local expired = x and tonumber(x) + GRACE <= now_ms()
  redis.call('HINCRBY', B .. 's:' .. ns, expired and 'expirations' or 'evictions', 1)
  unindex(ns, key, size)
end
)lua";

// ARGV[4] ns, [5] key, [6] generation. Pins that generation for a reader
// of a value of several chunks (a get reads chunk 0 and the metadata with a
// plain HMGET first): 1, or 0 when the entry is another generation by now.
constexpr std::string_view kPin = R"lua(
if redis.call('HGET', entry_key(ARGV[4], ARGV[5]), 'g') ~= ARGV[6] then return 0 end
local p = B .. 'p:' .. ARGV[6]
redis.call('INCR', p)
redis.call('PEXPIRE', p, PIN_TTL)
return 1
)lua";

// ARGV[4] ns, [5] key, [6] generation, [7...] chunk numbers. Reads from
// the entry while it is that generation, else from the pinned old one.
constexpr std::string_view kReadChunks = R"lua(
local e, gen = entry_key(ARGV[4], ARGV[5]), ARGV[6]
local src, from = e, 'current'
if redis.call('HGET', e, 'g') ~= gen then
  src, from = B .. 'o:' .. gen, 'old'
  if redis.call('EXISTS', src) == 0 then return {'gone'} end
end
local out = {from}
for j = 7, #ARGV do out[#out + 1] = redis.call('HGET', src, ARGV[j]) end
redis.call('PEXPIRE', B .. 'p:' .. gen, PIN_TTL)
if src ~= e then redis.call('PEXPIRE', src, PIN_TTL) end
return out
)lua";

// ARGV[4] ns, [5] key, [6] generation.
constexpr std::string_view kUnpin = R"lua(
local e, gen = entry_key(ARGV[4], ARGV[5]), ARGV[6]
local p = B .. 'p:' .. gen
if redis.call('DECR', p) <= 0 then
  redis.call('DEL', p)
  if redis.call('HGET', e, 'g') ~= gen then redis.call('UNLINK', B .. 'o:' .. gen) end
end
return 1
)lua";

// ARGV[4] N, then 12 fields per entry: ns, key, condition ("*": none, "":
// absent, else the etag it must have), generation, m, etag, size, time
// kind ("x": expires_at, "u": updated_at, for an entry without one), that
// time in ms, that time sortable, chunks, chunk 0 (empty when the chunks
// wait in t:<gen>, or the value is empty). First every check (nothing is
// written when one fails), then every write. The writes that can meet a
// key of another type (the time indexes, the namespace set) come before
// the entry's own, so such a key fails the put before anything of the old
// entry is gone. The namespace's totals are read with the entry's size and
// written with its index member: one ZADD instead of one per total.
constexpr std::string_view kPublish = R"lua(
local N, F = tonumber(ARGV[4]), 12
local function arg(j, f) return ARGV[4 + (j - 1) * F + f] end
local function staged(j) return arg(j, 12) == '' and arg(j, 11) ~= '0' end
local old = {}  -- per entry: what it replaces (size, etag, gen, expiring, chunks, known ns)
local current = {}  -- entry key -> its etag as this batch leaves it (false: none)
local totals = {}  -- ns -> {entries, bytes} as this batch leaves them (false: read again)
for j = 1, N do
  local ns, key, cond = arg(j, 1), arg(j, 2), arg(j, 3)
  local e, i = entry_key(ns, key), B .. 'i:' .. ns
  local indexed = redis.call('ZMSCORE', i, key, ENTRIES, BYTES)
  local h = redis.call('HMGET', e, 't', 'g', 'x', 'n')
  local o = {size = indexed[1], etag = h[1], gen = h[2], expiring = h[3] ~= false,
             chunks = tonumber(h[4] or '0') or 0, known = indexed[2] ~= false}
  if not totals[ns] then
    totals[ns] = {tonumber(indexed[2] or '0'), tonumber(indexed[3] or '0')}
  end
  if o.size and not o.gen then  -- indexed, but Redis removed the hash
    prune(ns, key, o.size)
    o.size, totals[ns] = false, false
  end
  if not o.gen then o.etag = false end  -- the hash is what a get sees
  old[j] = o
  local etag = current[e]
  if etag == nil then etag = o.etag end
  if refuses(cond, etag) then return {'PRECONDITION', j, etag or ''} end
  -- Staged chunks Redis evicted (or expired) in part or whole, even if a
  -- later chunk's write made the hash again: never published.
  if staged(j) and redis.call('HLEN', B .. 't:' .. arg(j, 4)) ~= tonumber(arg(j, 11)) then
    return {'STAGING', j}
  end
  current[e] = arg(j, 6)
end
local now = nil
local written, listed = {}, {}
for j = 1, N do
  local ns, key, gen, size = arg(j, 1), arg(j, 2), arg(j, 4), arg(j, 7)
  local e, i, o = entry_key(ns, key), B .. 'i:' .. ns, old[j]
  if written[e] then  -- an earlier request of the batch wrote this key
    o.size = redis.call('ZSCORE', i, key)
    local h = redis.call('HMGET', e, 'g', 'x', 'n')
    o.gen, o.expiring, o.chunks = h[1], h[2] ~= false, tonumber(h[3] or '0') or 0
  end
  o.known = o.known or listed[ns]
  written[e], listed[ns] = true, true
  local kind, ms, chunks, chunk0 = arg(j, 8), arg(j, 9), arg(j, 11), arg(j, 12)
  local expiring = kind == 'x'
  redis.call('ZADD', B .. kind .. ':' .. ns, ms, key)
  if o.size and o.expiring ~= expiring then
    redis.call('ZREM', B .. (expiring and 'u:' or 'x:') .. ns, key)
  end
  if not o.known then redis.call('SADD', B .. 'n', ns) end
  local t = totals[ns]
  if not t then
    local r = redis.call('ZMSCORE', i, ENTRIES, BYTES)
    t = {tonumber(r[1] or '0'), tonumber(r[2] or '0')}
    totals[ns] = t
  end
  if o.size ~= size then
    if not o.size then t[1] = t[1] + 1 end
    t[2] = t[2] + tonumber(size) - tonumber(o.size or '0')
    redis.call('ZADD', i, size, key, string.format('%.0f', t[1]), ENTRIES,
               string.format('%.0f', t[2]), BYTES)
  end
  local fields = {'m', arg(j, 5), 'g', gen, 't', arg(j, 6), 's', size, 'n', chunks, kind, arg(j, 10)}
  if staged(j) then
    if o.gen then retire(e, o.gen) end
    redis.call('RENAME', B .. 't:' .. gen, e)
    redis.call('PERSIST', e)
  else
    if chunks ~= '0' then fields[#fields + 1], fields[#fields + 2] = '0', chunk0 end
    if o.gen and o.chunks > 1 then
      retire(e, o.gen)  -- readers may have pinned it
    elseif o.gen then
      drop_stale(e, o.expiring, expiring, o.chunks, chunks)  -- one chunk at most, old and new
    else
      redis.call('UNLINK', e)  -- a hash without a generation is not ours
    end
  end
  redis.call('HSET', e, unpack(fields))
  if expiring then
    now = now or now_ms()
    redis.call('PEXPIREAT', e, string.format('%.0f', math.max(tonumber(ms), now) + GRACE))
  end
end
return {'OK'}
)lua";

// publish's arguments for one entry: a put, without publish's batch
// bookkeeping, which costs the server more than the commands themselves
// (docs/performance.md). What is rare (an indexed entry Redis removed; an
// inline value replacing one of several chunks) goes to publish, before
// anything is written.
constexpr std::string_view kPublishOne = R"lua(
local ns, key, cond, size = ARGV[5], ARGV[6], ARGV[7], ARGV[11]
local e, i = entry_key(ns, key), B .. 'i:' .. ns
local indexed = redis.call('ZMSCORE', i, key, ENTRIES, BYTES)
local h = redis.call('HMGET', e, 't', 'g', 'x', 'n')
local old_size, old_gen = indexed[1], h[2]
local old_chunks = tonumber(h[4] or '0') or 0
local gen, kind, ms, chunks, chunk0 = ARGV[8], ARGV[12], ARGV[13], ARGV[15], ARGV[16]
local staged = chunk0 == '' and chunks ~= '0'
if (old_size and not old_gen) or (old_chunks > 1 and not staged) then return op_publish(ARGV) end
local etag = old_gen and h[1]
if refuses(cond, etag) then return {'PRECONDITION', 1, etag or ''} end
if staged and redis.call('HLEN', B .. 't:' .. gen) ~= tonumber(chunks) then
  return {'STAGING', 1}  -- Redis evicted or expired staged chunks
end
local expiring, was_expiring = kind == 'x', h[3] ~= false
redis.call('ZADD', B .. kind .. ':' .. ns, ms, key)
if old_size and was_expiring ~= expiring then
  redis.call('ZREM', B .. (expiring and 'u:' or 'x:') .. ns, key)
end
if not indexed[2] then redis.call('SADD', B .. 'n', ns) end
if old_size ~= size then
  local entries = tonumber(indexed[2] or '0') + (old_size and 0 or 1)
  local bytes = tonumber(indexed[3] or '0') + tonumber(size) - tonumber(old_size or '0')
  redis.call('ZADD', i, size, key, string.format('%.0f', entries), ENTRIES,
             string.format('%.0f', bytes), BYTES)
end
if staged then
  if old_gen then retire(e, old_gen) end
  redis.call('RENAME', B .. 't:' .. gen, e)
  redis.call('PERSIST', e)
elseif old_gen then
  drop_stale(e, was_expiring, expiring, old_chunks, chunks)  -- one chunk at most, old and new
else
  redis.call('UNLINK', e)  -- a hash without a generation is not ours
end
if chunk0 ~= '' then
  redis.call('HSET', e, 'm', ARGV[9], 'g', gen, 't', ARGV[10], 's', size, 'n', chunks, kind,
             ARGV[14], '0', chunk0)
else
  redis.call('HSET', e, 'm', ARGV[9], 'g', gen, 't', ARGV[10], 's', size, 'n', chunks, kind,
             ARGV[14])
end
if expiring then
  redis.call('PEXPIREAT', e, string.format('%.0f', math.max(tonumber(ms), now_ms()) + GRACE))
end
return {'OK'}
)lua";

// ARGV[4] ns, [5] key, [6] (optional) the generation it must still be.
constexpr std::string_view kErase = R"lua(
local ns, key = ARGV[4], ARGV[5]
local e = entry_key(ns, key)
local gen = redis.call('HGET', e, 'g')
if ARGV[6] and gen ~= ARGV[6] then return 0 end
local size = redis.call('ZSCORE', B .. 'i:' .. ns, key)
if gen then retire(e, gen) end
if size then
  unindex(ns, key, size)
  return 1
end
return 0
)lua";

// ARGV[4] ns, [5] trash id. The namespace's index moves to the trash in
// one step: from then on every call sees the namespace empty. Its entries'
// hashes are deleted afterwards, batch by batch (erase_namespace_batch),
// by this call or, if its process dies, by the next erase_namespace.
constexpr std::string_view kEraseNamespaceBegin = R"lua(
local ns = ARGV[4]
local i, trash = B .. 'i:' .. ns, B .. 'z:' .. ARGV[5]
if redis.call('EXISTS', i) == 1 then
  redis.call('RENAME', i, trash)
  redis.call('HSET', B .. 'zs', trash, ns)
end
redis.call('UNLINK', B .. 'x:' .. ns, B .. 'u:' .. ns)
settle(ns)
return redis.call('HKEYS', B .. 'zs')
)lua";

// ARGV[4] trash key, [5] limit. An entry put again since the erase began is
// in the live index again and is left alone.
constexpr std::string_view kEraseNamespaceBatch = R"lua(
local trash = ARGV[4]
local ns = redis.call('HGET', B .. 'zs', trash)
if not ns then return 0 end
local taken = redis.call('ZPOPMIN', trash, ARGV[5])
local i = B .. 'i:' .. ns
for j = 1, #taken, 2 do
  local key = taken[j]
  if not redis.call('ZSCORE', i, key) then
    local e = entry_key(ns, key)
    local gen = redis.pcall('HGET', e, 'g')
    if type(gen) == 'string' then retire(e, gen) end
  end
end
if redis.call('EXISTS', trash) == 0 then redis.call('HDEL', B .. 'zs', trash) end
return #taken / 2
)lua";

// ARGV[4] ns, [5] now ms, [6] now sortable, [7] cutoff ms ("": ttl <= 0),
// [8] cutoff sortable (now - ttl), [9] limit, [10] skip x, [11] skip u.
// Candidates come from the time indexes by millisecond; the exact test
// (nanoseconds) is on the entry's sortable field. Returns {erased, seen x,
// skipped x, seen u, skipped u}: the caller asks again, skipping what was
// not expired, while a sweep came back full.
constexpr std::string_view kExpireBatch = R"lua(
local ns = ARGV[4]
local i, s = B .. 'i:' .. ns, B .. 's:' .. ns
local erased = 0
local function sweep(index, upto, field, before, skip)
  local keys = redis.call('ZRANGEBYSCORE', index, '-inf', upto, 'LIMIT', skip, ARGV[9])
  local skipped = 0
  for _, key in ipairs(keys) do
    local e = entry_key(ns, key)
    local size = redis.call('ZSCORE', i, key)
    local f = redis.call('HMGET', e, field, 'g')
    if not size then
      redis.call('ZREM', index, key)
    elseif not f[2] then
      prune(ns, key, size)
    elseif f[1] and f[1] < before then
      redis.call('HINCRBY', s, 'expirations', 1)
      retire(e, f[2])
      unindex(ns, key, size)
      erased = erased + 1
    else
      skipped = skipped + 1
    end
  end
  return #keys, skipped
end
local seen_x, skipped_x = sweep(B .. 'x:' .. ns, ARGV[5], 'x', ARGV[6], ARGV[10])
local seen_u, skipped_u = 0, 0
if ARGV[7] ~= '' then
  seen_u, skipped_u = sweep(B .. 'u:' .. ns, ARGV[7], 'u', ARGV[8], ARGV[11])
end
return {erased, seen_x, skipped_x, seen_u, skipped_u}
)lua";

// ARGV[4] ns, [5...] keys whose hash a list found gone.
constexpr std::string_view kPrune = R"lua(
local ns = ARGV[4]
for j = 5, #ARGV do
  local size = redis.call('ZSCORE', B .. 'i:' .. ns, ARGV[j])
  if size and redis.call('EXISTS', entry_key(ns, ARGV[j])) == 0 then prune(ns, ARGV[j], size) end
end
return 1
)lua";

// ARGV[4...] namespaces.
constexpr std::string_view kResetStats = R"lua(
for j = 4, #ARGV do
  redis.call('HDEL', B .. 's:' .. ARGV[j], 'hits', 'misses', 'evictions', 'expirations')
  settle(ARGV[j])
end
return 1
)lua";

// ARGV[4] lease key, [5] owner, [6] ttl ms. "Newly or again": the owner's
// own lease is extended.
constexpr std::string_view kAcquireLease = R"lua(
local l, owner, ttl = ARGV[4], ARGV[5], ARGV[6]
if redis.call('SET', l, owner, 'NX', 'PX', ttl) then return 1 end
if redis.call('GET', l) == owner then
  redis.call('PEXPIRE', l, ttl)
  return 1
end
return 0
)lua";

// ARGV[4] lease key, [5] owner: compare and delete.
constexpr std::string_view kReleaseLease = R"lua(
if redis.call('GET', ARGV[4]) == ARGV[5] then redis.call('DEL', ARGV[4]) end
return 1
)lua";

std::string sha1_hex(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha1(), nullptr) != 1) {
    throw_error(Errc::io, "redis: OpenSSL could not compute a script's SHA-1");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest.at(i) >> 4U];
    hex += kHex[digest.at(i) & 0xFU];
  }
  return hex;
}

// The scripts' own first line: the common arguments. In the library they
// are the library's locals instead, set by each function as it starts (the
// server runs one function at a time).
constexpr std::string_view kScriptCommon =
    "local B, PIN_TTL, GRACE = ARGV[1], ARGV[2], tonumber(ARGV[3])\n";
constexpr std::string_view kLibraryCommon = "local B, PIN_TTL, GRACE\n";

struct Part {
  std::string_view name;  // of its function, after the library's name
  bool may_run_full;      // allow-oom (see kMayRunFull)
  std::string_view body;
  // An earlier part whose op_<name> the body calls (in a script, defined
  // before the body; in the library, it already is).
  std::string_view calls = {};
};

// In the order of enum Script.
constexpr std::array<Part, 13> kParts = {{
    {"pin", true, kPin},
    {"read_chunks", true, kReadChunks},
    {"unpin", true, kUnpin},
    {"publish", false, kPublish},
    {"publish_one", false, kPublishOne, "publish"},
    {"erase", true, kErase},
    {"erase_namespace_begin", true, kEraseNamespaceBegin},
    {"erase_namespace_batch", true, kEraseNamespaceBatch},
    {"expire_batch", true, kExpireBatch},
    {"prune", true, kPrune},
    {"reset_stats", true, kResetStats},
    {"acquire_lease", false, kAcquireLease},
    {"release_lease", true, kReleaseLease},
}};

std::string called_by(const Part& part) {
  if (part.calls.empty()) return {};
  for (const Part& called : kParts) {
    if (called.name == part.calls) {
      return "local function op_" + std::string(called.name) + "(ARGV)\n" +
             std::string(called.body) + "end\n";
    }
  }
  return {};
}

struct Sources {
  std::array<std::string, kParts.size()> bodies;
  std::array<ScriptSource, kParts.size()> scripts;
  std::string library;

  Sources() {
    const std::string prelude(kPrelude);
    std::string code = std::string(kLibraryCommon) + prelude;
    for (const Part& part : kParts) {
      code += "local function op_" + std::string(part.name) + "(ARGV)\n" + std::string(part.body) +
              "end\n";
    }
    // Named by its code: a store of another version on the same server
    // loads its own library beside this one instead of replacing it.
    const std::string name = "blobcache_" + sha1_hex(code).substr(0, 16);
    library = "#!lua name=" + name + "\n" + code;
    for (std::size_t i = 0; i < kParts.size(); ++i) {
      const Part& part = kParts.at(i);
      bodies.at(i) = std::string(part.may_run_full ? kMayRunFull : kDenyWhenFull) +
                     std::string(kScriptCommon) + prelude + called_by(part) +
                     std::string(part.body);
      const std::string function = name + "_" + std::string(part.name);
      library += "redis.register_function{function_name = '" + function +
                 "', callback = function(_, args)\n"
                 "  B, PIN_TTL, GRACE = args[1], args[2], tonumber(args[3])\n"
                 "  return op_" +
                 std::string(part.name) + "(args)\nend" +
                 (part.may_run_full ? ", flags = {'allow-oom'}}\n" : "}\n");
      scripts.at(i) = {bodies.at(i), sha1_hex(bodies.at(i)), function};
    }
  }
};

const Sources& sources() {
  static const Sources instance;
  return instance;
}

}  // namespace

const ScriptSource& source_of(Script script) {
  return sources().scripts.at(static_cast<std::size_t>(script));
}

std::string_view library() { return sources().library; }

}  // namespace blobcache::detail::redis
