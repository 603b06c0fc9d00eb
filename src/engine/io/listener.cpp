#include "engine/io/listener.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/core/log.h"
#include "engine/util/socket.h"

namespace ev {
namespace {
constexpr int kAcceptsPerWakeup = 32;       // fairness with other events
constexpr Duration kEmfilePause{100000};    // let descriptors free up
}  // namespace

std::unique_ptr<ConnListener> ConnListener::bind(EventBase& base, const SocketAddress& addr, int flags, int backlog,
                                                 AcceptCallback cb, std::string* why) {
  int type = SOCK_STREAM | SOCK_NONBLOCK | ((flags & kCloseOnExec) ? SOCK_CLOEXEC : 0);
  int fd = ::socket(addr.family(), type, 0);
  auto fail = [&](const char* what) -> std::unique_ptr<ConnListener> {
    if (why) *why = std::string(what) + " " + addr.to_string() + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return nullptr;
  };
  if (fd < 0) return fail("socket");
  if (addr.is_unix()) return bind_unix(base, fd, addr, flags, backlog, std::move(cb), why);
  if ((flags & kReusable) && make_listen_socket_reuseable(fd) != 0) return fail("SO_REUSEADDR");
  if ((flags & kReusablePort) && make_listen_socket_reuseable_port(fd) != 0) return fail("SO_REUSEPORT");
  if (addr.family() == AF_INET6) {
    int only = (flags & kBindIpv6Only) ? 1 : 0;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &only, sizeof only);
  }
  if (flags & kDeferredAccept) {
    int secs = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof secs);
  }
  if (::bind(fd, addr.sa(), addr.length) != 0) return fail("cannot bind");
  if (::listen(fd, backlog > 0 ? backlog : SOMAXCONN) != 0) return fail("cannot listen on");
  return adopt(base, fd, flags | kCloseOnFree, std::move(cb));
}

// A socket file left by a server that is gone is replaced; one that a live
// server listens on is not (connect(2) tells them apart), nor anything that
// is not a socket.
std::unique_ptr<ConnListener> ConnListener::bind_unix(EventBase& base, int fd, const SocketAddress& addr, int flags,
                                                      int backlog, AcceptCallback cb, std::string* why) {
  std::string path = addr.host();
  auto fail = [&](const std::string& what) -> std::unique_ptr<ConnListener> {
    if (why) *why = what;
    ::close(fd);
    return nullptr;
  };
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return fail(path + ": exists and is not a socket");
    if (unix_socket_listening(addr)) return fail(path + ": another server is listening on it");
    ::unlink(path.c_str());
  }
  if (::bind(fd, addr.sa(), addr.length) != 0) return fail("cannot bind " + addr.to_string() + ": " + std::strerror(errno));
  if (::listen(fd, backlog > 0 ? backlog : SOMAXCONN) != 0)
    return fail("cannot listen on " + addr.to_string() + ": " + std::strerror(errno));
  auto l = adopt(base, fd, flags | kCloseOnFree, std::move(cb));
  if (::stat(path.c_str(), &st) == 0) l->unix_file_ = UnixFile{path, st.st_dev, st.st_ino};
  return l;
}

std::unique_ptr<ConnListener> ConnListener::adopt(EventBase& base, int fd, int flags, AcceptCallback cb) {
  make_socket_nonblocking(fd);
  if (flags & kCloseOnExec) make_socket_closeonexec(fd);
  std::unique_ptr<ConnListener> l(new ConnListener(base, fd, flags, std::move(cb)));
  if (!(flags & kDisabled)) l->enable();
  return l;
}

ConnListener::ConnListener(EventBase& base, int fd, int flags, AcceptCallback cb)
    : base_(base), fd_(fd), flags_(flags), cb_(std::make_shared<const AcceptCallback>(std::move(cb))) {
  accept_ev_.assign(base, fd, kRead | kPersist, &ConnListener::on_accept, this);
  resume_ev_.assign_timer(base, &ConnListener::on_resume, this);
  reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

ConnListener::~ConnListener() {
  *alive_ = false;
  accept_ev_.del();
  resume_ev_.del();
  if (reserve_fd_ >= 0) ::close(reserve_fd_);
  if (flags_ & kCloseOnFree) ::close(fd_);
  // Our socket file goes with us, unless another server replaced it since.
  struct stat st{};
  if (unix_file_ && ::stat(unix_file_->path.c_str(), &st) == 0 && st.st_dev == unix_file_->dev &&
      st.st_ino == unix_file_->ino)
    ::unlink(unix_file_->path.c_str());
}

int ConnListener::enable() {
  enabled_ = true;
  if (resume_ev_.pending(kTimeout)) return 0;  // paused after EMFILE
  return accept_ev_.add();
}

int ConnListener::disable() {
  enabled_ = false;
  resume_ev_.del();
  return accept_ev_.del();
}

SocketAddress ConnListener::local_address() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len);
  return SocketAddress::from(reinterpret_cast<sockaddr*>(&ss), len);
}

void ConnListener::on_accept(int, short, void* arg) { static_cast<ConnListener*>(arg)->accept_ready(); }

void ConnListener::on_resume(int, short, void* arg) {
  auto* l = static_cast<ConnListener*>(arg);
  if (l->reserve_fd_ < 0) l->reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (l->enabled_) l->accept_ev_.add();
}

void ConnListener::accept_ready() {
  auto alive = alive_;
  int flags = ((flags_ & kLeaveSocketsBlocking) ? 0 : SOCK_NONBLOCK) | ((flags_ & kCloseOnExec) ? SOCK_CLOEXEC : 0);
  for (int i = 0; i < kAcceptsPerWakeup && enabled_; ++i) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int fd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&ss), &len, flags);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) return;
      if (errno == EMFILE || errno == ENFILE) return out_of_descriptors(errno);
      int err = errno;
      if (auto errorcb = errorcb_; *errorcb) (*errorcb)(*this, err);
      else log(Severity::Warn, "accept: %s", std::strerror(err));
      return;
    }
    SocketAddress peer = SocketAddress::from(reinterpret_cast<sockaddr*>(&ss), len);
    if (auto cb = cb_; *cb) (*cb)(*this, fd, peer);
    else ::close(fd);
    if (!*alive) return;
  }
}

// Without a free descriptor the pending connection would make the listening
// socket readable forever: spend the reserve on accepting and closing it,
// then stop accepting for a moment.
void ConnListener::out_of_descriptors(int err) {
  if (reserve_fd_ >= 0) {
    ::close(reserve_fd_);
    reserve_fd_ = -1;
    int fd = ::accept(fd_, nullptr, nullptr);
    if (fd >= 0) ::close(fd);
  }
  accept_ev_.del();
  resume_ev_.add(kEmfilePause);
  if (auto errorcb = errorcb_; *errorcb) (*errorcb)(*this, err);
  else log(Severity::Warn, "accept: %s; pausing for %lld ms", std::strerror(err), static_cast<long long>(kEmfilePause.count() / 1000));
}

}  // namespace ev
