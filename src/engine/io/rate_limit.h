// Rate limits: token buckets per BufferEvent and per group of them
// (libevent's ev_token_bucket_cfg and bufferevent_rate_limit_group).
// Every `tick` each bucket gains `rate` bytes, up to
// `burst`; reads and writes spend them. The arithmetic takes the current
// tick as an argument, so tests drive it with an exact clock.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "engine/core/event.h"

namespace ev {

class EventBase;
class RateLimitState;

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

  // For RateLimitState: the most one member may read / write now.
  ssize_t read_share();
  ssize_t write_share();
  // For RateLimitState: bytes a member read / wrote (decremented and counted).
  void spend_read(ssize_t n);
  void spend_write(ssize_t n);
  void add_member(RateLimitState* member);
  void remove_member(RateLimitState* member);

 private:
  TokenBucket& bucket();
  ssize_t share_of(ssize_t limit) const;
  static void on_tick(int fd, short what, void* arg);
  void arm_timer();

  EventBase& base_;
  ClockFn clock_;
  TokenBucket bucket_;
  std::size_t min_share_ = 64;
  std::vector<RateLimitState*> members_;
  std::uint64_t total_read_ = 0, total_written_ = 0;
  Event timer_;
};

// The accounting of one socket BufferEvent (libevent's
// bufferevent_ratelim.c): its own bucket and/or a share of a group's, and
// which direction waits for tokens. Made on the first rate-limit call, so
// connections without limits pay nothing for it. `wake(owner)` runs when a
// waiting direction may go on.
class RateLimitState {
 public:
  using WakeFn = void (*)(void* owner);
  RateLimitState(EventBase& base, WakeFn wake, void* owner) : base_(base), wake_(wake), owner_(owner) {
    refill_ev_.assign_timer(base, &RateLimitState::on_refill, this);
  }
  ~RateLimitState();  // leaves its group
  RateLimitState(const RateLimitState&) = delete;
  RateLimitState& operator=(const RateLimitState&) = delete;

  int set_bucket(const TokenBucketConfig* cfg);  // nullptr removes it
  int join(RateLimitGroup& group);
  int leave();
  bool active() const { return bucket_ || group_; }

  // What may move now: `cap` (the BufferEvent's max single read / write)
  // limited by the own bucket, and by the group's share for max_to_*.
  ssize_t read_limit(ssize_t cap);
  ssize_t write_limit(ssize_t cap);
  ssize_t max_to_read(ssize_t cap);
  ssize_t max_to_write(ssize_t cap);
  void decrement_read(ssize_t n);
  void decrement_write(ssize_t n);
  // Bytes that moved: taken from the bucket and the group.
  void spend(bool reading, ssize_t n);

  // A direction found no tokens: it waits until the next tick.
  void exhausted(bool reading);
  bool read_blocked() const { return read_blocked_; }
  bool write_blocked() const { return write_blocked_; }
  // New tokens (a tick of the own bucket or of the group): wakes the owner
  // if a direction was waiting.
  void refilled();

 private:
  static void on_refill(int fd, short what, void* arg);

  EventBase& base_;
  WakeFn wake_;
  void* owner_;
  std::unique_ptr<TokenBucket> bucket_;
  RateLimitGroup* group_ = nullptr;
  Event refill_ev_;  // the own bucket's next tick
  bool read_blocked_ = false, write_blocked_ = false;
};

}  // namespace ev
