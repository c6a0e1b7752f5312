#include "sqlite/metadata_codec.hpp"

#include <cstdint>

#include "errors.hpp"

namespace blobcache::detail {
namespace {

constexpr std::byte kVersion1{0x01};

void put_varint(Bytes& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<std::byte>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<std::byte>(value));
}

void put_string(Bytes& out, const std::string& text) {
  put_varint(out, text.size());
  const BytesView bytes = as_bytes(text);
  out.insert(out.end(), bytes.begin(), bytes.end());
}

class Reader {
 public:
  explicit Reader(BytesView input) : input_(input) {}

  std::uint64_t varint() {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const auto byte = std::to_integer<std::uint64_t>(next());
      // The tenth byte holds bit 63 only; higher bits would be shifted out
      // silently, and two encodings would decode alike.
      if (shift == 63 && (byte & 0x7E) != 0) fail("length overflows 64 bits");
      value |= (byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) {
        if (byte == 0 && shift > 0) fail("non-minimal length");
        return value;
      }
    }
    fail("length overflows 64 bits");
  }

  std::string string() {
    const std::uint64_t length = varint();
    if (length > input_.size() - position_) fail("length runs past the end");
    const std::string text(as_text(input_.subspan(position_, length)));
    position_ += length;
    return text;
  }

  std::byte next() {
    if (position_ >= input_.size()) fail("truncated");
    return input_[position_++];
  }

  bool at_end() const noexcept { return position_ == input_.size(); }
  std::size_t remaining() const noexcept { return input_.size() - position_; }

  [[noreturn]] static void fail(const char* why) {
    throw_error(Errc::corrupt, std::string("metadata encoding is invalid: ") + why);
  }

 private:
  BytesView input_;
  std::size_t position_ = 0;
};

}  // namespace

Bytes encode_metadata(const MetadataMap& metadata) {
  Bytes out;
  if (metadata.empty()) return out;
  out.push_back(kVersion1);
  put_varint(out, metadata.size());
  for (const auto& [name, value] : metadata) {
    put_string(out, name);
    put_string(out, value);
  }
  return out;
}

MetadataMap decode_metadata(BytesView encoded) {
  MetadataMap metadata;
  if (encoded.empty()) return metadata;
  Reader reader(encoded);
  if (reader.next() != kVersion1) Reader::fail("unknown version");
  const std::uint64_t count = reader.varint();
  // Each pair needs at least two bytes: a count beyond that is a lie, and
  // must not drive the loop.
  if (count == 0 || count > reader.remaining() / 2) Reader::fail("bad pair count");
  for (std::uint64_t i = 0; i < count; ++i) {
    std::string name = reader.string();
    std::string value = reader.string();
    if (!metadata.empty() && !(metadata.rbegin()->first < name)) {
      Reader::fail("names not strictly ascending");
    }
    metadata.emplace_hint(metadata.end(), std::move(name), std::move(value));
  }
  if (!reader.at_end()) Reader::fail("trailing bytes");
  return metadata;
}

}  // namespace blobcache::detail
