#include "sqlite/metadata_codec.hpp"

#include "blobcache/error.hpp"

#include "catch_compat.hpp"

namespace blobcache::detail {
namespace {

Bytes bytes(std::initializer_list<int> values) {
  Bytes out;
  for (const int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

TEST_CASE("metadata encodes and decodes exactly", "[codec]") {
  const MetadataMap empty;
  CHECK(encode_metadata(empty).empty());
  CHECK(decode_metadata({}).empty());

  MetadataMap map{{"a", ""}, {"", "empty name"}, {std::string("\0x", 2), std::string(300, 'v')}};
  CHECK(decode_metadata(encode_metadata(map)) == map);
  CHECK(encode_metadata({{"k", "v"}}) == bytes({1, 1, 1, 'k', 1, 'v'}));
}

TEST_CASE("malformed metadata is reported as corrupt, never trusted", "[codec]") {
  const Bytes input =
      GENERATE(bytes({2}),                           // unknown version
               bytes({1}),                           // no count
               bytes({1, 0}),                        // zero count
               bytes({1, 100, 1, 'a', 1, 'b'}),      // count larger than the input
               bytes({1, 1, 5, 'a'}),                // length past the end
               bytes({1, 1, 1, 'k', 1, 'v', 0}),     // trailing bytes
               bytes({1, 2, 1, 'b', 0, 1, 'a', 0}),  // names out of order
               bytes({1, 2, 1, 'a', 0, 1, 'a', 0}),  // duplicate names
               bytes({1, 1, 0x81, 0x00, 0}),         // non-minimal varint
               // a tenth varint byte with bits past 63 (found by libFuzzer:
               // it decoded as length 0 and re-encoded differently)
               bytes({1, 1, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10}),
               bytes({1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}));
  try {
    decode_metadata(input);
    FAIL("accepted");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::corrupt);
  }
}

}  // namespace
}  // namespace blobcache::detail
