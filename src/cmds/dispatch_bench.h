// The dispatch benchmark (libevent's test/bench.c method), written once and
// run against any event loop through a small adapter: ours (EvLoopAdapter
// below), libevent and libev (tests/bench/dispatch_*.cpp).
//
// N non-blocking AF_UNIX socketpairs; A of them get one byte, and every read
// callback forwards one byte to the next pair until W writes are spent. A
// round times only the dispatching, from the first loop iteration until all
// A + W bytes have been read; registration and the sends that start the
// round are untimed. Used by `evtool backends --bench` and tests/bench.
//
// Adapter concept (DispatchLoop): the harness calls
//   bool add_reader(DispatchPair& pair)    // drop pair's old read event, if
//                                          // any, and add a persistent one
//                                          // on pair.read_fd; false on error
//   void run_nonblock_once()               // one non-blocking loop iteration
//   void remove_reader(DispatchPair& pair) // at the end, before the pairs
//                                          // close; also for pairs never added
// and the adapter's backend callback must do nothing but
//   static_cast<DispatchPair*>(arg)->on_readable();
// so the per-event path (backend -> trampoline -> harness) is the same code
// for every engine. `pair` lives until the harness returns.
//
// Errors (socketpair, registration, lost bytes) are thrown as
// std::runtime_error from run_dispatch_bench(), never from a callback.
#pragma once

#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <concepts>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/core/event.h"
#include "engine/core/event_base.h"

namespace evtool {

struct DispatchBenchParams {
  int fds = 1000;     // N: socketpairs
  int active = 100;   // A: pairs written to at the start of a round
  int writes = 1000;  // W: bytes forwarded by callbacks in a round
  int rounds = 25;    // R
};

struct DispatchBenchResult {
  double median_us = 0, min_us = 0, max_us = 0;
  std::vector<double> rounds_us;  // in the order they ran
};

class DispatchBench;

// One socketpair; its address is the adapter's callback argument.
struct DispatchPair {
  DispatchBench* bench = nullptr;
  int idx = 0;
  int read_fd = -1;   // [0]: watched for reading
  int write_fd = -1;  // [1]: the harness writes here
  inline void on_readable() const noexcept;
};

template <class L>
concept DispatchLoop = requires(L& loop, DispatchPair& pair) {
  { loop.add_reader(pair) } -> std::convertible_to<bool>;
  loop.run_nonblock_once();
  loop.remove_reader(pair);
};

// The harness state of one run: the pairs and the round's counters.
class DispatchBench {
 public:
  explicit DispatchBench(const DispatchBenchParams& p) : params_(p) {
    if (p.fds < 1 || p.active < 1 || p.active > p.fds || p.writes < 0 || p.rounds < 1)
      throw std::runtime_error("dispatch bench: need fds >= active >= 1, writes >= 0, rounds >= 1");
    raise_fd_limit(2L * p.fds + 64);
    pairs_ = std::make_unique<DispatchPair[]>(static_cast<std::size_t>(p.fds));
    for (int i = 0; i < p.fds; ++i) {
      int sv[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
        int err = errno;
        close_pairs();
        throw std::runtime_error("socketpair #" + std::to_string(i) + ": " + std::strerror(err));
      }
      pairs_[i] = DispatchPair{this, i, sv[0], sv[1]};
      opened_ = i + 1;
    }
  }
  ~DispatchBench() { close_pairs(); }
  DispatchBench(const DispatchBench&) = delete;
  DispatchBench& operator=(const DispatchBench&) = delete;

  template <DispatchLoop Loop>
  DispatchBenchResult run(Loop& loop) {
    DispatchBenchResult res;
    res.rounds_us.reserve(static_cast<std::size_t>(params_.rounds));
    try {
      for (int r = 0; r < params_.rounds; ++r) res.rounds_us.push_back(run_round(loop));
    } catch (...) {
      remove_readers(loop);
      throw;
    }
    remove_readers(loop);
    std::vector<double> sorted = res.rounds_us;
    std::sort(sorted.begin(), sorted.end());
    std::size_t n = sorted.size();
    res.min_us = sorted.front();
    res.max_us = sorted.back();
    res.median_us = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    return res;
  }

  // The per-event work (bench.c's read_cb): read one byte, forward one.
  void on_readable(const DispatchPair& pair) noexcept {
    char ch;
    ssize_t n = ::recv(pair.read_fd, &ch, 1, 0);
    if (n > 0)
      count_ += static_cast<int>(n);
    else
      ++errors_;
    if (writes_ > 0) {
      int widx = pair.idx + 1;
      if (widx >= params_.fds) widx -= params_.fds;
      if (::send(pairs_[widx].write_fd, "e", 1, 0) == 1)
        ++fired_;
      else
        ++errors_;
      --writes_;
    }
  }

 private:
  using Clock = std::chrono::steady_clock;

  template <DispatchLoop Loop>
  void remove_readers(Loop& loop) {
    for (int i = 0; i < opened_; ++i) loop.remove_reader(pairs_[i]);
  }

  template <DispatchLoop Loop>
  double run_round(Loop& loop) {
    for (int i = 0; i < params_.fds; ++i)
      if (!loop.add_reader(pairs_[i]))
        throw std::runtime_error("registering a read event on fd " + std::to_string(pairs_[i].read_fd) +
                                 " (pair #" + std::to_string(i) + ") failed");
    loop.run_nonblock_once();

    fired_ = 0;
    errors_ = 0;
    int space = params_.fds / params_.active;
    for (int i = 0; i < params_.active; ++i) {
      if (::send(pairs_[i * space].write_fd, "e", 1, 0) == 1)
        ++fired_;
      else
        ++errors_;
    }
    count_ = 0;
    writes_ = params_.writes;

    // A broken loop would spin forever; checking the clock every 1024
    // iterations bounds a round without measurable cost.
    const auto start = Clock::now();
    const auto give_up = start + std::chrono::seconds(30);
    unsigned iterations = 0;
    while (count_ != fired_) {
      loop.run_nonblock_once();
      if ((++iterations & 1023u) == 0 && Clock::now() > give_up) break;
    }
    const auto stop = Clock::now();

    const int expected = params_.active + params_.writes;
    if (count_ != fired_ || fired_ != expected || errors_ != 0)
      throw std::runtime_error("round lost events: read " + std::to_string(count_) + ", sent " +
                               std::to_string(fired_) + ", expected " + std::to_string(expected) + ", " +
                               std::to_string(errors_) + " send/recv errors");
    return std::chrono::duration<double, std::micro>(stop - start).count();
  }

  static void raise_fd_limit(long want) {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return;
    if (rl.rlim_cur >= static_cast<rlim_t>(want)) return;
    rl.rlim_cur = rl.rlim_max;  // socketpair() reports it if this is still too low
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }

  void close_pairs() noexcept {
    for (int i = 0; i < opened_; ++i) {
      ::close(pairs_[i].read_fd);
      ::close(pairs_[i].write_fd);
    }
    opened_ = 0;
  }

  DispatchBenchParams params_;
  std::unique_ptr<DispatchPair[]> pairs_;
  int opened_ = 0;
  int count_ = 0;   // bytes read this round
  int fired_ = 0;   // bytes sent this round
  int writes_ = 0;  // forwards left
  int errors_ = 0;
};

inline void DispatchPair::on_readable() const noexcept { bench->on_readable(*this); }

// Runs the whole benchmark on `loop`: opens the pairs, runs the rounds,
// removes every reader and closes the pairs.
template <DispatchLoop Loop>
DispatchBenchResult run_dispatch_bench(Loop& loop, const DispatchBenchParams& params) {
  DispatchBench bench(params);
  return bench.run(loop);
}

// Adapter for our engine: one persistent ev::Event per pair, plain
// function-pointer callback.
class EvLoopAdapter {
 public:
  EvLoopAdapter(ev::EventBase& base, int npairs)
      : base_(base), npairs_(npairs), events_(std::make_unique<ev::Event[]>(static_cast<std::size_t>(npairs))) {}

  bool add_reader(DispatchPair& pair) {
    if (pair.idx < 0 || pair.idx >= npairs_) return false;
    ev::Event& e = events_[pair.idx];
    if (e.initialized()) e.del();
    e.assign(base_, pair.read_fd, ev::kRead | ev::kPersist, &on_read, &pair);
    return e.add() == 0;
  }
  void run_nonblock_once() { base_.loop(ev::EventBase::kLoopOnce | ev::EventBase::kLoopNonblock); }
  void remove_reader(DispatchPair& pair) {
    if (pair.idx >= 0 && pair.idx < npairs_ && events_[pair.idx].initialized()) events_[pair.idx].del();
  }

 private:
  static void on_read(int, short, void* arg) { static_cast<DispatchPair*>(arg)->on_readable(); }

  ev::EventBase& base_;
  int npairs_;
  std::unique_ptr<ev::Event[]> events_;
};

}  // namespace evtool
