// Datagram sockets (UDP, udp(7)) for the event loop: a bound or connected
// non-blocking socket whose fd an Event watches, and a DatagramBatch that
// receives and sends many datagrams per system call (recvmmsg(2),
// sendmmsg(2)), each with its peer's address.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "engine/util/sockaddr.h"
#include "engine/util/socket.h"

namespace ev {

// The largest UDP payload (IPv4: 65,535 less the IP and UDP headers).
inline constexpr std::size_t kMaxDatagram = 65507;

// A non-blocking, close-on-exec UDP socket bound to addr (SO_REUSEPORT
// with `reuse_port`, so that several loops share one port). An invalid
// UniqueFd, and `why`, on failure.
UniqueFd bind_datagram_socket(const SocketAddress& addr, bool reuse_port, std::string* why);
// A non-blocking UDP socket connected to addr: only its datagrams are
// received, the kernel drops the others.
UniqueFd connect_datagram_socket(const SocketAddress& addr, std::string* why);
// The address a socket is bound to (the real port after port 0).
SocketAddress local_address(int fd);

class DatagramBatch {
 public:
  // Room for `count` datagrams of up to `size` bytes each.
  DatagramBatch(std::size_t count, std::size_t size);

  // Receives what is waiting, up to count() datagrams, without blocking.
  // Returns how many (0 when none is waiting), or -1 with errno set.
  int receive(int fd);
  // Sends datagrams [0, n) of the last receive() back to their senders.
  // Returns how many were handled, or -1 with errno set (EAGAIN: the
  // socket's buffer is full and the rest are dropped, as the network
  // would). A datagram whose peer cannot be reached is skipped.
  int send_back(int fd, int n);

  std::size_t count() const { return slots_.size(); }
  std::span<const char> data(int i) const { return {buffer_.data() + i * size_, slots_[i].msg_len}; }
  SocketAddress peer(int i) const;

 private:
  void reset_headers(int n);
  std::size_t size_;
  std::vector<char> buffer_;
  std::vector<mmsghdr> slots_;
  std::vector<iovec> iovs_;
  std::vector<sockaddr_storage> peers_;
};

}  // namespace ev
