#include "format.hpp"

#include <array>
#include <chrono>
#include <cmath>
#include <ostream>

namespace blobcache::tool {
namespace {

using namespace std::chrono;

// `value` with leading zeros up to `width` digits (value >= 0).
std::string zero_padded(long long value, std::size_t width) {
  std::string digits = std::to_string(value);
  if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
  return digits;
}

// Code points, not bytes: close enough to terminal columns for names that
// are mostly ASCII, and never splits a character.
std::size_t display_width(std::string_view text) {
  std::size_t width = 0;
  for (const char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0U) != 0x80U) ++width;
  }
  return width;
}

}  // namespace

std::string format_size(std::int64_t bytes) {
  if (bytes < 0) return std::to_string(bytes) + " B";  // never stored; shown as is
  if (bytes < 1024) return std::to_string(bytes) + " B";
  constexpr std::array<const char*, 4> kUnits{"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  value /= 1024.0;
  // Move up while the rounded figure would print as 1024.0 or more, so
  // 1048575 bytes is "1.0 MiB" rather than "1024.0 KiB".
  while (unit + 1 < kUnits.size() && std::round(value * 10.0) / 10.0 >= 1024.0) {
    value /= 1024.0;
    ++unit;
  }
  const auto tenths = std::llround(value * 10.0);
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " " + kUnits.at(unit);
}

std::string format_percent(double part, double whole) {
  if (whole == 0) return "-";
  const auto tenths = std::llround(part / whole * 1000.0);
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " %";
}

std::string_view eviction_name(EvictionPolicy policy) noexcept {
  return policy == EvictionPolicy::least_recently_used ? "least_recently_used"
                                                       : "least_recently_stored";
}

std::string format_duration(Duration d) {
  if (d < Duration::zero()) {
    // -(min) overflows; a duration that long is 292 years anyway.
    if (d == Duration::min()) d = Duration::min() + Duration{1};
    return "-" + format_duration(-d);
  }
  if (d < seconds{1}) {
    if (d == Duration::zero()) return "0s";
    if (d < microseconds{1}) return std::to_string(d.count()) + "ns";
    if (d < milliseconds{1}) return std::to_string(duration_cast<microseconds>(d).count()) + "us";
    return std::to_string(duration_cast<milliseconds>(d).count()) + "ms";
  }
  // Ages are read at a glance: the two largest units say enough.
  struct Part {
    std::int64_t value;
    const char* unit;
  };
  const auto total = duration_cast<seconds>(d).count();
  const std::array<Part, 4> parts{Part{total / 86'400, "d"}, Part{total / 3'600 % 24, "h"},
                                  Part{total / 60 % 60, "m"}, Part{total % 60, "s"}};
  std::size_t first = 0;
  while (parts[first].value == 0) ++first;  // total >= 1s, so some part is nonzero
  std::string text = std::to_string(parts[first].value) + parts[first].unit;
  if (first + 1 < parts.size() && parts[first + 1].value != 0) {
    text += std::to_string(parts[first + 1].value) + parts[first + 1].unit;
  }
  return text;
}

std::string format_time(TimePoint t) {
  // Floor to whole seconds so times before 1970 keep a positive fraction.
  // In integers: converting the floored seconds back to nanoseconds would
  // overflow for TimePoint::min().
  constexpr std::int64_t kPerSecond = 1'000'000'000;
  const std::int64_t ticks = duration_cast<nanoseconds>(t.time_since_epoch()).count();
  std::int64_t whole_seconds = ticks / kPerSecond;
  std::int64_t nanos = ticks % kPerSecond;
  if (nanos < 0) {
    nanos += kPerSecond;
    --whole_seconds;
  }
  const sys_seconds whole{seconds{whole_seconds}};
  const sys_days day = floor<days>(whole);
  const year_month_day date{day};
  const hh_mm_ss<seconds> time{whole - day};

  std::string text = zero_padded(static_cast<int>(date.year()), 4) + "-" +
                     zero_padded(static_cast<unsigned>(date.month()), 2) + "-" +
                     zero_padded(static_cast<unsigned>(date.day()), 2) + "T" +
                     zero_padded(time.hours().count(), 2) + ":" +
                     zero_padded(time.minutes().count(), 2) + ":" +
                     zero_padded(time.seconds().count(), 2);
  if (nanos != 0) {
    std::string fraction = zero_padded(nanos, 9);
    while (fraction.back() == '0') fraction.pop_back();
    text += "." + fraction;
  }
  return text + "Z";
}

std::string printable(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20U || byte == 0x7FU) c = '?';
  }
  return out;
}

Table::Table(std::vector<std::string> headers, const std::vector<std::string>& right)
    : headers_(std::move(headers)), right_(headers_.size(), false) {
  for (std::size_t i = 0; i < headers_.size(); ++i) {
    for (const std::string& name : right) right_[i] = right_[i] || name == headers_[i];
  }
}

void Table::add_row(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  for (std::string& cell : cells) cell = printable(cell);
  rows_.push_back(std::move(cells));
}

void Table::print(std::ostream& out, bool with_headers) const {
  std::vector<std::size_t> widths(headers_.size());
  for (std::size_t i = 0; i < headers_.size() && with_headers; ++i) {
    widths[i] = display_width(headers_[i]);
  }
  for (const auto& row : rows_) {
    for (std::size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], display_width(row[i]));
  }
  const auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      const std::string padding(widths[i] - display_width(row[i]), ' ');
      const bool last = i + 1 == row.size();
      if (right_[i]) {
        line += padding + row[i];
      } else {
        line += row[i];
        if (!last) line += padding;
      }
      if (!last) line += "  ";
    }
    out << line << '\n';
  };
  if (with_headers) print_row(headers_);
  for (const auto& row : rows_) print_row(row);
}

}  // namespace blobcache::tool
