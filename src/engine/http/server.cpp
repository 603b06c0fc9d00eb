#include "engine/http/server.h"

#include <algorithm>
#include <ctime>

#include "engine/http/detail/connection.h"
#include "engine/io/socket_buffer_event.h"

namespace ev::http {

Server::Server(EventBase& base, ServerSettings settings) : base_(base), settings_(std::move(settings)) {
  reaper_.assign_timer(base_, &Server::on_reap, this);
}

void Server::on_reap(int, short, void* arg) { static_cast<Server*>(arg)->dead_.clear(); }

Server::~Server() = default;

bool Server::bind(const SocketAddress& addr, int listener_flags, std::string* why) {
  auto l = ConnListener::bind(
      base_, addr, listener_flags, -1, [this](ConnListener&, int fd, const SocketAddress& peer) { accept(fd, peer); },
      why);
  if (!l) return false;
  listeners_.push_back(std::move(l));
  return true;
}

std::vector<SocketAddress> Server::addresses() const {
  std::vector<SocketAddress> out;
  for (const auto& l : listeners_) out.push_back(l->local_address());
  return out;
}

void Server::set_callback(std::string path, Handler handler) {
  for (auto& [p, h] : callbacks_)
    if (p == path) {
      h = std::move(handler);
      return;
    }
  callbacks_.emplace_back(std::move(path), std::move(handler));
}

void Server::accept(int fd, const SocketAddress& peer) {
  std::size_t count = connections_.size();
  if (settings_.shared_count) count = settings_.shared_count->fetch_add(1);
  bool reject = settings_.max_connections && count >= settings_.max_connections;
  std::string why;
  std::unique_ptr<BufferEvent> bev =
      bevcb_ ? bevcb_(base_, fd, &why) : SocketBufferEvent::create(base_, fd, BufferEvent::kCloseOnFree);
  if (!bev) {
    if (settings_.shared_count) settings_.shared_count->fetch_sub(1);
    if (error_) error_(peer, why);
    return;
  }
  auto conn = std::make_unique<detail::Connection>(*this, std::move(bev), fd, peer, reject);
  conn->index = connections_.size();
  detail::Connection* raw = conn.get();
  connections_.push_back(std::move(conn));
  raw->start();
}

void Server::dispatch(Request& req) {
  const std::string& path = req.uri().path;
  for (auto& [p, h] : callbacks_)
    if (p == path) return h(req);
  if (generic_) return generic_(req);
  req.send_error(404);
}

void Server::closed(detail::Connection* conn) {
  std::size_t i = conn->index;
  // Swap with the last and pop: O(1), the order does not matter. The
  // connection is destroyed after the vector is consistent again.
  std::unique_ptr<detail::Connection> dead = std::move(connections_[i]);
  if (i + 1 != connections_.size()) {
    connections_[i] = std::move(connections_.back());
    connections_[i]->index = i;
  }
  connections_.pop_back();
  if (settings_.shared_count) settings_.shared_count->fetch_sub(1);
  dead_.push_back(std::move(dead));  // we may be inside its callbacks: free it from the loop
  if (dead_.size() == 1) reaper_.activate(kTimeout);
  if (shutting_down_ && connections_.empty() && shutdown_done_) {
    auto done = std::move(shutdown_done_);
    shutdown_done_ = nullptr;
    done();
  }
}

void Server::shutdown(std::function<void()> done) {
  shutting_down_ = true;
  listeners_.clear();
  shutdown_done_ = std::move(done);
  // Connection::shutdown may close (and unlink) itself: walk a copy.
  std::vector<detail::Connection*> all;
  for (auto& c : connections_) all.push_back(c.get());
  for (detail::Connection* c : all) c->shutdown();
  if (connections_.empty() && shutdown_done_) {
    auto d = std::move(shutdown_done_);
    shutdown_done_ = nullptr;
    d();
  }
}

std::string_view Server::date_line() {
  long now = static_cast<long>(std::time(nullptr));
  if (now != date_second_) {
    date_second_ = now;
    std::string d = http_date(now);
    date_len_ = static_cast<std::size_t>(std::snprintf(date_line_, sizeof date_line_, "Date: %s\r\n", d.c_str()));
  }
  return {date_line_, date_len_};
}

}  // namespace ev::http
