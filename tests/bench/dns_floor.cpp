// The dns benchmark's floor: a UDP responder with no DNS server around it,
// only the system calls any UDP server must make. recvmmsg(2) takes up to
// 64 queries, each is answered in place (QR and AA set, the question kept,
// one A record 192.0.2.1 pointing back at the question's name), and
// sendmmsg(2) sends the batch. It looks nothing up and checks little: it is
// the floor, not a server.
//
//   dns_floor --port P    (0: any free port; listens on 127.0.0.1)
//
// Prints `listening on 127.0.0.1:PORT`; stops on SIGINT / SIGTERM.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "floor_main.h"

namespace {

constexpr int kBatch = 64;
constexpr std::size_t kMaxPacket = 512;
constexpr unsigned char kAnswer[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x01, 0x2c, 0, 4, 192, 0, 2, 1};

// Turns the query in p[0, len) into its answer; the answer's length, or 0
// to send nothing (not a one-question query).
std::size_t answer(unsigned char* p, std::size_t len) {
  if (len < 12 || (p[2] & 0x80) || p[4] != 0 || p[5] != 1) return 0;
  std::size_t i = 12;
  while (i < len && p[i] != 0) {
    if (p[i] & 0xc0) return 0;
    i += p[i] + 1u;
  }
  i += 5;  // the root label, QTYPE, QCLASS
  if (i > len || i + sizeof kAnswer > kMaxPacket) return 0;
  p[2] = static_cast<unsigned char>(0x84 | (p[2] & 0x01));  // QR, AA, RD kept
  p[3] = 0;
  p[6] = 0, p[7] = 1;                           // one answer
  p[8] = p[9] = p[10] = p[11] = 0;              // no authority, no additional (EDNS dropped)
  std::memcpy(p + i, kAnswer, sizeof kAnswer);
  return i + sizeof kAnswer;
}

}  // namespace

int main(int argc, char** argv) {
  int port = floor_main::start(argc, argv);
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<std::uint16_t>(port));
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0) {
    std::fprintf(stderr, "dns_floor: cannot bind 127.0.0.1:%d: %s\n", port, std::strerror(errno));
    return 1;
  }
  socklen_t slen = sizeof sin;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &slen);
  std::printf("listening on 127.0.0.1:%u\n", ntohs(sin.sin_port));
  std::fflush(stdout);

  static unsigned char bufs[kBatch][kMaxPacket];
  sockaddr_in peers[kBatch];
  iovec iov[kBatch];
  mmsghdr in[kBatch], out[kBatch];
  while (!floor_main::g_stop) {
    for (int i = 0; i < kBatch; ++i) {
      iov[i] = iovec{bufs[i], kMaxPacket};
      in[i] = mmsghdr{};
      in[i].msg_hdr.msg_name = &peers[i];
      in[i].msg_hdr.msg_namelen = sizeof peers[i];
      in[i].msg_hdr.msg_iov = &iov[i];
      in[i].msg_hdr.msg_iovlen = 1;
    }
    // Blocks for the first datagram, then takes what else is queued.
    int n = ::recvmmsg(fd, in, kBatch, MSG_WAITFORONE, nullptr);
    if (n <= 0) continue;
    int m = 0;
    for (int i = 0; i < n; ++i) {
      std::size_t len = answer(bufs[i], in[i].msg_len);
      if (len == 0) continue;
      iov[i].iov_len = len;
      out[m] = mmsghdr{};
      out[m].msg_hdr = in[i].msg_hdr;
      ++m;
    }
    for (int sent = 0; sent < m;) {
      int r = ::sendmmsg(fd, out + sent, static_cast<unsigned>(m - sent), 0);
      if (r <= 0) break;
      sent += r;
    }
  }
  ::close(fd);
  return 0;
}
