// The exit codes of CLI.md, shared by every command. Never return another.
#pragma once

namespace evtool {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,      // I/O error, refused/reset, malformed response, SERVFAIL/REFUSED
  kExitUsage = 2,        // bad flags or arguments
  kExitNotFound = 3,     // NXDOMAIN or no record of the asked type
  kExitTimeout = 4,
  kExitTls = 5,          // handshake or certificate verification
  kExitHttpFail = 6,     // HTTP status >= 400 with --fail
  kExitInterrupted = 130 // a client command interrupted by SIGINT
};

}  // namespace evtool
