// `evtool http serve [DIR]`: a static file server (FileServer) on one
// http::Server per --threads loop, with --echo, the access log (Common Log
// Format, or NDJSON), and a graceful stop on SIGINT / SIGTERM.
#include <sys/stat.h>

#include <ctime>
#include <stdexcept>

#include "cli/validators.h"
#include "cmds/http_commands.h"
#include "cmds/http_files.h"
#include "cmds/server_frame.h"
#include "engine/http/server.h"
#include "engine/util/sockaddr.h"
#include "engine/util/units.h"

namespace evtool {
namespace {

namespace http = ev::http;

struct ServeOptions {
  std::string dir = ".";
  ServerOptions server;  // --port (default 8080), --bind, --threads, --max-conns, TLS
  std::string timeout = "30s";
  std::string min_rate = "500";
  std::string max_header = "16k";
  std::string max_body = "1M";
  bool no_listing = false;
  std::string index = "index.html";
  std::string echo;
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

// What the client sent, made safe for a log line as nginx does: `"`, `\`
// and bytes outside 0x20-0x7e become \xHH, so no request can forge a
// field or a line.
std::string log_escape(std::string_view raw) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(raw.size());
  for (char ch : raw) {
    auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c <= 0x7e && c != '"' && c != '\\') {
      out += ch;
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// One access-log line per reply, once it has left (or its connection
// ended): Common Log Format with the body bytes sent, or NDJSON.
void log_request(const Output& out, const http::AccessRecord& rec) {
  if (out.quiet()) return;
  std::string version = rec.version_minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
  if (out.json()) {
    Json event = {{"event", "request"}, {"remote", rec.peer.host()}, {"peer", peer_name(rec.peer)},
                  {"method", rec.method}, {"uri", rec.target}, {"http_version", version.substr(5)},
                  {"status", rec.status}, {"size", rec.body_bytes}, {"time", rfc3339_now()}};
    if (!rec.complete) event["complete"] = false;  // the connection ended before the reply was out
    out.json_line(event);
    return;
  }
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char when[40];
  std::strftime(when, sizeof when, "%d/%b/%Y:%H:%M:%S %z", &tm);
  std::string line = rec.method.empty() ? "-" : log_escape(rec.method + " " + rec.target) + " " + version;
  std::string bytes = rec.body_bytes ? std::to_string(rec.body_bytes) : "-";
  out.line(rec.peer.host() + " - - [" + when + "] \"" + line + "\" " + std::to_string(rec.status) + " " + bytes);
}

http::ServerSettings settings_for(const ServeOptions& o) {
  http::ServerSettings s;
  s.limits.max_header_size = static_cast<std::size_t>(*ev::parse_size(o.max_header));
  s.limits.max_body_size = *ev::parse_size(o.max_body);
  s.timeout = *ev::parse_duration(o.timeout);
  s.min_body_rate = *ev::parse_size(o.min_rate);
  s.max_connections = static_cast<std::size_t>(o.server.connection_limit());
  s.server_name = "evtool/" EVTOOL_VERSION;
  if (o.server.threads > 1) s.shared_count = std::make_shared<std::atomic<std::size_t>>(0);
  return s;
}

// One loop's http::Server: the frame's listener hands it connections,
// wrapped (TLS, limits) by the frame's factory.
class HttpHandler final : public ConnectionHandler {
 public:
  HttpHandler(ServerLoop& loop, const ServeOptions& o, const http::ServerSettings& settings,
              std::shared_ptr<FileServer> files)
      : ConnectionHandler(loop), server_(base(), settings) {
    const Context& ctx = loop.ctx;
    server_.set_generic_callback([files](http::Request& req) { files->handle(req); });
    if (!o.echo.empty()) server_.set_callback(o.echo, echo_request);
    server_.set_log_callback([&ctx](const http::AccessRecord& rec) { log_request(ctx.out, rec); });
    server_.set_error_callback([&ctx](const ev::SocketAddress& peer, const std::string& what) {
      ctx.out.info("%s: %s", peer_name(peer).c_str(), what.c_str());
    });
    server_.set_bevcb([this](ev::EventBase&, int fd, std::string* why) { return open_connection(fd, why); });
    round_watcher_ = base().add_check_watcher([files] { files->next_round(); });
  }
  ~HttpHandler() override { base().remove_watcher(round_watcher_); }

  void on_connection(int fd, const ev::SocketAddress& peer) override { server_.accept(fd, peer); }
  // Finishes the replies in flight; idle connections close at once.
  void on_stop(std::function<void()> done) override { server_.shutdown(std::move(done)); }

 private:
  http::Server server_;
  int round_watcher_ = 0;
};

int run_serve(const Context& ctx, const ServeOptions& o) {
  std::shared_ptr<FileServer> files;
  try {
    files = std::make_shared<FileServer>(o.dir, FileServerOptions{o.index, !o.no_listing});
  } catch (const std::runtime_error& e) {
    throw UsageError(e.what());
  }
  http::ServerSettings settings = settings_for(o);
  ctx.out.debug("serving %s with %ld loop(s)", o.dir.c_str(), o.server.threads);
  return run_server(ctx, o.server, ServerSpec{{"http/1.1"}}, [&](ServerLoop& loop) {
    return std::make_unique<HttpHandler>(loop, o, settings, files);
  });
}

}  // namespace

void add_http_serve_command(CLI::App& http, Context& ctx) {
  auto o = std::make_shared<ServeOptions>();
  o->server.port = "8080";
  CLI::App* cmd = http.add_subcommand("serve", "Serve a directory over HTTP (static files, listings, --echo)");
  cmd->add_option("DIR", o->dir, "Directory to serve (default .)")
      ->check(CLI::Validator(
          [](std::string& dir) -> std::string {
            struct stat st {};
            if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return "";
            // `http serve 8000` (python -m http.server's habit): the port is an option here.
            if (ev::parse_port(dir)) return "no directory '" + dir + "'; to listen on port " + dir + ", use --port " + dir;
            return "no such directory: " + dir;
          },
          "DIR"));
  add_server_options(cmd, o->server, kPortOption | kMaxConns | kThreads | kTlsFlags | kUnix,
                     "TCP port (default 8080; 0: any free port)");
  cmd->add_option("--timeout", o->timeout, "Idle and header-read timeout (default 30s)")->check(kPositiveDuration);
  cmd->add_option("--min-rate", o->min_rate,
                  "Close a request body slower than RATE bytes/s after --timeout of grace (default 500; 0: no minimum)")
      ->check(kSize)->option_text("RATE");
  cmd->add_option("--max-header", o->max_header, "Largest request head (default 16k)")->check(kPositiveSize)->option_text("SIZE");
  cmd->add_option("--max-body", o->max_body, "Largest request body (default 1M)")->check(kSize)->option_text("SIZE");
  cmd->add_flag("--no-listing", o->no_listing, "Do not list directories without an index file");
  cmd->add_option("--index", o->index, "Index file name (default index.html)")->option_text("NAME");
  cmd->add_option("--echo", o->echo, "Answer any method on PATH with a JSON description of the request")
      ->option_text("PATH");
  ctx.add_command(cmd, [&ctx, o] { return run_serve(ctx, *o); });
}

}  // namespace evtool
