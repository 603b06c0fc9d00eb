// `evtool dns resolve NAME...` (alias `lookup`): dig's answer section from
// the engine's asynchronous resolver; `-f FILE` resolves many names
// concurrently, printing results in input order.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/validators.h"
#include "cmds/dig_words.h"
#include "cmds/dns_commands.h"
#include "cmds/stop_signals.h"
#include "engine/dns/resolver.h"
#include "engine/util/ascii.h"
#include "engine/util/units.h"

namespace evtool {
namespace {

struct ResolveOptions {
  std::vector<std::string> names;
  std::string type;
  bool reverse = false;
  std::vector<std::string> servers;
  std::string resolv_conf = "/etc/resolv.conf";
  std::string hosts = "/etc/hosts";
  bool no_hosts = false, no_search = false, tcp = false, short_output = false;
  std::string timeout;
  long tries = 0;
  std::string file;
  long max_inflight = 0;
  int port = 53;                 // -p: for servers given without one
  bool ipv4_only = false, ipv6_only = false;
  bool print_answers = true;     // dig's +noall
  const CLI::Option* hosts_option = nullptr;
};

// One name's outcome: its status and every answer record, in order.
struct Outcome {
  std::string name;
  std::string status = "NOERROR";
  std::vector<ev::dns::ResourceRecord> answers;
  // The answers of each type asked, in the order asked (A before AAAA),
  // whatever order they arrive in.
  std::vector<std::vector<ev::dns::ResourceRecord>> parts;
  bool any_answer_of_type = false;
  bool truncated = false;  // an answer marked TC even over TCP: records are missing
  bool refused = false;    // every server refused the connection: nothing listens there
  int pending = 0;
  bool done = false;
};

std::string status_of(int err) {
  switch (err) {
    case ev::dns::kErrNone:
    case ev::dns::kErrNoData: return "NOERROR";
    case ev::dns::kErrNotExist: return "NXDOMAIN";
    case ev::dns::kErrServerFailed: return "SERVFAIL";
    case ev::dns::kErrRefused: return "REFUSED";
    case ev::dns::kErrFormat: return "FORMERR";
    case ev::dns::kErrNotImpl: return "NOTIMP";
    case ev::dns::kErrTimeout: return "TIMEOUT";
    default: return "SERVFAIL";
  }
}

// Worse statuses win when A and AAAA disagree.
int severity(const std::string& status) {
  if (status == "NOERROR") return 0;
  if (status == "NXDOMAIN") return 1;
  if (status == "TIMEOUT") return 2;
  return 3;
}

class ResolveJob {
 public:
  ResolveJob(const Context& ctx, const ResolveOptions& o, ev::dns::Resolver& r, std::vector<std::uint16_t> types)
      : ctx_(ctx), opts_(o), resolver_(r), types_(std::move(types)) {}

  void start(const std::vector<std::string>& names) {
    outcomes_.resize(names.size());
    for (std::size_t i = 0; i < names.size(); ++i) start_one(i, names[i]);
  }

  // Prints finished outcomes in input order (JSON waits for the end).
  void print_ready() {
    Output::Batch batch(ctx_.out);
    while (printed_ < outcomes_.size() && outcomes_[printed_].done) print(outcomes_[printed_++]);
  }
  bool all_done() const { return printed_ == outcomes_.size(); }
  void print_json() const;
  int exit_code() const;

 private:
  void start_one(std::size_t i, const std::string& name) {
    Outcome& o = outcomes_[i];
    o.name = name;
    int flags = (opts_.no_search ? ev::dns::Resolver::kNoSearch : 0) | (opts_.tcp ? ev::dns::Resolver::kUseTcp : 0) |
                (opts_.no_hosts ? ev::dns::Resolver::kNoHosts : 0);
    if (opts_.reverse) {
      auto addr = ev::parse_ip(name);
      if (!addr) throw UsageError("-x: '" + name + "' is not an IP address");
      o.pending = 1;
      o.parts.resize(1);
      resolver_.resolve_reverse(*addr, [this, i](const auto& r) { collect(i, 0, ev::dns::kTypePTR, r); }, flags);
      return;
    }
    o.pending = static_cast<int>(types_.size());
    o.parts.resize(types_.size());
    for (std::size_t k = 0; k < types_.size(); ++k)
      resolver_.query(name, types_[k], [this, i, k, t = types_[k]](const auto& r) { collect(i, k, t, r); }, flags);
  }

  void collect(std::size_t i, std::size_t part, std::uint16_t type, const ev::dns::Resolver::Result& r) {
    Outcome& o = outcomes_[i];
    if (ctx_.out.verbose()) report_source(o.name, type, r);
    std::string status = status_of(r.err);
    if (severity(status) > severity(o.status)) o.status = status;
    if (r.answer.header.tc) o.truncated = true;
    if (r.refused) o.refused = true;
    for (const auto& rr : r.answer.answers) {
      if (rr.type == type || type == ev::dns::kTypeANY) o.any_answer_of_type = true;
      o.parts[part].push_back(rr);
    }
    if (--o.pending > 0) return;
    // With A and AAAA, one family answering is success.
    if (o.any_answer_of_type) o.status = "NOERROR";
    // A CNAME chain comes with both families: print each record once.
    for (auto& records : o.parts)
      for (auto& rr : records) {
        bool seen = std::any_of(o.answers.begin(), o.answers.end(), [&rr](const ev::dns::ResourceRecord& a) {
          return a.type == rr.type && a.rdata == rr.rdata && ev::dns::names_equal(a.name, rr.name);
        });
        if (!seen) o.answers.push_back(std::move(rr));
      }
    o.parts.clear();
    o.done = true;
  }

  void print(const Outcome& o) const {
    if (ctx_.out.json()) {
      if (o.truncated) ctx_.out.error("%s: answer truncated (more records than one message holds)", o.name.c_str());
      return;
    }
    for (const auto& rr : o.answers) {
      if (!opts_.print_answers) break;
      if (opts_.short_output) {
        ctx_.out.line(rr.data_text());
      } else {
        ctx_.out.line(rr.name + ".\t" + std::to_string(rr.ttl) + "\t" + ev::dns::class_name(rr.rclass) + "\t" +
                      ev::dns::type_name(rr.type) + "\t" + rr.data_text());  // tabs, as dig: cut -f5 works
      }
    }
    if (o.truncated) ctx_.out.error("%s: answer truncated (more records than one message holds)", o.name.c_str());
    else if (o.refused && !o.any_answer_of_type)
      ctx_.out.error("%s: connection refused (no DNS server listens at the address asked)", o.name.c_str());
    else if (!o.any_answer_of_type)
      ctx_.out.info("%s: %s", o.name.c_str(), o.status == "NOERROR" ? "no records of that type" : o.status.c_str());
  }

  // -v: where an answer came from, over what, after how many queries.
  void report_source(const std::string& name, std::uint16_t type, const ev::dns::Resolver::Result& r) const {
    std::string type_text = ev::dns::type_name(type);
    double ms = static_cast<double>(r.elapsed.count()) / 1000.0;
    if (r.from_hosts) {
      ctx_.out.debug("%s %s: %s from the hosts file", name.c_str(), type_text.c_str(), status_of(r.err).c_str());
    } else if (r.server) {
      ctx_.out.debug("%s %s: %s from %s over %s in %.1f ms (%d %s sent)", name.c_str(), type_text.c_str(),
                     status_of(r.err).c_str(), r.server->to_string().c_str(), r.over_tcp ? "tcp" : "udp", ms,
                     r.queries_sent, r.queries_sent == 1 ? "query" : "queries");
    } else {
      ctx_.out.debug("%s %s: %s after %.1f ms (%d %s sent, no answer)", name.c_str(), type_text.c_str(),
                     status_of(r.err).c_str(), ms, r.queries_sent, r.queries_sent == 1 ? "query" : "queries");
    }
  }

  const Context& ctx_;
  const ResolveOptions& opts_;
  ev::dns::Resolver& resolver_;
  std::vector<std::uint16_t> types_;
  std::vector<Outcome> outcomes_;
  std::size_t printed_ = 0;
};

void ResolveJob::print_json() const {
  Json doc = Json::array();
  for (const Outcome& o : outcomes_) {
    Json answers = Json::array();
    for (const auto& rr : o.answers)
      answers.push_back({{"name", rr.name + "."}, {"ttl", rr.ttl}, {"class", ev::dns::class_name(rr.rclass)},
                         {"type", ev::dns::type_name(rr.type)}, {"data", rr.data_text()}});
    Json entry = {{"name", o.name}, {"status", o.status}, {"answers", answers}};
    if (o.truncated) entry["truncated"] = true;
    doc.push_back(std::move(entry));
  }
  ctx_.out.json_line(doc);
}

int ResolveJob::exit_code() const {
  int code = kExitOk;
  auto rank = [](int c) { return c == kExitFailure ? 3 : c == kExitTimeout ? 2 : c == kExitNotFound ? 1 : 0; };
  for (const Outcome& o : outcomes_) {
    int c = kExitOk;
    if (o.status == "TIMEOUT") c = kExitTimeout;
    else if (o.truncated || (o.status != "NOERROR" && o.status != "NXDOMAIN")) c = kExitFailure;
    else if (!o.any_answer_of_type) c = kExitNotFound;
    if (rank(c) > rank(code)) code = c;
  }
  return code;
}

// A line of a name list longer than this stops the run: a name is at most
// 253 bytes, and /dev/zero must not become one endless line in memory.
constexpr std::size_t kMaxNameLine = 1024;

// The next line (without its newline) of at most kMaxNameLine bytes;
// false at the end of the input.
bool read_line(std::streambuf& in, std::string& line, const std::string& file, std::size_t lineno) {
  line.clear();
  for (int c = in.sbumpc(); c != std::char_traits<char>::eof(); c = in.sbumpc()) {
    if (c == '\n') return true;
    if (line.size() == kMaxNameLine)
      throw UsageError("-f " + file + ": line " + std::to_string(lineno) + " is longer than " +
                       std::to_string(kMaxNameLine) + " bytes");
    line.push_back(static_cast<char>(c));
  }
  return !line.empty();
}

std::vector<std::string> read_names(const std::string& file) {
  std::vector<std::string> names;
  std::ifstream f;
  std::istream* in = &std::cin;
  if (file != "-") {
    f.open(file, std::ios::binary);
    if (!f) throw UsageError("-f: cannot read '" + file + "'");
    in = &f;
  }
  std::string line;
  for (std::size_t lineno = 1; read_line(*in->rdbuf(), line, file, lineno); ++lineno) {
    auto b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    auto e = line.find_first_of(" \t\r#", b);
    names.push_back(line.substr(b, e == std::string::npos ? std::string::npos : e - b));
  }
  return names;
}

// resolv.conf, then the flags that override it.
ev::dns::ResolvConf make_config(const Context& ctx, const ResolveOptions& o) {
  std::string why;
  auto conf = ev::dns::load_resolv_conf(o.resolv_conf, &why);
  if (!conf) {
    if (o.resolv_conf != "/etc/resolv.conf") throw UsageError("--resolv-conf: " + why);
    conf = ev::dns::ResolvConf{};  // no system file: --server must say where to ask
  }
  for (const std::string& w : conf->warnings) ctx.out.debug("%s: %s", o.resolv_conf.c_str(), w.c_str());
  if (!o.servers.empty()) {
    conf->nameservers.clear();
    for (const std::string& s : o.servers) {
      auto addr = ev::parse_ip(s, o.port);  // a bare IPv6 address has colons of its own
      conf->nameservers.push_back(addr ? *addr : *ev::parse_sockaddr_port(s, o.port));
    }
  }
  if (o.ipv4_only || o.ipv6_only) {
    int family = o.ipv4_only ? AF_INET : AF_INET6;
    std::erase_if(conf->nameservers, [family](const ev::SocketAddress& a) { return a.family() != family; });
  }
  if (!o.timeout.empty()) conf->timeout = *ev::parse_duration(o.timeout);
  if (o.tries > 0) conf->attempts = static_cast<int>(o.tries);
  if (o.max_inflight > 0) conf->max_inflight = static_cast<int>(o.max_inflight);
  return *conf;
}

// dig's words among the names (dig_words.h), merged into the options.
ResolveOptions with_dig_words(const ResolveOptions& given) {
  ResolveOptions o = given;
  DigWords dig = parse_dig_words(given.names);
  o.names = std::move(dig.names);
  o.servers.insert(o.servers.end(), dig.servers.begin(), dig.servers.end());
  if (!dig.type.empty()) {
    if (!o.type.empty() && !ev::ascii_iequals(o.type, dig.type))
      throw UsageError("two record types: -t " + o.type + " and " + dig.type);
    o.type = dig.type;
  }
  o.short_output = o.short_output || dig.short_output;
  o.print_answers = dig.print_answers;
  if (dig.tcp) o.tcp = *dig.tcp;
  if (dig.search) o.no_search = !*dig.search;
  if (dig.timeout_seconds) o.timeout = std::to_string(*dig.timeout_seconds) + "s";
  if (dig.tries) o.tries = *dig.tries;
  // Asking a given server means asking it: the hosts file only when named.
  if (!o.servers.empty() && (!o.hosts_option || o.hosts_option->count() == 0)) o.no_hosts = true;
  return o;
}

int run_resolve(const Context& ctx, const ResolveOptions& given) {
  ResolveOptions o = with_dig_words(given);
  std::vector<std::string> names = o.names;
  if (!o.file.empty()) {
    auto more = read_names(o.file);
    names.insert(names.end(), more.begin(), more.end());
  }
  if (names.empty()) throw UsageError("dns resolve needs a NAME (or -f FILE)");
  if (o.reverse)
    for (const std::string& name : names)
      if (!ev::parse_ip(name)) throw UsageError("-x: '" + name + "' is not an IP address");
  std::vector<std::uint16_t> types = {ev::dns::kTypeA, ev::dns::kTypeAAAA};
  if (!o.type.empty()) {
    auto t = ev::dns::type_from_name(o.type);
    if (!t) throw UsageError("--type: unknown record type '" + o.type + "'");
    types = {*t};
  }
  ev::dns::ResolvConf conf = make_config(ctx, o);
  if (conf.nameservers.empty() && (o.ipv4_only || o.ipv6_only)) {
    ctx.out.error("no IPv%c nameserver to ask (%s)", o.ipv4_only ? '4' : '6', o.ipv4_only ? "-4" : "-6");
    return kExitFailure;
  }
  if (conf.nameservers.empty()) {
    ctx.out.error("no nameserver: %s has none; use --server ADDR", o.resolv_conf.c_str());
    return kExitFailure;
  }
  int rc = kExitOk;
  auto base = ctx.make_base(&rc);
  if (!base) return rc;
  std::string why;
  auto resolver = ev::dns::Resolver::create(*base, conf, &why);
  if (!o.no_hosts)
    if (auto hosts = ev::dns::HostsFile::load(o.hosts, &why)) resolver->set_hosts(std::move(*hosts));
  ResolveJob job(ctx, o, *resolver, types);
  StopSignals stop(*base, [&](int) { base->loopbreak(); });
  job.start(names);
  while (!job.all_done() && !stop.last_signal()) {
    if (base->loop(ev::EventBase::kLoopOnce) != 0) break;
    job.print_ready();
  }
  if (stop.last_signal()) return kExitInterrupted;
  if (ctx.out.json()) job.print_json();
  return job.exit_code();
}

}  // namespace

void add_dns_resolve_command(CLI::App& dns, Context& ctx) {
  auto o = std::make_shared<ResolveOptions>();
  CLI::App* cmd = dns.add_subcommand("resolve", "Look names up (dig's answer section) with the engine's resolver");
  cmd->alias("lookup");
  cmd->add_option("NAME", o->names,
                  "Names to look up (IP addresses with -x); dig's @SERVER, TYPE, IN and +options are understood too "
                  "(+short, +tcp, +notcp, +search, +nosearch, +time=S, +tries=N, +retry=N, +noall, +answer)");
  cmd->add_option("-t,--type", o->type, "Record type: A, AAAA, CNAME, MX, TXT, NS, SOA, SRV, PTR, CAA, ANY (default A and AAAA)");
  cmd->add_flag("-x,--reverse", o->reverse, "NAME is an IP address: ask for its PTR record");
  cmd->add_option("--server", o->servers, "Nameserver ADDR[:PORT] (repeatable; IPv6 as [::1]:5353)")
      ->check(kAddressPort)->option_text("ADDR[:PORT]")
      ->allow_extra_args(false);  // one address per --server: `--server ADDR NAME` works
  cmd->add_option("--resolv-conf", o->resolv_conf, "resolv.conf to read (default /etc/resolv.conf)")->option_text("FILE");
  cmd->add_option("-p,--port", o->port, "Port of the servers given without one (default 53)")
      ->check(CLI::Range(1, 65535))->option_text("PORT");
  cmd->add_flag("-4", o->ipv4_only, "Ask only IPv4 nameservers")->excludes(cmd->add_flag("-6", o->ipv6_only, "Ask only IPv6 nameservers"));
  o->hosts_option = cmd->add_option("--hosts", o->hosts, "Hosts file (default /etc/hosts; with --server, only when given)")
                        ->option_text("FILE");
  cmd->add_flag("--no-hosts", o->no_hosts, "Do not use the hosts file");
  cmd->add_flag("--no-search", o->no_search, "Do not apply the search list");
  cmd->add_option("--timeout", o->timeout, "Timeout per try (default from resolv.conf, 5s)")->check(kPositiveDuration);
  cmd->add_option("--tries", o->tries, "Tries per nameserver (default from resolv.conf, 2)")->check(kPositive);
  cmd->add_flag("--tcp", o->tcp, "Query over TCP");
  cmd->add_flag("--short", o->short_output, "Print only the data of each answer");
  cmd->add_option("-f,--file", o->file, "Read names from FILE (one per line; - for stdin)")->option_text("FILE");
  cmd->add_option("--max-inflight", o->max_inflight, "Queries in flight at once with -f (default 64)")->check(kPositive);
  ctx.add_command(cmd, [&ctx, o] { return run_resolve(ctx, *o); });
}

}  // namespace evtool
