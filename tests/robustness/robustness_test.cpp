// Many processes, kills, corruption, full disks, read-only media and fork:
// nothing stored is lost or torn. Every test uses real processes and a real
// SQLite file in its own temporary folder.
#include <array>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blobcache/blobcache.hpp"

#include "catch_compat.hpp"
#include "errc_of.hpp"
#include "files.hpp"
#include "processes.hpp"
#include "sha256_hex.hpp"
#include "temp_dir.hpp"
#include "values.hpp"
#include "wait_until.hpp"
#include "workload.hpp"

namespace blobcache {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

using test::error_of;
using test::sha256_hex;

// The worker executable meson passes in BLOBCACHE_WORKER.
std::string worker_path() {
  const std::string path = test::env_or_empty("BLOBCACHE_WORKER");
  if (path.empty()) throw std::runtime_error("BLOBCACHE_WORKER is not set");
  return path;
}

SqliteOptions options_for(const fs::path& path, OnCorruption on_corruption = OnCorruption::raise) {
  return SqliteOptions{.path = path, .busy_timeout = 30s, .on_corruption = on_corruption};
}

// Checks everything a store promises after any mix of writes and kills
// (with no other process using it): check() passes (it also recounts the usage rows against
// the entries), every entry of every namespace (those the usage rows name
// and `known`) re-reads whole, hashing it independently (and, with
// `made_values`, is a value some worker made for its key), stats() says
// the entries and bytes a recount of them says, per namespace and in
// total, and the store is within the limits the file holds. Returns how
// many entries it saw.
std::int64_t verify_everything(SqliteStore& store, const std::set<std::string>& known = {},
                               bool made_values = false) {
  store.check();
  std::set<std::string> spaces = known;
  std::map<std::string, std::int64_t> listed_entries;
  for (const NamespaceInfo& space : store.namespaces()) {
    spaces.insert(space.name);
    listed_entries[space.name] = space.entries;
  }
  std::int64_t entries = 0;
  std::int64_t bytes = 0;
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> counted;  // entries, bytes
  for (const std::string& ns : spaces) {
    const auto objects = store.list(ns);
    CHECK(static_cast<std::int64_t>(objects.size()) == listed_entries[ns]);
    for (const Object& object : objects) {
      const auto blob = store.get(ns, object.key);
      if (!blob) continue;  // cannot happen without another writer
      INFO(ns << "/" << object.key);
      CHECK(blob->meta.size == static_cast<std::int64_t>(blob->data.size()));
      CHECK(blob->meta.etag == sha256_hex(blob->data));
      CHECK(blob->meta == object.meta);
      if (made_values) {
        const std::string problem = test::value_problem(ns, object.key, blob->data);
        INFO(problem);
        CHECK(problem.empty());
      }
      ++entries;
      bytes += blob->meta.size;
      ++counted[ns].first;
      counted[ns].second += blob->meta.size;
    }
  }
  const Stats stats = store.stats();
  CHECK(stats.entries == entries);
  CHECK(stats.bytes == bytes);
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> in_stats;
  for (const NamespaceStats& space : stats.namespaces) {
    if (space.entries != 0 || space.bytes != 0) in_stats[space.ns] = {space.entries, space.bytes};
  }
  CHECK(in_stats == counted);
  const Limits limits = store.limits();
  CHECK(stats.max_bytes == limits.max_bytes);
  CHECK(stats.max_entries == limits.max_entries);
  if (limits.max_bytes > 0) CHECK(stats.bytes <= limits.max_bytes);
  if (limits.max_entries > 0) CHECK(stats.entries <= limits.max_entries);
  const VerifyReport report = store.verify();
  CHECK(report.ok());
  CHECK(report.entries_checked == entries);
  return entries;
}

// The same of the file at `path`, opened now (and closed: the WAL folded in).
std::int64_t verify_everything(const fs::path& path) {
  SqliteStore store(options_for(path));
  return verify_everything(store);
}

// Lets children start at one instant: each blocks reading the pipe's end
// it inherits (fd()) until open() closes the parent's writing end, the
// event that wakes them all at once.
class StartGate {
 public:
  StartGate() {
    if (::pipe(fds_) != 0) throw std::runtime_error("pipe failed");
    ::fcntl(fds_[1], F_SETFD, FD_CLOEXEC);  // only the parent may hold the writing end
  }
  ~StartGate() {
    open();
    ::close(fds_[0]);
  }
  StartGate(const StartGate&) = delete;
  StartGate& operator=(const StartGate&) = delete;

  std::string fd() const { return std::to_string(fds_[0]); }
  void open() {
    if (fds_[1] >= 0) ::close(fds_[1]);
    fds_[1] = -1;
  }

 private:
  int fds_[2] = {-1, -1};
};

TEST_CASE("16 processes opening one new file at the same instant all succeed", "[processes]") {
  test::TempDir dir;
  const fs::path db = dir / "cache" / "new.db";
  StartGate gate;
  std::vector<pid_t> pids;
  for (int i = 0; i < 16; ++i) {
    pids.push_back(
        test::spawn({.argv = {worker_path(), "open", db.string(), gate.fd(), std::to_string(i)}}));
  }
  gate.open();
  for (const pid_t pid : pids) {
    const auto exit = test::wait_for_exit(pid);
    CHECK(exit.exited);
    CHECK(exit.code == 0);
  }
  SqliteStore store(options_for(db));
  CHECK(store.list("race").size() == 16);
}

TEST_CASE("4 processes x 2 threads of mixed operations: no errors, no torn reads", "[processes]") {
  // Every mechanism on, or none: without limits (the memory tier is on by
  // default), and with limits that evict (least_recently_used).
  const std::string limits = GENERATE(as<std::string>{}, "0:0:lrs", "1048576:40:lru");
  INFO("limits " << limits);
  test::TempDir dir;
  const fs::path db = dir / "shared.db";
  SqliteStore(options_for(db)).put("shared", "seed", test::made_value("shared", "seed", 0, 0, 10));
  const int ops = test::small_scale() ? 150 : 600;
  std::vector<pid_t> pids;
  for (int p = 0; p < 4; ++p) {
    pids.push_back(
        test::spawn({.argv = {worker_path(), "stress", db.string(), std::to_string(p + 1), "2",
                              std::to_string(ops), limits}}));
  }
  for (const pid_t pid : pids) {
    const auto exit = test::wait_for_exit(pid);
    INFO("exit code 1 means a torn or wrong read, 2 an error other than a miss");
    CHECK(exit.exited);
    CHECK(exit.code == 0);
  }
  {
    SqliteStore store(options_for(db));
    verify_everything(store, {"shared", "shared/sub", "other", std::string(test::kFillNamespace)},
                      /*made_values=*/true);
    if (limits != "0:0:lrs") CHECK(store.stats().evictions > 0);
  }
  CHECK(test::file_names(dir.path()) ==
        std::set<std::string>{"shared.db"});  // WAL folded in at close
}

// How long a new writer takes to store its first entry in a new file. Under
// a sanitizer on a loaded machine that can exceed the whole kill window, and
// a loop whose kills all land before the first write tests nothing.
std::chrono::milliseconds time_to_first_write(const fs::path& db) {
  const auto start = std::chrono::steady_clock::now();
  const pid_t writer = test::spawn({.argv = {worker_path(), "write", db.string(), "999"}});
  bool died = false;
  test::wait_until([&] {
    if (::waitpid(writer, nullptr, WNOHANG) == writer) return died = true;
    try {
      return fs::exists(db) && !SqliteStore(options_for(db)).namespaces().empty();
    } catch (const Error&) {  // still being created
      return false;
    }
  });
  const auto elapsed = std::chrono::steady_clock::now() - start;
  if (died) throw std::runtime_error("the calibration writer died before its first entry");
  ::kill(writer, SIGKILL);
  test::wait_for_exit(writer);
  return std::chrono::duration_cast<std::chrono::milliseconds>(elapsed);
}

// The limits the kill loop's writers open with (worker LIMITS), round after
// round: none (the loop as it began), bytes with least_recently_stored
// (which clears what least_recently_used left in used_at, and replaces an
// entry by a new row), both bounds with least_recently_used (a turn to it
// stamps every entry's place in its order), and so few entries that most
// puts evict. Bounded writers also lower the bounds for a while
// (set_limits) and trim().
constexpr std::array<const char*, 4> kRoundLimits = {"0:0:lrs", "3145728:0:lrs", "3145728:64:lru",
                                                     "0:24:lru"};

// get_or_fill of fill/`key` ends (a lease a killed filler left on it
// expires or is taken over) with a whole value made for it.
void fill_past_lease(const std::shared_ptr<SqliteStore>& store, const std::string& key) {
  INFO("get_or_fill of " << key);
  const std::string ns(test::kFillNamespace);
  const Lookup found = test::fill_cache(store).get_or_fill(
      key, [&] { return Fill{.data = test::made_value(ns, key, 999'999, 0, 100), .opts = {}}; },
      test::kFillOptions);
  CHECK(found.blob.meta.etag == sha256_hex(found.blob.data));
  const std::string problem = test::value_problem(ns, key, found.blob.data);
  INFO(problem);
  CHECK(problem.empty());
}

// Starts a worker and returns its pid once it has printed `said` (to the
// file `out`). Fails when it ends before.
pid_t spawn_until_said(const std::vector<std::string>& argv, const fs::path& out,
                       const std::string& said) {
  fs::remove(out);  // what an earlier round's worker said
  const pid_t pid = test::spawn({.argv = argv, .stdout_to = out});
  bool died = false;
  test::wait_until([&] {
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return died = true;
    return test::read_file(out) == said;
  });
  INFO(argv[1] << " ended before it said " << said
               << " (hold-changes-lock: exit code 6, the change log's layout is not the one the "
                  "worker knows)");
  REQUIRE_FALSE(died);
  return pid;
}

TEST_CASE("kill loop: writers SIGKILLed at any moment leave a whole, exact, bounded file",
          "[processes][kill]") {
  test::TempDir dir;
  const fs::path db = dir / "killed.db";
  std::mt19937 rng(20261123);
  const int rounds = 50;
  const auto first_write = time_to_first_write(dir / "calibration.db");
  INFO("a writer's first entry took " << first_write.count() << " ms");
  // Kills land anywhere from the open to well into the writing (the
  // survivor goes on while the reader runs, some 50 ms more).
  const auto max_ms = (test::small_scale() ? 150 : 250) + first_write.count();
  const std::string reader_ops = test::small_scale() ? "40" : "60";
  std::int64_t seen = 0;
  int rounds_with_evictions = 0;
  std::uint64_t evictions_before = 0;
  for (int round = 0; round < rounds; ++round) {
    const std::string limits = kRoundLimits[static_cast<std::size_t>(round) % kRoundLimits.size()];
    // Now and then a process dies holding the change log's mutex, or inside
    // a fill (holding its lease): in rounds of every limits.
    const bool lock_round = round % 5 == 2;
    const bool hang_round = round % 5 == 4;
    INFO("round " << round << ", limits " << limits << (lock_round ? ", a locker" : "")
                  << (hang_round ? ", a filler that hangs" : ""));
    const unsigned victim_seed = 2 * static_cast<unsigned>(round);
    const unsigned survivor_seed = victim_seed + 1;
    const pid_t victim = test::spawn(
        {.argv = {worker_path(), "write", db.string(), std::to_string(victim_seed), limits}});
    const pid_t survivor = test::spawn(
        {.argv = {worker_path(), "write", db.string(), std::to_string(survivor_seed), limits}});
    const auto kill_at = std::chrono::milliseconds(20 + rng() % static_cast<unsigned>(max_ms));
    std::vector<pid_t> also_killed;
    const std::string orphan = "orphan" + std::to_string(round);
    if (lock_round) {
      std::this_thread::sleep_for(kill_at / 2);
      also_killed.push_back(spawn_until_said({worker_path(), "hold-changes-lock", db.string()},
                                             dir / "locker.out", "locked\n"));
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 20));
    } else {
      std::this_thread::sleep_for(kill_at);
    }
    if (hang_round) {
      also_killed.push_back(spawn_until_said({worker_path(), "fill-and-hang", db.string(), orphan},
                                             dir / "filler.out", "filling\n"));
    }
    ::kill(victim, SIGKILL);
    const auto victim_exit = test::wait_for_exit(victim);
    CHECK(victim_exit.signal == SIGKILL);  // it was still writing, not failed
    for (const pid_t pid : also_killed) {
      ::kill(pid, SIGKILL);
      CHECK(test::wait_for_exit(pid).signal == SIGKILL);
    }
    // A store opened now, beside the survivor's writes: never stale. Its
    // get_or_fills end even where the victim left a lease.
    const pid_t reader = test::spawn(
        {.argv = {worker_path(), "read", db.string(), std::to_string(survivor_seed), reader_ops}});
    if (hang_round) fill_past_lease(std::make_shared<SqliteStore>(options_for(db)), orphan);
    {
      const auto reader_exit = test::wait_for_exit(reader);
      INFO("reader: exit code 1 means a wrong value, 2 an error, 5 a stale get");
      CHECK(reader_exit.exited);
      CHECK(reader_exit.code == 0);
    }
    ::kill(survivor, SIGKILL);
    CHECK(test::wait_for_exit(survivor).signal == SIGKILL);  // it wrote till the end

    SqliteStore store(options_for(db));
    seen += verify_everything(store, test::writer_namespaces(), /*made_values=*/true);
    const std::uint64_t evictions = store.stats().evictions;
    if (evictions > evictions_before) ++rounds_with_evictions;  // (reset_stats may lower it)
    evictions_before = evictions;
  }
  CHECK(seen > 0);
  CHECK(rounds_with_evictions > 0);  // the limits were reached, not only set
}

TEST_CASE("a file that is not SQLite: raise names the path, quarantine moves it aside",
          "[corruption]") {
  test::TempDir dir;
  const fs::path db = dir / "cache.db";
  const std::string garbage = std::string(10'000, 'G') + "this is not a database";
  std::ofstream(db, std::ios::binary) << garbage;
  const Error error = error_of([&] { SqliteStore store(options_for(db, OnCorruption::raise)); });
  CHECK(error.code() == Errc::corrupt);
  CHECK(std::string(error.what()).find(db.string()) != std::string::npos);
  CHECK(test::read_file(db) == garbage);  // raise leaves the file alone

  SqliteStore store(options_for(db, OnCorruption::quarantine));
  const auto moved = store.quarantined();
  REQUIRE(moved.has_value());
  CHECK(moved->parent_path() == dir.path());
  CHECK(moved->filename().string().rfind("cache.db.corrupt-", 0) == 0);
  CHECK(moved->filename().string().size() ==
        std::string("cache.db.corrupt-20250101T000000Z").size());
  CHECK(test::read_file(*moved) == garbage);
  store.put("ns", "k", std::string_view("fresh start"));
  CHECK(store.get("ns", "k")->text() == "fresh start");
  store.check();
}

// A store with enough entries to span many pages, closed (WAL folded in).
void fill_store(const fs::path& db, int entries) {
  SqliteStore store(options_for(db));
  std::mt19937_64 rng(7);
  for (int i = 0; i < entries; ++i) {
    Bytes value(20'000);
    for (auto& b : value) b = static_cast<std::byte>(rng());
    store.put("ns", "key-" + std::to_string(i), value, {.metadata = {{"i", std::to_string(i)}}});
  }
}

TEST_CASE("a truncated file is corrupt: raise names the path, quarantine starts afresh",
          "[corruption]") {
  test::TempDir dir;
  const fs::path db = dir / "cache.db";
  fill_store(db, 200);
  fs::resize_file(db, fs::file_size(db) / 2);
  const Error error = error_of([&] { SqliteStore store(options_for(db, OnCorruption::raise)); });
  CHECK(error.code() == Errc::corrupt);
  CHECK(std::string(error.what()).find(db.string()) != std::string::npos);

  SqliteStore store(options_for(db, OnCorruption::quarantine));
  CHECK(store.quarantined().has_value());
  CHECK(store.list("ns").empty());
  store.check();
}

TEST_CASE("pages overwritten with garbage are corrupt, never silently wrong", "[corruption]") {
  test::TempDir dir;
  const fs::path db = dir / "cache.db";
  fill_store(db, 200);
  {
    // Overwrite pages 2..9 (b-tree pages: the schema's tables and indexes
    // begin there) with random bytes.
    std::fstream file(db, std::ios::in | std::ios::out | std::ios::binary);
    char header[100];
    file.read(header, sizeof header);
    const auto raw = static_cast<unsigned>(static_cast<unsigned char>(header[16]) << 8 |
                                           static_cast<unsigned char>(header[17]));
    const std::size_t page_size = raw == 1 ? 65536 : raw;
    std::mt19937 rng(3);
    std::string garbage(page_size * 8, '\0');
    for (auto& c : garbage) c = static_cast<char>(rng());
    file.seekp(static_cast<std::streamoff>(page_size));
    file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  const Error error = error_of([&] { SqliteStore store(options_for(db, OnCorruption::raise)); });
  CHECK(error.code() == Errc::corrupt);
  CHECK(std::string(error.what()).find(db.string()) != std::string::npos);
  SqliteStore store(options_for(db, OnCorruption::quarantine));
  CHECK(store.quarantined().has_value());
  store.check();
}

bool can_mount_tmpfs() {
  return ::geteuid() == 0 &&
         test::run({.argv = {"unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"}})
                 .code == 0;
}

TEST_CASE(
    "a full disk gives no_space, keeps every earlier entry, and works again once space is freed",
    "[disk]") {
  test::TempDir dir;
  SECTION("a disk that fills after 4000 writes (the fault VFS: any user)") {
    const fs::path db = dir / "cache.db";
    const auto exit = test::run({.argv = {worker_path(), "fill-faulty", db.string(), "4000"}});
    INFO("exit code 4: the fault VFS did not reach the library's SQLite");
    REQUIRE(exit.exited);
    CHECK(exit.code == 0);
    CHECK(verify_everything(db) > 100);
  }
  SECTION("a real full tmpfs (root)") {
    if (!can_mount_tmpfs()) {
      WARN("cannot mount a tmpfs here (needs root): only the fault VFS's full disk ran");
      return;
    }
    // In a private mount namespace: a 24 MiB tmpfs, a 4 MiB filler file,
    // fill the cache until the disk is full, then free the filler and write
    // again; then copy the file set out for the checks below.
    const std::string script =
        "set -e; mount -t tmpfs -o size=24m tmpfs \"$1\"; "
        "dd if=/dev/zero of=\"$1/filler\" bs=1M count=4 status=none; "
        "\"$2\" fill \"$1/cache.db\"; "
        "rm \"$1/filler\"; "
        "\"$2\" fill \"$1/cache.db\" >/dev/null; "  // writes again, up to the new limit
        "cp \"$1\"/cache.db* \"$3\"/";
    const fs::path mount_point = dir / "tmpfs";
    fs::create_directory(mount_point);
    const auto exit =
        test::run({.argv = {"unshare", "-m", "sh", "-c", script, "sh", mount_point.string(),
                            worker_path(), dir.path().string()}});
    REQUIRE(exit.exited);
    CHECK(exit.code == 0);
    CHECK(verify_everything(dir / "cache.db") > 100);
  }
}

TEST_CASE("a file size limit (RLIMIT_FSIZE) gives no_space and loses nothing", "[disk]") {
  test::TempDir dir;
  const fs::path db = dir / "cache.db";
  fill_store(db, 20);
  const auto limit = std::to_string(fs::file_size(db) + 3 * 1024 * 1024);
  const auto exit = test::run(
      {.argv = {"prlimit", "--fsize=" + limit + ":unlimited", worker_path(), "fill", db.string()}});
  REQUIRE(exit.exited);
  CHECK(exit.code == 0);
  CHECK(verify_everything(db) > 20);
  SqliteStore store(options_for(db));
  store.put("after", "limit", std::string(1'000'000, 'x'));  // no limit here: works again
  CHECK(store.get("after", "limit")->data.size() == 1'000'000);
}

// What a process that cannot write `db` (nor its folder) gets: writing
// fails with read_only naming the path, reading in read_only mode works.
// Returns 0, or an exit code saying what went wrong (on stderr).
int check_unwritable(const fs::path& db) {
  try {
    SqliteStore store(options_for(db));
    store.put("ns", "new", std::string_view("must not be written"));
    std::cerr << "readonly: a write to an unwritable file succeeded\n";
    return 1;
  } catch (const Error& e) {
    if (e.code() != Errc::read_only ||
        std::string(e.what()).find(db.parent_path().string()) == std::string::npos) {
      std::cerr << "readonly: expected read_only naming the path, got " << errc_name(e.errc())
                << ": " << e.what() << "\n";
      return 2;
    }
  }
  try {
    SqliteStore store({.path = db, .read_only = true});
    const auto blob = store.get("ns", "k");
    if (!blob || blob->text() != "kept" || store.get("ns", "new")) return 3;
  } catch (const Error& e) {
    std::cerr << "readonly: reading in read_only mode failed: " << e.what() << "\n";
    return 4;
  }
  return 0;
}

// Regression (issue 10, defect 6): the check ran the worker as nobody
// through setpriv, and nobody could not load the library from a build
// folder inside a checkout only root may enter (a clone under mktemp -d or
// /root). Now a forked child drops its privileges itself, with the library
// loaded already.
TEST_CASE(
    "regression: an unwritable store file and folder give read_only naming the path, wherever "
    "the checkout lies",
    "[readonly]") {
  test::TempDir dir;
  const fs::path folder = dir / "unwritable-folder";
  fs::create_directory(folder);
  {
    SqliteStore store(options_for(folder / "cache.db"));
    store.put("ns", "k", std::string_view("kept"));
  }
  fs::permissions(folder, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                              fs::perms::group_exec | fs::perms::others_read |
                              fs::perms::others_exec);
  fs::permissions(folder / "cache.db",
                  fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  const auto folder_mode = fs::status(folder).permissions();
  const auto file_mode = fs::status(folder / "cache.db").permissions();

  // Root ignores permissions: the check runs as nobody then, who must be
  // able to reach the folder.
  fs::permissions(dir.path(),
                  fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  const auto exit = test::run_unprivileged([&] { return check_unwritable(folder / "cache.db"); });
  INFO("exit code 125: the child could not drop its privileges");
  CHECK(exit.exited);
  CHECK(exit.code == 0);
  CHECK(fs::status(folder).permissions() == folder_mode);  // never widened
  CHECK(fs::status(folder / "cache.db").permissions() == file_mode);
  CHECK(test::file_names(folder) == std::set<std::string>{"cache.db"});
}

TEST_CASE("a child process using a store inherited through fork() works and deadlocks nothing",
          "[fork]") {
  test::TempDir dir;
  const fs::path db = dir / "cache.db";
  SqliteStore store(options_for(db));
  store.put("ns", "parent", std::string_view("before fork"));
  (void)store.get("ns", "parent");           // the pool now holds live connections
  auto reader = store.open("ns", "parent");  // and one is inside a read snapshot

  std::cout.flush();  // or the child's first write to std::cerr flushes a copy
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The child reopens its own connections (SqliteStore's header): it
    // reads what the parent wrote and writes beside it. A deadlock ends the
    // test by its timeout.
    int code = 0;
    try {
      if (store.get("ns", "parent")->text() != "before fork") code = 1;
      store.put("ns", "child", std::string_view("from the child"));
      if (store.get("ns", "child")->text() != "from the child") code = 1;
      if (store.list("ns").size() != 2) code = 1;
    } catch (const std::exception& e) {
      std::cerr << "fork child: " << e.what() << "\n";
      code = 2;
    }
    std::_Exit(code);  // the inherited store is the parent's to close
  }
  const auto exit = test::wait_for_exit(pid);
  CHECK(exit.exited);
  CHECK(exit.code == 0);
  CHECK(store.get("ns", "child")->text() == "from the child");
  reader.reset();
  store.put("ns", "after", std::string_view("parent still works"));
  CHECK(store.get("ns", "after")->text() == "parent still works");
  CHECK(store.list("ns").size() == 3);
  store.check();
  CHECK(verify_everything(db) == 3);
}

}  // namespace
}  // namespace blobcache
