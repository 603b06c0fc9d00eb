// What the load clients (echo_load, churn_load) share: failing with one
// line on stderr, options of the form `--name value`, a loopback-only
// target address and the descriptor limit.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace load {

// Set by main before anything can fail: the program's name and its usage
// lines, for the messages below.
struct Program {
  const char* name = "load";
  const char* usage = "";
};
inline Program program;

// A failed run: exit 1.
[[noreturn]] inline void fail(const std::string& why) {
  std::fprintf(stderr, "%s: %s\n", program.name, why.c_str());
  std::exit(1);
}

[[noreturn]] inline void fail_errno(const char* call, int err = errno) {
  fail(std::string(call) + ": " + std::strerror(err));
}

// Bad usage: exit 2 with the usage lines.
[[noreturn]] inline void usage_error(const std::string& why) {
  std::fprintf(stderr, "%s: %s\nusage: %s %s\n", program.name, why.c_str(), program.name, program.usage);
  std::exit(2);
}

// Walks argv: `while (args.next()) { if (args.is("--x")) v = args.number(lo, hi); ... else args.unknown(); }`.
class Args {
 public:
  Args(int argc, char** argv) : argc_(argc), argv_(argv) {}
  bool next() { return ++i_ < argc_; }
  bool is(const char* name) const { return std::strcmp(argv_[i_], name) == 0; }
  // The option's value.
  std::string text() {
    if (i_ + 1 >= argc_) usage_error(std::string("missing value for ") + argv_[i_]);
    return argv_[++i_];
  }
  // The option's value as a number in [lo, hi].
  double number(double lo, double hi) {
    std::string v = text();
    char* end = nullptr;
    double d = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || !(d >= lo && d <= hi)) usage_error(std::string("bad value for ") + argv_[i_ - 1]);
    return d;
  }
  [[noreturn]] void unknown() const { usage_error(std::string("unknown option ") + argv_[i_]); }

 private:
  int argc_;
  char** argv_;
  int i_ = 0;
};

// host:port, refused unless host is an IPv4 loopback address: these
// clients are load generators.
inline sockaddr_in loopback_address(const std::string& host, int port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) usage_error("--host must be an IPv4 address");
  if ((ntohl(sa.sin_addr.s_addr) >> 24) != 127) usage_error("--host must be a loopback address (127.0.0.0/8)");
  return sa;
}

// The soft descriptor limit up to the hard one.
inline void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
}

}  // namespace load
