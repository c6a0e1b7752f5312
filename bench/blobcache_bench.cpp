// blobcache_bench: blobcache's SqliteStore beside its baselines, in one run.
//
// Systems (--systems, comma-separated):
//   blobcache  blobcache::SqliteStore through the public Store API, default
//              options (only when the build has SqliteStore).
//   blobcache_lru
//              the same with Limits{max_bytes = 2,000,000, least_recently_used}:
//              the 2000 values of 1 KiB of the mixed and get_1k loads
//              (2,048,000 bytes) overfill it, so puts evict and every get
//              records its access; a get may miss (an evicted key). Meant for
//              the 1 KiB workloads.
//   floor      the plain sqlite3 C API doing the same work: one table
//              (ns, key, metadata columns, value), default settings plus
//              journal_mode=WAL and synchronous=NORMAL, prepared statements,
//              one connection per thread. Each put computes the value's
//              SHA-256 (OpenSSL) and stores it as the etag, as blobcache does.
//   files      the seed's disk design: the value written to a temp file and
//              renamed, then a JSON sidecar the same way, no fsync; get reads
//              both files. No hashing either.
//   memory     blobcache::MemoryStore (a harness check, not a baseline).
// python-diskcache runs the same workloads in diskcache_bench.py (a separate
// Python process, same JSON output); compare.py merges both.
//
// Workloads (--workloads, comma-separated, or "all"):
//   stream_256m     put_stream then open+read of 256 MiB in a child process
//                   (fork/exec); reports MiB/s of each and the child's peak
//                   RSS from getrusage (runs first so the parent is still small).
//   put_1k, put_64k, put_1m
//                   puts of new keys, one put per transaction.
//   put_1k_t4       put_1k's puts from 4 threads at once (one store object,
//                   or for floor one connection per thread), each thread its
//                   own keys; ops/s of all four.
//   get_1k, get_64k, get_1m
//                   random gets of present keys (the whole value copied out).
//   get_missing     gets of absent keys in a store of 2000 entries.
//   list_10k        list() of a namespace of 10,000 entries; entries/s.
//   clean_50k_of_100k
//                   clean_expired (Store::erase_expired) removing the 50,000
//                   expired entries among 100,000 (256 B values); entries/s.
//   put_many_1k     put_many in batches of 1000 puts of 1 KiB (floor: 1000
//                   per transaction; files: plain puts, it has no batches).
//   mixed_t1, mixed_t2, mixed_t4
//                   90% get / 10% put of 1 KiB over 2000 keys from 1, 2, 4
//                   threads of one process (one store object, or for floor
//                   one connection per thread).
//   mixed_p1, mixed_p2
//                   the same load from 1 and 2 processes (fork/exec of this
//                   program) on one file; each child opens its own store.
//
// Method: each case (system x workload) runs in a fresh temp folder; one
// warm-up repetition is discarded, then --reps repetitions are timed and the
// median is reported (clean_50k_of_100k and stream_256m: at most 3, after a
// smaller warm-up round). The systems of a workload alternate repetition by
// repetition, so a drift in the machine's speed touches them alike. Put
// workloads start every repetition in a fresh folder; get, list and mixed
// workloads prefill once, reopen the store, then repeat. --system-scale
// files=0.2 shrinks one system's op counts (rates stay comparable).
//
// Output: one JSON object per line on stdout:
//   {"system":..,"workload":..,"unit":"ops/s","median":..,"reps":[..],...}
// Progress goes to stderr.
#include <algorithm>
#include <array>
#include <atomic>
#include <blobcache/blobcache.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <istream>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <openssl/evp.h>
#include <optional>
#include <random>
#include <span>
#include <sqlite3.h>
#include <sstream>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <string_view>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

#ifdef BLOBCACHE_BENCH_TUNING
#include "sqlite/test_seams.hpp"  // the A/B seam SqliteStore offers measurement programs
#endif

namespace {

namespace fs = std::filesystem;
using blobcache::Bytes;

#ifdef BLOBCACHE_BENCH_TUNING
// The knobs of every SqliteStore this run opens (--tune).
blobcache::detail::Tuning& bench_tuning() {
  static blobcache::detail::Tuning knobs;
  return knobs;
}

#endif
using blobcache::BytesView;
using blobcache::TimePoint;
using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kNs = "bench";
constexpr std::size_t kKiB = 1024;
constexpr std::size_t kMiB = 1024 * kKiB;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

double seconds_since_epoch_of(SteadyClock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}
double now_s() { return seconds_since_epoch_of(SteadyClock::now()); }

std::int64_t unix_ns(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// ---------------------------------------------------------------------------
// Test data: every value is a slice of one pseudo-random pool.

class Pool {
 public:
  Pool() : bytes_(4 * kMiB) {
    std::mt19937_64 rng(42);
    for (std::size_t i = 0; i + 8 <= bytes_.size(); i += 8) {
      const std::uint64_t r = rng();
      std::memcpy(bytes_.data() + i, &r, 8);
    }
  }
  // Value number `i` of `size` bytes (size <= 2 MiB).
  BytesView value(std::size_t i, std::size_t size) const {
    const std::size_t span = bytes_.size() - size;
    return BytesView(bytes_).subspan((i * 4099) % span, size);
  }
  const Bytes& bytes() const noexcept { return bytes_; }

 private:
  Bytes bytes_;
};

const Pool& pool() {
  static const Pool p;
  return p;
}

std::string key_name(std::size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "k%08zu", i);
  return buf;
}

std::vector<std::string> key_names(std::size_t n, std::size_t first = 0) {
  std::vector<std::string> keys;
  keys.reserve(n);
  for (std::size_t i = 0; i < n; ++i) keys.push_back(key_name(first + i));
  return keys;
}

// Serves `total` bytes from the pool without holding them: an istream for
// put_stream in constant memory.
class PoolStreamBuf : public std::streambuf {
 public:
  explicit PoolStreamBuf(std::uint64_t total) : remaining_(total), chunk_(kMiB) {}

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    if (remaining_ == 0) return traits_type::eof();
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, kMiB));
    const BytesView v = pool().value(served_++, n);
    std::memcpy(chunk_.data(), v.data(), n);
    remaining_ -= n;
    setg(chunk_.data(), chunk_.data(), chunk_.data() + n);
    return traits_type::to_int_type(*gptr());
  }

 private:
  std::uint64_t remaining_;
  std::size_t served_ = 0;
  std::vector<char> chunk_;
};

// ---------------------------------------------------------------------------
// The systems under test.

struct Item {
  std::string_view key;
  BytesView value;
  std::optional<TimePoint> expires_at;
};

// One thread's handle on a system.
class Worker {
 public:
  virtual ~Worker() = default;
  virtual void put(const Item& item) = 0;
  // The whole value (a fresh buffer each call, as Store::get returns one).
  virtual std::optional<Bytes> get(std::string_view key) = 0;
  virtual void put_many(std::span<const Item> items) = 0;
  // Lists the namespace; returns the number of entries.
  virtual std::size_t list() = 0;
  // Removes the entries expired at `now`; returns how many.
  virtual std::size_t clean_expired(TimePoint now) = 0;
  virtual void put_stream(std::string_view key, std::istream& in, std::uint64_t size) = 0;
  // Reads the value through the system's streaming path; returns its size.
  virtual std::uint64_t read_stream(std::string_view key) = 0;
  // A bounded system may have evicted a key the workload put: a get of it
  // misses instead of failing the run.
  virtual bool may_miss() const { return false; }
};

class System {
 public:
  virtual ~System() = default;
  virtual std::unique_ptr<Worker> worker() = 0;
};

// --- blobcache (any Store) -------------------------------------------------

class StoreWorker final : public Worker {
 public:
  StoreWorker(blobcache::Store& store, bool bounded) : store_(store), bounded_(bounded) {}
  bool may_miss() const override { return bounded_; }

  void put(const Item& item) override {
    store_.put(kNs, item.key, item.value, blobcache::PutOptions{.expires_at = item.expires_at});
  }
  std::optional<Bytes> get(std::string_view key) override {
    auto blob = store_.get(kNs, key);
    if (!blob) return std::nullopt;
    return std::move(blob->data);
  }
  void put_many(std::span<const Item> items) override {
    std::vector<blobcache::PutRequest> batch;
    batch.reserve(items.size());
    for (const Item& item : items) {
      batch.push_back(
          blobcache::PutRequest{.ns = kNs,
                                .key = item.key,
                                .value = item.value,
                                .options = blobcache::PutOptions{.expires_at = item.expires_at}});
    }
    store_.put_many(batch);
  }
  std::size_t list() override { return store_.list(kNs).size(); }
  std::size_t clean_expired(TimePoint now) override {
    return store_.erase_expired(kNs, now, blobcache::Duration{0});
  }
  void put_stream(std::string_view key, std::istream& in, std::uint64_t /*size*/) override {
    store_.put_stream(kNs, key, in);
  }
  std::uint64_t read_stream(std::string_view key) override {
    auto reader = store_.open(kNs, key);
    if (!reader) fail("open: missing key");
    std::vector<std::byte> buf(64 * kKiB);
    std::uint64_t total = 0;
    while (const std::size_t n = reader->read(buf)) total += n;
    return total;
  }

 private:
  blobcache::Store& store_;
  bool bounded_;
};

class StoreSystem final : public System {
 public:
  explicit StoreSystem(std::shared_ptr<blobcache::Store> store, bool bounded = false)
      : store_(std::move(store)), bounded_(bounded) {}
  std::unique_ptr<Worker> worker() override {
    return std::make_unique<StoreWorker>(*store_, bounded_);
  }

 private:
  std::shared_ptr<blobcache::Store> store_;
  bool bounded_;
};

// --- floor: the plain sqlite3 C API ------------------------------------------

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) != SQLITE_OK) {
      fail(std::string("prepare: ") + sqlite3_errmsg(db));
    }
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  sqlite3_stmt* get() const noexcept { return stmt_; }
  void text(int i, std::string_view s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
  }
  void blob(int i, BytesView b) {
    sqlite3_bind_blob(stmt_, i, b.data(), static_cast<int>(b.size()), SQLITE_STATIC);
  }
  void int64(int i, std::int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void null(int i) { sqlite3_bind_null(stmt_, i); }
  // Steps once; true when a row is available.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(std::string("step: ") + sqlite3_errmsg(db_));
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::string column_text(int i) const {
    const auto* p = sqlite3_column_text(stmt_, i);
    return p == nullptr ? std::string{}
                        : std::string(reinterpret_cast<const char*>(p),
                                      static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i)));
  }
  Bytes column_blob(int i) const {
    const auto* p = static_cast<const std::byte*>(sqlite3_column_blob(stmt_, i));
    const auto n = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i));
    return p == nullptr ? Bytes{} : Bytes(p, p + n);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// The floor's row: what a Meta holds.
struct FloorRow {
  std::string key;
  std::int64_t size = 0;
  std::int64_t updated_at = 0;
  std::optional<std::int64_t> expires_at;
  std::string etag;
  std::string content_type;
  Bytes metadata;
};

constexpr const char* kFloorEtag =
    "0000000000000000000000000000000000000000000000000000000000000000";

// The etag blobcache stores: the value's SHA-256 in hex.
std::string sha256_hex(BytesView value) {
  std::array<unsigned char, 32> digest{};
  unsigned int length = 0;
  if (EVP_Digest(value.data(), value.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    fail("EVP_Digest failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(2 * digest.size(), '0');
  for (std::size_t i = 0; i < digest.size(); ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 15];
  }
  return hex;
}

class Connection {
 public:
  explicit Connection(const fs::path& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK) {
      const std::string msg = sqlite3_errmsg(db_);
      sqlite3_close(db_);
      fail("open " + path.string() + ": " + msg);
    }
    sqlite3_busy_timeout(db_, 10'000);
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=NORMAL");
    exec(
        "CREATE TABLE IF NOT EXISTS entries(ns TEXT NOT NULL, key TEXT NOT NULL,"
        " size INTEGER NOT NULL, updated_at INTEGER NOT NULL, expires_at INTEGER,"
        " etag TEXT NOT NULL, content_type TEXT NOT NULL, metadata BLOB,"
        " value BLOB NOT NULL, PRIMARY KEY(ns, key))");
    exec("CREATE INDEX IF NOT EXISTS entries_expiry ON entries(ns, expires_at)");
  }
  ~Connection() { sqlite3_close_v2(db_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* get() const noexcept { return db_; }
  void exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      const std::string msg = err != nullptr ? err : "?";
      sqlite3_free(err);
      fail(std::string("exec ") + sql + ": " + msg);
    }
  }

 private:
  sqlite3* db_ = nullptr;
};

class FloorWorker final : public Worker {
 public:
  explicit FloorWorker(const fs::path& path)
      : conn_(path),
        insert_(conn_.get(),
                "INSERT OR REPLACE INTO entries(ns, key, size, updated_at, expires_at, etag,"
                " content_type, metadata, value) VALUES(?1, ?2, ?3, ?4, ?5, ?6, '', NULL, ?7)"),
        insert_zero_(conn_.get(),
                     "INSERT OR REPLACE INTO entries(ns, key, size, updated_at, expires_at, etag,"
                     " content_type, metadata, value) VALUES(?1, ?2, ?3, ?4, NULL, ?5, '', NULL,"
                     " zeroblob(?3))"),
        select_(conn_.get(),
                "SELECT size, updated_at, expires_at, etag, content_type, metadata, value"
                " FROM entries WHERE ns = ?1 AND key = ?2"),
        rowid_(conn_.get(), "SELECT rowid FROM entries WHERE ns = ?1 AND key = ?2"),
        list_(conn_.get(),
              "SELECT key, size, updated_at, expires_at, etag, content_type, metadata"
              " FROM entries WHERE ns = ?1 ORDER BY key"),
        clean_(conn_.get(), "DELETE FROM entries WHERE ns = ?1 AND expires_at < ?2"),
        begin_(conn_.get(), "BEGIN IMMEDIATE"),
        begin_read_(conn_.get(), "BEGIN"),
        commit_(conn_.get(), "COMMIT") {}

  void put(const Item& item) override { insert(item); }

  std::optional<Bytes> get(std::string_view key) override {
    select_.text(1, kNs);
    select_.text(2, key);
    std::optional<Bytes> out;
    if (select_.step()) {
      const FloorRow row = read_meta(select_, 0);
      out = select_.column_blob(6);
    }
    select_.reset();
    return out;
  }

  void put_many(std::span<const Item> items) override {
    run(begin_);
    for (const Item& item : items) insert(item);
    run(commit_);
  }

  std::size_t list() override {
    std::vector<FloorRow> rows;
    list_.text(1, kNs);
    while (list_.step()) {
      FloorRow row = read_meta(list_, 1);
      row.key = list_.column_text(0);
      rows.push_back(std::move(row));
    }
    list_.reset();
    return rows.size();
  }

  std::size_t clean_expired(TimePoint now) override {
    clean_.text(1, kNs);
    clean_.int64(2, unix_ns(now));
    clean_.step();
    clean_.reset();
    return static_cast<std::size_t>(sqlite3_changes(conn_.get()));
  }

  // Incremental blob I/O; the floor is told the size up front.
  void put_stream(std::string_view key, std::istream& in, std::uint64_t size) override {
    run(begin_);
    insert_zero_.text(1, kNs);
    insert_zero_.text(2, key);
    insert_zero_.int64(3, static_cast<std::int64_t>(size));
    insert_zero_.int64(4, unix_ns(std::chrono::system_clock::now()));
    insert_zero_.text(5, kFloorEtag);
    insert_zero_.step();
    insert_zero_.reset();
    sqlite3_blob* blob = nullptr;
    if (sqlite3_blob_open(conn_.get(), "main", "entries", "value",
                          sqlite3_last_insert_rowid(conn_.get()), 1, &blob) != SQLITE_OK) {
      fail(std::string("blob_open: ") + sqlite3_errmsg(conn_.get()));
    }
    std::vector<char> buf(64 * kKiB);
    int offset = 0;
    while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {
      const int n = static_cast<int>(in.gcount());
      if (sqlite3_blob_write(blob, buf.data(), n, offset) != SQLITE_OK) fail("blob_write");
      offset += n;
    }
    sqlite3_blob_close(blob);
    run(commit_);
  }

  std::uint64_t read_stream(std::string_view key) override {
    run(begin_read_);
    rowid_.text(1, kNs);
    rowid_.text(2, key);
    if (!rowid_.step()) fail("read_stream: missing key");
    const sqlite3_int64 rowid = sqlite3_column_int64(rowid_.get(), 0);
    rowid_.reset();
    sqlite3_blob* blob = nullptr;
    if (sqlite3_blob_open(conn_.get(), "main", "entries", "value", rowid, 0, &blob) != SQLITE_OK) {
      fail(std::string("blob_open: ") + sqlite3_errmsg(conn_.get()));
    }
    const int size = sqlite3_blob_bytes(blob);
    std::vector<char> buf(64 * kKiB);
    int offset = 0;
    while (offset < size) {
      const int n = std::min(size - offset, static_cast<int>(buf.size()));
      if (sqlite3_blob_read(blob, buf.data(), n, offset) != SQLITE_OK) fail("blob_read");
      offset += n;
    }
    sqlite3_blob_close(blob);
    run(commit_);
    return static_cast<std::uint64_t>(size);
  }

 private:
  // size, updated_at, expires_at, etag, content_type, metadata from
  // column `first` on: what a Meta holds.
  static FloorRow read_meta(const Statement& s, int first) {
    FloorRow row;
    row.size = sqlite3_column_int64(s.get(), first);
    row.updated_at = sqlite3_column_int64(s.get(), first + 1);
    if (sqlite3_column_type(s.get(), first + 2) != SQLITE_NULL) {
      row.expires_at = sqlite3_column_int64(s.get(), first + 2);
    }
    row.etag = s.column_text(first + 3);
    row.content_type = s.column_text(first + 4);
    row.metadata = s.column_blob(first + 5);
    return row;
  }
  static void run(Statement& s) {
    s.step();
    s.reset();
  }
  void insert(const Item& item) {
    insert_.text(1, kNs);
    insert_.text(2, item.key);
    insert_.int64(3, static_cast<std::int64_t>(item.value.size()));
    insert_.int64(4, unix_ns(std::chrono::system_clock::now()));
    if (item.expires_at) {
      insert_.int64(5, unix_ns(*item.expires_at));
    } else {
      insert_.null(5);
    }
    insert_.text(6, sha256_hex(item.value));
    insert_.blob(7, item.value);
    insert_.step();
    insert_.reset();
  }

  Connection conn_;
  Statement insert_, insert_zero_, select_, rowid_, list_, clean_, begin_, begin_read_, commit_;
};

class FloorSystem final : public System {
 public:
  explicit FloorSystem(const fs::path& dir) : path_(dir / "floor.db") {
    first_ = std::make_unique<Connection>(path_);  // creates the file and schema
  }
  std::unique_ptr<Worker> worker() override { return std::make_unique<FloorWorker>(path_); }

 private:
  fs::path path_;
  std::unique_ptr<Connection> first_;
};

// --- files: the seed's disk design -----------------------------------------

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

void write_all(int fd, const void* data, std::size_t n) {
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail(std::string("write: ") + std::strerror(errno));
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

// The whole file (open, fstat, read, close, as Go's os.ReadFile does); nullopt
// when it does not exist.
std::optional<Bytes> read_file(const fs::path& path) {
  const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::nullopt;
    fail("open " + path.string() + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail("fstat");
  Bytes out(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t r = ::read(fd.get(), out.data() + done, out.size() - done);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) fail("read " + path.string());
    done += static_cast<std::size_t>(r);
  }
  return out;
}

// The integer after "name": in a flat JSON object; nullopt for null or absent.
std::optional<std::int64_t> json_int(std::string_view json, std::string_view name) {
  const std::string needle = "\"" + std::string(name) + "\":";
  const std::size_t at = json.find(needle);
  if (at == std::string_view::npos) return std::nullopt;
  const char* first = json.data() + at + needle.size();
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(first, json.data() + json.size(), v);
  if (ec != std::errc{}) return std::nullopt;
  return v;
}

std::string json_string(std::string_view json, std::string_view name) {
  const std::string needle = "\"" + std::string(name) + "\":\"";
  const std::size_t at = json.find(needle);
  if (at == std::string_view::npos) return {};
  const std::size_t start = at + needle.size();
  return std::string(json.substr(start, json.find('"', start) - start));
}

class FilesWorker final : public Worker {
 public:
  explicit FilesWorker(fs::path dir) : dir_(std::move(dir)) {
    static std::atomic<unsigned> next_worker{0};
    tag_ = std::to_string(::getpid()) + "-" + std::to_string(next_worker++);
  }

  void put(const Item& item) override {
    write_renamed(data_path(item.key), item.value.data(), item.value.size());
    const std::string meta = sidecar(item.value.size(), item.expires_at);
    write_renamed(meta_path(item.key), meta.data(), meta.size());
  }

  std::optional<Bytes> get(std::string_view key) override {
    auto data = read_file(data_path(key));
    if (!data) return std::nullopt;
    const auto meta = read_file(meta_path(key));
    if (!meta) return std::nullopt;
    const FloorRow row = parse(key, *meta);
    if (row.size != static_cast<std::int64_t>(data->size())) fail("files: size mismatch");
    return data;
  }

  void put_many(std::span<const Item> items) override {
    for (const Item& item : items) put(item);
  }

  std::size_t list() override { return scan().size(); }

  std::size_t clean_expired(TimePoint now) override {
    const std::int64_t t = unix_ns(now);
    std::size_t removed = 0;
    for (const FloorRow& row : scan()) {
      if (row.expires_at && *row.expires_at < t) {
        fs::remove(data_path(row.key));
        fs::remove(meta_path(row.key));
        ++removed;
      }
    }
    return removed;
  }

  void put_stream(std::string_view key, std::istream& in, std::uint64_t /*size*/) override {
    const fs::path tmp = temp_path();
    std::uint64_t total = 0;
    {
      const Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
      if (fd.get() < 0) fail("create " + tmp.string());
      std::vector<char> buf(64 * kKiB);
      while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {
        write_all(fd.get(), buf.data(), static_cast<std::size_t>(in.gcount()));
        total += static_cast<std::uint64_t>(in.gcount());
      }
    }
    fs::rename(tmp, data_path(key));
    const std::string meta = sidecar(total, std::nullopt);
    write_renamed(meta_path(key), meta.data(), meta.size());
  }

  std::uint64_t read_stream(std::string_view key) override {
    const auto meta = read_file(meta_path(key));
    if (!meta) fail("read_stream: missing key");
    const Fd fd(::open(data_path(key).c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) fail("read_stream: missing data");
    std::vector<char> buf(64 * kKiB);
    std::uint64_t total = 0;
    for (;;) {
      const ssize_t r = ::read(fd.get(), buf.data(), buf.size());
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) fail("read");
      if (r == 0) break;
      total += static_cast<std::uint64_t>(r);
    }
    return total;
  }

 private:
  fs::path data_path(std::string_view key) const { return dir_ / key; }
  fs::path meta_path(std::string_view key) const {
    return dir_ / (std::string(key) + ".meta.json");
  }
  fs::path temp_path() { return dir_ / (".tmp-" + tag_ + "-" + std::to_string(seq_++)); }

  void write_renamed(const fs::path& path, const void* data, std::size_t n) {
    const fs::path tmp = temp_path();
    {
      const Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
      if (fd.get() < 0) fail("create " + tmp.string() + ": " + std::strerror(errno));
      write_all(fd.get(), data, n);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      fail("rename: " + std::string(std::strerror(errno)));
  }

  static std::string sidecar(std::uint64_t size, std::optional<TimePoint> expires_at) {
    std::string s = "{\"size\":" + std::to_string(size) +
                    ",\"updated_at\":" + std::to_string(unix_ns(std::chrono::system_clock::now())) +
                    ",\"expires_at\":" +
                    (expires_at ? std::to_string(unix_ns(*expires_at)) : std::string("null")) +
                    ",\"etag\":\"" + kFloorEtag + "\",\"content_type\":\"\",\"metadata\":{}}";
    return s;
  }

  static FloorRow parse(std::string_view key, const Bytes& meta) {
    const std::string_view json(reinterpret_cast<const char*>(meta.data()), meta.size());
    FloorRow row;
    row.key = std::string(key);
    row.size = json_int(json, "size").value_or(-1);
    row.updated_at = json_int(json, "updated_at").value_or(0);
    row.expires_at = json_int(json, "expires_at");
    row.etag = json_string(json, "etag");
    row.content_type = json_string(json, "content_type");
    return row;
  }

  // Every entry's sidecar, sorted by key (what the seed's List did).
  std::vector<FloorRow> scan() const {
    constexpr std::string_view kSuffix = ".meta.json";
    std::vector<FloorRow> rows;
    for (const auto& e : fs::directory_iterator(dir_)) {
      const std::string name = e.path().filename().string();
      if (name.size() <= kSuffix.size() || !name.ends_with(kSuffix)) continue;
      const auto meta = read_file(e.path());
      if (!meta) continue;
      rows.push_back(parse(std::string_view(name).substr(0, name.size() - kSuffix.size()), *meta));
    }
    std::sort(rows.begin(), rows.end(),
              [](const FloorRow& a, const FloorRow& b) { return a.key < b.key; });
    return rows;
  }

  fs::path dir_;
  std::string tag_;
  std::uint64_t seq_ = 0;
};

class FilesSystem final : public System {
 public:
  explicit FilesSystem(const fs::path& dir) : dir_(dir / "files" / std::string(kNs)) {
    fs::create_directories(dir_);
  }
  std::unique_ptr<Worker> worker() override { return std::make_unique<FilesWorker>(dir_); }

 private:
  fs::path dir_;
};

std::unique_ptr<System> open_system(std::string_view name, const fs::path& dir) {
  if (name == "floor") return std::make_unique<FloorSystem>(dir);
  if (name == "files") return std::make_unique<FilesSystem>(dir);
  if (name == "memory") {
    // Reopening a folder finds the same store again (within this process).
    static std::map<fs::path, std::shared_ptr<blobcache::Store>> stores;
    auto& store = stores[dir];
    if (!store) store = std::make_shared<blobcache::MemoryStore>(dir.string());
    return std::make_unique<StoreSystem>(store);
  }
  if (name == "blobcache" || name == "blobcache_lru") {
    const bool bounded = name == "blobcache_lru";
    blobcache::SqliteOptions options{.path = dir / "blobcache.db"};
    if (bounded) {
      options.limits = blobcache::Limits{
          .max_bytes = 2'000'000, .eviction = blobcache::EvictionPolicy::least_recently_used};
    }
#ifdef BLOBCACHE_BENCH_TUNING
    return std::make_unique<StoreSystem>(
        blobcache::detail::SqliteStoreAccess::open(std::move(options), bench_tuning()), bounded);
#else
    return std::make_unique<StoreSystem>(std::make_shared<blobcache::SqliteStore>(options),
                                         bounded);
#endif
  }
  fail("unknown or unavailable system: " + std::string(name));
}

// ---------------------------------------------------------------------------
// Harness.

struct Config {
  std::vector<std::string> systems;
  std::vector<std::string> workloads;
  int reps = 5;
  double scale = 1.0;
  fs::path tmp;
  std::string self;  // this program, for child processes
  std::string tune;  // knob=value,... (blobcache_bench_tuning only)
  // --system-scale files=0.2: op counts of that system's cases times 0.2.
  std::map<std::string, double> system_scale;
};

#ifdef BLOBCACHE_BENCH_TUNING
// Sets SqliteStore's knobs from "page_size=65536,mmap_size=0,...".
void apply_tuning(const std::string& spec) {
  auto& t = bench_tuning();
  std::stringstream in(spec);
  std::string item;
  while (std::getline(in, item, ',')) {
    const auto eq = item.find('=');
    if (eq == std::string::npos) fail("--tune: expected knob=value in " + item);
    const std::string name = item.substr(0, eq);
    const long long v = std::stoll(item.substr(eq + 1));
    if (name == "page_size")
      t.page_size = static_cast<int>(v);
    else if (name == "mmap_size")
      t.mmap_size = v;
    else if (name == "cache_kib")
      t.cache_kib = v;
    else if (name == "chunk_size")
      t.chunk_size = static_cast<std::size_t>(v);
    else if (name == "checkpoint_pages")
      t.checkpoint_pages = static_cast<int>(v);
    else if (name == "checkpoint_inline_pages")
      t.checkpoint_inline_pages = static_cast<int>(v);
    else if (name == "background_checkpoints")
      t.background_checkpoints = v != 0;
    else if (name == "mapped_get_min_bytes")
      t.mapped_get_min_bytes = v;
    else if (name == "mapped_mmap_size")
      t.mapped_mmap_size = v;
    else if (name == "journal_size_limit")
      t.journal_size_limit = v;
    else if (name == "secure_delete")
      t.secure_delete = static_cast<int>(v);
    else if (name == "coalesce_wal_writes")
      t.coalesce_wal_writes = v != 0;
    else
      fail("--tune: unknown knob " + name);
  }
}
#endif

class TempDir {
 public:
  explicit TempDir(const fs::path& base) {
    std::string pattern = (base / "blobcache-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) fail("mkdtemp: " + std::string(std::strerror(errno)));
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const noexcept { return path_; }

 private:
  fs::path path_;
};

struct Result {
  std::string system;
  std::string workload;
  std::string unit = "ops/s";
  std::vector<double> reps;
  std::map<std::string, double> extra;
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void emit(const Result& r) {
  std::ostringstream out;
  out.precision(6);
  out << "{\"system\":\"" << r.system << "\",\"workload\":\"" << r.workload << "\",\"unit\":\""
      << r.unit << "\",\"median\":" << median(r.reps) << ",\"reps\":[";
  for (std::size_t i = 0; i < r.reps.size(); ++i) out << (i ? "," : "") << r.reps[i];
  out << "]";
  for (const auto& [k, v] : r.extra) out << ",\"" << k << "\":" << v;
  out << "}\n";
  std::cout << out.str() << std::flush;
  std::cerr << "  " << r.system << " " << r.workload << ": " << median(r.reps) << " " << r.unit
            << "\n";
}

// --- child processes ---------------------------------------------------------

struct Child {
  pid_t pid = -1;
  int to_child = -1;    // its stdin
  int from_child = -1;  // its stdout
};

Child spawn(const std::vector<std::string>& args) {
  int in_pipe[2], out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0) fail("pipe");
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) fail("fork");
  if (pid == 0) {
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  return Child{.pid = pid, .to_child = in_pipe[1], .from_child = out_pipe[0]};
}

std::string read_line(int fd) {
  std::string line;
  char c = 0;
  while (::read(fd, &c, 1) == 1 && c != '\n') line.push_back(c);
  return line;
}

// Waits for the child; returns its rusage. Throws when it failed.
rusage reap(const Child& c) {
  int status = 0;
  rusage ru{};
  if (::wait4(c.pid, &status, 0, &ru) != c.pid) fail("wait4");
  ::close(c.to_child);
  ::close(c.from_child);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail("child failed");
  return ru;
}

// One system's part of one workload. `run(rep)` times one repetition and
// returns its rate; rep < 0 is the warm-up. State lives in the lambdas.
struct Case {
  Result result;
  int reps = 0;  // timed repetitions
  std::function<double(int)> run;
  // Called after the last repetition: fills extras, may add results.
  std::function<void(std::vector<Result>&)> finish;
};

void prefill(Worker& w, std::size_t n, std::size_t size) {
  const auto keys = key_names(n);
  std::vector<Item> batch;
  for (std::size_t i = 0; i < n; ++i) {
    batch.push_back(Item{.key = keys[i], .value = pool().value(i, size)});
    if (batch.size() == 1000 || i + 1 == n) {
      w.put_many(batch);
      batch.clear();
    }
  }
}

// A store of `n` values of `size` bytes in a fresh folder, reopened after
// the prefill (a closed WAL store has checkpointed everything).
struct Prefilled {
  Prefilled(const Config& cfg, const std::string& sys, std::size_t n, std::size_t size)
      : dir(cfg.tmp) {
    {
      auto writer = open_system(sys, dir.path());
      prefill(*writer->worker(), n, size);
    }
    system = open_system(sys, dir.path());
    worker = system->worker();
  }
  TempDir dir;
  std::unique_ptr<System> system;
  std::unique_ptr<Worker> worker;
};

// A random sequence of `n` indices below `bound`.
std::vector<std::size_t> random_indices(std::size_t n, std::size_t bound, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::size_t> dist(0, bound - 1);
  std::vector<std::size_t> out(n);
  for (auto& i : out) i = dist(rng);
  return out;
}

Case put_case(const Config& cfg, const std::string& sys, const std::string& name, std::size_t size,
              std::size_t n) {
  auto keys = std::make_shared<std::vector<std::string>>(key_names(n));
  return Case{.result = {.system = sys, .workload = name},
              .reps = cfg.reps,
              .run = [&cfg, sys, size, n, keys](int) {
                const TempDir dir(cfg.tmp);
                auto system = open_system(sys, dir.path());
                auto w = system->worker();
                const double t0 = now_s();
                for (std::size_t i = 0; i < n; ++i) {
                  w->put(Item{.key = (*keys)[i], .value = pool().value(i, size)});
                }
                return static_cast<double>(n) / (now_s() - t0);
              }};
}

Case get_case(const Config& cfg, const std::string& sys, const std::string& name, std::size_t size,
              std::size_t nkeys, std::size_t n, bool missing) {
  auto store = std::make_shared<Prefilled>(cfg, sys, nkeys, size);
  auto keys =
      std::make_shared<std::vector<std::string>>(key_names(nkeys, missing ? 100'000'000 : 0));
  return Case{.result = {.system = sys, .workload = name}, .reps = cfg.reps, .run = [=](int rep) {
                const auto order =
                    random_indices(n, nkeys, 1000 + static_cast<std::uint64_t>(rep + 1));
                std::size_t bytes = 0;
                const double t0 = now_s();
                for (const std::size_t i : order) {
                  const auto v = store->worker->get((*keys)[i]);
                  if (v) {
                    if (missing) fail(name + ": unexpected hit");
                    if (v->size() != size) fail(name + ": wrong size");
                    bytes += v->size();
                  } else if (!missing && !store->worker->may_miss()) {
                    fail(name + ": unexpected miss");
                  }
                }
                const double dt = now_s() - t0;
                if (bytes == 0 && !missing) fail(name + ": nothing read");
                return static_cast<double>(n) / dt;
              }};
}

Case list_case(const Config& cfg, const std::string& sys) {
  constexpr std::size_t n = 10'000;
  auto store = std::make_shared<Prefilled>(cfg, sys, n, kKiB);
  return Case{.result = {.system = sys, .workload = "list_10k", .unit = "entries/s"},
              .reps = cfg.reps,
              .run = [store](int) {
                const int calls = 3;
                const double t0 = now_s();
                for (int c = 0; c < calls; ++c) {
                  if (store->worker->list() != n) fail("list: wrong count");
                }
                return static_cast<double>(n * calls) / (now_s() - t0);
              }};
}

Case clean_case(const Config& cfg, const std::string& sys) {
  auto ms = std::make_shared<std::vector<double>>();
  return Case{
      .result = {.system = sys, .workload = "clean_50k_of_100k", .unit = "entries/s"},
      .reps = std::min(cfg.reps, 3),
      .run =
          [&cfg, sys, ms](int rep) {
            const std::size_t total = rep < 0 ? 20'000 : 100'000;
            const TempDir dir(cfg.tmp);
            const auto now = std::chrono::system_clock::now();
            {
              auto system = open_system(sys, dir.path());
              auto w = system->worker();
              const auto keys = key_names(total);
              std::vector<Item> batch;
              for (std::size_t i = 0; i < total; ++i) {
                // Even keys expired an hour ago, odd ones expire in an hour.
                const auto expires =
                    i % 2 == 0 ? now - std::chrono::hours(1) : now + std::chrono::hours(1);
                batch.push_back(
                    Item{.key = keys[i], .value = pool().value(i, 256), .expires_at = expires});
                if (batch.size() == 1000) {
                  w->put_many(batch);
                  batch.clear();
                }
              }
            }
            auto system = open_system(sys, dir.path());
            auto w = system->worker();
            const double t0 = now_s();
            const std::size_t removed = w->clean_expired(std::chrono::system_clock::now());
            const double dt = now_s() - t0;
            if (removed != total / 2) fail("clean: removed " + std::to_string(removed));
            if (rep >= 0) ms->push_back(dt * 1000);
            return static_cast<double>(removed) / dt;
          },
      .finish = [ms](std::vector<Result>& out) { out.front().extra["median_ms"] = median(*ms); }};
}

Case put_many_case(const Config& cfg, const std::string& sys, std::size_t batches) {
  const std::size_t n = batches * 1000;
  auto keys = std::make_shared<std::vector<std::string>>(key_names(n));
  return Case{.result = {.system = sys, .workload = "put_many_1k"},
              .reps = cfg.reps,
              .run = [&cfg, sys, n, keys](int) {
                const TempDir dir(cfg.tmp);
                auto system = open_system(sys, dir.path());
                auto w = system->worker();
                std::vector<Item> batch;
                const double t0 = now_s();
                for (std::size_t i = 0; i < n; ++i) {
                  batch.push_back(Item{.key = (*keys)[i], .value = pool().value(i, kKiB)});
                  if (batch.size() == 1000) {
                    w->put_many(batch);
                    batch.clear();
                  }
                }
                return static_cast<double>(n) / (now_s() - t0);
              }};
}

constexpr std::size_t kMixedKeys = 2000;

// The mixed loop: `n` operations, 90% get / 10% put of 1 KiB.
void mixed_loop(Worker& w, std::size_t n, std::uint64_t seed) {
  static const auto keys = key_names(kMixedKeys);
  std::mt19937_64 rng(seed);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t r = rng();
    const std::size_t k = static_cast<std::size_t>(r % kMixedKeys);
    if ((r >> 32) % 10 == 0) {
      w.put(Item{.key = keys[k], .value = pool().value(k + i, kKiB)});
    } else if (!w.get(keys[k]) && !w.may_miss()) {
      fail("mixed: missing key");
    }
  }
}

// Runs body(t) on `threads` threads released together; returns the seconds
// from the release to the last one's end. Rethrows a thread's exception.
double run_threads(int threads, const std::function<void(int)>& body) {
  std::latch start(threads + 1);
  std::vector<std::thread> pool_threads;
  std::exception_ptr error;
  std::mutex error_mutex;
  for (int t = 0; t < threads; ++t) {
    pool_threads.emplace_back([&, t] {
      start.arrive_and_wait();
      try {
        body(t);
      } catch (...) {
        const std::lock_guard lock(error_mutex);
        error = std::current_exception();
      }
    });
  }
  // The clock starts before the release: a worker may finish before this
  // thread runs again.
  const double t0 = now_s();
  start.count_down();
  for (auto& th : pool_threads) th.join();
  const double dt = now_s() - t0;
  if (error) std::rethrow_exception(error);
  return dt;
}

// One worker per thread of a system (the first is the prefill's, when given).
std::shared_ptr<std::vector<std::unique_ptr<Worker>>> workers_of(System& system, int threads,
                                                                 std::unique_ptr<Worker> first) {
  auto workers = std::make_shared<std::vector<std::unique_ptr<Worker>>>();
  if (first) workers->push_back(std::move(first));
  while (workers->size() < static_cast<std::size_t>(threads)) workers->push_back(system.worker());
  return workers;
}

Case mixed_threads_case(const Config& cfg, const std::string& sys, int threads, std::size_t total) {
  auto store = std::make_shared<Prefilled>(cfg, sys, kMixedKeys, kKiB);
  auto workers = workers_of(*store->system, threads, std::move(store->worker));
  return Case{.result = {.system = sys, .workload = "mixed_t" + std::to_string(threads)},
              .reps = cfg.reps,
              .run = [store, workers, threads, total](int rep) {
                const double dt = run_threads(threads, [&](int t) {
                  mixed_loop(
                      *(*workers)[static_cast<std::size_t>(t)],
                      total / static_cast<std::size_t>(threads),
                      static_cast<std::uint64_t>(rep + 2) * 100 + static_cast<std::uint64_t>(t));
                });
                return static_cast<double>(total) / dt;
              }};
}

// put_1k's puts of new keys from `threads` threads at once, each its own keys.
Case put_threads_case(const Config& cfg, const std::string& sys, const std::string& name,
                      int threads, std::size_t n) {
  auto keys = std::make_shared<std::vector<std::string>>(key_names(n));
  return Case{.result = {.system = sys, .workload = name},
              .reps = cfg.reps,
              .run = [&cfg, sys, n, threads, keys](int) {
                const TempDir dir(cfg.tmp);
                auto system = open_system(sys, dir.path());
                auto workers = workers_of(*system, threads, nullptr);
                const std::size_t per_thread = n / static_cast<std::size_t>(threads);
                const double dt = run_threads(threads, [&](int t) {
                  Worker& w = *(*workers)[static_cast<std::size_t>(t)];
                  const std::size_t first = per_thread * static_cast<std::size_t>(t);
                  for (std::size_t i = first; i < first + per_thread; ++i) {
                    w.put(Item{.key = (*keys)[i], .value = pool().value(i, kKiB)});
                  }
                });
                return static_cast<double>(per_thread * static_cast<std::size_t>(threads)) / dt;
              }};
}

Case mixed_processes_case(const Config& cfg, const std::string& sys, int procs, std::size_t total) {
  auto dir = std::make_shared<TempDir>(cfg.tmp);
  {
    auto system = open_system(sys, dir->path());
    prefill(*system->worker(), kMixedKeys, kKiB);
  }
  return Case{.result = {.system = sys, .workload = "mixed_p" + std::to_string(procs)},
              .reps = cfg.reps,
              .run = [&cfg, sys, dir, procs, total](int rep) {
                std::vector<Child> children;
                for (int p = 0; p < procs; ++p) {
                  children.push_back(spawn({cfg.self, "--child", "mixed", "--system", sys, "--dir",
                                            dir->path().string(), "--ops",
                                            std::to_string(total / static_cast<std::size_t>(procs)),
                                            "--seed", std::to_string((rep + 2) * 100 + p)}));
                }
                for (const Child& c : children) {
                  if (read_line(c.from_child) != "ready") fail("child not ready");
                }
                for (const Child& c : children) {
                  if (::write(c.to_child, "g", 1) != 1) fail("write go");
                }
                // Children time themselves (CLOCK_MONOTONIC is system-wide): from
                // the first start to the last end.
                double first = 1e300, last = 0;
                for (const Child& c : children) {
                  double t0 = 0, t1 = 0;
                  std::istringstream(read_line(c.from_child)) >> t0 >> t1;
                  first = std::min(first, t0);
                  last = std::max(last, t1);
                  reap(c);
                }
                return static_cast<double>(total) / (last - first);
              }};
}

// put_stream then open+read in a child; the warm-up streams 1/8 of the size.
Case stream_case(const Config& cfg, const std::string& sys, std::size_t mib) {
  struct Figures {
    std::vector<double> open, rss, hwm;
  };
  auto figures = std::make_shared<Figures>();
  return Case{
      .result = {.system = sys, .workload = "put_stream_256m", .unit = "MiB/s"},
      .reps = std::min(cfg.reps, 3),
      .run =
          [&cfg, sys, figures, mib](int rep) {
            const TempDir dir(cfg.tmp);
            const std::size_t size = rep < 0 ? std::max<std::size_t>(1, mib / 8) : mib;
            const Child c = spawn({cfg.self, "--child", "stream", "--system", sys, "--dir",
                                   dir.path().string(), "--mib", std::to_string(size)});
            double put_s = 0, open_s = 0, hwm_kib = 0;
            std::istringstream(read_line(c.from_child)) >> put_s >> open_s >> hwm_kib;
            const rusage ru = reap(c);
            if (rep >= 0) {
              figures->open.push_back(static_cast<double>(size) / open_s);
              figures->rss.push_back(static_cast<double>(ru.ru_maxrss) / 1024.0);
              figures->hwm.push_back(hwm_kib / 1024.0);
            }
            return static_cast<double>(size) / put_s;
          },
      .finish =
          [sys, figures](std::vector<Result>& out) {
            out.front().extra["peak_rss_mib"] =
                *std::max_element(figures->rss.begin(), figures->rss.end());
            out.front().extra["vm_hwm_mib"] =
                *std::max_element(figures->hwm.begin(), figures->hwm.end());
            out.push_back(Result{
                .system = sys, .workload = "open_256m", .unit = "MiB/s", .reps = figures->open});
          }};
}

std::string arg_after(const std::vector<std::string>& args, std::string_view name) {
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == name) return args[i + 1];
  }
  fail("missing " + std::string(name));
}

double vm_hwm_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) return std::stod(line.substr(6));
  }
  return 0;
}

int child_main(const std::vector<std::string>& args) {
  const std::string mode = args.at(2);
  const std::string sys = arg_after(args, "--system");
  const fs::path dir = arg_after(args, "--dir");
  if (mode == "mixed") {
    const std::size_t ops = std::stoull(arg_after(args, "--ops"));
    const std::uint64_t seed = std::stoull(arg_after(args, "--seed"));
    auto system = open_system(sys, dir);
    auto w = system->worker();
    std::cout << "ready" << std::endl;
    char go = 0;
    if (::read(0, &go, 1) != 1) fail("no go");
    const double t0 = now_s();
    mixed_loop(*w, ops, seed);
    const double t1 = now_s();
    std::printf("%.9f %.9f\n", t0, t1);
    return 0;
  }
  if (mode == "stream") {
    const std::uint64_t size = std::stoull(arg_after(args, "--mib")) * kMiB;
    auto system = open_system(sys, dir);
    auto w = system->worker();
    PoolStreamBuf buf(size);
    std::istream in(&buf);
    const double t0 = now_s();
    w->put_stream("big", in, size);
    const double t1 = now_s();
    if (w->read_stream("big") != size) fail("stream: wrong size");
    const double t2 = now_s();
    std::printf("%.9f %.9f %.0f\n", t1 - t0, t2 - t1, vm_hwm_kib());
    return 0;
  }
  fail("unknown child mode " + mode);
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

const std::vector<std::string> kAllWorkloads = {
    "stream_256m", "put_1k",   "put_1k_t4",         "put_64k",
    "put_1m",      "get_1k",   "get_64k",           "get_1m",
    "get_missing", "list_10k", "clean_50k_of_100k", "put_many_1k",
    "mixed_t1",    "mixed_t2", "mixed_t4",          "mixed_p1",
    "mixed_p2"};

Case make_case(const Config& cfg, const std::string& sys, const std::string& wl) {
  const auto found = cfg.system_scale.find(sys);
  const double scale = cfg.scale * (found == cfg.system_scale.end() ? 1.0 : found->second);
  const auto n = [scale](std::size_t count) {
    return std::max<std::size_t>(1, static_cast<std::size_t>(static_cast<double>(count) * scale));
  };
  if (wl == "put_1k") return put_case(cfg, sys, wl, kKiB, n(2000));
  if (wl == "put_1k_t4") return put_threads_case(cfg, sys, wl, 4, n(2000));
  if (wl == "put_64k") return put_case(cfg, sys, wl, 64 * kKiB, n(400));
  if (wl == "put_1m") return put_case(cfg, sys, wl, kMiB, n(40));
  if (wl == "get_1k") return get_case(cfg, sys, wl, kKiB, 2000, n(20'000), false);
  if (wl == "get_64k") return get_case(cfg, sys, wl, 64 * kKiB, 400, n(4000), false);
  if (wl == "get_1m") return get_case(cfg, sys, wl, kMiB, 40, n(400), false);
  if (wl == "get_missing") return get_case(cfg, sys, wl, kKiB, 2000, n(20'000), true);
  if (wl == "list_10k") return list_case(cfg, sys);
  if (wl == "clean_50k_of_100k") return clean_case(cfg, sys);
  if (wl == "put_many_1k") return put_many_case(cfg, sys, n(10));
  if (wl == "mixed_t1") return mixed_threads_case(cfg, sys, 1, n(20'000));
  if (wl == "mixed_t2") return mixed_threads_case(cfg, sys, 2, n(20'000));
  if (wl == "mixed_t4") return mixed_threads_case(cfg, sys, 4, n(20'000));
  if (wl == "mixed_p1") return mixed_processes_case(cfg, sys, 1, n(20'000));
  if (wl == "mixed_p2") return mixed_processes_case(cfg, sys, 2, n(20'000));
  if (wl == "stream_256m") return stream_case(cfg, sys, n(256));
  fail("unknown workload " + wl);
}

// Runs one workload on every system, alternating them repetition by
// repetition (and rotating who goes first), so a drift in the machine's
// speed touches every system alike.
void run_workload(const Config& cfg, const std::string& wl) {
  std::vector<Case> cases;
  for (const auto& sys : cfg.systems) cases.push_back(make_case(cfg, sys, wl));
  const int reps = std::max_element(cases.begin(), cases.end(), [](const Case& a, const Case& b) {
                     return a.reps < b.reps;
                   })->reps;
  for (int rep = -1; rep < reps; ++rep) {
    for (std::size_t k = 0; k < cases.size(); ++k) {
      Case& c = cases[(k + static_cast<std::size_t>(rep + 1)) % cases.size()];
      if (rep >= c.reps) continue;
      const double rate = c.run(rep);
      if (rep >= 0) c.result.reps.push_back(rate);
    }
  }
  for (Case& c : cases) {
    std::vector<Result> out{c.result};
    if (c.finish) c.finish(out);
    for (const Result& r : out) emit(r);
  }
}

int usage() {
  std::cerr << "usage: blobcache_bench [--systems blobcache,floor,files] [--workloads all|a,b]"
               " [--reps N] [--scale F] [--system-scale sys=F,...] [--tmp DIR]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) try {
  const std::vector<std::string> args(argv, argv + argc);
#ifdef BLOBCACHE_BENCH_TUNING
  if (const char* tune = std::getenv("BLOBCACHE_BENCH_TUNE"); tune != nullptr) apply_tuning(tune);
#endif
  if (args.size() > 2 && args[1] == "--child") return child_main(args);
  Config cfg;
  cfg.systems = {"blobcache", "floor", "files"};
  cfg.workloads = kAllWorkloads;
  const char* tmpdir = std::getenv("TMPDIR");
  cfg.tmp = tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
  cfg.self = fs::read_symlink("/proc/self/exe").string();
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (i + 1 >= args.size()) return usage();
    const std::string& v = args[++i];
    if (a == "--systems")
      cfg.systems = split(v);
    else if (a == "--workloads")
      cfg.workloads = v == "all" ? kAllWorkloads : split(v);
    else if (a == "--reps")
      cfg.reps = std::stoi(v);
    else if (a == "--scale")
      cfg.scale = std::stod(v);
    else if (a == "--tmp")
      cfg.tmp = v;
    else if (a == "--system-scale") {
      for (const auto& item : split(v)) {
        const auto eq = item.find('=');
        if (eq == std::string::npos) return usage();
        cfg.system_scale[item.substr(0, eq)] = std::stod(item.substr(eq + 1));
      }
    }
#ifdef BLOBCACHE_BENCH_TUNING
    else if (a == "--tune")
      cfg.tune = v;
#endif
    else
      return usage();
  }
#ifdef BLOBCACHE_BENCH_TUNING
  if (!cfg.tune.empty()) {
    apply_tuning(cfg.tune);
    ::setenv("BLOBCACHE_BENCH_TUNE", cfg.tune.c_str(), 1);  // for the child processes
  }
#endif
  // Workload-major order: the systems of one workload run back to back, so
  // a drift in the machine's speed touches them alike.
  for (const auto& wl : cfg.workloads) {
    const double t0 = now_s();
    run_workload(cfg, wl);
    std::cerr << "    (" << wl << " took " << now_s() - t0 << " s)\n";
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "blobcache_bench: " << e.what() << "\n";
  return 1;
}
