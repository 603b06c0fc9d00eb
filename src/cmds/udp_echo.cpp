// `evtool udp echo PORT`: sends each datagram back to its sender. Each
// loop (--threads) binds its own socket with SO_REUSEPORT, so the kernel
// spreads peers over the loops; a read event drains the socket in
// recvmmsg/sendmmsg batches. A reply that finds the socket's send buffer
// full is dropped, as a congested network would drop it.
#include "cmds/server_frame.h"
#include "cmds/udp_commands.h"
#include "engine/io/datagram.h"

namespace evtool {
namespace {

constexpr std::size_t kBatch = 32;       // datagrams per system call
constexpr int kBatchesPerWakeup = 16;    // then let the loop's other events run

class UdpEcho final : public ConnectionHandler {
 public:
  using ConnectionHandler::ConnectionHandler;

  bool listen(const ev::SocketAddress& addr, bool reuse_port, std::vector<Listening>& out) override {
    std::string why;
    fd_ = ev::bind_datagram_socket(addr, reuse_port, &why);
    if (!fd_) {
      loop().ctx.out.error("%s", why.c_str());
      return false;
    }
    read_ev_.assign(base(), fd_.get(), ev::kRead | ev::kPersist, &UdpEcho::on_readable, this);
    read_ev_.add();
    out.push_back({ev::local_address(fd_.get()), "udp", true});
    return true;
  }

  void on_stop(std::function<void()> done) override {
    read_ev_.del();
    done();
  }

 private:
  static void on_readable(int, short, void* arg) { static_cast<UdpEcho*>(arg)->echo(); }

  void echo() {
    for (int round = 0; round < kBatchesPerWakeup; ++round) {
      int n = batch_.receive(fd_.get());
      if (n <= 0) return;  // drained (or an error the next datagram clears, e.g. ICMP news)
      if (loop().ctx.out.verbose())
        for (int i = 0; i < n; ++i)
          out().debug("%s: %zu bytes", peer_name(batch_.peer(i)).c_str(), batch_.data(i).size());
      batch_.send_back(fd_.get(), n);
      if (static_cast<std::size_t>(n) < batch_.count()) return;
    }
  }

  ev::UniqueFd fd_;
  ev::Event read_ev_;
  ev::DatagramBatch batch_{kBatch, ev::kMaxDatagram};
};

}  // namespace

void add_udp_echo_command(CLI::App& udp, Context& ctx) {
  auto opts = std::make_shared<ServerOptions>();
  CLI::App* cmd = udp.add_subcommand("echo", "Send each datagram back to its sender");
  add_server_options(cmd, *opts, kPortArgument | kThreads, "UDP port to listen on (0: any free port)");
  ctx.add_command(cmd, [&ctx, opts] {
    return run_server(ctx, *opts, {}, [](ServerLoop& loop) { return std::make_unique<UdpEcho>(loop); });
  });
}

}  // namespace evtool
