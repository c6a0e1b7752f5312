#include "parse.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "format.hpp"

namespace blobcache::tool {
namespace {

using namespace std::chrono;

[[noreturn]] void fail(std::string_view what, std::string_view text, std::string_view why) {
  throw ParseError(std::string(what) + " \"" + std::string(text) + "\": " + std::string(why));
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

struct Unit {
  std::string_view name;
  std::int64_t nanoseconds;
};

// Longest names first, so "ms" is not read as "m" followed by garbage.
constexpr std::array kUnits{
    Unit{"ns", 1},
    Unit{"us", 1'000},
    Unit{"ms", 1'000'000},
    Unit{"s", 1'000'000'000},
    Unit{"m", 60'000'000'000},
    Unit{"h", 3'600'000'000'000},
    Unit{"d", 86'400'000'000'000},
};

// Reads exactly `count` digits at `pos` as a number, advancing `pos`.
int read_fixed(std::string_view text, std::size_t& pos, std::size_t count, std::string_view field,
               std::string_view whole) {
  if (pos + count > text.size())
    fail("time", whole, "too short: " + std::string(field) + " missing");
  int value = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const char c = text[pos + i];
    if (!is_digit(c)) fail("time", whole, "expected digits for the " + std::string(field));
    value = value * 10 + (c - '0');
  }
  pos += count;
  return value;
}

void expect(std::string_view text, std::size_t& pos, std::string_view accepted,
            std::string_view whole) {
  if (pos >= text.size() || accepted.find(text[pos]) == std::string_view::npos) {
    fail("time", whole,
         "expected '" + std::string(accepted.substr(0, 1)) + "' at position " +
             std::to_string(pos + 1));
  }
  ++pos;
}

// `d` to the nanosecond, in the units parse_duration reads:
// "106751d23h47m16.854775807s". REQUIRES: d >= 0.
std::string exact_duration(Duration d) {
  const auto whole_days = duration_cast<days>(d);
  const auto whole_hours = duration_cast<hours>(d - whole_days);
  const auto whole_minutes = duration_cast<minutes>(d - whole_days - whole_hours);
  const Duration rest = d - whole_days - whole_hours - whole_minutes;
  std::string nanos = std::to_string(rest.count() % 1'000'000'000 + 1'000'000'000).substr(1);
  return std::to_string(whole_days.count()) + "d" + std::to_string(whole_hours.count()) + "h" +
         std::to_string(whole_minutes.count()) + "m" +
         std::to_string(duration_cast<seconds>(rest).count()) + "." + nanos + "s";
}

[[noreturn]] void duration_too_large(std::string_view text) {
  fail("duration", text, "too large (at most " + exact_duration(Duration::max()) + ")");
}

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

// Reads the digits at `pos` as a number, advancing `pos`; nullopt when there
// are none. Calls too_large(text) when the number exceeds an int64.
std::optional<std::int64_t> read_whole(std::string_view text, std::size_t& pos,
                                       void (*too_large)(std::string_view)) {
  const std::size_t start = pos;
  std::int64_t value = 0;
  while (pos < text.size() && is_digit(text[pos])) {
    const int digit = text[pos] - '0';
    if (value > (kInt64Max - digit) / 10) too_large(text);
    value = value * 10 + digit;
    ++pos;
  }
  if (pos == start) return std::nullopt;
  return value;
}

[[noreturn]] void size_too_large(std::string_view text) {
  fail("size", text, "too large (at most " + std::to_string(kInt64Max) + " bytes)");
}

[[noreturn]] void count_too_large(std::string_view text) {
  fail("count", text, "too large (at most " + std::to_string(kInt64Max) + ")");
}

struct SizeUnit {
  std::string_view name;  // lowercase: units are read in any case
  std::int64_t bytes;
};

constexpr std::int64_t kKiB = 1024;
constexpr std::array kSizeUnits{
    SizeUnit{"", 1},
    SizeUnit{"b", 1},
    SizeUnit{"k", kKiB},
    SizeUnit{"kib", kKiB},
    SizeUnit{"kb", 1'000},
    SizeUnit{"m", kKiB* kKiB},
    SizeUnit{"mib", kKiB* kKiB},
    SizeUnit{"mb", 1'000'000},
    SizeUnit{"g", kKiB* kKiB* kKiB},
    SizeUnit{"gib", kKiB* kKiB* kKiB},
    SizeUnit{"gb", 1'000'000'000},
    SizeUnit{"t", kKiB* kKiB* kKiB* kKiB},
    SizeUnit{"tib", kKiB* kKiB* kKiB* kKiB},
    SizeUnit{"tb", 1'000'000'000'000},
};

// The unit named by `name` (any case), or null.
const SizeUnit* find_size_unit(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  for (const SizeUnit& unit : kSizeUnits) {
    if (unit.name == lower) return &unit;
  }
  return nullptr;
}

// Rejects a leading sign with a message saying what is wrong with it.
void refuse_sign(std::string_view what, std::string_view text) {
  if (text.starts_with('-')) fail(what, text, "must not be negative");
  if (text.starts_with('+')) fail(what, text, "expected digits, without a sign");
}

}  // namespace

std::string representable_times() {
  return format_time(TimePoint::min()) + " to " + format_time(TimePoint::max());
}

TimePoint expiry_after(TimePoint now, Duration ttl) {
  Duration::rep sum = 0;
  if (__builtin_add_overflow(now.time_since_epoch().count(), ttl.count(), &sum)) {
    throw ParseError("--ttl " + format_duration(ttl) + ": the expiry, now (" + format_time(now) +
                     ") + " + format_duration(ttl) +
                     ", is outside the times blobcache can represent (" + representable_times() +
                     ")");
  }
  return TimePoint{Duration{sum}};
}

Duration parse_duration(std::string_view text) {
  if (text.empty()) fail("duration", text, "empty");
  if (text == "0") return Duration{0};
  std::int64_t total = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    // <digits>[.<digits>]: the integer and fraction are kept apart so that
    // "1.5h" is exact and large values are checked for overflow.
    const std::size_t start = pos;
    const std::optional<std::int64_t> read = read_whole(text, pos, duration_too_large);
    const bool has_whole = read.has_value();
    const std::int64_t whole = read.value_or(0);
    std::string_view fraction;
    if (pos < text.size() && text[pos] == '.') {
      const std::size_t fraction_start = ++pos;
      while (pos < text.size() && is_digit(text[pos])) ++pos;
      fraction = text.substr(fraction_start, pos - fraction_start);
    }
    if (!has_whole && fraction.empty()) {
      fail("duration", text, "expected a number at position " + std::to_string(start + 1));
    }
    const Unit* unit = nullptr;
    for (const Unit& candidate : kUnits) {
      if (text.substr(pos).starts_with(candidate.name)) {
        unit = &candidate;
        break;
      }
    }
    if (unit == nullptr) {
      fail("duration", text,
           pos == text.size() ? "missing unit (ns, us, ms, s, m, h or d)"
                              : "unknown unit at position " + std::to_string(pos + 1));
    }
    pos += unit->name.size();

    if (whole > kInt64Max / unit->nanoseconds) duration_too_large(text);
    std::int64_t term = whole * unit->nanoseconds;
    // The fraction in nanoseconds, digit by digit: digit * unit / 10^k.
    std::int64_t scale = unit->nanoseconds;
    for (const char digit : fraction) {
      scale /= 10;
      if (scale == 0) break;  // finer than a nanosecond
      term += (digit - '0') * scale;
    }
    if (term > kInt64Max - total) duration_too_large(text);
    total += term;
  }
  return Duration{total};
}

TimePoint parse_time(std::string_view text) {
  std::size_t pos = 0;
  const int year = read_fixed(text, pos, 4, "year", text);
  expect(text, pos, "-", text);
  const int month = read_fixed(text, pos, 2, "month", text);
  expect(text, pos, "-", text);
  const int day = read_fixed(text, pos, 2, "day", text);
  expect(text, pos, "Tt ", text);
  const int hour = read_fixed(text, pos, 2, "hour", text);
  expect(text, pos, ":", text);
  const int minute = read_fixed(text, pos, 2, "minute", text);
  expect(text, pos, ":", text);
  const int second = read_fixed(text, pos, 2, "second", text);

  std::int64_t nanos = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    std::size_t digits = 0;
    while (pos < text.size() && is_digit(text[pos])) {
      if (digits < 9) nanos = nanos * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) fail("time", text, "expected digits after '.'");
    for (std::size_t i = digits; i < 9; ++i) nanos *= 10;
  }

  int offset_minutes = 0;
  if (pos >= text.size()) fail("time", text, "missing time zone ('Z' or +HH:MM)");
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    const int offset_hours = read_fixed(text, pos, 2, "offset hours", text);
    expect(text, pos, ":", text);
    const int offset_mins = read_fixed(text, pos, 2, "offset minutes", text);
    if (offset_hours > 23 || offset_mins > 59) fail("time", text, "offset out of range");
    offset_minutes = sign * (offset_hours * 60 + offset_mins);
  } else {
    fail("time", text, "expected 'Z' or an offset at position " + std::to_string(pos + 1));
  }
  if (pos != text.size()) fail("time", text, "unexpected text after the time zone");

  const year_month_day date{std::chrono::year{year},
                            std::chrono::month{static_cast<unsigned>(month)},
                            std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) fail("time", text, "no such date");
  if (hour > 23 || minute > 59) fail("time", text, "time of day out of range");
  if (second == 60) fail("time", text, "leap seconds are not supported");
  if (second > 59) fail("time", text, "time of day out of range");

  // Local time minus its offset is UTC, in whole seconds (64 bits hold any
  // 4-digit year). TimePoint counts nanoseconds in 64 bits, so it spans only
  // 1677-09-21 to 2262-04-11: the nanoseconds are summed with overflow
  // checks and anything outside is refused instead of wrapping.
  const sys_seconds utc =
      sys_days{date} + hours{hour} + minutes{minute} + seconds{second} - minutes{offset_minutes};
  // Before 1970 the whole seconds are borrowed from (-9223372037s and
  // .145224192 is -9223372036s - .854775808, TimePoint::min()), so that the
  // product alone never leaves the range the sum lies in.
  std::int64_t whole = utc.time_since_epoch().count();
  if (whole < 0 && nanos > 0) {
    whole += 1;
    nanos -= 1'000'000'000;
  }
  Duration::rep ticks = 0;
  if (__builtin_mul_overflow(whole, Duration::rep{1'000'000'000}, &ticks) ||
      __builtin_add_overflow(ticks, nanos, &ticks)) {
    fail("time", text, "outside the times blobcache can represent (" + representable_times() + ")");
  }
  return TimePoint{Duration{ticks}};
}

std::int64_t parse_size(std::string_view text) {
  if (text.empty()) fail("size", text, "empty");
  refuse_sign("size", text);
  std::size_t pos = 0;
  const std::optional<std::int64_t> whole = read_whole(text, pos, size_too_large);
  std::string_view fraction;
  if (pos < text.size() && text[pos] == '.') {
    const std::size_t fraction_start = ++pos;
    while (pos < text.size() && is_digit(text[pos])) ++pos;
    fraction = text.substr(fraction_start, pos - fraction_start);
  }
  if (!whole && fraction.empty()) fail("size", text, "expected a number");
  const SizeUnit* unit = find_size_unit(text.substr(pos));
  if (unit == nullptr) {
    fail("size", text,
         "unknown unit \"" + std::string(text.substr(pos)) +
             "\" (B; K, M, G, T or KiB, MiB, GiB, TiB: powers of 1024; KB, MB, GB, TB: powers "
             "of 1000)");
  }
  if (!fraction.empty() && unit->bytes == 1) fail("size", text, "a byte count is a whole number");

  std::int64_t bytes = 0;
  if (__builtin_mul_overflow(whole.value_or(0), unit->bytes, &bytes)) size_too_large(text);
  // The fraction's bytes rounded down, exactly for any number of digits:
  // Horner's rule from the last digit, part = (digit * unit + part) / 10,
  // where dropping each step's remainder never changes the final floor.
  std::int64_t part = 0;
  for (auto digit = fraction.rbegin(); digit != fraction.rend(); ++digit) {
    part = ((*digit - '0') * unit->bytes + part) / 10;
  }
  if (__builtin_add_overflow(bytes, part, &bytes)) size_too_large(text);
  return bytes;
}

std::int64_t parse_count(std::string_view text) {
  if (text.empty()) fail("count", text, "empty");
  refuse_sign("count", text);
  std::size_t pos = 0;
  const std::optional<std::int64_t> value = read_whole(text, pos, count_too_large);
  if (!value || pos != text.size()) fail("count", text, "expected a whole number (digits only)");
  return *value;
}

EvictionPolicy parse_eviction(std::string_view text) {
  if (text == "lru" || text == "least_recently_used") return EvictionPolicy::least_recently_used;
  if (text == "lrs" || text == "least_recently_stored") {
    return EvictionPolicy::least_recently_stored;
  }
  fail("eviction", text,
       "unknown policy; expected lru (least_recently_used) or lrs (least_recently_stored)");
}

}  // namespace blobcache::tool
