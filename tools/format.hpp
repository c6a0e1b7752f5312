// Human-readable rendering of sizes, durations, times and tables.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "blobcache/sqlite_store.hpp"
#include "blobcache/types.hpp"

namespace blobcache::tool {

// "0 B", "512 B", "1.5 KiB", "10.0 MiB", "2.0 GiB", "3.1 TiB" (binary
// units, one decimal above bytes). Negative sizes are shown in bytes.
std::string format_size(std::int64_t bytes);

// The two most significant units of `d`: "45s", "3m12s", "2h5m", "7d", "1d1h";
// "850ms" below a second, "0s" for zero; negative durations get a '-'.
std::string format_duration(Duration d);

// RFC 3339 in UTC with as many fractional digits as needed (none for whole
// seconds, up to 9): "2026-01-02T03:04:05.25Z". Round-trips through
// parse_time().
std::string format_time(TimePoint t);

// `part` as a percentage of `whole` with one decimal, "75.0 %"; "-" when
// `whole` is 0.
std::string format_percent(double part, double whole);

// "least_recently_stored", "least_recently_used": the names the API uses.
std::string_view eviction_name(EvictionPolicy policy) noexcept;

// Columns aligned on display width (UTF-8 code points). Cells are printed
// with ASCII control characters replaced by '?' so that a stored content
// type or metadata value cannot drive the terminal. The last column is not
// padded (no trailing blanks).
class Table {
 public:
  // A column is right-aligned when its header is listed in `right`.
  explicit Table(std::vector<std::string> headers, const std::vector<std::string>& right = {});
  void add_row(std::vector<std::string> cells);
  // `with_headers` false: rows only (for NAME VALUE listings).
  void print(std::ostream& out, bool with_headers = true) const;
  bool empty() const noexcept { return rows_.empty(); }

 private:
  std::vector<std::string> headers_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

// `text` with ASCII control characters replaced by '?' (see Table).
std::string printable(std::string_view text);

}  // namespace blobcache::tool
