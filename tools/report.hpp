// How the tool ends: its exit codes, and how a failure is reported (text on
// stderr and, with --json, a JSON object on stdout).
#pragma once

#include <exception>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

namespace blobcache::tool {

// The tool's exit codes.
enum ExitCode : int {
  kExitOk = 0,
  kExitNotFound = 1,            // the entry, namespace or cache file does not exist
  kExitUsage = 2,               // bad command line (including bad names, durations, times)
  kExitFailure = 3,             // anything else: corrupt, read_only, io, busy, ...
  kExitPreconditionFailed = 4,  // put --if-match / --if-absent did not hold; nothing written
};

// A failure as the tool reports it.
struct Failure {
  // The Errc's name ("entry_not_found", "precondition_failed", "io", ...),
  // or "usage" for a bad command line, or "not_found" for a missing cache
  // file.
  std::string code;
  std::string message;  // one sentence: the operation, what it was about, the cause
  int exit_code = kExitFailure;
};

// Classifies `error`: a blobcache::Error by its Errc, a ParseError as
// usage, anything else as a failure (exit code 3).
Failure failure_of(const std::exception& error);

// Writes "blobcache: <code>: <message>" (and " (db: <path>)" when `db` is
// given and the message does not name it) as a line on `err` and, when
// `json_out` is not null,
// {"error": {"code", "message", "exit_code", "db" (when given)}} on
// *json_out. Returns failure.exit_code.
int report(const Failure& failure, std::ostream& err, std::ostream* json_out,
           const std::optional<std::filesystem::path>& db = std::nullopt);

}  // namespace blobcache::tool
