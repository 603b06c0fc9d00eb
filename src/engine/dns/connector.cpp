#include "engine/dns/connector.h"

#include <cerrno>
#include <cstring>

namespace ev::dns {

namespace {
Duration since(TimePoint t) {
  return std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - t);
}

// Without a hosts file (or a resolver) "localhost" still means loopback.
std::vector<SocketAddress> loopbacks(int port, int family) {
  std::vector<SocketAddress> out;
  if (family != AF_INET6) out.push_back(*parse_ip("127.0.0.1", port));
  if (family != AF_INET) out.push_back(*parse_ip("::1", port));
  return out;
}
}  // namespace

Connector::Connector(EventBase& base, Resolver* resolver) : base_(base), resolver_(resolver) {
  timer_.assign_timer(base, &Connector::on_timeout, this);
  start_ev_.assign_timer(base, &Connector::on_start, this);
}

Connector::~Connector() { cancel(); }

void Connector::cancel() {
  if (lookup_ && resolver_) resolver_->cancel(lookup_);
  lookup_ = nullptr;
  timer_.del();
  start_ev_.del();
  bev_.reset();
  done_ = nullptr;
}

void Connector::trace(const std::string& line) const {
  if (trace_) trace_(line);
}

void Connector::connect(const std::string& host, int port, const Options& opts, Callback done) {
  cancel();
  host_ = host;
  port_ = port;
  opts_ = opts;
  done_ = std::move(done);
  result_ = Result{};
  addrs_.clear();
  next_ = 0;
  last_errno_ = 0;
  if (auto ip = parse_ip(host, port)) addrs_.push_back(*ip);
  else if (!resolver_ && host == "localhost") addrs_ = loopbacks(port, opts.family);
  // Whatever the host, the callback comes from the loop, never from here.
  start_ev_.activate(kTimeout);
}

void Connector::connect(const SocketAddress& addr, const Options& opts, Callback done) {
  connect(addr.to_string(), addr.port(), opts, std::move(done));
  addrs_.assign(1, addr);  // before the start event runs: it tries addrs_ first
}

void Connector::on_start(int, short, void* arg) {
  auto* c = static_cast<Connector*>(arg);
  if (!c->addrs_.empty()) return c->try_next();
  if (!c->resolver_) return c->fail(Error::kResolve, "cannot resolve '" + c->host_ + "': no resolver");
  c->trace("resolving " + c->host_);
  c->phase_started_ = std::chrono::steady_clock::now();
  c->lookup_ = c->resolver_->getaddrinfo(c->host_, c->port_, c->opts_.family,
                                         [c](int err, const std::vector<SocketAddress>& addrs) { c->resolved(err, addrs); });
}

void Connector::resolved(int err, const std::vector<SocketAddress>& addrs) {
  lookup_ = nullptr;
  result_.dns = since(phase_started_);
  addrs_ = addrs;
  if (addrs_.empty() && host_ == "localhost") addrs_ = loopbacks(port_, opts_.family);
  if (!addrs_.empty()) return try_next();
  result_.dns_error = err;
  fail(err == kErrTimeout ? Error::kResolveTimeout : Error::kResolve,
       "cannot resolve '" + host_ + "': " + dns_err_to_string(err));
}

// Starts connecting to the next address; when none is left, the connect failed.
void Connector::try_next() {
  bev_.reset();
  while (next_ < addrs_.size()) {
    const SocketAddress& addr = addrs_[next_++];
    result_.address = addr;
    trace("connecting to " + addr.to_string());
    phase_started_ = std::chrono::steady_clock::now();
    bev_ = SocketBufferEvent::create(base_, -1, opts_.bev_options);
    bev_->setcb(nullptr, nullptr, [this](BufferEvent&, short what) { on_event(what); });
    if (bev_->connect(addr) == 0) {
      if (opts_.timeout) timer_.add(*opts_.timeout);
      return;
    }
    last_errno_ = errno;
    result_.connect += since(phase_started_);
    trace(addr.to_string() + ": " + std::strerror(last_errno_));
  }
  bev_.reset();
  std::string target = addrs_.size() == 1 ? addrs_.front().to_string() : host_ + " port " + std::to_string(port_);
  result_.sys_errno = last_errno_ ? last_errno_ : ECONNREFUSED;
  if (result_.sys_errno == ETIMEDOUT) return fail(Error::kTimeout, "connect to " + target + ": timed out");
  fail(result_.sys_errno == ECONNREFUSED ? Error::kRefused : Error::kConnect,
       "connect to " + target + ": " + std::strerror(result_.sys_errno));
}

void Connector::on_event(short what) {
  timer_.del();
  result_.connect += since(phase_started_);
  if (what & BufferEvent::kConnected) {
    trace("connected to " + result_.address->to_string());
    std::unique_ptr<SocketBufferEvent> bev = std::move(bev_);
    bev->setcb(nullptr, nullptr, nullptr);
    Callback done = std::move(done_);
    done_ = nullptr;
    return done(std::move(bev), result_);
  }
  address_failed(errno ? errno : ECONNREFUSED);
}

void Connector::on_timeout(int, short, void* arg) {
  auto* c = static_cast<Connector*>(arg);
  c->result_.connect += since(c->phase_started_);
  c->address_failed(ETIMEDOUT);
}

// Destroys the BufferEvent whose callback may be running: allowed.
void Connector::address_failed(int err) {
  last_errno_ = err;
  trace(result_.address->to_string() + ": " + (err == ETIMEDOUT ? "connect timed out" : std::strerror(err)));
  try_next();
}

void Connector::fail(Error error, std::string message) {
  result_.error = error;
  result_.message = std::move(message);
  Callback done = std::move(done_);
  done_ = nullptr;
  if (done) done(nullptr, result_);
}

}  // namespace ev::dns
