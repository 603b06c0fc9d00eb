#include "engine/io/datagram.h"

#include <cerrno>
#include <cstring>

namespace ev {

namespace {
UniqueFd datagram_socket(const SocketAddress& addr, std::string* why) {
  UniqueFd fd(::socket(addr.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd && why) *why = std::string("socket: ") + std::strerror(errno);
  return fd;
}

UniqueFd failed(const std::string& what, const SocketAddress& addr, std::string* why) {
  if (why) *why = what + " " + addr.to_string() + ": " + std::strerror(errno);
  return UniqueFd();
}
}  // namespace

UniqueFd bind_datagram_socket(const SocketAddress& addr, bool reuse_port, std::string* why) {
  UniqueFd fd = datagram_socket(addr, why);
  if (!fd) return fd;
  if (reuse_port && make_listen_socket_reuseable_port(fd.get()) != 0) return failed("SO_REUSEPORT on", addr, why);
  if (::bind(fd.get(), addr.sa(), addr.length) != 0) return failed("cannot bind", addr, why);
  return fd;
}

UniqueFd connect_datagram_socket(const SocketAddress& addr, std::string* why) {
  UniqueFd fd = datagram_socket(addr, why);
  if (!fd) return fd;
  if (::connect(fd.get(), addr.sa(), addr.length) != 0) return failed("cannot connect to", addr, why);
  return fd;
}

SocketAddress local_address(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return SocketAddress::from(reinterpret_cast<sockaddr*>(&ss), len);
}

DatagramBatch::DatagramBatch(std::size_t count, std::size_t size)
    : size_(size), buffer_(count * size), slots_(count), iovs_(count), peers_(count) {}

void DatagramBatch::reset_headers(int n) {
  for (int i = 0; i < n; ++i) {
    iovs_[i] = {buffer_.data() + i * size_, size_};
    msghdr& h = slots_[i].msg_hdr;
    h = msghdr{};
    h.msg_name = &peers_[i];
    h.msg_namelen = sizeof peers_[i];
    h.msg_iov = &iovs_[i];
    h.msg_iovlen = 1;
    slots_[i].msg_len = 0;
  }
}

int DatagramBatch::receive(int fd) {
  int n = static_cast<int>(slots_.size());
  reset_headers(n);
  int got = ::recvmmsg(fd, slots_.data(), static_cast<unsigned>(n), MSG_DONTWAIT, nullptr);
  if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
  return got;
}

int DatagramBatch::send_back(int fd, int n) {
  // The receive left each header naming its peer; only the lengths change.
  for (int i = 0; i < n; ++i) iovs_[i].iov_len = slots_[i].msg_len;
  int sent = 0;
  while (sent < n) {
    int k = ::sendmmsg(fd, slots_.data() + sent, static_cast<unsigned>(n - sent), MSG_DONTWAIT);
    if (k < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return sent ? sent : -1;
      k = 1;  // this peer cannot be reached (EPERM, EHOSTUNREACH...): skip it, not the rest
    }
    sent += k;
  }
  return sent;
}

SocketAddress DatagramBatch::peer(int i) const {
  return SocketAddress::from(reinterpret_cast<const sockaddr*>(&peers_[i]), slots_[i].msg_hdr.msg_namelen);
}

}  // namespace ev
