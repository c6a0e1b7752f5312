// A process that works on a shared SqliteStore for the robustness tests.
//
//   worker stress DB SEED THREADS OPS  mixed get/put/erase/list/clean over
//                                      shared keys; every read verified
//   worker open DB START_FD ID         waits until START_FD (a pipe) is
//                                      closed by the parent, opens
//                                      (creating) DB, puts one entry
//   worker write DB SEED               writes forever (until killed): put,
//                                      put_stream, put_many, erase_namespace, clean
//   worker fill DB                     puts 64 KiB values until the disk is
//                                      full, checks the error, then verifies
//   worker fill-faulty DB WRITES       the same on a disk that fills after
//                                      WRITES writes (the fault VFS, as any
//                                      user), then frees space and fills again
//
// Exit codes: 0 ok, 1 a torn or wrong read, 2 an unexpected error, 3 usage,
// 4 the fault VFS is not the one the library uses.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "blobcache/blobcache.hpp"

#include "fault_vfs.hpp"
#include "sha256_hex.hpp"

namespace {

using blobcache::Bytes;
using blobcache::BytesView;
using blobcache::test::sha256_hex;
using namespace std::chrono_literals;

Bytes random_bytes(std::mt19937_64& rng, std::size_t size) {
  Bytes bytes(size);
  for (auto& b : bytes) b = static_cast<std::byte>(rng());
  return bytes;
}

std::shared_ptr<blobcache::SqliteStore> open_store(const std::string& path) {
  return std::make_shared<blobcache::SqliteStore>(
      blobcache::SqliteOptions{.path = path, .busy_timeout = 60s});
}

// True when the blob is whole: its bytes hash to its etag and match its size.
bool whole(const blobcache::Blob& blob) {
  return blob.meta.size == static_cast<std::int64_t>(blob.data.size()) &&
         blob.meta.etag == sha256_hex(blob.data);
}

int stress(const std::string& db, unsigned seed, int threads, int ops) {
  auto store = open_store(db);
  std::atomic<int> torn{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937_64 rng(seed * 1000 + static_cast<unsigned>(t));
      const char* spaces[] = {"shared", "shared/sub", "other"};
      for (int i = 0; i < ops; ++i) {
        const std::string ns = spaces[rng() % 3];
        const std::string key = "k" + std::to_string(rng() % 24);
        try {
          switch (rng() % 10) {
            case 0:
            case 1:
            case 2: {  // get
              if (auto blob = store->get(ns, key); blob && !whole(*blob)) ++torn;
              break;
            }
            case 3: {  // open and read in pieces
              if (auto reader = store->open(ns, key)) {
                Bytes data;
                std::byte buffer[7000];
                while (const std::size_t n = reader->read(buffer))
                  data.insert(data.end(), buffer, buffer + n);
                if (!whole({data, reader->meta()})) ++torn;
              }
              break;
            }
            case 4:
            case 5: {  // put
              const Bytes value =
                  random_bytes(rng, rng() % 3 == 0 ? 150'000 + rng() % 100'000 : rng() % 3000);
              const auto meta =
                  store->put(ns, key, value,
                             {.content_type = "x/y", .metadata = {{"seed", std::to_string(seed)}}});
              if (meta.etag != sha256_hex(value)) ++torn;
              break;
            }
            case 6: {  // put_stream
              const Bytes value = random_bytes(rng, rng() % 400'000);
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
                store->put(ns, key, std::string_view("short-lived"),
                           {.expires_at = std::chrono::system_clock::now() - 1s});
              }
              store->erase_expired(ns, std::chrono::system_clock::now(), 0s);
              break;
            }
          }
        } catch (const std::exception& e) {
          std::cerr << "worker " << seed << "/" << t << ": " << e.what() << "\n";
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

[[noreturn]] void write_forever(const std::string& db, unsigned seed) {
  auto store = open_store(db);
  std::mt19937_64 rng(seed);
  for (std::uint64_t i = 0;; ++i) {
    const std::string ns = "ns" + std::to_string(rng() % 4);
    const std::string key = "k" + std::to_string(rng() % 32);
    try {
      switch (rng() % 8) {
        case 0:
        case 1:
        case 2:
          store->put(ns, key, random_bytes(rng, rng() % 200'000));
          break;
        case 3: {
          const Bytes value = random_bytes(rng, 100'000 + rng() % 2'000'000);
          std::istringstream in(std::string(blobcache::as_text(value)));
          store->put_stream(ns, key, in);
          break;
        }
        case 4: {
          std::vector<Bytes> values;
          std::vector<std::string> keys;
          for (int k = 0; k < 20; ++k) {
            values.push_back(random_bytes(rng, rng() % 20'000));
            keys.push_back("batch" + std::to_string(k));
          }
          std::vector<blobcache::PutRequest> batch;
          for (int k = 0; k < 20; ++k)
            batch.push_back({.ns = ns,
                             .key = keys[static_cast<std::size_t>(k)],
                             .value = values[static_cast<std::size_t>(k)]});
          store->put_many(batch);
          break;
        }
        case 5:
          if (rng() % 4 == 0) store->erase_namespace(ns);
          break;
        case 6:
          store->put(ns, key, std::string_view("expiring"),
                     {.expires_at = std::chrono::system_clock::now()});
          store->erase_expired(ns, std::chrono::system_clock::now(), 50ms);
          break;
        case 7:
          store->erase(ns, key);
          break;
      }
    } catch (const std::exception& e) {
      std::cerr << "writer " << seed << ": " << e.what() << "\n";
      std::exit(2);
    }
  }
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
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 5 && args[0] == "stress") {
    return stress(args[1], static_cast<unsigned>(std::stoul(args[2])), std::stoi(args[3]),
                  std::stoi(args[4]));
  }
  if (args.size() == 4 && args[0] == "open") return open_at(args[1], std::stoi(args[2]), args[3]);
  if (args.size() == 3 && args[0] == "write")
    write_forever(args[1], static_cast<unsigned>(std::stoul(args[2])));
  if (args.size() == 2 && args[0] == "fill") return fill(args[1]);
  if (args.size() == 3 && args[0] == "fill-faulty")
    return fill_faulty(args[1], std::stoull(args[2]));
  std::cerr << "usage: worker stress|open|write|fill|fill-faulty ...\n";
  return 3;
}
