// The Errc and message an operation throws, for every test program.
#pragma once

#include <exception>
#include <string>

#include "blobcache/error.hpp"

#include "catch_compat.hpp"

namespace blobcache::test {

// The Errc of the blobcache::Error `operation` throws; fails the test when
// it throws nothing or another exception.
template <typename Operation>
Errc errc_of(Operation&& operation) {
  try {
    operation();
  } catch (const Error& e) {
    INFO("message: " << e.what());
    return e.errc();
  } catch (const std::exception& e) {
    FAIL("threw a non-blobcache exception: " << e.what());
  }
  FAIL("threw nothing");
  return Errc{};
}

// The what() of the blobcache::Error `operation` throws; fails the test
// when it throws nothing or another exception.
template <typename Operation>
std::string message_of(Operation&& operation) {
  try {
    operation();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL("threw a non-blobcache exception: " << e.what());
  }
  FAIL("threw nothing");
  return {};
}

}  // namespace blobcache::test
