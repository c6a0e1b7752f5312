// The tool's commands run against a MemoryStore (and a faulty wrapper of
// one), without the binary: output, JSON documents and exit codes.
#include "commands.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "blobcache/blobcache.hpp"

#include "catch_compat.hpp"
#include "files.hpp"
#include "fixed_clock.hpp"
#include "format.hpp"
#include "temp_dir.hpp"

namespace blobcache::tool {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::read_file;

const TimePoint kT0 = TimePoint{} + 1'800'000'000s;  // 2027-01-15T08:00:00Z

// Forwards to a MemoryStore; can refuse writes like a read-only SqliteStore
// and hand out readers that flip one byte, like a damaged chunk would.
class FaultyStore final : public Store {
 public:
  explicit FaultyStore(std::shared_ptr<const Clock> clock) : inner_("faulty", std::move(clock)) {}
  enum class Reads { normal, flip_a_byte, fail };
  bool read_only = false;
  Reads reads = Reads::normal;

 protected:
  std::optional<Blob> do_get(std::string_view ns, std::string_view key) override {
    return inner_.get(ns, key);
  }
  Meta do_put(std::string_view ns, std::string_view key, BytesView value,
              const PutOptions& opts) override {
    refuse_if_read_only();
    return inner_.put(ns, key, value, opts);
  }
  std::unique_ptr<BlobReader> do_open(std::string_view ns, std::string_view key) override {
    auto reader = inner_.open(ns, key);
    if (!reader || reads == Reads::normal) return reader;
    return std::make_unique<DamagedReader>(std::move(reader), reads == Reads::fail);
  }
  Meta do_put_stream(std::string_view ns, std::string_view key, std::istream& in,
                     const PutOptions& opts, std::stop_token stop) override {
    refuse_if_read_only();
    return inner_.put_stream(ns, key, in, opts, std::move(stop));
  }
  void do_erase(std::string_view ns, std::string_view key) override {
    refuse_if_read_only();
    inner_.erase(ns, key);
  }
  void do_erase_namespace(std::string_view ns) override {
    refuse_if_read_only();
    inner_.erase_namespace(ns);
  }
  std::vector<Object> do_list(std::string_view ns) override { return inner_.list(ns); }
  std::vector<NamespaceInfo> do_namespaces() override { return inner_.namespaces(); }

 private:
  // Flips the first byte read, or fails like a chunk whose check failed.
  class DamagedReader final : public BlobReader {
   public:
    DamagedReader(std::unique_ptr<BlobReader> inner, bool fail)
        : inner_(std::move(inner)), fail_(fail) {}
    std::size_t read(std::span<std::byte> out) override {
      if (fail_) throw Error(Errc::corrupt, "read: chunk 0 failed its check");
      const std::size_t n = inner_->read(out);
      if (n > 0 && !flipped_) {
        out[0] ^= std::byte{0x01};
        flipped_ = true;
      }
      return n;
    }
    const Meta& meta() const noexcept override { return inner_->meta(); }

   private:
    std::unique_ptr<BlobReader> inner_;
    bool fail_;
    bool flipped_ = false;
  };

  void refuse_if_read_only() const {
    if (read_only) throw Error(Errc::read_only, "write to a read-only test store");
  }

  MemoryStore inner_;
};

struct Result {
  int code;
  std::string out;
  std::string err;
  json document() const { return json::parse(out); }
};

class Fixture {
 public:
  Fixture() : clock_(std::make_shared<test::FixedClock>(kT0)), store(clock_) {}

  Result run(const Command& command, bool json_output = false, std::string input = {}) {
    std::istringstream in(std::move(input));
    std::ostringstream out;
    std::ostringstream err;
    Context context{.store = store,
                    .db = dir / "cache.db",
                    .json = json_output,
                    .in = in,
                    .out = out,
                    .err = err,
                    .now = clock_->now()};
    const int code = tool::run(context, command);
    return {code, out.str(), err.str()};
  }
  void advance(Duration d) { clock_->advance(d); }

 private:
  std::shared_ptr<test::FixedClock> clock_;

 public:
  FaultyStore store;
  test::TempDir dir;
};

std::string binary_value() {
  std::string value;
  for (int i = 0; i < 70'000; ++i) value.push_back(static_cast<char>(i % 251));
  value[10] = '\0';
  return value;
}

TEST_CASE("put from stdin prints the Meta; get gives the bytes back", "[tool][commands]") {
  Fixture f;
  const std::string value = binary_value();
  PutCommand put{.ns = "img", .key = "a/b.bin"};
  put.options.content_type = "application/octet-stream";
  put.options.metadata = {{"origin", "x=y"}};
  put.ttl = 2h;
  const Result stored = f.run(put, true, value);
  REQUIRE(stored.code == kExitOk);
  const json meta = stored.document().at("meta");
  CHECK(meta.at("size") == value.size());
  CHECK(meta.at("content_type") == "application/octet-stream");
  CHECK(meta.at("metadata").at("origin") == "x=y");
  CHECK(meta.at("expires_at") == format_time(kT0 + 2h));
  CHECK(meta.at("etag").get<std::string>().size() == 64);

  const Result got = f.run(GetCommand{.ns = "img", .key = "a/b.bin"});
  CHECK(got.code == kExitOk);
  CHECK(got.out == value);

  const Result human = f.run(PutCommand{.ns = "img", .key = "t"}, false, "hello");
  CHECK(human.code == kExitOk);
  CHECK(human.out.find("etag") != std::string::npos);
  CHECK(human.out.find("5 (5 B)") != std::string::npos);
}

TEST_CASE("get -o writes the file; a missing entry exits 1 and writes nothing",
          "[tool][commands]") {
  Fixture f;
  f.store.put("ns", "k", std::string_view("payload"));
  const auto target = f.dir / "out.bin";
  const Result got = f.run(GetCommand{.ns = "ns", .key = "k", .output = target}, true);
  REQUIRE(got.code == kExitOk);
  CHECK(got.document().at("meta").at("size") == 7);
  CHECK(read_file(target) == "payload");

  const auto absent = f.dir / "absent.bin";
  const Result missing = f.run(GetCommand{.ns = "ns", .key = "nope", .output = absent});
  CHECK(missing.code == kExitNotFound);
  CHECK(missing.err.find("entry_not_found") != std::string::npos);
  CHECK(missing.err.find("cache.db") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(absent));
}

TEST_CASE("get -o leaves no file behind when the value fails its check", "[tool][commands]") {
  Fixture f;
  f.store.put("ns", "k", std::string_view("payload"));
  f.store.reads = FaultyStore::Reads::fail;
  const auto target = f.dir / "out.bin";
  const Result got = f.run(GetCommand{.ns = "ns", .key = "k", .output = target});
  CHECK(got.code == kExitFailure);
  CHECK(got.err.find("corrupt") != std::string::npos);
  CHECK(std::filesystem::is_empty(f.dir.path()));  // neither out.bin nor a partial file
}

TEST_CASE("ls lists namespaces with totals, and a namespace's entries", "[tool][commands]") {
  Fixture f;
  f.store.put("a", "one", std::string_view("12345"));
  f.store.put("a", "two", std::string_view("123"),
              PutOptions{.content_type = "text/plain", .expires_at = kT0 + 1h});
  f.store.put("a/b", "x", std::string_view("1"), PutOptions{.expires_at = kT0 - 1s});
  f.advance(192s);

  const json all = f.run(LsCommand{}, true).document();
  REQUIRE(all.at("namespaces").size() == 2);
  CHECK(all.at("namespaces")[0] == json{{"name", "a"}, {"entries", 2}, {"bytes", 8}});
  CHECK(all.at("namespaces")[1] == json{{"name", "a/b"}, {"entries", 1}, {"bytes", 1}});

  const json entries = f.run(LsCommand{.ns = "a"}, true).document().at("entries");
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].at("key") == "one");
  CHECK(entries[0].at("age_seconds") == 192.0);
  CHECK(entries[0].at("expires_in_seconds").is_null());
  CHECK(entries[1].at("key") == "two");
  CHECK(entries[1].at("expires_in_seconds") == 3600.0 - 192.0);
  CHECK(entries[1].at("meta").at("content_type") == "text/plain");
  CHECK(f.run(LsCommand{.ns = "a/b"}, true).document().at("entries")[0].at("expired") == true);

  const Result human = f.run(LsCommand{.ns = "a"});
  CHECK(human.code == kExitOk);
  CHECK(human.out.rfind("KEY", 0) == 0);
  CHECK(human.out.find("3m12s") != std::string::npos);
  CHECK(human.out.find("56m48s") != std::string::npos);  // 1h - 3m12s
  CHECK(f.run(LsCommand{}).out.find("8 B") != std::string::npos);
}

TEST_CASE("rm and rm-ns report what was there; missing targets exit 1 unless forced",
          "[tool][commands]") {
  Fixture f;
  f.store.put("ns", "k1", std::string_view("a"));
  f.store.put("ns", "k2", std::string_view("bb"));
  f.store.put("ns/sub", "k", std::string_view("c"));

  CHECK(f.run(RmCommand{.ns = "ns", .key = "k1"}).code == kExitOk);
  CHECK_FALSE(f.store.get("ns", "k1"));
  const Result again = f.run(RmCommand{.ns = "ns", .key = "k1"});
  CHECK(again.code == kExitNotFound);
  CHECK(again.err.find("entry_not_found") != std::string::npos);
  CHECK(f.run(RmCommand{.ns = "ns", .key = "k1", .force = true}, true).document().at("removed") ==
        false);

  const json removed = f.run(RmNsCommand{.ns = "ns"}, true).document();
  CHECK(removed.at("entries") == 1);
  CHECK(removed.at("bytes") == 2);
  CHECK(f.store.list("ns").empty());
  CHECK(f.store.list("ns/sub").size() == 1);  // a namespace is a name, not a folder
  CHECK(f.run(RmNsCommand{.ns = "ns"}).code == kExitNotFound);
  CHECK(f.run(RmNsCommand{.ns = "ns", .force = true}).code == kExitOk);
}

TEST_CASE("clean erases expired entries in one or every namespace", "[tool][commands]") {
  Fixture f;
  f.store.put("a", "old", std::string_view("x"), PutOptions{.expires_at = kT0 - 1h});
  f.store.put("a", "new", std::string_view("x"), PutOptions{.expires_at = kT0 + 1h});
  f.store.put("b", "old", std::string_view("x"), PutOptions{.expires_at = kT0 - 1s});
  f.store.put("b", "ttl", std::string_view("x"));
  f.advance(10min);

  const json one = f.run(CleanCommand{.ns = "a"}, true).document();
  CHECK(one.at("erased") == 1);
  CHECK(f.store.list("b").size() == 2);

  const Result all = f.run(CleanCommand{});
  CHECK(all.code == kExitOk);
  CHECK(all.out.find("erased 1 expired entry") != std::string::npos);
  CHECK(f.store.list("b").size() == 1);

  CHECK(f.run(CleanCommand{.ttl = 5min}, true).document().at("erased") == 1);
  CHECK(f.store.list("b").empty());
  CHECK(f.store.list("a").size() == 1);
}

TEST_CASE("info describes the store and the file set", "[tool][commands]") {
  Fixture f;
  f.store.put("ns", "k", std::string_view("abc"));
  { std::ofstream(f.dir / "cache.db") << "0123456789"; }
  const json info = f.run(InfoCommand{}, true).document();
  CHECK(info.at("files").at("db").at("bytes") == 10);
  CHECK(info.at("files").at("wal").at("bytes").is_null());
  CHECK(info.at("entries") == 1);
  CHECK(info.at("bytes") == 3);
  CHECK(f.run(InfoCommand{}).out.find("(absent)") != std::string::npos);
}

TEST_CASE("check --deep reports entries whose bytes do not match their etag", "[tool][commands]") {
  Fixture f;
  f.store.put("ns", "good", std::string_view("fine"));
  CHECK(f.run(CheckCommand{}).code == kExitOk);
  const json ok = f.run(CheckCommand{.deep = true}, true).document();
  CHECK(ok.at("ok") == true);
  CHECK(ok.at("entries_checked") == 1);

  f.store.reads = FaultyStore::Reads::flip_a_byte;
  const Result bad = f.run(CheckCommand{.deep = true}, true);
  CHECK(bad.code == kExitFailure);
  CHECK(bad.err.find("corrupt") != std::string::npos);
  const json report = bad.document();
  CHECK(report.at("ok") == false);
  REQUIRE(report.at("failures").size() == 1);
  CHECK(report.at("failures")[0].at("key") == "good");
}

TEST_CASE("library errors map to exit codes with the Errc name", "[tool][commands]") {
  Fixture f;
  f.store.put("ns", "k", std::string_view("v"));
  f.store.read_only = true;
  const Result put = f.run(PutCommand{.ns = "ns", .key = "k2"}, false, "x");
  CHECK(put.code == kExitFailure);
  CHECK(put.err.find("read_only") != std::string::npos);
  CHECK(f.run(RmCommand{.ns = "ns", .key = "k"}).code == kExitFailure);
  CHECK(f.run(PutCommand{.ns = "ns", .key = "k", .input = (f.dir / "none").string()}).code ==
        kExitNotFound);
  CHECK(f.run(LsCommand{.ns = "bad//ns"}).code == kExitUsage);
}

}  // namespace
}  // namespace blobcache::tool
