#include "blobcache/error.hpp"

#include "catch_compat.hpp"

namespace blobcache {
namespace {

TEST_CASE("Errc values form the blobcache error category", "[error]") {
  CHECK(std::string(error_category().name()) == "blobcache");
  const std::error_code code = Errc::corrupt;
  CHECK(code.category() == error_category());
  CHECK(code == Errc::corrupt);
  CHECK(code != Errc::io);
  CHECK(static_cast<int>(Errc::store_not_configured) == 1);
}

TEST_CASE("every Errc has a name and a message", "[error]") {
  for (int value = 1; value <= static_cast<int>(Errc::unavailable); ++value) {
    const auto e = static_cast<Errc>(value);
    CHECK(errc_name(e) != "unknown");
    CHECK_FALSE(make_error_code(e).message().empty());
  }
  CHECK(errc_name(static_cast<Errc>(999)) == "unknown");
}

TEST_CASE("Error carries its Errc and message", "[error]") {
  const Error error(Errc::no_space, "put \"ns\"/\"k\": disk full");
  CHECK(error.errc() == Errc::no_space);
  CHECK(error.code() == Errc::no_space);
  CHECK(std::string(error.what()).find("disk full") != std::string::npos);
}

TEST_CASE("Error regression: what() is the message as built, no category text appended",
          "[error][regression]") {
  // std::system_error's what() gives "key \"\" is empty: invalid key".
  const Error error(Errc::invalid_key, "get \"ns\"/\"\": the key is empty");
  CHECK(std::string(error.what()) == "get \"ns\"/\"\": the key is empty");
  CHECK(error.code() == Errc::invalid_key);
  CHECK(error.code().category() == error_category());
  CHECK(error.code().message() == "invalid key");  // the category's text stays in code()

  const std::system_error& base = error;
  CHECK(std::string(base.what()) == "get \"ns\"/\"\": the key is empty");
  const Error copy = error;  // NOLINT(performance-unnecessary-copy-initialization)
  CHECK(std::string(copy.what()) == error.what());
  CHECK(copy.errc() == Errc::invalid_key);

  CHECK(std::string(Error(Errc::io, std::string("read \"f\": disk gone")).what()) ==
        "read \"f\": disk gone");
  // No message: the code's own text, once.
  CHECK(std::string(Error(make_error_code(Errc::busy)).what()) ==
        make_error_code(Errc::busy).message());
  CHECK(std::string(Error(Errc::busy, "").what()) == make_error_code(Errc::busy).message());
  CHECK(std::string(Error(static_cast<int>(Errc::corrupt), error_category(), "x").what()) == "x");
  CHECK(Error(static_cast<int>(Errc::corrupt), error_category()).errc() == Errc::corrupt);
}

TEST_CASE("Error can be thrown and caught as a std::system_error", "[error]") {
  try {
    throw Error(Errc::no_space, "put \"ns\"/\"k\": the disk is full");
  } catch (const std::system_error& e) {
    CHECK(e.code() == Errc::no_space);
    CHECK(std::string(e.what()) == "put \"ns\"/\"k\": the disk is full");
  }
}

}  // namespace
}  // namespace blobcache
