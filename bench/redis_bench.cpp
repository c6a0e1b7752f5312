// redis_bench: RedisStore beside plain hiredis and redis-benchmark, in one run
// against one redis-server.
//
// Systems:
//   blobcache        blobcache::RedisStore through the public Store API, default
//                    options (pool of 4, one thread here).
//   hiredis          plain hiredis 0.14, one blocking connection: SET key value
//                    and GET key, the reply copied into a std::vector like a
//                    Store get. No hashing, no index, no metadata.
//   redis-benchmark  `redis-benchmark -t set,get -d SIZE -c 1 -P 1` (one client,
//                    no pipelining), run as a child process on the same server.
//
// Workloads:
//   put_1k, put_64k  puts of 2000 distinct keys (the server flushed before each
//                    repetition); ops/s.
//   get_1k, get_64k  random gets of 2000 present keys; ops/s.
//   stream_64m       put_stream of 64 MiB, then open() and read in 1 MiB pieces
//                    (blobcache); SET and GET of one 64 MiB string (hiredis);
//                    MiB/s of each direction.
//
// Method: one warm-up repetition, then the median of --reps (5) repetitions;
// the systems alternate repetition by repetition. The server is started by
// the harness (tests/support/redis_server.hpp: 127.0.0.1, a free port, no
// persistence) unless --port names a running one.
//
// The malloc environment of every benchmark here (docs/performance.md): a
// page fault costs ~14 us in this VM, and with glibc's default trimming the
// 64 KiB replies of plain hiredis faulted on every get (8.5k gets/s instead
// of 18.7k); so mmap threshold 4 MiB and trim threshold 256 MiB, as
// compare.py sets them, unless --default-malloc.
//
// Output: a table on stdout with the ratio blobcache / hiredis and the goal
// (>= 0.7x for 1 KiB, >= 0.8x for 64 KiB).
#include <algorithm>
#include <blobcache/blobcache.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <hiredis/hiredis.h>
#include <iostream>
#include <istream>
#include <malloc.h>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <vector>

#include "redis_server.hpp"

#if !BLOBCACHE_HAS_REDIS
#error "redis_bench needs a build with RedisStore"
#endif

namespace {

using Clock = std::chrono::steady_clock;
using blobcache::Bytes;

constexpr std::size_t kKeys = 2000;
constexpr std::size_t kStreamBytes = std::size_t{64} << 20;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

Bytes value_of(std::size_t size, unsigned seed) {
  Bytes bytes(size);
  std::mt19937 random(seed);
  for (auto& b : bytes) b = static_cast<std::byte>(random());
  return bytes;
}

// Plain hiredis: one blocking connection.
class Plain {
 public:
  explicit Plain(int port) : context_(redisConnect("127.0.0.1", port)) {
    if (context_ == nullptr || context_->err != 0) throw std::runtime_error("hiredis connect");
  }
  ~Plain() { redisFree(context_); }
  void set(const std::string& key, blobcache::BytesView value) {
    const char* argv[] = {"SET", key.data(),
                          reinterpret_cast<const char*>(value.data())};  // NOLINT
    const std::size_t lengths[] = {3, key.size(), value.size()};
    free_or_throw(redisCommandArgv(context_, 3, argv, lengths));
  }
  Bytes get(const std::string& key) {
    const char* argv[] = {"GET", key.data()};
    const std::size_t lengths[] = {3, key.size()};
    auto* reply = static_cast<redisReply*>(redisCommandArgv(context_, 2, argv, lengths));
    if (reply == nullptr || reply->type != REDIS_REPLY_STRING) throw std::runtime_error("GET");
    Bytes out(reinterpret_cast<const std::byte*>(reply->str),                // NOLINT
              reinterpret_cast<const std::byte*>(reply->str) + reply->len);  // NOLINT
    freeReplyObject(reply);
    return out;
  }
  void flush() { free_or_throw(redisCommand(context_, "FLUSHALL")); }

 private:
  static void free_or_throw(void* reply) {
    if (reply == nullptr) throw std::runtime_error("hiredis command failed");
    freeReplyObject(reply);
  }
  redisContext* context_;
};

class PatternBuffer final : public std::streambuf {
 public:
  explicit PatternBuffer(std::size_t size) : size_(size) {
    for (std::size_t i = 0; i < chunk_.size(); ++i) chunk_[i] = static_cast<char>(i * 131);
  }

 protected:
  int_type underflow() override {
    if (served_ >= size_) return traits_type::eof();
    const std::size_t n = std::min(chunk_.size(), size_ - served_);
    served_ += n;
    setg(chunk_.data(), chunk_.data(), chunk_.data() + n);
    return traits_type::to_int_type(chunk_[0]);
  }

 private:
  std::size_t size_;
  std::size_t served_ = 0;
  std::array<char, 256 * 1024> chunk_{};
};

std::string key_of(std::size_t i) { return "key-" + std::to_string(i); }

// redis-benchmark's requests per second for SET and GET of `size` bytes.
std::map<std::string, double> redis_benchmark(int port, std::size_t size, int requests) {
  const std::string command = "redis-benchmark -p " + std::to_string(port) +
                              " -t set,get -c 1 -P 1 --csv -d " + std::to_string(size) + " -n " +
                              std::to_string(requests) + " 2>/dev/null";
  std::map<std::string, double> rates;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return rates;
  char line[512];
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    // "SET","12345.67",... (the first line is the header)
    std::string text(line);
    if (text.starts_with("\"SET\"") || text.starts_with("\"GET\"")) {
      const std::string name = text.substr(1, 3);
      const std::size_t start = text.find('"', 5) + 1;
      rates[name] = std::stod(text.substr(start, text.find('"', start) - start));
    }
  }
  ::pclose(pipe);
  return rates;
}

struct Row {
  std::string workload;
  std::string unit;
  double blobcache = 0;
  double hiredis = 0;
  double redis_benchmark = 0;
  double goal = 0;  // ratio; 0: none
};

}  // namespace

int main(int argc, char** argv) try {
  int port = 0;
  int reps = 5;
  bool default_malloc = false;
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (name == "--default-malloc") default_malloc = true;
    if (name == "--port" && i + 1 < argc) port = std::stoi(argv[++i]);
    if (name == "--reps" && i + 1 < argc) reps = std::stoi(argv[++i]);
  }
  if (!default_malloc) {
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
  }
  // The test suite's fixture: 127.0.0.1, a free port, no persistence.
  std::optional<blobcache::test::RedisServer> own;
  if (port == 0) port = own.emplace().port();
  blobcache::RedisOptions options;
  options.port = port;
  options.key_prefix = "bench";
  blobcache::RedisStore store(options);
  Plain plain(port);
  std::vector<Row> rows;

  for (const std::size_t size : {std::size_t{1024}, std::size_t{64 * 1024}}) {
    const std::string label = size == 1024 ? "1k" : "64k";
    const double goal = size == 1024 ? 0.7 : 0.8;
    std::vector<Bytes> values;
    for (std::size_t i = 0; i < 16; ++i) values.push_back(value_of(size, static_cast<unsigned>(i)));
    std::vector<double> put_blob, put_plain, get_blob, get_plain;
    for (int rep = -1; rep < reps; ++rep) {
      std::cerr << "redis_bench: " << label << " repetition " << rep + 1 << "\n";
      // puts
      plain.flush();
      auto start = Clock::now();
      for (std::size_t i = 0; i < kKeys; ++i) store.put("ns", key_of(i), values[i % values.size()]);
      const double blob_put = kKeys / seconds_since(start);
      plain.flush();
      start = Clock::now();
      for (std::size_t i = 0; i < kKeys; ++i) plain.set(key_of(i), values[i % values.size()]);
      const double plain_put = kKeys / seconds_since(start);
      // gets: both sets of keys present
      for (std::size_t i = 0; i < kKeys; ++i) store.put("ns", key_of(i), values[i % values.size()]);
      std::mt19937 random(static_cast<unsigned>(rep + 7));
      std::vector<std::size_t> order(kKeys * 2);
      for (auto& k : order) k = random() % kKeys;
      start = Clock::now();
      std::size_t bytes = 0;
      for (const std::size_t k : order) bytes += store.get("ns", key_of(k))->data.size();
      const double blob_get = static_cast<double>(order.size()) / seconds_since(start);
      start = Clock::now();
      for (const std::size_t k : order) bytes += plain.get(key_of(k)).size();
      const double plain_get = static_cast<double>(order.size()) / seconds_since(start);
      if (bytes != 2 * order.size() * size) throw std::runtime_error("short reads");
      if (rep < 0) continue;
      put_blob.push_back(blob_put);
      put_plain.push_back(plain_put);
      get_blob.push_back(blob_get);
      get_plain.push_back(plain_get);
    }
    const auto rb = redis_benchmark(port, size, size == 1024 ? 50000 : 10000);
    rows.push_back({"put_" + label, "ops/s", median(put_blob), median(put_plain),
                    rb.contains("SET") ? rb.at("SET") : 0, goal});
    rows.push_back({"get_" + label, "ops/s", median(get_blob), median(get_plain),
                    rb.contains("GET") ? rb.at("GET") : 0, goal});
  }

  {
    std::vector<double> in_blob, out_blob, in_plain, out_plain;
    const Bytes big = value_of(kStreamBytes, 99);
    const double mib = static_cast<double>(kStreamBytes) / (1 << 20);
    for (int rep = -1; rep < std::min(reps, 3); ++rep) {
      std::cerr << "redis_bench: stream repetition " << rep + 1 << "\n";
      plain.flush();
      PatternBuffer buffer(kStreamBytes);
      std::istream in(&buffer);
      auto start = Clock::now();
      store.put_stream("ns", "stream", in);
      const double blob_in = mib / seconds_since(start);
      start = Clock::now();
      auto reader = store.open("ns", "stream");
      std::vector<std::byte> piece(1 << 20);
      std::size_t total = 0;
      while (const std::size_t n = reader->read(piece)) total += n;
      reader.reset();
      const double blob_out = mib / seconds_since(start);
      if (total != kStreamBytes) throw std::runtime_error("short stream");
      start = Clock::now();
      plain.set("stream", big);
      const double plain_in = mib / seconds_since(start);
      start = Clock::now();
      const std::size_t got = plain.get("stream").size();
      const double plain_out = mib / seconds_since(start);
      if (got != kStreamBytes) throw std::runtime_error("short GET");
      if (rep < 0) continue;
      in_blob.push_back(blob_in);
      out_blob.push_back(blob_out);
      in_plain.push_back(plain_in);
      out_plain.push_back(plain_out);
    }
    rows.push_back({"stream_64m put", "MiB/s", median(in_blob), median(in_plain), 0, 0});
    rows.push_back({"stream_64m get", "MiB/s", median(out_blob), median(out_plain), 0, 0});
  }

  std::printf("%-16s %-6s %12s %12s %8s %6s %16s\n", "workload", "unit", "blobcache", "hiredis",
              "ratio", "goal", "redis-benchmark");
  for (const Row& row : rows) {
    const double ratio = row.blobcache / row.hiredis;
    const std::string goal = row.goal == 0 ? "-"
                             : ratio >= row.goal
                                 ? ">=" + std::to_string(row.goal).substr(0, 3) + " ok"
                                 : ">=" + std::to_string(row.goal).substr(0, 3) + " MISS";
    std::printf("%-16s %-6s %12.0f %12.0f %7.2fx %9s %13.0f\n", row.workload.c_str(),
                row.unit.c_str(), row.blobcache, row.hiredis, ratio, goal.c_str(),
                row.redis_benchmark);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "redis_bench: %s\n", e.what());
  return 1;
}
