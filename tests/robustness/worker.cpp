// A process that works on a shared SqliteStore for the robustness tests.
//
//   worker stress DB SEED THREADS OPS [LIMITS]
//                                      mixed get/put/erase/list/clean,
//                                      conditional puts and get_or_fill over
//                                      shared keys; every read verified
//   worker open DB START_FD ID         waits until START_FD (a pipe) is
//                                      closed by the parent, opens
//                                      (creating) DB, puts one entry
//   worker write DB SEED [LIMITS]      writes forever (until killed): put,
//                                      replace, put_stream, put_many,
//                                      conditional puts, get_or_fill with
//                                      short leases, erase, erase_namespace,
//                                      erase_expired, gets (the memory tier,
//                                      least_recently_used's accesses);
//                                      with limits also set_limits and trim;
//                                      now and then compact and reset_stats
//   worker read DB SEED OPS            checks that the gets of a store that
//                                      opens now are never stale while
//                                      writer SEED goes on writing, and runs
//                                      get_or_fill on every fill key (a lease
//                                      left by a killed filler must end)
//   worker fill-and-hang DB KEY        get_or_fill of KEY in the fill
//                                      namespace, whose fill prints
//                                      "filling" and waits to be killed
//   worker hold-changes-lock DB        takes the mutex of DB's change log
//                                      (as a writer does to log), prints
//                                      "locked" and waits to be killed
//   worker fill DB                     puts 64 KiB values until the disk is
//                                      full, checks the error, then verifies
//   worker fill-faulty DB WRITES       the same on a disk that fills after
//                                      WRITES writes (the fault VFS, as any
//                                      user), then frees space and fills again
//
// LIMITS is MAX_BYTES:MAX_ENTRIES:lrs|lru (0:0:lrs, the default: none), set
// at open. Workers of DB stamp their puts with the SharedClock of DB.clock
// and store only made_value()s (values.hpp).
//
// Exit codes: 0 ok, 1 a torn or wrong read, 2 an unexpected error, 3 usage,
// 4 the fault VFS is not the one the library uses, 5 a stale read, 6 the
// change log's layout is not the one hold-changes-lock knows.
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <pthread.h>
#include <random>
#include <sstream>
#include <string>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "blobcache/blobcache.hpp"

#include "fault_vfs.hpp"
#include "sha256_hex.hpp"
#include "shared_clock.hpp"
#include "values.hpp"
#include "workload.hpp"

namespace {

using blobcache::Bytes;
using blobcache::BytesView;
using blobcache::Errc;
using blobcache::Limits;
using blobcache::test::fill_cache;
using blobcache::test::fill_key;
using blobcache::test::kFillKeys;
using blobcache::test::kFillNamespace;
using blobcache::test::kFillOptions;
using blobcache::test::kTailNamespace;
using blobcache::test::made_value;
using blobcache::test::sha256_hex;
using blobcache::test::tail_key;
using blobcache::test::value_problem;
using namespace std::chrono_literals;

Bytes random_bytes(std::mt19937_64& rng, std::size_t size) {
  Bytes bytes(size);
  for (auto& b : bytes) b = static_cast<std::byte>(rng());
  return bytes;
}

// The kill loop's processes stamp with one SharedClock (see the test).
std::shared_ptr<const blobcache::Clock> shared_clock_of(const std::string& db) {
  return std::make_shared<blobcache::test::SharedClock>(db + ".clock");
}

std::shared_ptr<blobcache::SqliteStore> open_store(
    const std::string& path, std::optional<Limits> limits = std::nullopt,
    std::shared_ptr<const blobcache::Clock> clock = nullptr) {
  return std::make_shared<blobcache::SqliteStore>(blobcache::SqliteOptions{
      .path = path, .busy_timeout = 60s, .clock = std::move(clock), .limits = limits});
}

// MAX_BYTES:MAX_ENTRIES:lrs|lru.
Limits parse_limits(const std::string& text) {
  const std::size_t first = text.find(':');
  const std::size_t second = text.find(':', first + 1);
  if (first == std::string::npos || second == std::string::npos) {
    throw std::invalid_argument("limits: " + text);
  }
  const std::string policy = text.substr(second + 1);
  if (policy != "lrs" && policy != "lru") throw std::invalid_argument("policy: " + policy);
  return Limits{.max_bytes = std::stoll(text.substr(0, first)),
                .max_entries = std::stoll(text.substr(first + 1, second - first - 1)),
                .eviction = policy == "lru" ? blobcache::EvictionPolicy::least_recently_used
                                            : blobcache::EvictionPolicy::least_recently_stored};
}

bool bounded(const Limits& limits) { return limits.max_bytes > 0 || limits.max_entries > 0; }

// True when the blob is whole: its bytes hash to its etag and match its size.
bool whole(const blobcache::Blob& blob) {
  return blob.meta.size == static_cast<std::int64_t>(blob.data.size()) &&
         blob.meta.etag == sha256_hex(blob.data);
}

// Whole, and a value some worker made for (ns, key); says what is wrong on
// stderr.
bool sound(const std::string& who, std::string_view ns, std::string_view key,
           const blobcache::Blob& blob) {
  const std::string problem = whole(blob) ? value_problem(ns, key, blob.data) : "torn";
  if (problem.empty()) return true;
  std::cerr << who << ": " << ns << "/" << key << ": " << problem << "\n";
  return false;
}

// The whole value behind a reader.
blobcache::Blob read_all(blobcache::BlobReader& reader) {
  blobcache::Blob blob{.data = {}, .meta = reader.meta()};
  std::byte buffer[7000];
  while (const std::size_t n = reader.read(buffer))
    blob.data.insert(blob.data.end(), buffer, buffer + n);
  return blob;
}

// A conditional replace: the value is written only over the etag just read
// (or where there was none); losing the race is no error.
void put_if_unchanged(blobcache::Store& store, std::string_view ns, std::string_view key,
                      BytesView value) {
  const auto current = store.get(ns, key);
  try {
    store.put(ns, key, value, {.if_match = current ? current->meta.etag : std::string()});
  } catch (const blobcache::Error& e) {
    if (e.code() != Errc::precondition_failed) throw;
  }
}

int stress(const std::string& db, unsigned seed, int threads, int ops, const Limits& limits) {
  auto store = open_store(db, limits);
  std::atomic<int> torn{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      const std::uint64_t writer = seed * 1000ULL + static_cast<unsigned>(t);
      std::mt19937_64 rng(writer);
      std::uint64_t serial = 0;
      const std::string who = "worker " + std::to_string(seed) + "/" + std::to_string(t);
      const char* spaces[] = {"shared", "shared/sub", "other"};
      auto cache = fill_cache(store);
      for (int i = 0; i < ops; ++i) {
        const std::string ns = spaces[rng() % 3];
        const std::string key = "k" + std::to_string(rng() % 24);
        try {
          switch (rng() % 12) {
            case 0:
            case 1:
            case 2: {  // get
              if (auto blob = store->get(ns, key); blob && !sound(who, ns, key, *blob)) ++torn;
              break;
            }
            case 3: {  // open and read in pieces
              if (auto reader = store->open(ns, key);
                  reader && !sound(who, ns, key, read_all(*reader)))
                ++torn;
              break;
            }
            case 4:
            case 5: {  // put
              const Bytes value =
                  made_value(ns, key, writer, serial++,
                             rng() % 3 == 0 ? 150'000 + rng() % 100'000 : rng() % 3000);
              const auto meta =
                  store->put(ns, key, value,
                             {.content_type = "x/y", .metadata = {{"seed", std::to_string(seed)}}});
              if (meta.etag != sha256_hex(value)) ++torn;
              break;
            }
            case 6: {  // put_stream
              const Bytes value = made_value(ns, key, writer, serial++, rng() % 400'000);
              std::istringstream in(std::string(blobcache::as_text(value)));
              if (store->put_stream(ns, key, in).etag != sha256_hex(value)) ++torn;
              break;
            }
            case 7:
              store->erase(ns, key);
              break;
            case 8: {  // list: every listed entry is whole or gone
              for (const auto& object : store->list(ns)) {
                if (object.meta.etag.size() != 64) ++torn;
              }
              break;
            }
            case 9: {  // expire a little
              if (rng() % 4 == 0) {
                store->put(ns, key, made_value(ns, key, writer, serial++, 10),
                           {.expires_at = std::chrono::system_clock::now() - 1s});
              }
              store->erase_expired(ns, std::chrono::system_clock::now(), 0s);
              break;
            }
            case 10:
              put_if_unchanged(*store, ns, key,
                               made_value(ns, key, writer, serial++, rng() % 5000));
              break;
            case 11: {
              const std::string key_to_fill = fill_key(static_cast<int>(rng() % kFillKeys));
              const auto found = cache.get_or_fill(
                  key_to_fill,
                  [&] {
                    return blobcache::Fill{.data = made_value(kFillNamespace, key_to_fill, writer,
                                                              serial++, rng() % 5000),
                                           .opts = {}};
                  },
                  kFillOptions);
              if (!sound(who, kFillNamespace, key_to_fill, found.blob)) ++torn;
              break;
            }
          }
        } catch (const std::exception& e) {
          std::cerr << who << ": " << e.what() << "\n";
          ++errors;
        }
      }
    });
  }
  for (auto& worker : workers) worker.join();
  if (errors) return 2;
  return torn ? 1 : 0;
}

int open_at(const std::string& db, int start_fd, const std::string& id) {
  char byte = 0;
  while (::read(start_fd, &byte, 1) > 0) {  // returns 0 once every writer has closed it
  }
  try {
    auto store = open_store(db);
    store->put("race", "id-" + id, std::string_view(id));
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "open " << id << ": " << e.what() << "\n";
    return 2;
  }
}

// What a writer of the kill loop stores: made_value()s of sizes that fit
// the limits (a value or batch that could never fit is too_large, not what
// the loop tests).
struct Sizes {
  std::size_t put = 200'000;
  std::size_t stream_min = 100'000;
  std::size_t stream_span = 2'000'000;
  int batch = 20;
};

Sizes sizes_for(const Limits& limits) {
  Sizes sizes;
  if (limits.max_bytes > 0) {
    const auto bytes = static_cast<std::size_t>(limits.max_bytes);
    sizes.put = std::min(sizes.put, bytes / 8);
    sizes.stream_min = std::min(sizes.stream_min, bytes / 16);
    sizes.stream_span = std::min(sizes.stream_span, bytes / 4);
  }
  if (limits.max_entries > 0) {
    sizes.batch = static_cast<int>(std::min<std::int64_t>(sizes.batch, limits.max_entries / 4));
  }
  return sizes;
}

[[noreturn]] void write_forever(const std::string& db, unsigned seed, const Limits& limits) {
  auto store = open_store(db, limits, shared_clock_of(db));
  auto cache = fill_cache(store);
  const Sizes sizes = sizes_for(limits);
  const std::string who = "writer " + std::to_string(seed);
  std::mt19937_64 rng(seed);
  std::uint64_t serial = 0;
  const auto value_for = [&](std::string_view ns, std::string_view key, std::size_t body) {
    return rng() % 64 == 0 ? Bytes{} : made_value(ns, key, seed, serial++, body);
  };
  const auto check = [&](std::string_view ns, std::string_view key, const blobcache::Blob& blob) {
    if (!sound(who, ns, key, blob)) std::exit(1);
  };
  for (;;) {
    const std::string ns = "ns" + std::to_string(rng() % 4);
    const std::string key = "k" + std::to_string(rng() % 32);
    try {
      switch (rng() % 16) {
        case 0:
        case 1:
        case 2:  // a new entry, or an in-place replace of an existing one
          store->put(ns, key, value_for(ns, key, rng() % sizes.put));
          break;
        case 3: {
          const Bytes value = value_for(ns, key, sizes.stream_min + rng() % sizes.stream_span);
          std::istringstream in(std::string(blobcache::as_text(value)));
          store->put_stream(ns, key, in);
          break;
        }
        case 4: {
          std::vector<Bytes> values;
          std::vector<std::string> keys;
          for (int k = 0; k < sizes.batch; ++k) {
            keys.push_back("batch" + std::to_string(k));
            values.push_back(value_for(ns, keys.back(), rng() % 20'000));
          }
          std::vector<blobcache::PutRequest> batch;
          for (std::size_t k = 0; k < keys.size(); ++k)
            batch.push_back({.ns = ns, .key = keys[k], .value = values[k]});
          store->put_many(batch);
          break;
        }
        case 5:
          if (rng() % 4 == 0) store->erase_namespace(ns);
          break;
        case 6:
          store->put(ns, key, value_for(ns, key, 8),
                     {.expires_at = std::chrono::system_clock::now()});
          store->erase_expired(ns, std::chrono::system_clock::now(), 50ms);
          break;
        case 7:
          store->erase(ns, key);
          break;
        case 8:  // served from the memory tier once kept; an access for least_recently_used
          if (const auto blob = store->get(ns, key)) check(ns, key, *blob);
          break;
        case 9:
          put_if_unchanged(*store, ns, key, value_for(ns, key, rng() % 20'000));
          break;
        case 10: {
          // Fills take a while (now and then longer than their lease, which
          // another filler then takes over): kills land inside them.
          const std::string key_to_fill = fill_key(static_cast<int>(rng() % kFillKeys));
          const auto pause = rng() % 8 == 0 ? 80ms : std::chrono::milliseconds(2 + rng() % 18);
          const auto found = cache.get_or_fill(
              key_to_fill,
              [&] {
                std::this_thread::sleep_for(pause);
                return blobcache::Fill{
                    .data = value_for(kFillNamespace, key_to_fill, rng() % 20'000), .opts = {}};
              },
              kFillOptions);
          check(kFillNamespace, key_to_fill, found.blob);
          break;
        }
        case 11:  // a replace that changes the metadata too
          store->put(
              ns, key, value_for(ns, key, rng() % 20'000),
              {.content_type = "x/" + std::to_string(serial),
               .metadata = {{"writer", std::to_string(seed)}, {"n", std::to_string(serial)}}});
          break;
        case 12:
          if (const auto reader = store->open(ns, key)) check(ns, key, read_all(*reader));
          break;
        case 13:
          if (bounded(limits) && rng() % 4 == 0) {
            // Tighter bounds for a while (evicting at once), then the round's again.
            Limits tighter = limits;
            if (rng() % 2 == 0) {
              tighter.max_bytes = limits.max_bytes > 0 ? limits.max_bytes / 2 : 0;
              tighter.max_entries = limits.max_entries > 0 ? limits.max_entries / 2 : 0;
            }
            store->set_limits(tighter);
          } else {
            store->trim();
          }
          break;
        case 14:
          if (rng() % 32 == 0) {
            store->compact();
          } else {
            (void)store->stats();
          }
          break;
        case 15:
          if (rng() % 16 == 0) store->reset_stats();
          break;
      }
    } catch (const std::exception& e) {
      std::cerr << who << ": " << e.what() << "\n";
      std::exit(2);
    }
  }
}

// The versions a reader has seen of each key: a get must never return one
// older than what the reader saw before (SharedClock: updated_at orders the
// commits).
class Floors {
 public:
  // False when `meta` is older than the latest version seen of (ns, key).
  bool see(const std::string& ns, const std::string& key, const blobcache::Meta& meta) {
    auto [it, inserted] = seen_.try_emplace({ns, key}, meta.updated_at);
    if (inserted) return true;
    if (meta.updated_at < it->second) return false;
    it->second = meta.updated_at;
    return true;
  }

 private:
  std::map<std::pair<std::string, std::string>, blobcache::TimePoint> seen_;
};

// A store opened now, beside writer `seed` (its other writer was just
// killed). Each check reads the file first (open() never reads the memory
// tier), then gets: the get must not be older. Every other check asks for
// a new tail key, which must be absent, puts it through another store, and
// gets it: the tier must not say absent any more. Meanwhile a second thread
// runs get_or_fill on every fill key, which must end even where a killed
// filler left its lease.
int read_beside(const std::string& db, unsigned seed, int ops) {
  auto store = open_store(db, std::nullopt, shared_clock_of(db));
  // Another store of the file: it shares nothing with `store` but the file
  // and its change log, as another process would.
  auto other = open_store(db, std::nullopt, shared_clock_of(db));
  const std::string who = "reader beside " + std::to_string(seed);
  std::atomic<int> code{0};
  const auto fail = [&](int why) {
    int expected = 0;
    code.compare_exchange_strong(expected, why);
  };
  std::thread fills([&] {
    try {
      auto cache = fill_cache(store);
      std::uint64_t serial = 0;
      for (int k = 0; k < kFillKeys; ++k) {
        const std::string key = fill_key(k);
        const auto found = cache.get_or_fill(
            key,
            [&] {
              return blobcache::Fill{
                  .data = made_value(kFillNamespace, key, 100'000 + seed, serial++, 100),
                  .opts = {}};
            },
            kFillOptions);
        if (!sound(who, kFillNamespace, key, found.blob)) fail(1);
      }
    } catch (const std::exception& e) {
      std::cerr << who << ": get_or_fill: " << e.what() << "\n";
      fail(2);
    }
  });
  try {
    std::mt19937_64 rng(seed + 7);
    Floors floors;
    std::uint64_t next_tail = 0;
    const auto stale = [&](const std::string& ns, const std::string& key, const char* what) {
      std::cerr << who << ": " << ns << "/" << key << ": " << what << "\n";
      fail(5);
    };
    for (int i = 0; i < ops && code.load() == 0; ++i) {
      if (rng() % 2 == 0) {
        const std::string ns =
            rng() % 5 == 0 ? std::string(kFillNamespace) : "ns" + std::to_string(rng() % 4);
        const std::string key = ns == kFillNamespace ? fill_key(static_cast<int>(rng() % kFillKeys))
                                                     : "k" + std::to_string(rng() % 32);
        if (const auto reader = store->open(ns, key)) {
          const blobcache::Blob blob = read_all(*reader);
          if (!sound(who, ns, key, blob)) fail(1);
          if (!floors.see(ns, key, blob.meta)) stale(ns, key, "the file went back in time");
        }
        if (const auto blob = store->get(ns, key)) {
          if (!sound(who, ns, key, *blob)) fail(1);
          if (!floors.see(ns, key, blob->meta)) stale(ns, key, "get returned an older version");
        }
        continue;
      }
      // A key never written before: a get says absent (and the tier keeps
      // that), another store writes it, and from then on a get must find
      // it: only this reader writes it, so once the file has it, it had it
      // ever since the put.
      const std::string ns(kTailNamespace);
      const std::string key = tail_key(seed, next_tail++);
      if (store->get(ns, key)) stale(ns, key, "get found a key nobody wrote yet");
      const blobcache::Meta written =
          other->put(ns, key, made_value(ns, key, 200'000 + seed, next_tail, rng() % 2000));
      if (const auto blob = store->get(ns, key)) {
        if (!sound(who, ns, key, *blob)) fail(1);
        if (blob->meta != written) stale(ns, key, "get returned another version than the one put");
      } else if (store->open(ns, key)) {
        stale(ns, key, "get still says absent after the put, and the file has it");
      }
    }
  } catch (const std::exception& e) {
    std::cerr << who << ": " << e.what() << "\n";
    fail(2);
  }
  // A get_or_fill served stale values may never end: a failure is reported
  // without waiting for it.
  if (code.load() != 0) std::_Exit(code.load());
  fills.join();
  return code.load();
}

// Runs get_or_fill of a key nobody has filled: prints "filling" from inside
// the fill, which never ends, so it is killed holding the key's lease.
int fill_and_hang(const std::string& db, const std::string& key) {
  auto store = open_store(db, std::nullopt, shared_clock_of(db));
  auto cache = fill_cache(store);
  (void)cache.get_or_fill(
      key,
      []() -> blobcache::Fill {
        std::cout << "filling" << std::endl;
        for (;;) ::pause();
      },
      kFillOptions);
  std::cerr << "fill-and-hang: " << key << " was there already\n";
  return 2;
}

// The change log's header as the library lays it out (src/sqlite/
// change_log.cpp, ChangeLog::Shared, layout 1): magic, layout, capacity,
// then the process-shared robust mutex its appenders take.
struct ChangeLogHeader {
  std::uint64_t magic;
  std::uint32_t layout;
  std::uint32_t capacity;
  pthread_mutex_t mutex;
};
constexpr std::uint64_t kChangeLogMagic = 0x31676F6C68434342ULL;  // "BCchlog1"

// Holds the log's mutex as a writer does while it appends, and is killed
// holding it: the other processes must get past it (EOWNERDEAD), neither
// wedged nor served stale values.
int hold_changes_lock(const std::string& db) {
  const std::string path = db + "-changes";
  // The writers of the round create it as they open the store.
  int fd = -1;
  for (struct stat status{}; fd < 0 || ::fstat(fd, &status) != 0 ||
                             status.st_size < static_cast<off_t>(sizeof(ChangeLogHeader));) {
    if (fd >= 0) ::close(fd);
    std::this_thread::sleep_for(1ms);
    fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  }
  void* mapping =
      ::mmap(nullptr, sizeof(ChangeLogHeader), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (mapping == MAP_FAILED) {
    std::cerr << "hold-changes-lock: cannot map " << path << ": " << std::strerror(errno) << "\n";
    return 2;
  }
  auto* header = static_cast<ChangeLogHeader*>(mapping);
  // Written last by the log's initialiser: once set, the header is whole.
  const auto* magic = reinterpret_cast<const std::atomic<std::uint64_t>*>(&header->magic);
  while (magic->load() == 0) std::this_thread::sleep_for(1ms);
  if (magic->load() != kChangeLogMagic || header->layout != 1 || header->capacity != 16384) {
    std::cerr << "hold-changes-lock: " << path << " is not a change log of layout 1\n";
    return 6;
  }
  const int rc = ::pthread_mutex_lock(&header->mutex);
  if (rc == EOWNERDEAD) {
    ::pthread_mutex_consistent(&header->mutex);
  } else if (rc != 0) {
    std::cerr << "hold-changes-lock: " << std::strerror(rc) << "\n";
    return 2;
  }
  std::cout << "locked" << std::endl;
  for (;;) ::pause();
}

int fill(const std::string& db) {
  // Past RLIMIT_FSIZE the kernel sends SIGXFSZ, which would kill us; ignored,
  // the write fails with EFBIG and the store must report no_space.
  std::signal(SIGXFSZ, SIG_IGN);
  auto store = open_store(db);
  std::mt19937_64 rng(42);
  std::vector<std::pair<std::string, std::string>> stored;  // key, etag
  for (int i = 0;; ++i) {
    const Bytes value = random_bytes(rng, 64 * 1024);
    const std::string key = "k" + std::to_string(i);
    try {
      stored.emplace_back(key, store->put("fill", key, value).etag);
    } catch (const blobcache::Error& e) {
      if (e.code() != blobcache::Errc::no_space) {
        std::cerr << "fill: expected no_space, got " << blobcache::errc_name(e.errc()) << ": "
                  << e.what() << "\n";
        return 2;
      }
      std::cerr << "fill: " << stored.size() << " entries stored before: " << e.what() << "\n";
      break;
    }
    if (i > 100'000) return 2;  // the disk never filled: the test is broken
  }
  // Everything stored before the failure is intact, read by this same store.
  for (const auto& [key, etag] : stored) {
    const auto blob = store->get("fill", key);
    if (!blob || !whole(*blob) || blob->meta.etag != etag) return 1;
  }
  std::cout << stored.size() << "\n";
  return 0;
}

// The disk of the process fills after `writes` writes to a database file
// or its -wal; then space is freed and it fills again after as many.
int fill_faulty(const std::string& db, std::uint64_t writes) {
  using blobcache::test::Fault;
  using blobcache::test::FaultOp;
  using blobcache::test::FaultTarget;
  blobcache::test::FaultVfs disk(/*make_default=*/true);
  const Fault full{
      .op = FaultOp::write, .target = FaultTarget::both, .error = ENOSPC, .nth = writes};
  for (int round = 0; round < 2; ++round) {
    disk.arm(full);
    // A store whose writes the VFS does not see would fill a real disk.
    open_store(db)->put("probe", "round-" + std::to_string(round), std::string_view("p"));
    if (disk.seen() == 0) {
      std::cerr << "fill-faulty: the library's SQLite is not the one the fault VFS joined\n";
      return 4;
    }
    if (const int code = fill(db); code != 0) return code;
    disk.clear();  // space freed
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // "write" runs until killed: a test that dies before killing it (a failed
  // REQUIRE, meson's timeout) must not leave it writing forever.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  const std::vector<std::string> args(argv + 1, argv + argc);
  if ((args.size() == 5 || args.size() == 6) && args[0] == "stress") {
    return stress(args[1], static_cast<unsigned>(std::stoul(args[2])), std::stoi(args[3]),
                  std::stoi(args[4]), parse_limits(args.size() == 6 ? args[5] : "0:0:lrs"));
  }
  if (args.size() == 4 && args[0] == "open") return open_at(args[1], std::stoi(args[2]), args[3]);
  if ((args.size() == 3 || args.size() == 4) && args[0] == "write") {
    write_forever(args[1], static_cast<unsigned>(std::stoul(args[2])),
                  parse_limits(args.size() == 4 ? args[3] : "0:0:lrs"));
  }
  if (args.size() == 4 && args[0] == "read") {
    return read_beside(args[1], static_cast<unsigned>(std::stoul(args[2])), std::stoi(args[3]));
  }
  if (args.size() == 2 && args[0] == "hold-changes-lock") return hold_changes_lock(args[1]);
  if (args.size() == 3 && args[0] == "fill-and-hang") return fill_and_hang(args[1], args[2]);
  if (args.size() == 2 && args[0] == "fill") return fill(args[1]);
  if (args.size() == 3 && args[0] == "fill-faulty")
    return fill_faulty(args[1], std::stoull(args[2]));
  std::cerr << "usage: worker "
               "stress|open|write|read|fill-and-hang|hold-changes-lock|fill|fill-faulty ...\n";
  return 3;
}
