#include "cmds/dig_words.h"

#include <charconv>
#include <string_view>

#include "cli/context.h"
#include "engine/dns/message.h"
#include "engine/util/ascii.h"
#include "engine/util/sockaddr.h"

namespace evtool {
namespace {

// Display options of dig that hide what `dns resolve` never prints.
constexpr std::string_view kNoOps[] = {"nocmd",       "cmd",          "nocomments", "nostats",
                                       "noquestion",  "noauthority",  "noadditional", "noidentify"};

long number_after(std::string_view word, std::string_view value, long min) {
  long n = 0;
  auto r = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || r.ec != std::errc() || r.ptr != value.data() + value.size() || n < min)
    throw UsageError("'" + std::string(word) + "': '" + std::string(value) + "' is not a number of at least " +
                     std::to_string(min));
  return n;
}

void take_plus_option(std::string_view word, DigWords& out) {
  std::string_view opt = word.substr(1), value;
  bool has_value = false;
  if (auto eq = opt.find('='); eq != std::string_view::npos) {
    value = opt.substr(eq + 1);
    opt = opt.substr(0, eq);
    has_value = true;
  }
  auto is = [&](std::string_view name) { return ev::ascii_iequals(opt, name); };
  if (!has_value) {
    if (is("short")) return void(out.short_output = true);
    if (is("tcp") || is("vc")) return void(out.tcp = true);
    if (is("notcp") || is("novc")) return void(out.tcp = false);
    if (is("search")) return void(out.search = true);
    if (is("nosearch")) return void(out.search = false);
    if (is("noall")) return void(out.print_answers = false);
    if (is("answer") || is("all")) return void(out.print_answers = true);
    if (is("noanswer")) return void(out.print_answers = false);
    for (std::string_view n : kNoOps)
      if (is(n)) return;
    if (is("tls") || is("https"))
      throw UsageError(std::string(word) + ": encrypted DNS is not available in this version");
  } else {
    if (is("time")) return void(out.timeout_seconds = number_after(word, value, 1));
    if (is("tries")) return void(out.tries = number_after(word, value, 1));
    if (is("retry")) return void(out.tries = number_after(word, value, 0) + 1);
  }
  throw UsageError("unknown dig option '" + std::string(word) + "' (see evtool dns resolve --help)");
}

}  // namespace

DigWords parse_dig_words(const std::vector<std::string>& words) {
  DigWords out;
  for (const std::string& word : words) {
    if (word.starts_with('+')) {
      take_plus_option(word, out);
    } else if (word.starts_with('@')) {
      std::string server = word.substr(1);
      // A bare IPv6 address has colons of its own: no port then.
      if (!ev::parse_ip(server) && !ev::parse_sockaddr_port(server, 53))
        throw UsageError("'" + word + "': @SERVER must be an IP address, optionally with :PORT");
      out.servers.push_back(server);
    } else if (ev::dns::type_from_name(word) && word.find('.') == std::string::npos) {
      out.type = word;
    } else if (auto cls = ev::dns::class_from_name(word); cls && word.find('.') == std::string::npos) {
      if (*cls != ev::dns::kClassIN) throw UsageError("'" + word + "': only the class IN is supported");
    } else {
      out.names.push_back(word);
    }
  }
  return out;
}

}  // namespace evtool
