// The one place where namespaces and keys are validated.
#include "blobcache/names.hpp"

#include <string>

#include "errors.hpp"
#include "names_detail.hpp"

namespace blobcache {
namespace {

// Length of the UTF-8 sequence starting at s[i], or 0 when it is not a
// well-formed one (overlong forms, surrogates and code points above
// U+10FFFF are rejected, as RFC 3629 requires).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept {
  const auto byte = [&](std::size_t j) { return static_cast<unsigned char>(s[j]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > s.size()) return 0;
  const unsigned char second = byte(i + 1);
  if (second < low || second > high) return 0;
  for (std::size_t j = 2; j < length; ++j) {
    if ((byte(i + j) & 0xC0) != 0x80) return 0;
  }
  return length;
}

// Why `name` breaks the grammar, or nullptr when it follows it.
const char* grammar_violation(std::string_view name) noexcept {
  if (name.empty()) return "is empty";
  if (name.size() > kMaxNameBytes) return "is longer than 1024 bytes";
  std::size_t segment_start = 0;
  for (std::size_t i = 0; i < name.size();) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c == '/') {
      const std::string_view segment = name.substr(segment_start, i - segment_start);
      if (segment.empty()) return "has an empty segment (leading, trailing or doubled '/')";
      if (segment == "." || segment == "..") return "has a '.' or '..' segment";
      segment_start = i + 1;
      ++i;
      continue;
    }
    if (c == '\\') return "contains a backslash";
    if (c < 0x20 || c == 0x7F) return "contains a NUL or control character";
    const std::size_t length = utf8_sequence_length(name, i);
    if (length == 0) return "is not valid UTF-8";
    i += length;
  }
  const std::string_view last = name.substr(segment_start);
  if (last.empty()) return "has an empty segment (leading, trailing or doubled '/')";
  if (last == "." || last == "..") return "has a '.' or '..' segment";
  return nullptr;
}

// The name as it can be shown in a message: printable ASCII kept, other
// bytes escaped, and long names shortened.
std::string printable(std::string_view name) {
  constexpr std::size_t kShown = 64;
  std::string out;
  for (std::size_t i = 0; i < name.size() && i < kShown; ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  if (name.size() > kShown) out += "...";
  return out;
}

void validate(std::string_view name, Errc code, const char* what) {
  if (const char* violation = grammar_violation(name)) {
    detail::throw_error(code, std::string(what) + " \"" + printable(name) + "\" " + violation);
  }
}

// Throws for the first of `ns` and `key` (when given) that breaks the
// grammar, naming the operation and both names. The message is built only
// then: this runs on every Store call.
void validate_for(std::string_view operation, std::string_view ns, const std::string_view* key) {
  const char* violation = grammar_violation(ns);
  Errc code = Errc::invalid_namespace;
  const char* what = "namespace";
  if (violation == nullptr && key != nullptr) {
    violation = grammar_violation(*key);
    code = Errc::invalid_key;
    what = "key";
  }
  if (violation == nullptr) return;
  std::string where = std::string(operation) + " \"" + printable(ns) + "\"";
  if (key != nullptr) where += "/\"" + printable(*key) + "\"";
  detail::throw_error(code, where + ": the " + what + " " + violation);
}

}  // namespace

bool is_valid_name(std::string_view name) noexcept { return grammar_violation(name) == nullptr; }

void validate_namespace(std::string_view ns) { validate(ns, Errc::invalid_namespace, "namespace"); }

void validate_key(std::string_view key) { validate(key, Errc::invalid_key, "key"); }

namespace detail {

void validate_names(std::string_view operation, std::string_view ns) {
  validate_for(operation, ns, nullptr);
}

void validate_names(std::string_view operation, std::string_view ns, std::string_view key) {
  validate_for(operation, ns, &key);
}

}  // namespace detail

}  // namespace blobcache
