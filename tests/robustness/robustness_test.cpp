// Many processes, kills, corruption, full disks, read-only media and fork:
// nothing stored is lost or torn. Every test uses real processes and a real
// SQLite file in its own temporary folder.
#include <filesystem>
#include <fstream>
#include <random>
#include <sys/mount.h>
#include <sys/stat.h>

#include "blobcache/blobcache.hpp"

#include "catch_compat.hpp"
#include "processes.hpp"
#include "sha256_hex.hpp"
#include "temp_dir.hpp"

namespace blobcache {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

using test::sha256_hex;

template <typename Operation>
Error error_of(Operation&& operation) {
  try {
    operation();
  } catch (const Error& e) {
    return e;
  }
  FAIL("threw no blobcache::Error");
  return Error(Errc{}, "");
}

SqliteOptions options_for(const fs::path& path, OnCorruption on_corruption = OnCorruption::raise) {
  return SqliteOptions{.path = path, .busy_timeout = 30s, .on_corruption = on_corruption};
}

// Opens the file, runs check(), and re-reads every entry of every namespace,
// hashing it independently; returns how many entries it saw.
std::int64_t verify_everything(const fs::path& path) {
  SqliteStore store(options_for(path));
  store.check();
  std::int64_t entries = 0;
  for (const NamespaceInfo& space : store.namespaces()) {
    const auto objects = store.list(space.name);
    CHECK(static_cast<std::int64_t>(objects.size()) == space.entries);
    for (const Object& object : objects) {
      const auto blob = store.get(space.name, object.key);
      if (!blob) continue;  // cannot happen without another writer
      INFO(space.name << "/" << object.key);
      CHECK(blob->meta.size == static_cast<std::int64_t>(blob->data.size()));
      CHECK(blob->meta.etag == sha256_hex(blob->data));
      CHECK(blob->meta == object.meta);
      ++entries;
    }
  }
  const VerifyReport report = store.verify();
  CHECK(report.ok());
  CHECK(report.entries_checked == entries);
  return entries;
}

// The names of the files in `folder`.
std::vector<std::string> files_in(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST_CASE("16 processes opening one new file at the same instant all succeed", "[processes]") {
  test::TempDir dir;
  const fs::path db = dir / "cache" / "new.db";
  const auto start = std::chrono::system_clock::now() + 300ms;
  const auto start_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(start.time_since_epoch()).count();
  std::vector<pid_t> pids;
  for (int i = 0; i < 16; ++i) {
    pids.push_back(test::spawn(
        {test::worker_path(), "open", db.string(), std::to_string(start_ns), std::to_string(i)}));
  }
  for (const pid_t pid : pids) {
    const auto exit = test::wait_for(pid, 120s);
    CHECK(exit.exited);
    CHECK(exit.code == 0);
  }
  SqliteStore store(options_for(db));
  CHECK(store.list("race").size() == 16);
}

TEST_CASE("4 processes x 2 threads of mixed operations: no errors, no torn reads", "[processes]") {
  test::TempDir dir;
  const fs::path db = dir / "shared.db";
  SqliteStore(options_for(db)).put("shared", "seed", std::string_view("x"));  // create it once
  const int ops = test::small_scale() ? 150 : 600;
  std::vector<pid_t> pids;
  for (int p = 0; p < 4; ++p) {
    pids.push_back(test::spawn({test::worker_path(), "stress", db.string(), std::to_string(p + 1),
                                "2", std::to_string(ops)}));
  }
  for (const pid_t pid : pids) {
    const auto exit = test::wait_for(pid, 600s);
    INFO("exit code 1 means a torn read, 2 an error other than a miss");
    CHECK(exit.exited);
    CHECK(exit.code == 0);
  }
  verify_everything(db);
  CHECK(files_in(dir.path()) == std::vector<std::string>{"shared.db"});  // WAL folded in at close
}

// How long a new writer takes to store its first entry in a new file. Under
// a sanitizer on a loaded machine that can exceed the whole kill window, and
// a loop whose kills all land before the first write tests nothing.
std::chrono::milliseconds time_to_first_write(const fs::path& db) {
  const auto start = std::chrono::steady_clock::now();
  const pid_t writer = test::spawn({test::worker_path(), "write", db.string(), "999"});
  while (std::chrono::steady_clock::now() - start < 60s) {
    try {
      if (fs::exists(db) && !SqliteStore(options_for(db)).namespaces().empty()) break;
    } catch (const Error&) {  // NOLINT(bugprone-empty-catch): still being created
    }
    std::this_thread::sleep_for(5ms);
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ::kill(writer, SIGKILL);
  test::wait_for(writer, 30s);
  return std::chrono::duration_cast<std::chrono::milliseconds>(elapsed);
}

TEST_CASE("kill loop: a writer SIGKILLed at any moment leaves a whole, verified file",
          "[processes][kill]") {
  test::TempDir dir;
  const fs::path db = dir / "killed.db";
  std::mt19937 rng(20261123);
  const int rounds = 50;
  const auto first_write = time_to_first_write(dir / "calibration.db");
  INFO("a writer's first entry took " << first_write.count() << " ms");
  // Kills land anywhere from the open to well into the writing.
  const auto max_ms = (test::small_scale() ? 150 : 300) + first_write.count();
  std::int64_t seen = 0;
  for (int round = 0; round < rounds; ++round) {
    INFO("round " << round);
    const pid_t victim =
        test::spawn({test::worker_path(), "write", db.string(), std::to_string(2 * round)});
    const pid_t survivor =
        test::spawn({test::worker_path(), "write", db.string(), std::to_string(2 * round + 1)});
    std::this_thread::sleep_for(
        std::chrono::milliseconds(20 + rng() % static_cast<unsigned>(max_ms)));
    ::kill(victim, SIGKILL);
    const auto victim_exit = test::wait_for(victim, 30s);
    CHECK(victim_exit.signal == SIGKILL);  // it was still writing, not failed
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 20));
    ::kill(survivor, SIGKILL);
    test::wait_for(survivor, 30s);
    seen += verify_everything(db);
  }
  CHECK(seen > 0);
}

TEST_CASE("a file that is not SQLite: raise names the path, quarantine moves it aside",
          "[corruption]") {
  test::TempDir dir;
  const fs::path db = dir / "cache.db";
  {
    std::ofstream out(db, std::ios::binary);
    out << std::string(10'000, 'G') << "this is not a database";
  }
  const Error error = error_of([&] { SqliteStore store(options_for(db, OnCorruption::raise)); });
  CHECK(error.code() == Errc::corrupt);
  CHECK(std::string(error.what()).find(db.string()) != std::string::npos);
  CHECK(fs::file_size(db) == 10'022);  // raise leaves the file alone

  SqliteStore store(options_for(db, OnCorruption::quarantine));
  const auto moved = store.quarantined();
  REQUIRE(moved.has_value());
  CHECK(moved->parent_path() == dir.path());
  CHECK(moved->filename().string().rfind("cache.db.corrupt-", 0) == 0);
  CHECK(fs::file_size(*moved) == 10'022);
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

TEST_CASE("a blob whose bytes rotted is corrupt for that entry; others still read",
          "[corruption]") {
  test::TempDir dir;
  const fs::path db = dir / "cache.db";
  const std::string marker = "ROT-MARKER-" + std::string(200, 'm');
  const std::string victim_value = std::string(100'000, 'a') + marker + std::string(100'000, 'z');
  {
    SqliteStore store(options_for(db));
    store.put("ns", "victim", std::string_view(victim_value));
    store.put("ns", "healthy", std::string_view("still fine"));
  }
  {
    std::fstream file(db, std::ios::in | std::ios::out | std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(file)),
                            std::istreambuf_iterator<char>());
    const auto at = bytes.find(marker);
    REQUIRE(at != std::string::npos);
    file.seekp(static_cast<std::streamoff>(at + 3));
    file.put('X');  // one flipped byte in the middle of the value
  }
  SqliteStore store(options_for(db));
  CHECK(error_of([&] { store.get("ns", "victim"); }).code() == Errc::corrupt);
  auto reader = store.open("ns", "victim");
  REQUIRE(reader != nullptr);
  CHECK(error_of([&] {
          std::byte buffer[4096];
          while (reader->read(buffer) != 0) {
          }
        }).code() == Errc::corrupt);
  reader.reset();
  CHECK(store.get("ns", "healthy")->text() == "still fine");
  const VerifyReport report = store.verify();
  REQUIRE(report.failures.size() == 1);
  CHECK(report.failures[0].key == "victim");
}

bool can_mount_tmpfs() {
  return ::geteuid() == 0 &&
         test::run({"unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"}, 30s)
                 .code == 0;
}

TEST_CASE(
    "a full disk gives no_space, keeps every earlier entry, and works again once space is freed",
    "[disk]") {
  if (!can_mount_tmpfs()) {
    WARN("cannot mount a tmpfs here (needs root); the RLIMIT_FSIZE case below still runs");
    return;
  }
  test::TempDir dir;
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
  const auto exit = test::run({"unshare", "-m", "sh", "-c", script, "sh", mount_point.string(),
                               test::worker_path(), dir.path().string()},
                              300s);
  REQUIRE(exit.exited);
  CHECK(exit.code == 0);
  CHECK(verify_everything(dir / "cache.db") > 100);
}

TEST_CASE("a file size limit (RLIMIT_FSIZE) gives no_space and loses nothing", "[disk]") {
  test::TempDir dir;
  const fs::path db = dir / "cache.db";
  fill_store(db, 20);
  const auto limit = std::to_string(fs::file_size(db) + 3 * 1024 * 1024);
  const auto exit = test::run(
      {"prlimit", "--fsize=" + limit + ":unlimited", test::worker_path(), "fill", db.string()},
      300s);
  REQUIRE(exit.exited);
  CHECK(exit.code == 0);
  CHECK(verify_everything(db) > 20);
  SqliteStore store(options_for(db));
  store.put("after", "limit", std::string(1'000'000, 'x'));  // no limit here: works again
  CHECK(store.get("after", "limit")->data.size() == 1'000'000);
}

TEST_CASE("a store file or folder that cannot be written gives read_only naming the path",
          "[readonly]") {
  test::TempDir dir;
  const fs::path folder = dir / "ro";
  const fs::path db = folder / "cache.db";
  fs::create_directory(folder);
  {
    SqliteStore store(options_for(db));
    store.put("ns", "k", std::string_view("kept"));
  }
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(folder, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                              fs::perms::group_exec | fs::perms::others_read |
                              fs::perms::others_exec);
  fs::permissions(db, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  const auto folder_mode = fs::status(folder).permissions();
  const auto file_mode = fs::status(db).permissions();

  // Root ignores permissions: the check runs as "nobody" then.
  std::vector<std::string> prefix;
  if (::geteuid() == 0) prefix = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
  auto argv = prefix;
  argv.insert(argv.end(), {test::worker_path(), "readonly", db.string()});
  const auto exit = test::run(argv, 60s);
  CHECK(exit.exited);
  CHECK(exit.code == 0);
  CHECK(fs::status(folder).permissions() == folder_mode);  // never widened
  CHECK(fs::status(db).permissions() == file_mode);
  CHECK(files_in(folder) == std::vector<std::string>{"cache.db"});
}

TEST_CASE("a child process using a store inherited through fork() works and deadlocks nothing",
          "[fork]") {
  test::TempDir dir;
  const fs::path db = dir / "cache.db";
  SqliteStore store(options_for(db));
  store.put("ns", "parent", std::string_view("before fork"));
  (void)store.get("ns", "parent");           // the pool now holds live connections
  auto reader = store.open("ns", "parent");  // and one is inside a read snapshot

  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::alarm(60);  // a deadlock becomes a SIGALRM, which the parent sees
    int code = 0;
    try {
      store.put("ns", "child", std::string_view("from the child"));
      if (store.get("ns", "parent")->text() != "before fork") code = 1;
      if (store.get("ns", "child")->text() != "from the child") code = 1;
    } catch (const Error& e) {
      // A clear error is acceptable; a deadlock or a crash is not.
      code = e.code() == Errc::unsupported ? 0 : 2;
    } catch (...) {
      code = 3;
    }
    std::_Exit(code);
  }
  const auto exit = test::wait_for(pid, 90s);
  CHECK(exit.exited);
  CHECK(exit.code == 0);
  reader.reset();
  store.put("ns", "after", std::string_view("parent still works"));
  CHECK(store.get("ns", "after")->text() == "parent still works");
  store.check();
  CHECK(verify_everything(db) >= 2);
}

}  // namespace
}  // namespace blobcache
