// Internal: who owns a put_stream being staged, and whether it is abandoned.
#pragma once

#include <string>
#include <string_view>

namespace blobcache::detail {

// Names this process uniquely among live processes of this boot:
// "<boot id>:<pid>:<start time>" on Linux, "<pid>" elsewhere.
std::string staging_owner();

// True when `owner` (from staging_owner()) names a process that no longer
// runs: its staged chunks can be reclaimed. Unknown forms count as alive.
bool staging_owner_gone(std::string_view owner);

}  // namespace blobcache::detail
