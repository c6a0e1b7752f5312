// What an operation throws, for every test program and the contract suite:
// its blobcache::Error, that Error's Errc, or its message. From the test's
// own thread only: they use Catch2, which is not thread-safe.
#pragma once

#include <exception>
#include <string>

#include "blobcache/error.hpp"

#include "catch_compat.hpp"

namespace blobcache::test {

// The blobcache::Error `operation` throws; fails the test when it throws
// nothing or another exception.
template <typename Operation>
Error error_of(Operation&& operation) {
  try {
    operation();
  } catch (const Error& e) {
    // Shown with the caller's next assertion, e.g. CHECK(errc_of(...) == ...).
    UNSCOPED_INFO("message: " << e.what());
    return e;
  } catch (const std::exception& e) {
    FAIL("threw a non-blobcache exception: " << e.what());
  }
  FAIL("threw nothing");
  return Error(Errc{}, "");
}

// The Errc of the blobcache::Error `operation` throws; fails the test as
// error_of does.
template <typename Operation>
Errc errc_of(Operation&& operation) {
  return error_of(std::forward<Operation>(operation)).errc();
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
