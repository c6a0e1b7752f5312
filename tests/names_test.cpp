#include "blobcache/names.hpp"

#include <string>

#include "blobcache/error.hpp"

#include "catch_compat.hpp"

namespace blobcache {
namespace {

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

}  // namespace
}  // namespace blobcache
