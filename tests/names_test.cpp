#include "blobcache/names.hpp"

#include <string>

#include "blobcache/cache.hpp"
#include "blobcache/error.hpp"
#include "blobcache/memory_store.hpp"

#include "catch_compat.hpp"
#include "errc_of.hpp"

namespace blobcache {
namespace {

using namespace std::chrono_literals;
using test::message_of;

TEST_CASE("the name grammar accepts what it should", "[names]") {
  const std::string name =
      GENERATE(as<std::string>{}, "a", "a/b", "a/b/c", "...", ".x", "x.", "a b", "\xc3\xa9",
               "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf", std::string(1024, 'x'));
  CHECK(is_valid_name(name));
  CHECK_NOTHROW(validate_namespace(name));
  CHECK_NOTHROW(validate_key(name));
}

TEST_CASE("the name grammar rejects what it should, with the right Errc", "[names]") {
  const std::string name = GENERATE(
      as<std::string>{}, "", "/", "/a", "a/", "a//b", ".", "..", "a/..", "../a", "a/./b", "a\\b",
      std::string(1, '\0'), "a\x01", "a\x1f", "a\x7f", std::string(1025, 'x'), "\x80", "\xc2",
      "\xc0\x80", "\xe0\x80\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff");
  INFO("bytes: " << name.size());
  CHECK_FALSE(is_valid_name(name));
  try {
    validate_namespace(name);
    FAIL("accepted");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::invalid_namespace);
    CHECK(std::string(e.what()).find("namespace") != std::string::npos);
  }
  try {
    validate_key(name);
    FAIL("accepted");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::invalid_key);
  }
}

TEST_CASE("error messages show bad bytes escaped", "[names]") {
  try {
    validate_key(std::string("a\0b", 3));
    FAIL("accepted");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("a\\x00b") != std::string::npos);
  }
}

TEST_CASE("names regression: validation messages are one sentence, no category text",
          "[names][regression]") {
  CHECK(message_of([] { validate_key(""); }) == "key \"\" is empty");
  CHECK(message_of([] { validate_namespace("a//b"); }) ==
        "namespace \"a//b\" has an empty segment (leading, trailing or doubled '/')");

  // Store names the operation and both names.
  MemoryStore store;
  CHECK(message_of([&] { (void)store.get("ns", ""); }) == "get \"ns\"/\"\": the key is empty");
  CHECK(message_of([&] { store.put("a/../b", "k", std::string_view("v")); }) ==
        "put \"a/../b\"/\"k\": the namespace has a '.' or '..' segment");
  CHECK(message_of([&] { (void)store.open("ns", "a\\b"); }) ==
        "open \"ns\"/\"a\\b\": the key contains a backslash");
  CHECK(message_of([&] { store.erase_namespace(""); }) ==
        "erase_namespace \"\": the namespace is empty");
  CHECK(message_of([&] { (void)store.list(std::string("a\0", 2)); }) ==
        "list \"a\\x00\": the namespace contains a NUL or control character");
  CHECK(message_of([&] { (void)store.erase_expired(".", TimePoint{}, Duration{}); }) ==
        "erase_expired \".\": the namespace has a '.' or '..' segment");
  const PutRequest batch[] = {{.ns = "ns", .key = "ok", .value = {}, .options = {}},
                              {.ns = "ns", .key = "/k", .value = {}, .options = {}}};
  CHECK(message_of([&] { (void)store.put_many(batch); }) ==
        "put_many (nothing stored), at \"ns\"/\"/k\": the key has an empty segment (leading, "
        "trailing or doubled '/')");
  CHECK(message_of([&] { Cache(std::make_shared<MemoryStore>(), "..", 1s); }) ==
        "Cache \"..\": the namespace has a '.' or '..' segment");
}

}  // namespace
}  // namespace blobcache
