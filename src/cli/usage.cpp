#include "cli/usage.h"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <vector>

#include "cli/exit_codes.h"

namespace evtool {
namespace {

// A value's label from CLI11's type name: the validator's name when there
// is one ("TEXT:DURATION" -> DUR, "INT:N:INT in [1 - 256]" -> N), else N for
// numbers and VALUE for text.
std::string value_label(const std::string& type_name) {
  std::vector<std::string> parts;
  std::stringstream in(type_name);
  for (std::string part; std::getline(in, part, ':');) parts.push_back(part);
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    if (p.empty() || p.find(' ') != std::string::npos || p == "TEXT" || p == "INT" || p == "UINT") continue;
    return p == "DURATION" ? "DUR" : p;
  }
  if (parts.empty()) return "VALUE";
  return parts[0] == "INT" || parts[0] == "UINT" || parts[0] == "FLOAT" ? "N" : "VALUE";
}

class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_option_opts(const CLI::Option* opt) const override {
    if (!opt->get_option_text().empty()) return " " + opt->get_option_text();
    std::string out;
    if (opt->get_type_size() != 0 && !opt->get_type_name().empty()) {  // flags have no value
      out += " " + value_label(opt->get_type_name());
      if (opt->get_expected_max() == CLI::detail::expected_max_vector_size) out += " ...";
    }
    for (const CLI::Option* other : opt->get_excludes()) out += " (not with " + other->get_name() + ")";
    return out;
  }
};

constexpr const char* kFooter = R"(Exit status:
  0  success (also a server or timer stopped by SIGINT/SIGTERM)
  1  run-time failure (I/O, refused, reset, malformed reply, SERVFAIL)
  2  usage error        3  name not found     4  timed out
  5  TLS failure        6  HTTP status >= 400 with --fail
  130  a client interrupted by SIGINT

Examples:
  evtool http serve examples/www --port 8080
  evtool http get -i http://127.0.0.1:8080/
  evtool dns serve --port 5353 --zone examples/dns/example.com.zone
  evtool dns resolve @127.0.0.1 -p 5353 www.example.com +short
  evtool tcp echo 7000 & evtool tcp chat 127.0.0.1 7000

'evtool COMMAND --help' shows a command's options; 'man evtool' has them all.)";

// The command being run when parsing stopped: the deepest parsed subcommand.
const CLI::App* command_of(const CLI::App& app) {
  const CLI::App* cur = &app;
  for (;;) {
    auto subs = cur->get_subcommands();
    if (subs.empty()) return cur;
    cur = subs.front();
  }
}

std::string path_of(const CLI::App* cmd) {
  std::string path;
  for (const CLI::App* c = cmd; c && c->get_parent(); c = c->get_parent()) path = c->get_name() + (path.empty() ? "" : " ") + path;
  return path;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// "unknown command 'htp' (did you mean 'http'?)", or about the first
// unexpected word: an option the command lacks, or an extra argument.
std::string explain_extras(const CLI::App& app, const CLI::App* cmd) {
  // With fallthrough, what a command does not know may be left with its
  // parents: all of it counts.
  std::vector<std::string> extras = app.remaining(true);
  if (extras.empty()) return "";
  auto option = std::find_if(extras.begin(), extras.end(), [](const std::string& w) { return w.size() > 1 && w[0] == '-'; });
  std::string where = path_of(cmd).empty() ? "evtool" : "evtool " + path_of(cmd);
  if (option != extras.end()) return "unknown option '" + *option + "' for '" + where + "'";
  auto subs = cmd->get_subcommands([](const CLI::App*) { return true; });
  if (subs.empty()) return "unexpected argument '" + extras.front() + "' for '" + where + "'";
  std::string names, best;
  std::size_t best_distance = 3;
  for (const CLI::App* s : subs) {
    names += (names.empty() ? "" : ", ") + s->get_name();
    std::size_t d = edit_distance(extras.front(), s->get_name());
    if (d < best_distance) best_distance = d, best = s->get_name();
  }
  return "unknown command '" + extras.front() + "' for '" + where + "' (" +
         (best.empty() ? "commands: " + names : "did you mean '" + best + "'?") + ")";
}

}  // namespace

void configure_help(CLI::App& app) { app.formatter(std::make_shared<HelpFormatter>()); }

void add_help_footer(CLI::App& app) { app.footer(kFooter); }

int report_usage_error(const CLI::App& app, const CLI::ParseError& e) {
  const CLI::App* cmd = command_of(app);
  std::string message = explain_extras(app, cmd);
  if (message.empty() && dynamic_cast<const CLI::ArgumentMismatch*>(&e)) {
    // "--every: 1 required TEXT:DURATION missing": say it plainly.
    std::string what = e.what();
    std::string name = what.substr(0, what.find(':'));
    if (what.find(" missing") != std::string::npos) message = name + " needs a value";
  }
  if (message.empty()) message = e.what();
  std::string path = path_of(cmd);
  std::fprintf(stderr, "evtool: error: %s\nRun 'evtool %s%s--help' for usage.\n", message.c_str(), path.c_str(),
               path.empty() ? "" : " ");
  return kExitUsage;
}

}  // namespace evtool
