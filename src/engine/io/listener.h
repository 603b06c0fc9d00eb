// ConnListener: accepts stream connections (TCP, or a Unix domain socket)
// on a bound socket and hands each new fd to a callback (libevent's
// evconnlistener). Bound to a Unix address, it replaces a stale socket
// file (one nobody listens on), refuses a live one, and removes its file
// when destroyed.
// Running out of descriptors (EMFILE/ENFILE) does not stop it or make it
// spin: the pending connection is accepted into a reserved descriptor and
// closed, the error callback is told, and accepting pauses briefly.
#pragma once

#include <functional>
#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "engine/core/event.h"
#include "engine/core/event_base.h"
#include "engine/util/sockaddr.h"

namespace ev {

class ConnListener {
 public:
  enum Flag : int {
    kLeaveSocketsBlocking = 0x01,  // accepted sockets stay blocking
    kCloseOnFree = 0x02,           // close the listening socket on destruction
    kCloseOnExec = 0x04,           // listening and accepted sockets
    kReusable = 0x08,              // SO_REUSEADDR
    kThreadsafe = 0x10,            // accepted; a listener belongs to one loop
    kDisabled = 0x20,              // start disabled
    kDeferredAccept = 0x40,        // TCP_DEFER_ACCEPT: wake only when data arrives
    kReusablePort = 0x80,          // SO_REUSEPORT: several loops on one port
    kBindIpv6Only = 0x100,         // IPV6_V6ONLY
  };
  using AcceptCallback = std::function<void(ConnListener& listener, int fd, const SocketAddress& peer)>;
  using ErrorCallback = std::function<void(ConnListener& listener, int err)>;

  // Creates, binds and listens. nullptr with `why` set on failure.
  static std::unique_ptr<ConnListener> bind(EventBase& base, const SocketAddress& addr, int flags, int backlog,
                                            AcceptCallback cb, std::string* why);
  // Adopts an already bound and listening socket.
  static std::unique_ptr<ConnListener> adopt(EventBase& base, int fd, int flags, AcceptCallback cb);
  ~ConnListener();
  ConnListener(const ConnListener&) = delete;
  ConnListener& operator=(const ConnListener&) = delete;

  int enable();
  int disable();
  bool enabled() const { return enabled_; }
  void set_callback(AcceptCallback cb) { cb_ = std::make_shared<const AcceptCallback>(std::move(cb)); }
  void set_error_callback(ErrorCallback cb) { errorcb_ = std::make_shared<const ErrorCallback>(std::move(cb)); }
  int fd() const { return fd_; }
  EventBase& base() { return base_; }
  // The bound address (with the real port when bound to port 0).
  SocketAddress local_address() const;

 private:
  ConnListener(EventBase& base, int fd, int flags, AcceptCallback cb);
  static std::unique_ptr<ConnListener> bind_unix(EventBase& base, int fd, const SocketAddress& addr, int flags,
                                                 int backlog, AcceptCallback cb, std::string* why);
  static void on_accept(int fd, short what, void* arg);
  static void on_resume(int fd, short what, void* arg);
  void accept_ready();
  void out_of_descriptors(int err);

  EventBase& base_;
  int fd_;
  int flags_;
  bool enabled_ = false;
  int reserve_fd_ = -1;  // given up on EMFILE so one more accept can succeed
  Event accept_ev_, resume_ev_;
  // Shared so that a callback replaced, or destroyed with us, while it
  // runs lives until it returns.
  std::shared_ptr<const AcceptCallback> cb_;
  std::shared_ptr<const ErrorCallback> errorcb_ = std::make_shared<const ErrorCallback>();
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  struct UnixFile {
    std::string path;
    dev_t dev;
    ino_t ino;
  };
  std::optional<UnixFile> unix_file_;  // the socket file bind() made, removed with us
};

}  // namespace ev
