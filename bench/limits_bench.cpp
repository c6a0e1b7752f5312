// limits_bench: what bounded caches, statistics and get-or-fill cost, each
// beside its own baseline in one process, the two alternating repetition by
// repetition (A B A B ...), medians reported. The read workloads run short
// repetitions (2,000 gets, 25 times as many of them): this machine's speed
// drifts by 10-40% within seconds, and only a fine alternation measures a
// difference of a few per cent.
//
// Workloads (--workloads, comma-separated, or "all"):
//   put_1k_at_limit, put_64k_at_limit
//       puts of new keys into a store already full to its max_bytes
//       (least_recently_stored: every put evicts), against the same puts
//       into a store holding as much without limits. Also the p99 latency of
//       one put, and of puts into an empty store.
//   put_1k_below_limit
//       the same puts into a store bounded to twice what it will hold (no
//       put evicts): what keeping the eviction order costs a put.
//   get_1k_lru
//       random gets of present keys in a store with least_recently_used
//       limits (each get records its access), against the same store
//       without limits.
//   get_1k_counting, put_1k_counting
//       gets and puts with the hit/miss counters on (the default) against a
//       store opened with them off (Tuning::count_reads, internal).
//   get_or_fill_hit
//       Cache::get_or_fill on fresh entries against Cache::get.
//
// Output: one JSON object per line on stdout, {"workload", "a", "b", "unit",
// "a_median", "b_median", "ratio" (a / b), ...}; a table on stderr.
#include <algorithm>
#include <blobcache/blobcache.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "sqlite/test_seams.hpp"

namespace {

namespace fs = std::filesystem;
using namespace blobcache;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kKiB = 1024;

[[noreturn]] void fail(const std::string& why) {
  std::cerr << "limits_bench: " << why << "\n";
  std::exit(1);
}

class TempDir {
 public:
  explicit TempDir(const fs::path& base) {
    std::string pattern = (base / "blobcache-limits-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) fail("mkdtemp");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const noexcept { return path_; }

 private:
  fs::path path_;
};

Bytes value_of(std::size_t size, std::size_t seed) {
  Bytes bytes(size);
  std::uint64_t state = seed * 0x9E3779B97F4A7C15ULL + 1;
  for (auto& b : bytes) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    b = static_cast<std::byte>(state >> 56);
  }
  return bytes;
}

std::string key_of(std::size_t i) { return "k" + std::to_string(i); }

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const auto at = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1));
  return values.at(at);
}

std::unique_ptr<SqliteStore> open_store(const fs::path& file, std::optional<Limits> limits,
                                        bool count_reads = true) {
  detail::Tuning tuning;
  tuning.count_reads = count_reads;
  return detail::SqliteStoreAccess::open({.path = file, .limits = limits}, tuning);
}

void fill(SqliteStore& store, std::size_t count, std::size_t size, std::size_t first = 0) {
  std::vector<Bytes> values;
  std::vector<std::string> keys;
  for (std::size_t i = first; i < first + count; ++i) {
    values.push_back(value_of(size, i));
    keys.push_back(key_of(i));
    if (values.size() == 500 || i + 1 == first + count) {
      std::vector<PutRequest> batch;
      for (std::size_t j = 0; j < values.size(); ++j) {
        batch.push_back({.ns = "ns", .key = keys[j], .value = values[j], .options = {}});
      }
      store.put_many(batch);
      values.clear();
      keys.clear();
    }
  }
}

// One side of a comparison: times one repetition and returns its rate;
// may add per-operation latencies (seconds).
using Side = std::function<double(int rep, std::vector<double>& latencies)>;

struct Outcome {
  std::vector<double> a, b;
  std::vector<double> a_latencies, b_latencies;
};

Outcome alternate(int reps, const Side& a, const Side& b) {
  Outcome out;
  std::vector<double> ignored;
  a(-1, ignored);  // warm-ups
  b(-1, ignored);
  for (int rep = 0; rep < reps; ++rep) {
    // Who goes first rotates, so a drift in the machine's speed touches both.
    if (rep % 2 == 0) {
      out.a.push_back(a(rep, out.a_latencies));
      out.b.push_back(b(rep, out.b_latencies));
    } else {
      out.b.push_back(b(rep, out.b_latencies));
      out.a.push_back(a(rep, out.a_latencies));
    }
  }
  return out;
}

void report(const std::string& workload, const std::string& a, const std::string& b,
            const Outcome& out, const std::map<std::string, double>& extra = {}) {
  const double ma = median(out.a);
  const double mb = median(out.b);
  std::ostringstream json;
  json << "{\"workload\":\"" << workload << "\",\"a\":\"" << a << "\",\"b\":\"" << b
       << "\",\"unit\":\"ops/s\",\"a_median\":" << ma << ",\"b_median\":" << mb
       << ",\"ratio\":" << ma / mb;
  if (!out.a_latencies.empty()) json << ",\"a_p99_us\":" << percentile(out.a_latencies, 0.99) * 1e6;
  if (!out.b_latencies.empty()) json << ",\"b_p99_us\":" << percentile(out.b_latencies, 0.99) * 1e6;
  for (const auto& [name, value] : extra) json << ",\"" << name << "\":" << value;
  json << "}";
  std::cout << json.str() << std::endl;
  std::fprintf(stderr, "%-18s %-22s %10.0f  %-22s %10.0f  ratio %.3f\n", workload.c_str(),
               a.c_str(), ma, b.c_str(), mb, ma / mb);
}

// Puts of `puts` new keys of `size` bytes into a store holding `held`
// values: bounded to `room` times what it holds (1: every put evicts), or not.
void put_at_limit(const fs::path& tmp, const std::string& workload, std::size_t size,
                  std::size_t held, std::size_t puts, int reps, std::size_t room = 1) {
  const auto side = [&](bool bounded) -> Side {
    return [=, &tmp](int rep, std::vector<double>& latencies) {
      const TempDir dir(tmp);
      const auto file = dir.path() / "store.db";
      {
        auto store = open_store(file, std::nullopt);
        fill(*store, held, size);
        if (bounded) {
          store->set_limits({.max_bytes = static_cast<std::int64_t>(room * held * size)});
        }
      }
      auto store = open_store(file, std::nullopt);
      std::vector<Bytes> values;
      for (std::size_t i = 0; i < puts; ++i) values.push_back(value_of(size, 1'000'000 + i));
      const auto start = Clock::now();
      for (std::size_t i = 0; i < puts; ++i) {
        const auto before = Clock::now();
        store->put("ns", key_of(1'000'000 + i), values[i]);
        if (rep >= 0) latencies.push_back(seconds_since(before));
      }
      const double rate = static_cast<double>(puts) / seconds_since(start);
      if (bounded && store->stats().bytes > static_cast<std::int64_t>(room * held * size)) {
        fail(workload + ": the bound did not hold");
      }
      return rate;
    };
  };
  const Outcome out = alternate(reps, side(true), side(false));
  // The p99 of puts into an empty store, the latency goal's baseline.
  std::vector<double> empty_latencies;
  for (int rep = 0; rep < reps; ++rep) {
    const TempDir dir(tmp);
    auto store = open_store(dir.path() / "empty.db", std::nullopt);
    const Bytes value = value_of(size, 7);
    for (std::size_t i = 0; i < puts; ++i) {
      const auto before = Clock::now();
      store->put("ns", key_of(i), value);
      empty_latencies.push_back(seconds_since(before));
    }
  }
  const double empty_p99 = percentile(empty_latencies, 0.99);
  report(workload, room == 1 ? "bounded (at the limit)" : "bounded (below the limit)", "unbounded",
         out,
         {{"empty_p99_us", empty_p99 * 1e6},
          {"p99_vs_empty", percentile(out.a_latencies, 0.99) / empty_p99}});
}

// Random gets of `gets` present keys among `held` of 1 KiB, in two stores
// opened by `open_a` and `open_b`.
void gets(const fs::path& tmp, const std::string& workload, const std::string& name_a,
          const std::string& name_b,
          const std::function<std::unique_ptr<SqliteStore>(const fs::path&)>& open_a,
          const std::function<std::unique_ptr<SqliteStore>(const fs::path&)>& open_b,
          std::size_t held, std::size_t count, int reps) {
  const TempDir dir(tmp);
  const auto prepare =
      [&](const fs::path& file,
          const std::function<std::unique_ptr<SqliteStore>(const fs::path&)>& open) {
        { fill(*open(file), held, kKiB); }
        return open(file);
      };
  auto a = prepare(dir.path() / "a.db", open_a);
  auto b = prepare(dir.path() / "b.db", open_b);
  const auto side = [&](SqliteStore& store) -> Side {
    return [&, count, held](int rep, std::vector<double>&) {
      std::mt19937_64 random(static_cast<std::uint64_t>(rep + 10));
      const auto start = Clock::now();
      for (std::size_t i = 0; i < count; ++i) {
        if (!store.get("ns", key_of(random() % held))) fail(workload + ": a miss");
      }
      return static_cast<double>(count) / seconds_since(start);
    };
  };
  report(workload, name_a, name_b, alternate(reps, side(*a), side(*b)));
}

void puts_counting(const fs::path& tmp, std::size_t count, int reps) {
  const auto side = [&](bool counting) -> Side {
    return [=, &tmp](int, std::vector<double>&) {
      const TempDir dir(tmp);
      auto store = open_store(dir.path() / "store.db", std::nullopt, counting);
      const Bytes value = value_of(kKiB, 3);
      const auto start = Clock::now();
      for (std::size_t i = 0; i < count; ++i) {
        store->put("ns", key_of(i), value);
        store->get("ns", key_of(i / 2));  // something for the counters to carry
      }
      return static_cast<double>(count) / seconds_since(start);
    };
  };
  report("put_1k_counting", "counting reads", "not counting",
         alternate(reps, side(true), side(false)));
}

void get_or_fill_hit(const fs::path& tmp, std::size_t held, std::size_t count, int reps) {
  const TempDir dir(tmp);
  auto store = open_store(dir.path() / "store.db", std::nullopt);
  fill(*store, held, kKiB);
  const std::shared_ptr<Store> shared(std::move(store));
  Cache cache(shared, "ns", std::chrono::hours(1));
  const auto side = [&](bool fill_path) -> Side {
    return [&, fill_path](int rep, std::vector<double>&) {
      std::mt19937_64 random(static_cast<std::uint64_t>(rep + 20));
      const auto start = Clock::now();
      for (std::size_t i = 0; i < count; ++i) {
        const std::string key = key_of(random() % held);
        if (fill_path) {
          const Lookup got =
              cache.get_or_fill(key, []() -> Fill { fail("a fill on a fresh hit"); });
          if (got.filled) fail("filled");
        } else if (!cache.get(key)) {
          fail("a miss");
        }
      }
      return static_cast<double>(count) / seconds_since(start);
    };
  };
  report("get_or_fill_hit", "Cache::get_or_fill", "Cache::get",
         alternate(reps, side(true), side(false)));
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> workloads = {"put_1k_at_limit", "put_64k_at_limit", "put_1k_below_limit",
                                        "get_1k_lru",      "get_1k_counting",  "put_1k_counting",
                                        "get_or_fill_hit"};
  int reps = 7;
  double scale = 1.0;
  const char* tmpdir = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe)
  fs::path tmp = tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string option = argv[i];
    const std::string value = argv[i + 1];
    if (option == "--workloads" && value != "all") {
      workloads.clear();
      std::stringstream in(value);
      for (std::string item; std::getline(in, item, ',');) workloads.push_back(item);
    } else if (option == "--reps") {
      reps = std::stoi(value);
    } else if (option == "--scale") {
      scale = std::stod(value);
    } else if (option == "--tmp") {
      tmp = value;
    } else if (option != "--workloads") {
      fail("usage: limits_bench [--workloads all|a,b] [--reps N] [--scale F] [--tmp DIR]");
    }
  }
  const auto n = [scale](std::size_t count) {
    return std::max<std::size_t>(10, static_cast<std::size_t>(static_cast<double>(count) * scale));
  };
  const auto lru = [](const fs::path& file) {
    return open_store(
        file, Limits{.max_bytes = 64 << 20, .eviction = EvictionPolicy::least_recently_used});
  };
  const auto plain = [](const fs::path& file) { return open_store(file, std::nullopt); };
  const auto not_counting = [](const fs::path& file) {
    return open_store(file, std::nullopt, false);
  };
  const int short_reps = 25 * reps;
  for (const std::string& workload : workloads) {
    if (workload == "put_1k_at_limit") {
      put_at_limit(tmp, workload, kKiB, n(4000), n(2000), reps);
    } else if (workload == "put_64k_at_limit") {
      put_at_limit(tmp, workload, 64 * kKiB, n(400), n(400), reps);
    } else if (workload == "put_1k_below_limit") {
      put_at_limit(tmp, workload, kKiB, n(4000), n(2000), reps, 2);
    } else if (workload == "get_1k_lru") {
      gets(tmp, workload, "least_recently_used", "no limits", lru, plain, 2000, n(2'000),
           short_reps);
    } else if (workload == "get_1k_counting") {
      gets(tmp, workload, "counting reads", "not counting", plain, not_counting, 2000, n(2'000),
           short_reps);
    } else if (workload == "put_1k_counting") {
      puts_counting(tmp, n(2000), reps);
    } else if (workload == "get_or_fill_hit") {
      get_or_fill_hit(tmp, 2000, n(2'000), short_reps);
    } else {
      fail("unknown workload " + workload);
    }
  }
}
