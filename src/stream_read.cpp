#include "stream_read.hpp"

#include <istream>
#include <string>

#include "errors.hpp"

namespace blobcache::detail {

bool has_failed(const std::istream& in) noexcept { return in.bad() || (in.fail() && !in.eof()); }

std::size_t read_chunk(std::istream& in, std::span<std::byte> buffer, std::string_view what) {
  if (has_failed(in)) {
    throw_error(Errc::io, std::string(what) +
                              ": the input stream has failed before it was read (a file that "
                              "could not be opened?); nothing was stored");
  }
  std::size_t filled = 0;
  try {
    while (filled < buffer.size() && in.good()) {
      const auto wanted = static_cast<std::streamsize>(buffer.size() - filled);
      in.read(reinterpret_cast<char*>(buffer.data() + filled), wanted);  // NOLINT
      filled += static_cast<std::size_t>(in.gcount());
    }
  } catch (const std::exception& e) {
    throw_error(Errc::io, std::string(what) + ": reading the input stream failed: " + e.what());
  }
  if (has_failed(in)) {
    throw_error(Errc::io, std::string(what) + ": reading the input stream failed");
  }
  return filled;
}

}  // namespace blobcache::detail
