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

}  // namespace
}  // namespace blobcache
