// The backend contract: every guarantee a Store makes, one SECTION each.
#include "blobcache/testing/contract.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <fstream>
#include <sstream>
#include <streambuf>
#include <thread>

#include "blobcache/error.hpp"
#include "blobcache/store.hpp"

#include "bytes.hpp"
#include "catch_compat.hpp"
#include "errc_of.hpp"
#include "sha256_hex.hpp"

namespace blobcache::testing {
namespace {

using namespace std::chrono_literals;
using blobcache::test::errc_of;
using blobcache::test::pattern;
using blobcache::test::sha256_hex;

Bytes read_all(BlobReader& reader, std::size_t step) {
  Bytes out;
  Bytes buffer(step);
  while (const std::size_t n = reader.read(buffer)) {
    REQUIRE(n <= step);
    out.insert(out.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
  }
  return out;
}

// "" when equal; else a short description (Catch2 would print every byte).
std::string difference(const Bytes& actual, const Bytes& expected) {
  if (actual == expected) return {};
  const auto mismatch =
      std::mismatch(actual.begin(), actual.end(), expected.begin(), expected.end());
  return "sizes " + std::to_string(actual.size()) + " vs " + std::to_string(expected.size()) +
         ", first difference at byte " + std::to_string(mismatch.first - actual.begin());
}

std::vector<std::string> keys_of(const std::vector<Object>& objects) {
  std::vector<std::string> keys;
  for (const auto& object : objects) keys.push_back(object.key);
  return keys;
}

// A stream buffer that yields `good` bytes and then fails like a broken
// pipe or disk.
class FailingBuffer final : public std::streambuf {
 public:
  explicit FailingBuffer(std::size_t good) : good_(good) {}

 protected:
  int_type underflow() override {
    if (served_ >= good_) throw std::runtime_error("simulated read failure");
    const std::size_t n = std::min(chunk_.size(), good_ - served_);
    served_ += n;
    setg(chunk_.data(), chunk_.data(), chunk_.data() + n);
    return traits_type::to_int_type(chunk_[0]);
  }

 private:
  std::array<char, 4096> chunk_{};
  std::size_t good_;
  std::size_t served_ = 0;
};

std::string fresh_backing() {
  static std::atomic<int> counter{0};
  return "contract-" + std::to_string(++counter);
}

const std::vector<std::string>& bad_names() {
  static const std::vector<std::string> names = {
      "",
      "../escape",
      "a/../../b",
      "/a",
      "a/",
      "a//b",
      "a\\b",
      ".",
      "..",
      "a/./b",
      std::string("a\0b", 3),
      "a\nb",
      "tab\there",
      std::string("del\x7f", 4),
      std::string(1025, 'k'),
      "\xff\xfe",
      "\xc0\xaf",       // overlong '/'
      "\xed\xa0\x80",   // UTF-16 surrogate
      "trunc\xe2\x82",  // truncated sequence
  };
  return names;
}

}  // namespace

void run_store_contract(const StoreContract& contract) {
  REQUIRE(contract.open);
  const std::string backing = fresh_backing();
  std::shared_ptr<Store> store = contract.open(backing);
  REQUIRE(store != nullptr);

  SECTION("round trip with content type and metadata") {
    const PutOptions opts{.content_type = "application/json",
                          .expires_at = std::nullopt,
                          .metadata = {{"origin", "https://example.com/a?b=c"},
                                       {"empty", ""},
                                       {"unicode", "\xc3\xa9t\xc3\xa9"},
                                       {"binary", std::string("x\0y\n", 4)}}};
    const Meta put = store->put("ns", "key", std::string_view("{\"v\":1}"), opts);
    CHECK(put.size == 7);
    CHECK(put.content_type == "application/json");
    CHECK(put.metadata == opts.metadata);
    const auto got = store->get("ns", "key");
    REQUIRE(got.has_value());
    CHECK(got->text() == "{\"v\":1}");
    CHECK(got->meta == put);
  }

  SECTION("etag is the lowercase hex SHA-256 of the bytes") {
    CHECK(store->put("ns", "abc", std::string_view("abc")).etag ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(store->put("ns", "empty", BytesView{}).etag ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const Bytes data = pattern(100'003, 7);
    const Meta meta = store->put("ns", "big", data);
    CHECK(meta.etag == sha256_hex(data));
    CHECK(meta.size == static_cast<std::int64_t>(data.size()));
    const auto got = store->get("ns", "big");
    REQUIRE(got.has_value());
    CHECK(sha256_hex(got->data) == got->meta.etag);
    CHECK(difference(got->data, data).empty());
  }

  SECTION("namespaces are isolated") {
    store->put("one", "k", std::string_view("first"));
    store->put("two", "k", std::string_view("second"));
    store->put("a", "b/c", std::string_view("a + b/c"));
    store->put("a/b", "c", std::string_view("a/b + c"));
    CHECK(store->get("one", "k")->text() == "first");
    CHECK(store->get("two", "k")->text() == "second");
    CHECK(store->get("a", "b/c")->text() == "a + b/c");
    CHECK(store->get("a/b", "c")->text() == "a/b + c");
    CHECK_FALSE(store->get("a", "c").has_value());
    CHECK_FALSE(store->get("a/b", "b/c").has_value());
    store->erase("one", "k");
    CHECK(store->get("two", "k")->text() == "second");
  }

  SECTION("a missing key is a miss, not an error") {
    CHECK_FALSE(store->get("nothing", "here").has_value());
    CHECK(store->open("nothing", "here") == nullptr);
    store->put("ns", "present", std::string_view("x"));
    CHECK_FALSE(store->get("ns", "absent").has_value());
    CHECK(store->open("ns", "absent") == nullptr);
    CHECK_NOTHROW(store->erase("ns", "absent"));
    CHECK_NOTHROW(store->erase_namespace("never-used"));
    CHECK(store->list("never-used").empty());
  }

  SECTION("get_into replaces the caller's Blob on a hit and leaves it on a miss") {
    const PutOptions opts{.content_type = "text/plain",
                          .expires_at = std::nullopt,
                          .metadata = {{"origin", "get_into"}}};
    const Meta put = store->put("ns", "key", std::string_view("value"), opts);
    const Blob stale{.data = pattern(5000, 3),
                     .meta = {.size = 5000,
                              .updated_at = TimePoint{},
                              .expires_at = TimePoint{} + 1h,
                              .etag = "stale",
                              .content_type = "application/octet-stream",
                              .metadata = {{"left", "over"}}}};
    Blob out;
    // Twice: the first read may come from the backing, the second from a
    // backend's memory.
    for (int read = 0; read < 2; ++read) {
      INFO("read " << read);
      out = stale;
      REQUIRE(store->get_into("ns", "key", out));
      CHECK(out.text() == "value");
      CHECK(out.meta == put);
      CHECK(out.meta == store->get("ns", "key")->meta);
    }
    for (int read = 0; read < 2; ++read) {
      CHECK_FALSE(store->get_into("ns", "absent", out));
      CHECK_FALSE(store->get_into("elsewhere", "key", out));
    }
    CHECK(out.text() == "value");
    CHECK(out.meta == put);
    out = stale;
    CHECK_FALSE(store->get_into("ns", "absent", out));
    CHECK(out.meta == stale.meta);
    CHECK(difference(out.data, stale.data).empty());
  }

  SECTION("list after erase") {
    for (const char* key : {"k1", "k2", "k3"}) store->put("ns", key, std::string_view(key));
    store->erase("ns", "k2");
    CHECK(keys_of(store->list("ns")) == std::vector<std::string>{"k1", "k3"});
    CHECK_FALSE(store->get("ns", "k2").has_value());
    store->erase("ns", "k1");
    store->erase("ns", "k3");
    CHECK(store->list("ns").empty());
  }

  SECTION("list is sorted by key and carries each entry's meta") {
    const std::vector<std::string> keys = {"b", "a/b", "aa", "B", "\xc3\xa9", "a", "a-", "0"};
    for (const auto& key : keys) store->put("ns", key, std::string_view(key));
    std::vector<std::string> sorted = keys;
    std::sort(sorted.begin(), sorted.end());
    const auto listed = store->list("ns");
    CHECK(keys_of(listed) == sorted);
    for (const auto& object : listed) {
      CHECK(object.meta == store->get("ns", object.key)->meta);
    }
  }

  SECTION("erase_namespace clears only its namespace") {
    for (const char* ns : {"a", "a/b", "ab", "b"}) {
      store->put(ns, "k1", std::string_view(ns));
      store->put(ns, "k2", std::string_view(ns));
    }
    store->erase_namespace("a");
    CHECK(store->list("a").empty());
    CHECK_FALSE(store->get("a", "k1").has_value());
    for (const char* ns : {"a/b", "ab", "b"}) {
      CHECK(store->list(ns).size() == 2);
      CHECK(store->get(ns, "k1")->text() == ns);
    }
  }

  SECTION("put replaces the value and all of its metadata") {
    store->put(
        "ns", "k", std::string_view("old value"),
        {.content_type = "text/old", .expires_at = TimePoint{} + 1h, .metadata = {{"x", "1"}}});
    const Meta second = store->put("ns", "k", std::string_view("new"));
    const auto got = store->get("ns", "k");
    REQUIRE(got.has_value());
    CHECK(got->text() == "new");
    CHECK(got->meta == second);
    CHECK(got->meta.content_type.empty());
    CHECK_FALSE(got->meta.expires_at.has_value());
    CHECK(got->meta.metadata.empty());
    CHECK(store->list("ns").size() == 1);
  }

  SECTION("stream round trip (empty, small, several MiB)") {
    const auto size = GENERATE(std::size_t{0}, std::size_t{1000}, std::size_t{5 * 1024 * 1024 + 3});
    const Bytes data = pattern(size, 11);
    std::istringstream in(std::string(as_text(data)));
    const Meta meta =
        store->put_stream("stream", "blob", in, {.content_type = "application/octet-stream"});
    CHECK(meta.size == static_cast<std::int64_t>(size));
    CHECK(meta.etag == sha256_hex(data));
    auto reader = store->open("stream", "blob");
    REQUIRE(reader != nullptr);
    CHECK(reader->meta() == meta);
    CHECK(difference(read_all(*reader, 65'537), data).empty());
    CHECK(reader->read(std::span<std::byte>{}) == 0);
    const auto got = store->get("stream", "blob");
    REQUIRE(got.has_value());
    CHECK(difference(got->data, data).empty());
    CHECK(got->meta == meta);
  }

  SECTION("a reader sees the value as it was when opened") {
    const Bytes before = pattern(300'000, 1);
    const Bytes after = pattern(200'000, 2);
    store->put("ns", "k", before);
    auto reader = store->open("ns", "k");
    REQUIRE(reader != nullptr);
    Bytes first(1000);
    REQUIRE(reader->read(first) == first.size());
    store->put("ns", "k", after);
    Bytes rest = read_all(*reader, 4096);
    first.insert(first.end(), rest.begin(), rest.end());
    CHECK(difference(first, before).empty());
    CHECK(reader->meta().etag == sha256_hex(before));
    reader.reset();
    CHECK(difference(store->get("ns", "k")->data, after).empty());
  }

  SECTION("a cancelled put_stream leaves nothing visible") {
    store->put("ns", "k", std::string_view("kept"));
    std::stop_source stop;
    stop.request_stop();
    std::istringstream in(std::string(100'000, 'z'));
    CHECK(errc_of([&] { store->put_stream("ns", "k", in, {}, stop.get_token()); }) ==
          Errc::cancelled);
    CHECK(store->get("ns", "k")->text() == "kept");
    std::istringstream in2(std::string(100'000, 'z'));
    CHECK(errc_of([&] { store->put_stream("ns", "new", in2, {}, stop.get_token()); }) ==
          Errc::cancelled);
    CHECK_FALSE(store->get("ns", "new").has_value());
    CHECK(store->list("ns").size() == 1);
  }

  SECTION("a failing input stream gives io and leaves nothing visible") {
    store->put("ns", "k", std::string_view("kept"));
    FailingBuffer buffer(200'000);
    std::istream in(&buffer);
    CHECK(errc_of([&] { store->put_stream("ns", "k", in); }) == Errc::io);
    CHECK(store->get("ns", "k")->text() == "kept");
    CHECK(store->list("ns").size() == 1);
  }

  SECTION("regression: a stream that has already failed gives io, and the value stays") {
    // The guide's streaming example on a missing file stored an empty value.
    store->put("ns", "video.mkv", std::string_view("previous"));
    std::ifstream missing("/nonexistent/blobcache-contract/missing.mkv", std::ios::binary);
    REQUIRE(missing.fail());
    CHECK(errc_of([&] { store->put_stream("ns", "video.mkv", missing); }) == Errc::io);
    std::istringstream failed("data");
    failed.setstate(std::ios::failbit);
    CHECK(errc_of([&] { store->put_stream("ns", "video.mkv", failed); }) == Errc::io);
    std::istringstream bad("data");
    bad.setstate(std::ios::badbit);
    CHECK(errc_of([&] { store->put_stream("ns", "video.mkv", bad); }) == Errc::io);
    CHECK(store->get("ns", "video.mkv")->text() == "previous");
    CHECK(store->list("ns").size() == 1);
    // A stream already at its end is an empty value, not a failure.
    std::istringstream consumed("");
    consumed.get();
    REQUIRE(consumed.eof());
    CHECK(store->put_stream("ns", "empty", consumed).size == 0);
  }

  SECTION("failbit with eof is a stream's end; failbit alone is a failure") {
    store->put("ns", "k", std::string_view("kept"));
    std::istringstream text("12345");
    int number = 0;
    text >> number >> number;  // the second extraction meets the end: eof and fail
    REQUIRE(text.eof());
    CHECK(store->put_stream("ns", "after-parse", text).size == 0);
    std::istringstream letters("abc");
    letters >> number;  // fails before the end: failbit only
    REQUIRE(letters.fail());
    REQUIRE_FALSE(letters.eof());
    CHECK(errc_of([&] { store->put_stream("ns", "k", letters); }) == Errc::io);
    CHECK(store->get("ns", "k")->text() == "kept");
  }

  SECTION("bad namespaces and keys are rejected and nothing is written") {
    store->put("ns", "existing", std::string_view("x"));
    const auto before = store->list("ns");
    for (const std::string& bad : bad_names()) {
      INFO("name: " << bad);
      std::istringstream in("data");
      CHECK(errc_of([&] { store->put(bad, "k", std::string_view("v")); }) ==
            Errc::invalid_namespace);
      CHECK(errc_of([&] { store->put("ns", bad, std::string_view("v")); }) == Errc::invalid_key);
      CHECK(errc_of([&] { store->put_stream(bad, "k", in); }) == Errc::invalid_namespace);
      CHECK(errc_of([&] { store->put_stream("ns", bad, in); }) == Errc::invalid_key);
      CHECK(errc_of([&] { store->get(bad, "k"); }) == Errc::invalid_namespace);
      CHECK(errc_of([&] { store->get("ns", bad); }) == Errc::invalid_key);
      Blob out;
      CHECK(errc_of([&] { store->get_into(bad, "k", out); }) == Errc::invalid_namespace);
      CHECK(errc_of([&] { store->get_into("ns", bad, out); }) == Errc::invalid_key);
      CHECK(errc_of([&] { store->open(bad, "k"); }) == Errc::invalid_namespace);
      CHECK(errc_of([&] { store->open("ns", bad); }) == Errc::invalid_key);
      CHECK(errc_of([&] { store->erase(bad, "k"); }) == Errc::invalid_namespace);
      CHECK(errc_of([&] { store->erase("ns", bad); }) == Errc::invalid_key);
      CHECK(errc_of([&] { store->erase_namespace(bad); }) == Errc::invalid_namespace);
      CHECK(errc_of([&] { store->list(bad); }) == Errc::invalid_namespace);
      CHECK(errc_of([&] { store->erase_expired(bad, TimePoint{}, 1s); }) ==
            Errc::invalid_namespace);
      const std::array batch = {
          PutRequest{.ns = "ns", .key = "good", .value = as_bytes("v"), .options = {}},
          PutRequest{.ns = "ns", .key = bad, .value = as_bytes("v"), .options = {}}};
      CHECK(errc_of([&] { store->put_many(batch); }) == Errc::invalid_key);
    }
    CHECK(store->list("ns") == before);
    CHECK_FALSE(store->get("ns", "good").has_value());
    CHECK(store->get("ns", "existing")->text() == "x");
  }

  SECTION("good names at the edges of the grammar are accepted") {
    const std::vector<std::string> good = {"a",  std::string(1024, 'k'), "a/b/c",  "...",    ".a",
                                           "a.", "\xf0\x9f\x98\x80",     "sp ace", "~/$HOME"};
    for (const std::string& name : good) {
      INFO("name: " << name);
      store->put(name, name, std::string_view("v"));
      CHECK(store->get(name, name)->text() == "v");
    }
  }

  SECTION("8 threads putting one key leave one consistent value") {
    constexpr int kThreads = 8;
    constexpr int kRounds = 10;
    std::vector<Bytes> candidates;
    for (int t = 0; t < kThreads; ++t)
      candidates.push_back(pattern(64 * 1024 + static_cast<std::size_t>(t) * 977,
                                   static_cast<std::uint32_t>(t + 100)));
    std::atomic<int> torn{0};
    std::atomic<int> errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        try {
          for (int round = 0; round < kRounds; ++round) {
            store->put("race", "key", candidates[static_cast<std::size_t>(t)]);
            if (const auto got = store->get("race", "key")) {
              if (sha256_hex(got->data) != got->meta.etag ||
                  got->meta.size != static_cast<std::int64_t>(got->data.size())) {
                ++torn;
              }
            }
          }
        } catch (...) {
          ++errors;
        }
      });
    }
    for (auto& thread : threads) thread.join();
    CHECK(errors == 0);
    CHECK(torn == 0);
    const auto got = store->get("race", "key");
    REQUIRE(got.has_value());
    CHECK(got->meta.etag == sha256_hex(got->data));
    CHECK(got->meta.size == static_cast<std::int64_t>(got->data.size()));
    CHECK(std::find(candidates.begin(), candidates.end(), got->data) != candidates.end());
    CHECK(store->list("race").size() == 1);
  }

  SECTION("updated_at, expires_at and metadata round-trip exactly") {
    const TimePoint expires = TimePoint{} + std::chrono::nanoseconds(1'900'000'000'123'456'789LL);
    const TimePoint early = TimePoint{} + std::chrono::nanoseconds(1);
    const Meta a = store->put("times", "a", std::string_view("a"),
                              {.content_type = {}, .expires_at = expires, .metadata = {}});
    const Meta b = store->put("times", "b", std::string_view("b"),
                              {.content_type = {}, .expires_at = early, .metadata = {}});
    std::map<std::string, std::string> many;
    for (int i = 0; i < 100; ++i)
      many["name-" + std::to_string(i)] = std::string(static_cast<std::size_t>(i), 'v');
    const Meta c = store->put("times", "c", std::string_view("c"),
                              {.content_type = "x/y", .expires_at = {}, .metadata = many});
    CHECK(a.expires_at == expires);
    CHECK(b.expires_at == early);
    CHECK(store->get("times", "a")->meta == a);
    CHECK(store->get("times", "b")->meta == b);
    CHECK(store->get("times", "c")->meta == c);
    CHECK(store->get("times", "c")->meta.metadata == many);
    const auto listed = store->list("times");
    REQUIRE(listed.size() == 3);
    CHECK(listed[0].meta == a);
    CHECK(listed[1].meta == b);
    CHECK(listed[2].meta == c);
    CHECK(a.updated_at.time_since_epoch().count() != 0);
  }

  SECTION("erase_expired honours expires_at and ttl, with the boundaries") {
    const TimePoint at = TimePoint{} + std::chrono::hours(24 * 365 * 40);
    const Meta fixed = store->put("exp", "fixed", std::string_view("1"),
                                  {.content_type = {}, .expires_at = at, .metadata = {}});
    const Meta aged = store->put("exp", "aged", std::string_view("2"));
    const TimePoint far = aged.updated_at + std::chrono::hours(24 * 365 * 100);
    const Meta pinned = store->put("exp", "pinned", std::string_view("3"),
                                   {.content_type = {}, .expires_at = far, .metadata = {}});
    store->put("other", "aged", std::string_view("4"));
    const Duration ttl = 10min;

    // Exactly at expires_at is not expired; one nanosecond later is.
    CHECK(store->erase_expired("exp", at, Duration::zero()) == 0);
    CHECK(store->erase_expired("exp", at + 1ns, Duration::zero()) == 1);
    CHECK_FALSE(store->get("exp", "fixed").has_value());

    // ttl <= 0 never expires by age.
    CHECK(store->erase_expired("exp", aged.updated_at + 1000h, Duration::zero()) == 0);
    CHECK(store->erase_expired("exp", aged.updated_at + 1000h, -1s) == 0);

    // Age exactly ttl is not expired; one nanosecond more is. The pinned
    // entry is older than ttl too, but its explicit expiry wins.
    const TimePoint latest = std::max(aged.updated_at, pinned.updated_at);
    CHECK(store->erase_expired("exp", aged.updated_at + ttl, ttl) == 0);
    CHECK(store->erase_expired("exp", latest + ttl + 1ns, ttl) == 1);
    CHECK_FALSE(store->get("exp", "aged").has_value());
    CHECK(store->get("exp", "pinned").has_value());
    CHECK(store->get("other", "aged").has_value());
    CHECK(store->erase_expired("exp", far + 1ns, ttl) == 1);
    CHECK(store->list("exp").empty());
    CHECK(store->get("other", "aged").has_value());
  }

  SECTION("put_many stores every request and returns their metas in order") {
    const Bytes big = pattern(70'000, 5);
    const std::array batch = {
        PutRequest{.ns = "batch",
                   .key = "a",
                   .value = as_bytes("alpha"),
                   .options = {.content_type = "text/plain", .expires_at = {}, .metadata = {}}},
        PutRequest{.ns = "batch", .key = "b", .value = big, .options = {}},
        PutRequest{.ns = "batch/2",
                   .key = "a",
                   .value = as_bytes(""),
                   .options = {.content_type = {}, .expires_at = {}, .metadata = {{"m", "1"}}}},
    };
    const auto metas = store->put_many(batch);
    REQUIRE(metas.size() == 3);
    CHECK(metas[0].etag == sha256_hex(as_bytes("alpha")));
    CHECK(metas[1].size == 70'000);
    CHECK(store->get("batch", "a")->meta == metas[0]);
    CHECK(difference(store->get("batch", "b")->data, big).empty());
    CHECK(store->get("batch/2", "a")->meta == metas[2]);
    CHECK(store->put_many({}).empty());
  }

  SECTION("namespaces() and verify() see every entry") {
    store->put("n1", "a", std::string_view("123"));
    store->put("n1", "b", std::string_view("45"));
    store->put("n1/x", "a", std::string_view("6"));
    try {
      const auto spaces = store->namespaces();
      REQUIRE(spaces.size() == 2);
      CHECK(spaces[0].name == "n1");
      CHECK(spaces[0].entries == 2);
      CHECK(spaces[0].bytes == 5);
      CHECK(spaces[1].name == "n1/x");
      CHECK(spaces[1].entries == 1);
      int calls = 0;
      const VerifyReport report = store->verify([&](const VerifyProgress& p) {
        ++calls;
        CHECK(p.entries_total == 3);
      });
      CHECK(report.ok());
      CHECK(report.entries_checked == 3);
      CHECK(report.bytes_checked == 6);
      CHECK(calls == 3);
    } catch (const Error& e) {
      REQUIRE(e.errc() == Errc::unsupported);
    }
  }

  SECTION("if_match: the current etag replaces, a stale one fails and writes nothing") {
    const Meta first = store->put("cond", "k", std::string_view("one"));
    if (!store->describe().supports_conditional_put) {
      CHECK(errc_of([&] {
              store->put("cond", "k", std::string_view("x"), {.if_match = first.etag});
            }) == Errc::unsupported);
      CHECK(store->get("cond", "k")->text() == "one");
    } else {
      const Meta second = store->put("cond", "k", std::string_view("two"),
                                     {.content_type = "t/2", .if_match = first.etag});
      CHECK(store->get("cond", "k")->meta == second);
      // `first.etag` is stale now.
      CHECK(errc_of([&] {
              store->put("cond", "k", std::string_view("three"), {.if_match = first.etag});
            }) == Errc::precondition_failed);
      CHECK(errc_of([&] {
              store->put("cond", "absent", std::string_view("x"), {.if_match = first.etag});
            }) == Errc::precondition_failed);
      CHECK_FALSE(store->get("cond", "absent").has_value());
      const auto kept = store->get("cond", "k");
      REQUIRE(kept.has_value());
      CHECK(kept->text() == "two");
      CHECK(kept->meta == second);
      // The message names the entry.
      try {
        store->put("cond", "k", std::string_view("three"), {.if_match = first.etag});
      } catch (const Error& e) {
        CHECK(std::string(e.what()).find("\"cond\"/\"k\"") != std::string::npos);
      }
    }
  }

  SECTION("if_match \"\" puts only when no entry exists, on every kind of put") {
    if (store->describe().supports_conditional_put) {
      const PutOptions absent{.if_match = std::string()};
      const Meta created = store->put("cond", "new", std::string_view("v1"), absent);
      CHECK(errc_of([&] { store->put("cond", "new", std::string_view("v2"), absent); }) ==
            Errc::precondition_failed);
      std::istringstream stream(std::string(300'000, 's'));
      CHECK(errc_of([&] { store->put_stream("cond", "new", stream, absent); }) ==
            Errc::precondition_failed);
      CHECK(store->get("cond", "new")->meta == created);
      std::istringstream fresh(std::string(300'000, 's'));
      CHECK(store->put_stream("cond", "streamed", fresh, absent).size == 300'000);
      // A batch with one failed condition stores nothing.
      const std::array batch = {
          PutRequest{.ns = "cond", .key = "batch-a", .value = as_bytes("a"), .options = absent},
          PutRequest{.ns = "cond", .key = "new", .value = as_bytes("b"), .options = absent},
      };
      CHECK(errc_of([&] { store->put_many(batch); }) == Errc::precondition_failed);
      CHECK_FALSE(store->get("cond", "batch-a").has_value());
      CHECK(store->get("cond", "new")->meta == created);
      const std::array good = {
          PutRequest{.ns = "cond", .key = "batch-a", .value = as_bytes("a"), .options = absent},
          PutRequest{.ns = "cond",
                     .key = "new",
                     .value = as_bytes("b"),
                     .options = {.if_match = created.etag}},
      };
      CHECK(store->put_many(good).size() == 2);
      CHECK(store->get("cond", "new")->text() == "b");
    }
  }

  SECTION("a malformed if_match is invalid_argument and writes nothing") {
    for (const std::string& bad : {std::string("abc"), std::string(64, 'A'),
                                   std::string(63, 'a') + "g", std::string(65, 'a')}) {
      CHECK(errc_of([&] { store->put("cond", "bad", std::string_view("x"), {.if_match = bad}); }) ==
            Errc::invalid_argument);
    }
    CHECK_FALSE(store->get("cond", "bad").has_value());
  }

  SECTION("if_match \"\": of 8 threads creating one key, exactly one wins") {
    if (store->describe().supports_conditional_put) {
      std::atomic<int> won{0};
      std::atomic<int> lost{0};
      std::atomic<int> other{0};
      std::vector<std::thread> threads;
      for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
          try {
            store->put("race", "once", as_bytes(std::to_string(t)), {.if_match = std::string()});
            ++won;
          } catch (const Error& e) {
            ++(e.errc() == Errc::precondition_failed ? lost : other);
          }
        });
      }
      for (auto& thread : threads) thread.join();
      CHECK(won == 1);
      CHECK(lost == 7);
      CHECK(other == 0);
    }
  }

  SECTION("stats() counts entries and bytes exactly, and hits and misses") {
    store->put("st", "a", std::string_view("12345"));
    store->put("st", "b", std::string_view("678"));
    store->put("st/x", "a", std::string_view("9"));
    store->put("st", "b", std::string_view("67"));  // a replace: bytes follow the new value
    store->erase("st/x", "a");
    try {
      store->reset_stats();
      CHECK(store->get("st", "a").has_value());
      CHECK(store->open("st", "b") != nullptr);
      CHECK_FALSE(store->get("st", "nothing").has_value());
      CHECK(store->open("st/none", "k") == nullptr);
      const Stats stats = store->stats();
      CHECK(stats.entries == 2);
      CHECK(stats.bytes == 7);
      const auto st = std::find_if(stats.namespaces.begin(), stats.namespaces.end(),
                                   [](const NamespaceStats& n) { return n.ns == "st"; });
      REQUIRE(st != stats.namespaces.end());
      CHECK(st->entries == 2);
      CHECK(st->bytes == 7);
      CHECK(std::is_sorted(
          stats.namespaces.begin(), stats.namespaces.end(),
          [](const NamespaceStats& a, const NamespaceStats& b) { return a.ns < b.ns; }));
      if (contract.counts_hits) {
        // A deep verify reads every entry; those reads are not lookups.
        CHECK(store->verify().ok());
        CHECK(store->stats().hits == 2);
        CHECK(st->hits == 2);
        CHECK(st->misses == 1);
        CHECK(stats.hits == 2);
        CHECK(stats.misses == 2);
        store->reset_stats();
        const Stats zeroed = store->stats();
        CHECK(zeroed.hits == 0);
        CHECK(zeroed.misses == 0);
        CHECK(zeroed.entries == 2);
      }
    } catch (const Error& e) {
      REQUIRE(e.errc() == Errc::unsupported);  // cannot enumerate namespaces
    }
  }

  SECTION("describe() names the backend") {
    const Info info = store->describe();
    CHECK_FALSE(info.backend.empty());
    CHECK(info.supports_list);
    CHECK_NOTHROW(store->check());
  }

  if (contract.persistent) {
    SECTION("data persists across instances") {
      const Bytes data = pattern(3 * 1024 * 1024, 9);
      const Meta meta = store->put("persist", "k", data,
                                   {.content_type = "a/b",
                                    .expires_at = TimePoint{} + 123456789ns,
                                    .metadata = {{"k", "v"}}});
      store.reset();
      auto reopened = contract.open(backing);
      const auto got = reopened->get("persist", "k");
      REQUIRE(got.has_value());
      CHECK(difference(got->data, data).empty());
      CHECK(got->meta == meta);
      CHECK(reopened->list("persist").size() == 1);
    }
  }
}

}  // namespace blobcache::testing
