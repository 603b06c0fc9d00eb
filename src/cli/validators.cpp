#include "cli/validators.h"

#include "engine/util/sockaddr.h"
#include "engine/util/units.h"

namespace evtool {

const CLI::Validator kDuration(
    [](std::string& s) -> std::string {
      if (ev::parse_duration(s)) return {};
      return "invalid duration '" + s + "' (use e.g. 500us, 250ms, 1.5s, 2m, 1h)";
    },
    "DURATION");

const CLI::Validator kSize(
    [](std::string& s) -> std::string {
      if (ev::parse_size(s)) return {};
      return "invalid size '" + s + "' (use e.g. 512, 64k, 1M, 2G)";
    },
    "SIZE");

const CLI::Validator kPositiveDuration(
    [](std::string& s) -> std::string {
      auto d = ev::parse_duration(s);
      if (!d) return "invalid duration '" + s + "' (use e.g. 500us, 250ms, 1.5s, 2m, 1h)";
      if (d->count() <= 0) return "invalid duration '" + s + "' (must be more than 0)";
      return {};
    },
    "DURATION");

const CLI::Validator kPositiveSize(
    [](std::string& s) -> std::string {
      auto n = ev::parse_size(s);
      if (!n) return "invalid size '" + s + "' (use e.g. 512, 64k, 1M, 2G)";
      if (*n == 0) return "invalid size '" + s + "' (must be more than 0)";
      return {};
    },
    "SIZE");

const CLI::Validator kIpAddress(
    [](std::string& s) -> std::string {
      if (ev::parse_ip(s)) return {};
      return "invalid address '" + s + "' (an IP literal such as 127.0.0.1 or ::1)";
    },
    "ADDR");

const CLI::Validator kAddressPort(
    [](std::string& s) -> std::string {
      std::string why;
      if (ev::parse_sockaddr_port(s, 53, &why)) return {};
      return "invalid address '" + s + "' (" + why + "; use ADDR or ADDR:PORT, IPv6 as [::1]:53)";
    },
    "ADDR[:PORT]");

const CLI::Validator kPort(
    [](std::string& s) -> std::string {
      if (ev::parse_port(s)) return {};
      return "invalid port '" + s + "' (0-65535)";
    },
    "PORT");

const CLI::Validator kPositive(
    [](std::string& s) -> std::string {
      if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos || std::stol(s) < 1)
        return "invalid number '" + s + "' (a whole number >= 1)";
      return {};
    },
    "N");

}  // namespace evtool
