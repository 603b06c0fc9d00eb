// `evtool http serve [DIR]`: a static file server (FileServer) on one
// http::Server per --threads loop, with --echo, the access log (Common Log
// Format, or NDJSON), and a graceful stop on SIGINT / SIGTERM.
#include <ctime>
#include <stdexcept>
#include <thread>

#include "cli/validators.h"
#include "cmds/http_commands.h"
#include "cmds/http_files.h"
#include "cmds/tcp_common.h"
#include "cmds/tls_options.h"
#include "engine/http/server.h"
#include "engine/util/units.h"

namespace evtool {
namespace {

namespace http = ev::http;

struct ServeOptions {
  std::string dir = ".";
  std::string port = "8080";
  std::string bind = "0.0.0.0";
  long threads = 1;
  long max_conns = 0;
  std::string timeout = "30s";
  std::string max_header = "16k";
  std::string max_body = "1M";
  bool no_listing = false;
  std::string index = "index.html";
  std::string echo;
  ServerTlsFlags tls;
};

// `--echo PATH`: the request described as JSON.
void echo_request(http::Request& req) {
  Json query = Json::object(), headers = Json::object();
  if (auto q = http::parse_query(req.uri().query))
    for (auto& [k, v] : *q) query[k] = v;
  for (const auto& [name, value] : req.headers()) headers[name] = value;
  std::string body = req.body().to_string();
  auto path = http::percent_decode(req.uri().path);
  Json doc = {{"method", req.method()},
              {"uri", req.target()},
              {"path", path ? *path : req.uri().path},
              {"query", query},
              {"headers", headers},
              {"body_length", body.size()},
              {"body", body}};
  req.reply_headers().set("Content-Type", "application/json");
  req.send_reply(200, doc.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n");
}

// One access-log line per reply: Common Log Format, or NDJSON.
void log_request(const Output& out, const http::Request& req) {
  if (out.quiet()) return;
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  std::string version = req.version_minor() == 0 ? "HTTP/1.0" : "HTTP/1.1";
  if (out.json()) {
    char iso[40];
    std::strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%S%z", &tm);
    out.json_line({{"event", "request"}, {"remote", req.peer().host()}, {"peer", peer_name(req.peer())},
                   {"method", req.method()}, {"uri", req.target()}, {"http_version", version.substr(5)},
                   {"status", req.status()}, {"size", req.body_bytes()}, {"time", iso}});
    return;
  }
  char when[40];
  std::strftime(when, sizeof when, "%d/%b/%Y:%H:%M:%S %z", &tm);
  std::string line = req.method().empty() ? "-" : req.method() + " " + req.target() + " " + version;
  std::string bytes = req.body_bytes() ? std::to_string(req.body_bytes()) : "-";
  out.line(req.peer().host() + " - - [" + when + "] \"" + line + "\" " + std::to_string(req.status()) + " " + bytes);
}

http::ServerSettings settings_for(const ServeOptions& o) {
  http::ServerSettings s;
  s.limits.max_header_size = static_cast<std::size_t>(*ev::parse_size(o.max_header));
  s.limits.max_body_size = *ev::parse_size(o.max_body);
  s.timeout = *ev::parse_duration(o.timeout);
  s.max_connections = static_cast<std::size_t>(o.max_conns);
  s.server_name = "evtool/" EVTOOL_VERSION;
  if (o.threads > 1) s.shared_count = std::make_shared<std::atomic<std::size_t>>(0);
  return s;
}

struct Loop {
  std::unique_ptr<ev::EventBase> base;
  std::unique_ptr<http::Server> server;
};

int run_serve(const Context& ctx, const ServeOptions& o) {
  std::shared_ptr<FileServer> files;
  try {
    files = std::make_shared<FileServer>(o.dir, FileServerOptions{o.index, !o.no_listing});
  } catch (const std::runtime_error& e) {
    throw UsageError(e.what());
  }
  auto addr = ev::parse_ip(o.bind, *ev::parse_port(o.port));
  if (!addr) throw UsageError("--bind: invalid address '" + o.bind + "'");
  http::ServerSettings settings = settings_for(o);
  int tls_rc = kExitOk;
  settings.tls = make_server_tls(ctx, o.tls, o.bind, {"http/1.1"}, &tls_rc);
  if (tls_rc != kExitOk) return tls_rc;
  int flags = ev::ConnListener::kReusable | ev::ConnListener::kCloseOnExec;
  if (o.threads > 1) flags |= ev::ConnListener::kReusablePort;
  std::vector<Loop> loops;
  for (long i = 0; i < o.threads; ++i) {
    int rc = kExitOk;
    Loop loop{ctx.make_base(&rc), nullptr};
    if (!loop.base) return rc;
    loop.server = std::make_unique<http::Server>(*loop.base, settings);
    loop.server->set_generic_callback([files](http::Request& req) { files->handle(req); });
    if (!o.echo.empty()) loop.server->set_callback(o.echo, echo_request);
    loop.server->set_log_callback([&ctx](const http::Request& req) { log_request(ctx.out, req); });
    loop.server->set_error_callback([&ctx](const ev::SocketAddress& peer, const std::string& what) {
      ctx.out.info("%s: %s", peer_name(peer).c_str(), what.c_str());
    });
    std::string why;
    if (!loop.server->bind(*addr, flags, &why)) {
      ctx.out.error("%s", why.c_str());
      return kExitFailure;
    }
    if (i == 0) *addr = loop.server->addresses().front();  // port 0: every loop shares the real one
    loops.push_back(std::move(loop));
  }
  StopSignals stop(*loops[0].base, [&loops](int) {
    for (Loop& l : loops) {
      ev::EventBase* b = l.base.get();
      http::Server* s = l.server.get();
      b->run_in_loop([b, s] { s->shutdown([b] { b->loopbreak(); }); });
    }
  });
  print_listening(ctx, *addr);
  ctx.out.debug("serving %s with %ld loop(s)", o.dir.c_str(), o.threads);
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < loops.size(); ++i)
    threads.emplace_back([b = loops[i].base.get()] { b->loop(ev::EventBase::kLoopNoExitOnEmpty); });
  loops[0].base->loop(ev::EventBase::kLoopNoExitOnEmpty);
  for (std::thread& t : threads) t.join();
  return kExitOk;
}

}  // namespace

void add_http_serve_command(CLI::App& http, Context& ctx) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* cmd = http.add_subcommand("serve", "Serve a directory over HTTP (static files, listings, --echo)");
  cmd->add_option("DIR", o->dir, "Directory to serve (default .)")->check(CLI::ExistingDirectory);
  cmd->add_option("--port,-p", o->port, "TCP port (default 8080; 0: any free port)")->check(kPort);
  cmd->add_option("--bind", o->bind, "Address to listen on (default 0.0.0.0)")->check(kIpAddress)->option_text("ADDR");
  cmd->add_option("--threads", o->threads, "Event loops (threads) sharing the port with SO_REUSEPORT")
      ->check(kPositive)->check(CLI::Range(1, 256));
  cmd->add_option("--max-conns", o->max_conns, "Answer 503 to connections beyond N at once")->check(kPositive);
  cmd->add_option("--timeout", o->timeout, "Idle and header-read timeout (default 30s)")->check(kDuration);
  cmd->add_option("--max-header", o->max_header, "Largest request head (default 16k)")->check(kSize)->option_text("SIZE");
  cmd->add_option("--max-body", o->max_body, "Largest request body (default 1M)")->check(kSize)->option_text("SIZE");
  cmd->add_flag("--no-listing", o->no_listing, "Do not list directories without an index file");
  cmd->add_option("--index", o->index, "Index file name (default index.html)")->option_text("NAME");
  cmd->add_option("--echo", o->echo, "Answer any method on PATH with a JSON description of the request")
      ->option_text("PATH");
  add_server_tls_flags(cmd, o->tls);
  ctx.add_command(cmd, [&ctx, o] { return run_serve(ctx, *o); });
}

}  // namespace evtool
