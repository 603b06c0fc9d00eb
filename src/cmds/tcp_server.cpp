#include "cmds/tcp_server.h"

#include <unistd.h>

#include <thread>

#include "cmds/commands.h"
#include "engine/tls/tls_buffer_event.h"

namespace evtool {

void ConnectionHandler::apply_limits(ev::BufferEvent& bev) {
  if (auto idle = loop_.opts.idle()) bev.set_timeouts(*idle, *idle);
  if (loop_.rate) bev.set_rate_limit(&*loop_.rate);
  if (loop_.group) bev.add_to_rate_limit_group(*loop_.group);
}

std::unique_ptr<ev::BufferEvent> ConnectionHandler::open_connection(int fd, const std::string& peer) {
  if (!loop_.tls) return ev::BufferEvent::socket(base(), fd, ev::BufferEvent::kCloseOnFree);
  std::string why;
  auto bev = ev::tls::TlsBufferEvent::accept_socket(base(), fd, loop_.tls, ev::BufferEvent::kCloseOnFree, &why);
  if (!bev) out().info("%s: %s", peer.c_str(), why.c_str());  // the socket was closed with it
  return bev;
}

void ConnectionHandler::report_tls_error(ev::BufferEvent& bev, const std::string& peer) {
  auto* tls = dynamic_cast<ev::tls::TlsBufferEvent*>(&bev);
  if (tls && !tls->error().empty()) out().info("%s: %s", peer.c_str(), tls->error().c_str());
}

bool ConnectionHandler::all_sent(ev::BufferEvent& bev) {
  for (ev::BufferEvent* b = &bev; b; b = b->underlying())
    if (!b->output().empty()) return false;
  return true;
}

void ConnectionHandler::joined(const std::string& peer) {
  ++loop_.shared.connections;
  if (!announce_) return out().debug("%s connected", peer.c_str());
  if (out().json()) out().json_line({{"event", "join"}, {"peer", peer}});
  else out().info("%s joined", peer.c_str());
}

void ConnectionHandler::left(const std::string& peer) {
  --loop_.shared.connections;
  if (!announce_) return out().debug("%s disconnected", peer.c_str());
  if (out().json()) out().json_line({{"event", "leave"}, {"peer", peer}});
  else out().info("%s left", peer.c_str());
}

namespace {

// Creates loop i: its base, limits, handler and listener (SO_REUSEPORT
// when there are several). False after printing the error.
bool setup_loop(ServerLoop& loop, ev::SocketAddress addr, const HandlerFactory& make_handler, int* rc) {
  loop.base = loop.ctx.make_base(rc);
  if (!loop.base) return false;
  long threads = loop.opts.threads;
  if (auto r = loop.opts.rate_bytes()) loop.rate = ev::TokenBucketConfig::per_second(*r);
  if (auto g = loop.opts.group_rate_bytes())  // each loop takes its part of the group's rate
    loop.group = std::make_unique<ev::RateLimitGroup>(
        *loop.base, ev::TokenBucketConfig::per_second(std::max<std::uint64_t>(1, *g / static_cast<std::uint64_t>(threads))));
  loop.handler = make_handler(loop);
  ServerLoop* lp = &loop;
  loop.listener = listen_tcp(loop.ctx, *loop.base, addr, threads > 1, [lp](ev::ConnListener&, int fd, const ev::SocketAddress& peer) {
    long max = lp->opts.max_conns;
    if (max > 0 && lp->shared.connections.load() >= max) {
      lp->ctx.out.debug("%s refused: --max-conns %ld reached", peer_name(peer).c_str(), max);
      ::close(fd);
      return;
    }
    lp->handler->on_connection(fd, peer);
  });
  if (!loop.listener) {
    *rc = kExitFailure;
    return false;
  }
  return true;
}

}  // namespace

int run_tcp_server(const Context& ctx, const ServerOptions& opts, const HandlerFactory& make_handler) {
  ServerShared shared;
  ev::SocketAddress addr = server_address(opts);
  int rc = kExitOk;
  std::shared_ptr<ev::tls::Context> tls = make_server_tls(ctx, opts.tls, opts.bind, {}, &rc);
  if (rc != kExitOk) return rc;
  for (long i = 0; i < opts.threads; ++i) {
    shared.loops.push_back(
        std::make_unique<ServerLoop>(ServerLoop{ctx, opts, shared, static_cast<int>(i), tls, {}, {}, {}, {}, {}}));
    if (!setup_loop(*shared.loops.back(), addr, make_handler, &rc)) return rc;
    if (i == 0) addr = shared.loops[0]->listener->local_address();  // port 0: share the real one
  }
  ServerLoop& main_loop = *shared.loops[0];
  StopSignals stop(*main_loop.base, [&shared](int) {
    for (std::size_t i = 1; i < shared.loops.size(); ++i) {
      ev::EventBase* b = shared.loops[i]->base.get();
      b->run_in_loop([b] { b->loopbreak(); });
    }
    shared.loops[0]->base->loopbreak();
  });
  print_listening(ctx, addr);  // after the signal handlers: scripts may signal at once
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < shared.loops.size(); ++i) {
    ServerLoop* lp = shared.loops[i].get();
    threads.emplace_back([lp] {
      lp->handler->on_start();
      lp->base->loop(ev::EventBase::kLoopNoExitOnEmpty);
    });
  }
  main_loop.handler->on_start();
  main_loop.base->loop(ev::EventBase::kLoopNoExitOnEmpty);
  for (std::thread& t : threads) t.join();
  return kExitOk;
}

void add_tcp_command(CLI::App& app, Context& ctx) {
  CLI::App* tcp = app.add_subcommand("tcp", "TCP tools: echo server, chat server, chat client");
  tcp->require_subcommand(1);
  add_tcp_echo_command(*tcp, ctx);
  add_tcp_serve_command(*tcp, ctx);
  add_tcp_chat_command(*tcp, ctx);
}

}  // namespace evtool
