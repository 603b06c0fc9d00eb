// resolv.conf(5): the resolver's configuration file. The parser never fails
// as a whole: a bad line is skipped and reported ("line 3: ..."), so one
// typo does not leave a program without nameservers.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/util/sockaddr.h"

namespace ev::dns {

// Keywords: nameserver (with an optional port: "1.2.3.4:5353",
// "[::1]:53"), domain, search, and options ndots / timeout / attempts /
// max-inflight / max-timeouts / randomize-case / bind-to /
// initial-probe-timeout (libevent's evdns names, plus glibc's spelling
// where it differs: "rotate", "edns0", "trust-ad" and glibc's other
// options are accepted and ignored; so is "sortlist"). Timeouts are
// seconds, fractions allowed, in (0, 3600]; ndots above 15 is taken as 15
// (glibc); attempts 1..255, max-inflight 1..65535, max-timeouts 1..255,
// randomize-case 0/1 (or bare). A bad value is a warning and keeps the
// default. "domain" and "search" replace each other, the last one wins.
struct ResolvConf {
  std::vector<SocketAddress> nameservers;
  std::vector<std::string> search;  // "domain" sets a one-entry list
  int ndots = 1;
  std::chrono::microseconds timeout{5000000};
  int attempts = 2;
  int max_inflight = 64;
  int max_timeouts = 3;  // failures before a nameserver is marked down
  bool randomize_case = false;
  std::optional<SocketAddress> bind_to;
  std::chrono::microseconds initial_probe_timeout{10000000};
  std::vector<std::string> warnings;  // "line 3: unknown option 'foo'"
};

// load_resolv_conf reads at most this much (any file: /dev/null is an empty
// configuration).
constexpr std::size_t kMaxResolvConf = std::size_t{64} << 20;  // 64 MiB

ResolvConf parse_resolv_conf(std::string_view text);
// Reads and parses `path`; nullopt with `why` ("PATH: reason") when it
// cannot be read or is over kMaxResolvConf.
std::optional<ResolvConf> load_resolv_conf(const std::string& path, std::string* why);

}  // namespace ev::dns
