// CLI11 validators for the value kinds of CLI.md. Each failure message
// names the bad value and shows the accepted form; CLI11 prefixes the
// option name, so "--every: invalid duration 'x' ..." reaches the user.
#pragma once

#include <CLI/CLI.hpp>

namespace evtool {

extern const CLI::Validator kDuration;  // 500us, 250ms, 1.5s, 2m, 1h, bare seconds
extern const CLI::Validator kSize;      // 512, 64k, 1M, 2G
// The same, for values that cannot sensibly be zero (a timeout, a rate,
// a limit): 0 is a usage error that says so.
extern const CLI::Validator kPositiveDuration;
extern const CLI::Validator kPositiveSize;
extern const CLI::Validator kIpAddress; // an IPv4 or IPv6 literal
extern const CLI::Validator kAddressPort;  // ADDR[:PORT], IPv6 as [::1]:53
extern const CLI::Validator kPort;      // 0..65535
extern const CLI::Validator kPositive;  // an integer >= 1

}  // namespace evtool
