// resolv.conf(5), one line at a time; a bad line is a warning, never an
// error.
#include "engine/dns/resolv_conf.h"

#include <algorithm>
#include <cmath>

#include "engine/dns/detail/config_text.h"
#include "engine/dns/message.h"

namespace ev::dns {
namespace {

using detail::next_word;
using detail::quoted;

class ResolvConfParser {
 public:
  explicit ResolvConfParser(ResolvConf& conf) : conf_(conf) {}
  void line(std::string_view text, int number);

 private:
  void warn(const std::string& what) { conf_.warnings.push_back("line " + std::to_string(number_) + ": " + what); }
  void nameserver(std::string_view rest);
  void search(std::string_view rest, bool one);
  void option(std::string_view opt);
  bool int_value(std::string_view name, std::string_view value, int min, int max, int& out);
  bool seconds_value(std::string_view name, std::string_view value, std::chrono::microseconds& out);

  ResolvConf& conf_;
  int number_ = 0;
};

void ResolvConfParser::line(std::string_view text, int number) {
  number_ = number;
  std::string_view rest = detail::strip_comment(text, "#;");
  std::string_view keyword = next_word(rest);
  if (keyword.empty()) return;
  if (keyword == "nameserver") {
    nameserver(rest);
  } else if (keyword == "domain" || keyword == "search") {
    search(rest, keyword == "domain");
  } else if (keyword == "options") {
    for (std::string_view opt = next_word(rest); !opt.empty(); opt = next_word(rest)) option(opt);
  } else if (keyword != "sortlist") {  // glibc's sortlist: meaningless for us, not an error
    warn("unknown keyword " + quoted(keyword));
  }
}

void ResolvConfParser::nameserver(std::string_view rest) {
  std::string_view word = next_word(rest);
  std::string why;
  if (auto addr = parse_sockaddr_port(word, 53, &why))
    conf_.nameservers.push_back(*addr);
  else
    warn("bad nameserver address " + quoted(word) + (why.empty() ? "" : " (" + why + ")"));
}

// "domain" and "search" both replace the list (the last one wins, as in glibc).
void ResolvConfParser::search(std::string_view rest, bool one) {
  std::vector<std::string> list;
  for (std::string_view word = next_word(rest); !word.empty(); word = next_word(rest)) {
    auto name = qualify_name(word, "");
    if (!name)
      warn("bad search domain " + quoted(word));
    else if (!name->empty())  // "search ." means no search list
      list.push_back(std::move(*name));
    if (one) break;
  }
  conf_.search = std::move(list);
}

bool ResolvConfParser::int_value(std::string_view name, std::string_view value, int min, int max, int& out) {
  auto v = detail::parse_number<int>(value);
  if (!v || *v < min || *v > max) {
    warn("bad value " + quoted(value) + " for " + std::string(name) + " (" + std::to_string(min) + ".." +
         std::to_string(max) + ")");
    return false;
  }
  out = *v;
  return true;
}

// Seconds, fractions allowed ("2.5"), more than 0 and at most an hour.
bool ResolvConfParser::seconds_value(std::string_view name, std::string_view value, std::chrono::microseconds& out) {
  auto v = detail::parse_number<double>(value);
  if (!v || !std::isfinite(*v) || *v <= 0 || *v > 3600) {
    warn("bad value " + quoted(value) + " for " + std::string(name) + " (seconds, 0 < s <= 3600)");
    return false;
  }
  out = std::chrono::microseconds(std::llround(*v * 1e6));
  return true;
}

// glibc's options that mean nothing to us (resolv.conf(5)).
bool ignored_glibc_option(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "rotate",      "edns0",  "trust-ad", "single-request", "single-request-reopen", "no-tld-query", "use-vc",
      "no-reload",   "inet6",  "debug",    "no-check-names", "insecure1",             "insecure2",    "no-aaaa",
      "ip6-dotint",  "no-ip6-dotint", "ip6-bytestring"};
  for (std::string_view n : kNames)
    if (n == name) return true;
  return false;
}

void ResolvConfParser::option(std::string_view opt) {
  std::size_t colon = opt.find(':');
  std::string_view name = opt.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view() : opt.substr(colon + 1);
  int n = 0;
  if (name == "ndots") {
    if (int_value(name, value, 0, 1 << 30, n)) conf_.ndots = std::min(n, 15);  // glibc's cap
  } else if (name == "timeout") {
    seconds_value(name, value, conf_.timeout);
  } else if (name == "initial-probe-timeout") {
    seconds_value(name, value, conf_.initial_probe_timeout);
  } else if (name == "attempts") {
    int_value(name, value, 1, 255, conf_.attempts);
  } else if (name == "max-inflight") {
    int_value(name, value, 1, 65535, conf_.max_inflight);
  } else if (name == "max-timeouts") {
    int_value(name, value, 1, 255, conf_.max_timeouts);
  } else if (name == "randomize-case") {
    if (colon == std::string_view::npos) conf_.randomize_case = true;
    else if (int_value(name, value, 0, 1, n)) conf_.randomize_case = n == 1;
  } else if (name == "bind-to") {
    std::string why;
    if (auto addr = parse_sockaddr_port(value, 0, &why)) conf_.bind_to = *addr;
    else warn("bad bind-to address " + quoted(value));
  } else if (!ignored_glibc_option(name)) {
    warn("unknown option " + quoted(opt));
  }
}

}  // namespace

ResolvConf parse_resolv_conf(std::string_view text) {
  ResolvConf conf;
  ResolvConfParser parser(conf);
  detail::for_each_line(text, [&](std::string_view line, int number) { parser.line(line, number); });
  return conf;
}

std::optional<ResolvConf> load_resolv_conf(const std::string& path, std::string* why) {
  auto text = detail::read_file(path, kMaxResolvConf, why, detail::FileKind::Any);
  if (!text) return std::nullopt;
  return parse_resolv_conf(*text);
}

}  // namespace ev::dns
