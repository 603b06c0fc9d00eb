// `evtool dns serve`: an authoritative DNS server on UDP and TCP, from
// zone files, --record lines and hosts files, optionally forwarding other
// names upstream. SIGHUP reloads the files without dropping queries.
#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "cli/validators.h"
#include "cmds/dns_commands.h"
#include "cmds/server_frame.h"
#include "engine/dns/forwarder.h"
#include "engine/dns/hosts_file.h"
#include "engine/dns/server.h"
#include "engine/dns/zone_db.h"
#include "engine/dns/zone_file.h"

namespace evtool {
namespace {

constexpr ev::Duration kForwardTimeout{3000000};

struct ServeOptions {
  ServerOptions server;  // --port (default 5353), --bind
  std::vector<std::string> zones, records, hosts;
  long ttl = 300;
  std::string forward;
};

// Builds the data from the options' files; false (with errors printed) if
// anything could not be loaded.
bool load_data(const Context& ctx, const ServeOptions& o, ev::dns::ZoneDb& db) {
  auto ttl = static_cast<std::uint32_t>(o.ttl);
  bool ok = true;
  for (const std::string& path : o.zones) {
    std::string why;
    auto errors = ev::dns::load_zone(path, "", ttl, [&db](ev::dns::ResourceRecord& rr) { db.add(rr); }, &why);
    if (!errors) {
      ctx.out.error("--zone: %s", why.c_str());  // why names the file
      ok = false;
      continue;
    }
    for (const std::string& e : *errors) ctx.out.error("%s", e.c_str());
    ok = ok && errors->empty();
  }
  for (const std::string& path : o.hosts) {
    std::string why;
    auto hosts = ev::dns::HostsFile::load(path, &why);
    if (!hosts) {
      ctx.out.error("--hosts: %s", why.c_str());
      ok = false;
      continue;
    }
    db.add_hosts(*hosts, ttl);
  }
  for (const std::string& line : o.records) {
    std::string why;
    auto rr = ev::dns::parse_record_line(line, ttl, &why);
    if (!rr) throw UsageError("--record '" + line + "': " + why);
    db.add(std::move(*rr));
  }
  if (db.empty()) db.add_localhost(ttl);  // the seed example's behaviour
  return ok;
}

// The server on the frame: it binds its own UDP and TCP sockets (one
// dns::Server), answers from the zone data, and reloads it on SIGHUP.
class DnsServer final : public ConnectionHandler {
 public:
  DnsServer(ServerLoop& loop, const ServeOptions& o, std::unique_ptr<ev::dns::ZoneDb> db)
      : ConnectionHandler(loop), ctx_(loop.ctx), opts_(o), base_(base()), db_(std::move(db)) {}

  bool listen(const ev::SocketAddress& addr, bool, std::vector<Listening>& out) override {
    std::string why;
    server_ = ev::dns::Server::bind(base_, addr, [this](std::unique_ptr<ev::dns::ServerRequest> r) { handle(std::move(r)); }, &why);
    if (!server_) {
      ctx_.out.error("%s", why.c_str());
      return false;
    }
    // Repeated questions are answered from the server's cache of built
    // replies; those are logged from the wire.
    server_->enable_answer_cache(65536, [this](const ev::SocketAddress& peer, std::span<const std::uint8_t> query,
                                               std::span<const std::uint8_t> answer) { log_hit(peer, query, answer); });
    server_->set_error_callback([this](const ev::SocketAddress& peer, const std::string& what) {
      ctx_.out.debug("%s: dropped: %s", peer.to_string().c_str(), what.c_str());
    });
    if (!opts_.forward.empty()) {
      auto up = ev::parse_sockaddr_port(opts_.forward, 53);
      forwarder_ = ev::dns::Forwarder::create(base_, *up, kForwardTimeout, &why);
      if (!forwarder_) {
        ctx_.out.error("--forward: %s", why.c_str());
        return false;
      }
      forwarder_->set_answer_cb([this](ev::dns::ServerRequest& req) {
        log_query(req, ev::dns::rcode_name(req.reply().header.rcode), true);
      });
    }
    // Before the listening lines are out: a script may send SIGHUP as soon
    // as it reads them.
    hup_.assign_signal(base_, SIGHUP, &DnsServer::on_hup, this);
    hup_.add();
    if (addr.is_unix()) {
      out.push_back({server_->address()});
    } else {
      out.push_back({server_->address(), "udp", true});
      out.push_back({server_->address(), "tcp", true});
    }
    return true;
  }

  void on_stop(std::function<void()> done) override {
    hup_.del();
    ctx_.out.info("answered %llu queries (%llu from the answer cache), %llu malformed",
                  static_cast<unsigned long long>(server_->queries()), static_cast<unsigned long long>(server_->cache_hits()),
                  static_cast<unsigned long long>(server_->malformed()));
    done();
  }

 private:
  static void on_hup(int, short, void* arg) { static_cast<DnsServer*>(arg)->reload(); }

  void reload() {
    auto fresh = std::make_unique<ev::dns::ZoneDb>();
    try {
      if (!load_data(ctx_, opts_, *fresh)) {
        ctx_.out.error("reload failed; still serving the previous data");
        return;
      }
    } catch (const UsageError& e) {
      ctx_.out.error("reload failed: %s", e.what());
      return;
    }
    db_ = std::move(fresh);
    server_->clear_answer_cache();
    ctx_.out.info("reloaded: %zu records", db_->size());
  }

  void handle(std::unique_ptr<ev::dns::ServerRequest> req) {
    const ev::dns::Question& q = req->query().questions.front();
    if (db_->answer(q, req->reply()) == ev::dns::ZoneDb::Outcome::NotOurs) {
      if (forwarder_) {  // logged when the upstream's answer comes (answer_cb)
        forwarder_->forward(std::move(req));
        return;
      }
      req->set_rcode(ev::dns::kRefused);
    }
    req->set_cacheable(true);  // from our static data (or a REFUSED that depends only on the name)
    log_query(*req, ev::dns::rcode_name(req->reply().header.rcode));
    req->respond();
  }

  void log_query(ev::dns::ServerRequest& req, const std::string& outcome, bool forwarded = false) {
    if (ctx_.out.quiet()) return;
    write_log(req.peer(), req.over_tcp(), req.query().questions.front(), outcome, req.reply().answers.size(),
              forwarded);
  }

  void log_hit(const ev::SocketAddress& peer, std::span<const std::uint8_t> query, std::span<const std::uint8_t> answer) {
    if (ctx_.out.quiet()) return;
    ev::dns::Message q;
    if (ev::dns::parse_message(query, q).status != ev::dns::ParseStatus::Ok || q.questions.empty()) return;
    std::size_t answers = (static_cast<std::size_t>(answer[6]) << 8) | answer[7];
    write_log(peer, false, q.questions.front(), ev::dns::rcode_name(answer[3] & 0x0f), answers);
  }

  // "TIME PEER PROTO NAME. TYPE RCODE ANSWERS [forwarded]", or NDJSON.
  void write_log(const ev::SocketAddress& from, bool tcp, const ev::dns::Question& q, const std::string& outcome,
                 std::size_t answers, bool forwarded = false) {
    std::string peer = from.to_string();
    const char* proto = tcp ? "tcp" : "udp";
    if (ctx_.out.json()) {
      Json event = {{"event", "query"}, {"time", rfc3339_now()}, {"peer", peer}, {"proto", proto}, {"name", q.name},
                    {"type", ev::dns::type_name(q.type)}, {"rcode", outcome}, {"answers", answers}};
      if (forwarded) event["forwarded"] = true;
      ctx_.out.json_line(event);
    } else {
      ctx_.out.line(rfc3339_now() + " " + peer + " " + proto + " " + q.name + ". " + ev::dns::type_name(q.type) + " " +
                    outcome + " " + std::to_string(answers) + (forwarded ? " forwarded" : ""));
    }
  }

  const Context& ctx_;
  const ServeOptions& opts_;
  ev::EventBase& base_;
  std::unique_ptr<ev::dns::ZoneDb> db_;
  std::unique_ptr<ev::dns::Server> server_;
  std::unique_ptr<ev::dns::Forwarder> forwarder_;
  ev::Event hup_;
};

int run_serve(const Context& ctx, const ServeOptions& o) {
  auto db = std::make_unique<ev::dns::ZoneDb>();
  if (!load_data(ctx, o, *db)) return kExitFailure;
  return run_server(ctx, o.server, {}, [&](ServerLoop& loop) { return std::make_unique<DnsServer>(loop, o, std::move(db)); });
}

}  // namespace

void add_dns_serve_command(CLI::App& dns, Context& ctx) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* cmd = dns.add_subcommand("serve", "Authoritative DNS server on UDP and TCP");
  o->server.port = "5353";
  add_server_options(cmd, o->server, kPortOption | kUnix, "Port for UDP and TCP (default 5353; 0 picks a free one)");
  // Repeatable options take one value each time.
  cmd->add_option("--zone", o->zones, "Zone (master) file to serve (repeatable)")->option_text("FILE")->allow_extra_args(false);
  cmd->add_option("--record", o->records, "A record: 'NAME [TTL] [IN] TYPE DATA' (repeatable)")
      ->option_text("RR")->allow_extra_args(false);
  cmd->add_option("--hosts", o->hosts, "Hosts file: A/AAAA and their PTR records")->option_text("FILE")->allow_extra_args(false);
  cmd->add_option("--ttl", o->ttl, "TTL for records without one (default 300)")->check(CLI::Range(0L, 2147483647L));
  cmd->add_option("--forward", o->forward, "Relay names outside our data to ADDR[:PORT]")
      ->check(kAddressPort)->option_text("ADDR[:PORT]");
  ctx.add_command(cmd, [&ctx, o] { return run_serve(ctx, *o); });
}

}  // namespace evtool
