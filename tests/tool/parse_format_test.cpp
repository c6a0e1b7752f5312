// Unit tests of the tool's duration, time, size and count parsing and human
// formatting.
#include <cctype>
#include <chrono>
#include <cstdint>
#include <limits>
#include <sstream>
#include <tuple>
#include <vector>

#include "catch_compat.hpp"
#include "format.hpp"
#include "parse.hpp"

namespace blobcache::tool {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;

TimePoint utc(int y, unsigned mo, unsigned d, int h, int mi, int s) {
  return TimePoint{sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s}};
}

TEST_CASE("parse_duration reads the documented units and their combinations", "[tool][parse]") {
  CHECK(parse_duration("90s") == 90s);
  CHECK(parse_duration("15m") == 15min);
  CHECK(parse_duration("2h") == 2h);
  CHECK(parse_duration("7d") == 7 * 24h);
  CHECK(parse_duration("1h30m") == 90min);
  CHECK(parse_duration("1d2h3m4s") == 24h + 2h + 3min + 4s);
  CHECK(parse_duration("250ms") == 250ms);
  CHECK(parse_duration("5us") == 5us);
  CHECK(parse_duration("7ns") == 7ns);
  CHECK(parse_duration("1.5h") == 90min);
  CHECK(parse_duration(".5s") == 500ms);
  CHECK(parse_duration("0") == Duration{0});
  CHECK(parse_duration("0s") == Duration{0});
  CHECK(parse_duration("1m1ms") == 1min + 1ms);  // "ms" is not "m" + "s"
}

TEST_CASE("parse_duration rejects malformed and overflowing text", "[tool][parse]") {
  const char* bad = GENERATE("", "s", "10", "-5s", "+5s", "5 s", "5x", "1h 30m", ".s", "1..5s",
                             "5sec", "h1", "9999999999999999999s", "200000d", "106752d");
  CAPTURE(bad);
  CHECK_THROWS_AS(parse_duration(bad), ParseError);
}

TEST_CASE("parse_time reads RFC 3339 with fractions and offsets", "[tool][parse]") {
  CHECK(parse_time("2026-01-02T03:04:05Z") == utc(2026, 1, 2, 3, 4, 5));
  CHECK(parse_time("2026-01-02t03:04:05z") == utc(2026, 1, 2, 3, 4, 5));
  CHECK(parse_time("2026-01-02 03:04:05Z") == utc(2026, 1, 2, 3, 4, 5));
  CHECK(parse_time("2026-01-02T03:04:05.5Z") == utc(2026, 1, 2, 3, 4, 5) + 500ms);
  CHECK(parse_time("2026-01-02T03:04:05.123456789Z") == utc(2026, 1, 2, 3, 4, 5) + 123456789ns);
  // Digits beyond nanoseconds are truncated, as RFC 3339 leaves precision open.
  CHECK(parse_time("2026-01-02T03:04:05.1234567891Z") == utc(2026, 1, 2, 3, 4, 5) + 123456789ns);
  CHECK(parse_time("2026-01-02T05:04:05+02:00") == utc(2026, 1, 2, 3, 4, 5));
  CHECK(parse_time("2026-01-01T22:34:05-04:30") == utc(2026, 1, 2, 3, 4, 5));
  CHECK(parse_time("2024-02-29T00:00:00Z") == utc(2024, 2, 29, 0, 0, 0));
  CHECK(parse_time("1969-12-31T23:59:59.75Z") == TimePoint{-250ms});
}

TEST_CASE("parse_time rejects what RFC 3339 does not allow", "[tool][parse]") {
  const char* bad =
      GENERATE("", "2026-01-02", "2026-01-02T03:04:05", "2026-01-02T03:04Z", "2026-1-02T03:04:05Z",
               "2026-13-02T03:04:05Z", "2025-02-29T00:00:00Z", "2026-01-02T24:00:00Z",
               "2026-01-02T03:60:00Z", "2026-01-02T23:59:60Z", "2026-01-02T03:04:05.Z",
               "2026-01-02T03:04:05+0200", "2026-01-02T03:04:05+24:00", "2026-01-02T03:04:05Zjunk",
               "2026-01-02X03:04:05Z", "9999-12-31T23:59:59Z", "1600-01-01T00:00:00Z");
  CAPTURE(bad);
  CHECK_THROWS_AS(parse_time(bad), ParseError);
}

// ---- Regressions of issue 10, defect 3: times past 2262 wrapped ----

TEST_CASE("parse_time regression: every instant a TimePoint holds is accepted, to the nanosecond",
          "[tool][parse][regression]") {
  CHECK(parse_time("2262-04-11T23:47:16Z") == TimePoint::max() - 854775807ns);
  CHECK(parse_time("2262-04-11T23:47:16.854775807Z") == TimePoint::max());
  CHECK(parse_time("2262-04-12T01:47:16.854775807+02:00") == TimePoint::max());
  CHECK(parse_time("1677-09-21T00:12:43.145224192Z") == TimePoint::min());
  CHECK(parse_time("1677-09-21T00:12:44Z") == TimePoint::min() + 854775808ns);
  for (const char* outside : {"2262-04-11T23:47:16.854775808Z", "2262-04-11T23:47:17Z",
                              "1677-09-21T00:12:43.145224191Z", "1677-09-21T00:12:43Z"}) {
    CAPTURE(outside);
    try {
      (void)parse_time(outside);
      FAIL("accepted");
    } catch (const ParseError& error) {
      CHECK(std::string(error.what()).find(representable_times()) != std::string::npos);
    }
  }
  CHECK(representable_times() ==
        "1677-09-21T00:12:43.145224192Z to 2262-04-11T23:47:16.854775807Z");
}

TEST_CASE("parse_duration regression: the longest Duration is accepted, and named when exceeded",
          "[tool][parse][regression]") {
  CHECK(parse_duration("106751d23h47m16.854775807s") == Duration::max());
  try {
    (void)parse_duration("106751d23h47m16.854775808s");
    FAIL("accepted");
  } catch (const ParseError& error) {
    CHECK(std::string(error.what()).find("at most 106751d23h47m16.854775807s") !=
          std::string::npos);
  }
}

TEST_CASE("expiry_after regression: now + ttl past 2262 is refused, never wrapped",
          "[tool][parse][regression]") {
  const TimePoint now = TimePoint{} + 1'800'000'000s;
  CHECK(expiry_after(now, 2h) == now + 2h);
  CHECK(expiry_after(now, TimePoint::max() - now) == TimePoint::max());
  CHECK(expiry_after(TimePoint::min(), Duration::max()) == TimePoint{} - 1ns);
  for (const Duration ttl :
       {Duration{99'999 * 24h}, TimePoint::max() - now + 1ns, Duration::max()}) {
    CAPTURE(ttl.count());
    try {
      (void)expiry_after(now, ttl);
      FAIL("accepted");
    } catch (const ParseError& error) {
      CHECK(std::string(error.what()).find(representable_times()) != std::string::npos);
    }
  }
}

TEST_CASE("parse_size reads bytes and every unit: 1024s without B, 1000s with B", "[tool][parse]") {
  constexpr std::int64_t kKi = 1024;
  CHECK(parse_size("0") == 0);
  CHECK(parse_size("16384") == 16384);
  CHECK(parse_size("7B") == 7);
  CHECK(parse_size("7b") == 7);
  const std::vector<std::tuple<const char*, const char*, const char*, std::int64_t, std::int64_t>>
      units{{"K", "KiB", "KB", kKi, 1'000},
            {"M", "MiB", "MB", kKi * kKi, 1'000'000},
            {"G", "GiB", "GB", kKi * kKi * kKi, 1'000'000'000},
            {"T", "TiB", "TB", kKi * kKi * kKi * kKi, 1'000'000'000'000}};
  for (const auto& [bare, binary, decimal, power_of_2, power_of_10] : units) {
    CAPTURE(bare);
    CHECK(parse_size(std::string("3") + bare) == 3 * power_of_2);
    CHECK(parse_size(std::string("3") + binary) == 3 * power_of_2);
    CHECK(parse_size(std::string("3") + decimal) == 3 * power_of_10);
    // Any case.
    std::string lower_binary = binary;
    for (char& c : lower_binary) c = static_cast<char>(std::tolower(c));
    CHECK(parse_size("3" + lower_binary) == 3 * power_of_2);
    std::string upper_binary = binary;
    for (char& c : upper_binary) c = static_cast<char>(std::toupper(c));
    CHECK(parse_size("3" + upper_binary) == 3 * power_of_2);
  }
  CHECK(parse_size("500M") == 500 * kKi * kKi);
  CHECK(parse_size("500m") == 500 * kKi * kKi);
}

TEST_CASE("parse_size reads fractions exactly, rounded down to whole bytes", "[tool][parse]") {
  CHECK(parse_size("1.5K") == 1536);
  CHECK(parse_size("1.5G") == 1536 * 1024 * 1024);
  CHECK(parse_size(".5M") == 512 * 1024);
  CHECK(parse_size("2.KB") == 2000);
  CHECK(parse_size("0.1K") == 102);           // 102.4
  CHECK(parse_size("0.0015KB") == 1);         // 1.5
  CHECK(parse_size("1.999999999K") == 2047);  // 2047.998...: never rounded up
  // One byte of a TiB needs 40 decimal places; every one of them counts.
  CHECK(parse_size("0.0000000000009094947017729282379150390625T") == 1);
  CHECK(parse_size("0.0000000000009094947017729282379150390624T") == 0);
}

TEST_CASE("parse_size accepts up to INT64_MAX bytes and refuses more", "[tool][parse]") {
  CHECK(parse_size("9223372036854775807") == std::numeric_limits<std::int64_t>::max());
  CHECK(parse_size("8388607T") == std::int64_t{8388607} << 40);
  CHECK(parse_size("8388607.99999999999999T") == std::numeric_limits<std::int64_t>::max());
  CHECK(parse_size("9223372036854775.807KB") == std::numeric_limits<std::int64_t>::max());
  const char* too_large = GENERATE("9223372036854775808", "99999999999999999999", "8388608T",
                                   "8388608TiB", "9223373TB", "9223372036854775.808KB");
  CAPTURE(too_large);
  try {
    (void)parse_size(too_large);
    FAIL("accepted");
  } catch (const ParseError& error) {
    CHECK(std::string(error.what()).find("too large (at most 9223372036854775807 bytes)") !=
          std::string::npos);
  }
}

TEST_CASE("parse_size refuses negative sizes, garbage and unknown units", "[tool][parse]") {
  const auto reason = [](const char* text) {
    try {
      (void)parse_size(text);
    } catch (const ParseError& error) {
      return std::string(error.what());
    }
    return std::string("accepted");
  };
  CHECK(reason("-1") == "size \"-1\": must not be negative");
  CHECK(reason("-5M") == "size \"-5M\": must not be negative");
  CHECK(reason("") == "size \"\": empty");
  CHECK(reason("1.5") == "size \"1.5\": a byte count is a whole number");
  CHECK(reason("1.5B") == "size \"1.5B\": a byte count is a whole number");
  CHECK(reason("5X").find("unknown unit \"X\"") != std::string::npos);
  CHECK(reason("5X").find("KB, MB, GB, TB: powers of 1000") != std::string::npos);
  const char* garbage = GENERATE("+5", "M", ".", ".K", "5 M", " 5M", "5M ", "5MM", "5KIBB", "5PB",
                                 "5E", "1e3", "0x10", "1,000", "five", "5M5", "1..5K", "5mbit");
  CAPTURE(garbage);
  CHECK_THROWS_AS(parse_size(garbage), ParseError);
}

TEST_CASE("parse_count reads whole numbers only", "[tool][parse]") {
  CHECK(parse_count("0") == 0);
  CHECK(parse_count("1000") == 1000);
  CHECK(parse_count("9223372036854775807") == std::numeric_limits<std::int64_t>::max());
  const char* bad =
      GENERATE("", "-1", "+1", "1K", "1.5", "1e3", " 1", "1 ", "ten", "9223372036854775808");
  CAPTURE(bad);
  CHECK_THROWS_AS(parse_count(bad), ParseError);
}

TEST_CASE("parse_eviction reads the short and the API names", "[tool][parse]") {
  CHECK(parse_eviction("lru") == EvictionPolicy::least_recently_used);
  CHECK(parse_eviction("least_recently_used") == EvictionPolicy::least_recently_used);
  CHECK(parse_eviction("lrs") == EvictionPolicy::least_recently_stored);
  CHECK(parse_eviction("least_recently_stored") == EvictionPolicy::least_recently_stored);
  const char* bad = GENERATE("", "LRU", "fifo", "lfu", "least-recently-used", "lru ");
  CAPTURE(bad);
  CHECK_THROWS_AS(parse_eviction(bad), ParseError);
}

TEST_CASE("format_time and parse_time round-trip to the nanosecond", "[tool][format]") {
  const TimePoint t = GENERATE(utc(2026, 1, 2, 3, 4, 5), utc(2026, 1, 2, 3, 4, 5) + 1ns,
                               utc(2000, 2, 29, 23, 59, 59) + 999999999ns, TimePoint{-1ns},
                               TimePoint{}, TimePoint::min(), TimePoint::max());
  CHECK(parse_time(format_time(t)) == t);
  CHECK(format_time(utc(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z");
  CHECK(format_time(utc(2026, 1, 2, 3, 4, 5) + 250ms) == "2026-01-02T03:04:05.25Z");
  CHECK(format_time(TimePoint{-1ns}) == "1969-12-31T23:59:59.999999999Z");
}

TEST_CASE("format_size uses binary units with one decimal", "[tool][format]") {
  CHECK(format_size(0) == "0 B");
  CHECK(format_size(1023) == "1023 B");
  CHECK(format_size(1024) == "1.0 KiB");
  CHECK(format_size(1536) == "1.5 KiB");
  CHECK(format_size(10 * 1024 * 1024) == "10.0 MiB");
  CHECK(format_size(1024 * 1024 - 1) == "1.0 MiB");  // not "1024.0 KiB"
  CHECK(format_size(std::int64_t{3} * 1024 * 1024 * 1024) == "3.0 GiB");
  CHECK(format_size(std::int64_t{5} << 40) == "5.0 TiB");
}

TEST_CASE("format_percent gives one decimal, '-' for nothing to divide by", "[tool][format]") {
  CHECK(format_percent(1, 3) == "33.3 %");
  CHECK(format_percent(2, 3) == "66.7 %");
  CHECK(format_percent(0, 5) == "0.0 %");
  CHECK(format_percent(5, 5) == "100.0 %");
  CHECK(format_percent(0, 0) == "-");
  CHECK(eviction_name(EvictionPolicy::least_recently_used) == "least_recently_used");
  CHECK(eviction_name(EvictionPolicy::least_recently_stored) == "least_recently_stored");
}

TEST_CASE("format_duration shows the two largest units", "[tool][format]") {
  CHECK(format_duration(0s) == "0s");
  CHECK(format_duration(45s) == "45s");
  CHECK(format_duration(192s) == "3m12s");
  CHECK(format_duration(1h) == "1h");
  CHECK(format_duration(2h + 5min + 7s) == "2h5m");
  CHECK(format_duration(7 * 24h) == "7d");
  CHECK(format_duration(25h + 30min) == "1d1h");
  CHECK(format_duration(1h + 5s) == "1h");
  CHECK(format_duration(850ms) == "850ms");
  CHECK(format_duration(12us) == "12us");
  CHECK(format_duration(-192s) == "-3m12s");
  CHECK_FALSE(format_duration(Duration::min()).empty());
}

TEST_CASE("Table aligns columns and neutralises control characters", "[tool][format]") {
  Table table({"NAME", "SIZE", "TYPE"}, {"SIZE"});
  table.add_row({"a", "1.0 KiB", "text/plain"});
  table.add_row({"long-name", "5 B", "bad\x1b[31m"});
  table.add_row({"h\xc3\xa9", "0 B", "x"});  // two bytes, one column
  std::ostringstream out;
  table.print(out);
  CHECK(out.str() ==
        "NAME          SIZE  TYPE\n"
        "a          1.0 KiB  text/plain\n"
        "long-name      5 B  bad?[31m\n"
        "h\xc3\xa9             0 B  x\n");
}

}  // namespace
}  // namespace blobcache::tool
