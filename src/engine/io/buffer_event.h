// BufferEvent: a connection with an input and an output Buffer, and the
// callbacks that hear about data, progress and events (connected, EOF,
// errors, timeouts). This is the part every kind shares (libevent's
// bufferevent.c); the kinds are SocketBufferEvent (socket_buffer_event.h),
// pairs and filters (below), and TLS (engine/tls).
//
// A BufferEvent belongs to one EventBase and is owned by the caller; it may
// be destroyed from inside its own callbacks. Writing to a socket whose
// peer is gone raises SIGPIPE: commands ignore SIGPIPE at startup.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "engine/core/event.h"
#include "engine/core/event_base.h"
#include "engine/io/buffer.h"
#include "engine/io/rate_limit.h"
#include "engine/util/sockaddr.h"

namespace ev {

class BufferEvent {
 public:
  enum Option : int {
    kCloseOnFree = 0x01,     // close the fd when the BufferEvent is destroyed
    kThreadsafe = 0x02,      // accepted; a BufferEvent belongs to one thread
    kDeferCallbacks = 0x04,  // run callbacks from the loop, not from inside I/O
  };
  // Bits of the `what` passed to the event callback.
  enum : short {
    kReading = 0x01,
    kWriting = 0x02,
    kEof = 0x10,
    kError = 0x20,
    kTimedOut = 0x40,
    kConnected = 0x80,
  };
  enum class Flush { Normal, Flush, Finished };

  using DataCallback = std::function<void(BufferEvent& bev)>;
  using EventCallback = std::function<void(BufferEvent& bev, short what)>;

  // Two BufferEvents joined in memory: what one writes, the other reads
  // (no socket, no copy: segments move). Callbacks are always deferred, so
  // the two sides can answer each other without recursion. Flushing one
  // side with Flush::Finished gives the other kEof.
  static std::pair<std::unique_ptr<BufferEvent>, std::unique_ptr<BufferEvent>> pair(EventBase& base, int options);

  // A filter over another BufferEvent (which it owns): data read from the
  // underlying one passes through `input` into this one's input(); data
  // written to this one passes through `output` into the underlying
  // output(). A filter moves what it can from src to dst (at most `limit`
  // bytes when limit >= 0) and says whether it needs more input.
  enum class FilterResult { Ok, NeedMore, Error };
  using FilterFn = std::function<FilterResult(Buffer& src, Buffer& dst, ssize_t limit, Flush mode)>;
  static std::unique_ptr<BufferEvent> filter(std::unique_ptr<BufferEvent> underlying, FilterFn input, FilterFn output,
                                             int options);
  // The BufferEvent a filter or TLS layer wraps, or nullptr.
  virtual BufferEvent* underlying() { return nullptr; }
  virtual ~BufferEvent();
  BufferEvent(const BufferEvent&) = delete;
  BufferEvent& operator=(const BufferEvent&) = delete;

  void setcb(DataCallback readcb, DataCallback writecb, EventCallback eventcb);
  // kRead / kWrite. A new BufferEvent has writing enabled and reading
  // disabled, as in libevent.
  int enable(short what);
  int disable(short what);
  short enabled() const { return enabled_; }

  Buffer& input() { return input_; }
  Buffer& output() { return output_; }
  int write(const void* data, std::size_t len) { return output_.add(data, len); }
  int write_buffer(Buffer& buf) { return output_.add_buffer(buf); }
  std::size_t read(void* data, std::size_t len);
  int read_buffer(Buffer& buf) { return buf.add_buffer(input_); }

  // kRead: the read callback runs once input holds >= low bytes, and
  // reading pauses while input holds >= high (0: no limit). kWrite: the
  // write callback runs when output drains to <= low.
  void setwatermark(short events, std::size_t low, std::size_t high);
  // A direction that makes no progress for this long reports kTimedOut
  // (with kReading or kWriting) and is disabled. nullopt: no timeout.
  // Layers over a socket (TLS, filters) time the socket beneath; a pair has
  // no I/O to time and refuses (-1).
  virtual int set_timeouts(std::optional<Duration> read, std::optional<Duration> write);

  // Flush::Finished on kWrite: once output is empty, shut down the write
  // side (half-close). Returns 1 if data remains to be written, else 0.
  virtual int flush(short iotype, Flush mode);

  // Bytes per read / write call. The default (256 KiB) does not cap
  // throughput the way libevent's 4 KiB reads do.
  void set_max_single_read(std::size_t n) { max_read_ = clamp32(n ? n : 1); }
  void set_max_single_write(std::size_t n) { max_write_ = clamp32(n ? n : 1); }
  std::size_t max_single_read() const { return max_read_; }
  std::size_t max_single_write() const { return max_write_; }

  // Rate limits (rate_limit.cpp): a bucket of our own (nullptr removes it)
  // and/or a share of a group's, counted on the socket's bytes (a TLS or
  // filter layer passes them to the socket beneath; a pair refuses, -1).
  // Reads and writes wait for the next tick when either is empty. The
  // limits are what may be read / written now.
  int set_rate_limit(const TokenBucketConfig* cfg);
  int add_to_rate_limit_group(RateLimitGroup& group);
  int remove_from_rate_limit_group();
  ssize_t get_read_limit();
  ssize_t get_write_limit();
  ssize_t get_max_to_read();
  ssize_t get_max_to_write();
  int decrement_read_limit(ssize_t n);
  int decrement_write_limit(ssize_t n);

  // The socket's descriptor (-1 for kinds without one of their own).
  virtual int fd() const { return -1; }
  EventBase& base() { return base_; }
  // Peer address of the connection beneath (empty if unknown).
  virtual std::optional<SocketAddress> peer_address() const;
  // Why the last kError happened when errno cannot say (a TLS layer's
  // OpenSSL reason); empty otherwise.
  virtual std::string error_detail() const { return {}; }

 protected:
  BufferEvent(EventBase& base, int options);

  // What a kind does when its state changes: a socket adds and removes its
  // read and write events, a pair moves data to its partner, and so on.
  virtual void schedule_read_event() = 0;
  virtual void schedule_write_event() = 0;
  virtual void output_changed() = 0;
  virtual void input_changed() = 0;
  // The rate-limit accounting of the socket beneath (made when `create`).
  virtual RateLimitState* rate_limit_state(bool create);
  // Callbacks, run now or deferred to the loop (kDeferCallbacks).
  void run_readcb();
  void run_writecb();
  void run_eventcb(short what);

  EventBase& base_;
  int options_;
  Buffer input_, output_;
  short enabled_ = kWrite;
  // Sizes kept in 32 bits (a watermark or a single read above 4 GiB is
  // taken as 4 GiB): a connection's BufferEvent is mostly idle memory.
  static std::uint32_t clamp32(std::size_t n) { return n > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(n); }
  std::uint32_t read_low_ = 0, read_high_ = 0, write_low_ = 0;
  std::uint32_t max_read_ = 256 * 1024, max_write_ = 256 * 1024;

  // Notices that a callback destroyed this BufferEvent:
  //   Guard g(*this); run_readcb(); if (!g.alive()) return;
  // Guards live on the stack, newest first, in a list the destructor walks
  // (one pointer here instead of a shared flag per BufferEvent).
  class Guard {
   public:
    // The BufferEvent keeps this stack object's address only while it
    // lives: the destructor takes it out again (GCC cannot see that).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"
    explicit Guard(BufferEvent& b) : bev_(&b), next_(b.guards_) { b.guards_ = this; }
#pragma GCC diagnostic pop
    ~Guard() {
      if (bev_) bev_->guards_ = next_;
    }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    bool alive() const { return bev_ != nullptr; }

   private:
    friend class BufferEvent;
    BufferEvent* bev_;
    Guard* next_;
  };

 private:
  static void on_deferred(int fd, short what, void* arg);
  Event& deferred_event();

  Guard* guards_ = nullptr;
  std::unique_ptr<Event> deferred_ev_;  // made on first use
  // Shared so that a callback replaced (setcb) or destroyed with us while
  // it runs lives until it returns.
  struct Callbacks {
    DataCallback read, write;
    EventCallback event;
  };
  std::shared_ptr<const Callbacks> cbs_ = std::make_shared<const Callbacks>();
  short deferred_what_ = 0;  // event bits waiting to be delivered
  int deferred_errno_ = 0;   // errno when they happened, restored for the callback
  bool deferred_read_ = false, deferred_write_ = false;
};

}  // namespace ev
