// Rate limits: token buckets per BufferEvent and per group of them
// (libevent's ev_token_bucket_cfg and bufferevent_rate_limit_group, the
// guide's section 七). Every `tick` each bucket gains `rate` bytes, up to
// `burst`; reads and writes spend them. The arithmetic takes the current
// tick as an argument, so tests drive it with an exact clock.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "engine/core/event.h"

namespace ev {

class BufferEvent;
class EventBase;

struct TokenBucketConfig {
  std::size_t read_rate = 0;    // bytes per tick
  std::size_t read_burst = 0;   // most a bucket holds
  std::size_t write_rate = 0;
  std::size_t write_burst = 0;
  Duration tick{1000000};

  // `bytes_per_second` in ticks of `tick`, with a burst of one tick.
  static TokenBucketConfig per_second(std::uint64_t bytes_per_second, Duration tick = Duration(100000));
};

class TokenBucket {
 public:
  // Starts with one tick's worth of tokens, as libevent does.
  TokenBucket(const TokenBucketConfig& cfg, std::int64_t current_tick);
  // Adds the tokens of the ticks since the last update (capped at burst).
  void update(std::int64_t current_tick);
  ssize_t read_limit() const { return read_; }
  ssize_t write_limit() const { return write_; }
  void decrement_read(ssize_t n) { read_ -= n; }
  void decrement_write(ssize_t n) { write_ -= n; }
  std::int64_t last_tick() const { return last_tick_; }
  const TokenBucketConfig& config() const { return cfg_; }
  // The tick number of a monotonic time in microseconds.
  std::int64_t tick_of(std::int64_t now_us) const { return now_us / cfg_.tick.count(); }

 private:
  TokenBucketConfig cfg_;
  ssize_t read_, write_;
  std::int64_t last_tick_;
};

// A bucket shared by several BufferEvents. Each member may use an equal
// share of what the group has (but at least min_share) per operation.
class RateLimitGroup {
 public:
  using ClockFn = std::function<std::int64_t()>;  // monotonic microseconds
  // `clock` defaults to the base's cached time.
  RateLimitGroup(EventBase& base, const TokenBucketConfig& cfg, ClockFn clock = nullptr);
  ~RateLimitGroup();
  RateLimitGroup(const RateLimitGroup&) = delete;
  RateLimitGroup& operator=(const RateLimitGroup&) = delete;

  void set_config(const TokenBucketConfig& cfg);
  void set_min_share(std::size_t bytes) { min_share_ = bytes; }
  ssize_t read_limit() { return bucket().read_limit(); }
  ssize_t write_limit() { return bucket().write_limit(); }
  int decrement_read(ssize_t n);
  int decrement_write(ssize_t n);
  // Bytes its members moved since creation or the last reset (manual
  // decrements are not counted, as in libevent).
  std::uint64_t total_read() const { return total_read_; }
  std::uint64_t total_written() const { return total_written_; }
  void reset_totals() { total_read_ = total_written_ = 0; }
  std::size_t members() const { return members_.size(); }

  // For BufferEvent: the most one member may read / write now.
  ssize_t read_share();
  ssize_t write_share();
  // For BufferEvent: bytes a member read / wrote (decremented and counted).
  void spend_read(ssize_t n);
  void spend_write(ssize_t n);
  void add_member(BufferEvent* bev);
  void remove_member(BufferEvent* bev);

 private:
  TokenBucket& bucket();
  ssize_t share_of(ssize_t limit) const;
  static void on_tick(int fd, short what, void* arg);
  void arm_timer();

  EventBase& base_;
  ClockFn clock_;
  TokenBucket bucket_;
  std::size_t min_share_ = 64;
  std::vector<BufferEvent*> members_;
  std::uint64_t total_read_ = 0, total_written_ = 0;
  Event timer_;
};

}  // namespace ev
