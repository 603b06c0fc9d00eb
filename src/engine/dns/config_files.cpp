// resolv.conf, hosts and zone files. Every parser keeps going after a bad
// line and reports it; none of them can fail as a whole.
#include "engine/dns/config_files.h"

#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

namespace ev::dns {
namespace {

constexpr std::size_t kMaxFileSize = std::size_t{64} << 20;  // never slurp /dev/zero forever

std::optional<std::string> read_file(const std::string& path, std::string* why) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) {
    if (why) *why = path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::string text;
  char buf[16384];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, f.get())) {
    text.append(buf, n);
    if (text.size() > kMaxFileSize) {
      if (why) *why = path + ": file too large";
      return std::nullopt;
    }
  }
  if (std::ferror(f.get())) {
    if (why) *why = path + ": read error";
    return std::nullopt;
  }
  return text;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

// Calls f(line, number) for every line, without its "\n" or "\r\n".
template <typename F>
void for_each_line(std::string_view text, F&& f) {
  int number = 0;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    f(line, ++number);
  }
}

// The next whitespace-separated word of `rest` ("" when there is none).
std::string_view next_word(std::string_view& rest) {
  std::size_t i = 0;
  while (i < rest.size() && is_space(rest[i])) ++i;
  std::size_t start = i;
  while (i < rest.size() && !is_space(rest[i])) ++i;
  std::string_view word = rest.substr(start, i - start);
  rest.remove_prefix(i);
  return word;
}

std::string_view strip_comment(std::string_view line, std::string_view markers) {
  return line.substr(0, line.find_first_of(markers));
}

std::string quoted(std::string_view s) {
  std::string out(1, '\'');  // built in place: GCC 12 misreads "'" + string as overlapping (-Wrestrict)
  out.append(s.substr(0, 100));
  out.push_back('\'');
  return out;
}

template <typename T>
std::optional<T> parse_number(std::string_view text) {
  T v{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// ---------------------------------------------------------------- resolv.conf

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
  std::string_view rest = strip_comment(text, "#;");
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
  auto v = parse_number<int>(value);
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
  auto v = parse_number<double>(value);
  if (!v || !std::isfinite(*v) || *v <= 0 || *v > 3600) {
    warn("bad value " + quoted(value) + " for " + std::string(name) + " (seconds, 0 < s <= 3600)");
    return false;
  }
  out = std::chrono::microseconds(std::llround(*v * 1e6));
  return true;
}

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

// ---------------------------------------------------------------- hosts

bool same_address(const SocketAddress& a, const SocketAddress& b) {
  if (a.family() != b.family()) return false;
  if (a.family() == AF_INET)
    return std::memcmp(&reinterpret_cast<const sockaddr_in*>(a.sa())->sin_addr,
                       &reinterpret_cast<const sockaddr_in*>(b.sa())->sin_addr, sizeof(in_addr)) == 0;
  if (a.family() == AF_INET6)
    return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(a.sa())->sin6_addr,
                       &reinterpret_cast<const sockaddr_in6*>(b.sa())->sin6_addr, sizeof(in6_addr)) == 0;
  return false;
}

}  // namespace

ResolvConf parse_resolv_conf(std::string_view text) {
  ResolvConf conf;
  ResolvConfParser parser(conf);
  for_each_line(text, [&](std::string_view line, int number) { parser.line(line, number); });
  return conf;
}

std::optional<ResolvConf> load_resolv_conf(const std::string& path, std::string* why) {
  auto text = read_file(path, why);
  if (!text) return std::nullopt;
  return parse_resolv_conf(*text);
}

HostsFile HostsFile::parse(std::string_view text, std::vector<std::string>* warnings) {
  HostsFile hosts;
  auto warn = [&](int number, const std::string& what) {
    if (warnings) warnings->push_back("line " + std::to_string(number) + ": " + what);
  };
  for_each_line(text, [&](std::string_view line, int number) {
    std::string_view rest = strip_comment(line, "#");
    std::string_view first = next_word(rest);
    if (first.empty()) return;
    auto addr = parse_ip(first);
    if (!addr) return warn(number, "bad address " + quoted(first));
    bool canonical = true;
    for (std::string_view name = next_word(rest); !name.empty(); name = next_word(rest)) {
      if (!valid_name(name) || name == ".") {
        warn(number, "bad host name " + quoted(name));
        continue;
      }
      hosts.entries_.push_back({*addr, std::string(name), canonical});
      canonical = false;
    }
    if (canonical) warn(number, "address without a name");
  });
  return hosts;
}

std::optional<HostsFile> HostsFile::load(const std::string& path, std::string* why) {
  auto text = read_file(path, why);
  if (!text) return std::nullopt;
  return parse(*text);
}

std::vector<SocketAddress> HostsFile::lookup(std::string_view name, int family) const {
  std::vector<SocketAddress> out;
  for (const Entry& e : entries_) {
    if (!names_equal(e.name, name) || (family != AF_UNSPEC && e.address.family() != family)) continue;
    bool seen = false;
    for (const SocketAddress& a : out) seen = seen || same_address(a, e.address);
    if (!seen) out.push_back(e.address);
  }
  return out;
}

std::optional<std::string> HostsFile::reverse(const SocketAddress& addr) const {
  for (const Entry& e : entries_)
    if (e.canonical && same_address(e.address, addr)) return e.name;
  return std::nullopt;
}

// ---------------------------------------------------------------- zone files

namespace {

// Reads physical lines, joins those inside parentheses into one logical
// line with comments removed, and turns each logical line into a record
// or a directive.
class ZoneParser {
 public:
  ZoneParser(std::string_view origin, std::uint32_t default_ttl, std::string_view file, ZoneParseResult& out)
      : origin_(qualify_name(origin.empty() ? "." : origin, "").value_or("")), ttl_(default_ttl), file_(file),
        out_(out) {}
  void physical_line(std::string_view text, int number);
  void finish();

 private:
  void scan(std::string_view text);
  void logical_line();
  void directive(std::string_view rest);
  void record(std::string_view rest, bool blank_owner);
  void error(const std::string& what) { error_at(start_line_, what); }
  void error_at(int line, const std::string& what) {
    out_.errors.push_back(file_.empty() ? what : std::string(file_) + ":" + std::to_string(line) + ": " + what);
  }

  std::string origin_;
  std::uint32_t ttl_;
  std::string_view file_;
  ZoneParseResult& out_;
  std::optional<std::string> owner_;  // the previous owner, for lines starting with white space
  std::string logical_;
  int start_line_ = 0, line_ = 0, depth_ = 0;
  bool bad_ = false;  // the logical line already has an error
};

void ZoneParser::physical_line(std::string_view text, int number) {
  line_ = number;
  if (depth_ == 0) {
    logical_.clear();
    start_line_ = number;
    bad_ = false;
  } else {
    logical_ += ' ';
  }
  scan(text);
  if (depth_ == 0) logical_line();
}

// Appends `text` to the logical line without its comment, parentheses
// turned into spaces; quotes and escapes protect ';' and parentheses.
void ZoneParser::scan(std::string_view text) {
  bool in_quote = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\' && i + 1 < text.size()) {
      logical_ += c;
      logical_ += text[++i];
    } else if (in_quote || (c != ';' && c != '(' && c != ')')) {
      if (c == '"') in_quote = !in_quote;
      logical_ += c;
    } else if (c == ';') {
      break;
    } else if (c == '(') {
      ++depth_;
      logical_ += ' ';
    } else if (depth_ == 0) {
      if (!bad_) error_at(line_, "unbalanced ')'");
      bad_ = true;
    } else {
      --depth_;
      logical_ += ' ';
    }
  }
  if (in_quote && !bad_) error_at(line_, "unterminated quoted string");
  bad_ = bad_ || in_quote;
}

void ZoneParser::finish() {
  if (depth_ == 0) return;
  if (!bad_) error("unbalanced '(' (missing ')')");
  depth_ = 0;
}

void ZoneParser::logical_line() {
  std::string_view rest = logical_;
  bool blank_owner = !rest.empty() && is_space(rest[0]);
  std::string_view probe = rest;
  if (bad_ || next_word(probe).empty()) return;
  if (!blank_owner && rest[0] == '$')
    directive(rest);
  else
    record(rest, blank_owner);
}

void ZoneParser::directive(std::string_view rest) {
  std::string_view name = next_word(rest), value = next_word(rest);
  if (name == "$ORIGIN") {
    auto origin = value.empty() ? std::nullopt : qualify_name(value, origin_);
    if (!origin) return error("bad $ORIGIN " + quoted(value));
    origin_ = std::move(*origin);
  } else if (name == "$TTL") {
    auto ttl = parse_ttl(value);
    if (!ttl) return error("bad $TTL " + quoted(value));
    ttl_ = *ttl;
  } else {
    error("unsupported directive " + quoted(name));
  }
}

void ZoneParser::record(std::string_view rest, bool blank_owner) {
  if (!blank_owner) {
    std::string_view word = next_word(rest);
    owner_ = qualify_name(word, origin_);
    if (!owner_) return error("bad owner name " + quoted(word));
  } else if (!owner_) {
    return error("no previous owner for a line starting with white space");
  }
  std::optional<std::uint32_t> ttl;
  std::optional<std::uint16_t> cls;
  std::string_view word = next_word(rest);
  for (int i = 0; i < 2 && !word.empty(); ++i) {  // [TTL] [CLASS] in either order
    if (!ttl && (ttl = parse_ttl(word))) word = next_word(rest);
    else if (!cls && (cls = class_from_name(word))) word = next_word(rest);
  }
  if (cls && (*cls == kClassANY || *cls == 254)) return error("class " + class_name(*cls) + " is for queries only");
  auto type = word.empty() ? std::nullopt : type_from_name(word);
  if (!type) return error(word.empty() ? "missing type" : "unknown type " + quoted(word));
  std::string why;
  auto rr = make_record(*owner_ + ".", *type, ttl.value_or(ttl_), rest, origin_, &why);
  if (!rr) return error(why);
  rr->rclass = cls.value_or(kClassIN);
  out_.records.push_back(std::move(*rr));
}

}  // namespace

ZoneParseResult parse_zone(std::string_view text, std::string_view origin, std::uint32_t default_ttl,
                           std::string_view file_name) {
  ZoneParseResult result;
  if (!valid_name(origin)) result.errors.push_back(std::string(file_name) + ": bad origin " + quoted(origin));
  ZoneParser parser(origin, default_ttl, file_name, result);
  for_each_line(text, [&](std::string_view line, int number) { parser.physical_line(line, number); });
  parser.finish();
  return result;
}

std::optional<ZoneParseResult> load_zone(const std::string& path, std::string_view origin, std::uint32_t default_ttl,
                                         std::string* why) {
  auto text = read_file(path, why);
  if (!text) return std::nullopt;
  return parse_zone(*text, origin, default_ttl, path);
}

std::optional<ResourceRecord> parse_record_line(std::string_view line, std::uint32_t default_ttl, std::string* why) {
  while (!line.empty() && is_space(line.front())) line.remove_prefix(1);
  ZoneParseResult result;
  ZoneParser parser("", default_ttl, "", result);
  parser.physical_line(line, 1);
  parser.finish();
  std::string problem = !result.errors.empty()      ? result.errors.front()
                        : result.records.size() != 1 ? "expected 'NAME [TTL] [IN] TYPE DATA'"
                                                     : "";
  if (problem.empty()) return std::move(result.records.front());
  if (why) *why = std::move(problem);
  return std::nullopt;
}

}  // namespace ev::dns
