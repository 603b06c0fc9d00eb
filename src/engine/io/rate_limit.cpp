#include "engine/io/rate_limit.h"

#include <algorithm>
#include <climits>

#include "engine/core/event_base.h"
#include "engine/io/buffer_event.h"

namespace ev {

TokenBucketConfig TokenBucketConfig::per_second(std::uint64_t bytes_per_second, Duration tick) {
  auto us = static_cast<std::uint64_t>(std::max<std::int64_t>(0, tick.count()));
  std::uint64_t per_tick = 0;
  if (!__builtin_mul_overflow(bytes_per_second, us, &per_tick)) per_tick /= 1000000;
  else if (__builtin_mul_overflow(bytes_per_second / 1000000, us, &per_tick)) per_tick = UINT64_MAX;
  per_tick = std::max<std::uint64_t>(1, per_tick);
  TokenBucketConfig c;
  c.read_rate = c.read_burst = c.write_rate = c.write_burst = static_cast<std::size_t>(per_tick);
  c.tick = tick;
  return c;
}

namespace {
// Rates and bursts beyond SSIZE_MAX mean "as much as a limit can hold".
ssize_t clamp_size(std::size_t n) { return static_cast<ssize_t>(std::min<std::size_t>(n, SSIZE_MAX)); }

// limit + ticks * rate, capped at burst, without overflowing: the distance
// from a negative limit to the cap can exceed SSIZE_MAX, so it is unsigned.
ssize_t refill(ssize_t limit, std::size_t rate, std::size_t burst, std::int64_t ticks) {
  ssize_t cap = clamp_size(burst);
  if (limit >= cap || rate == 0) return limit;
  std::uint64_t room = static_cast<std::uint64_t>(cap) - static_cast<std::uint64_t>(limit);
  if (static_cast<std::uint64_t>(ticks) > room / rate) return cap;
  return static_cast<ssize_t>(static_cast<std::uint64_t>(limit) + static_cast<std::uint64_t>(ticks) * rate);
}
}  // namespace

TokenBucket::TokenBucket(const TokenBucketConfig& cfg, std::int64_t current_tick)
    : cfg_(cfg), read_(clamp_size(cfg.read_rate)), write_(clamp_size(cfg.write_rate)), last_tick_(current_tick) {
  if (cfg_.tick.count() <= 0) cfg_.tick = Duration(1000000);
}

void TokenBucket::update(std::int64_t current_tick) {
  std::int64_t ticks = current_tick - last_tick_;
  if (ticks <= 0) return;
  read_ = refill(read_, cfg_.read_rate, cfg_.read_burst, ticks);
  write_ = refill(write_, cfg_.write_rate, cfg_.write_burst, ticks);
  last_tick_ = current_tick;
}

// ---- groups ---------------------------------------------------------------

RateLimitGroup::RateLimitGroup(EventBase& base, const TokenBucketConfig& cfg, ClockFn clock)
    : base_(base),
      clock_(clock ? std::move(clock) : ClockFn([&base] { return base.now_us(); })),
      bucket_(cfg, 0) {
  bucket_ = TokenBucket(cfg, bucket_.tick_of(clock_()));
  timer_.assign_timer(base, &RateLimitGroup::on_tick, this);
}

RateLimitGroup::~RateLimitGroup() {
  for (BufferEvent* bev : std::vector<BufferEvent*>(members_)) bev->remove_from_rate_limit_group();
}

void RateLimitGroup::set_config(const TokenBucketConfig& cfg) { bucket_ = TokenBucket(cfg, bucket_.tick_of(clock_())); }

TokenBucket& RateLimitGroup::bucket() {
  bucket_.update(bucket_.tick_of(clock_()));
  return bucket_;
}

int RateLimitGroup::decrement_read(ssize_t n) {
  bucket().decrement_read(n);
  if (bucket_.read_limit() <= 0) arm_timer();
  return 0;
}

int RateLimitGroup::decrement_write(ssize_t n) {
  bucket().decrement_write(n);
  if (bucket_.write_limit() <= 0) arm_timer();
  return 0;
}

// Manual decrements are not traffic; only these count in the totals.
void RateLimitGroup::spend_read(ssize_t n) {
  decrement_read(n);
  if (n > 0) total_read_ += static_cast<std::uint64_t>(n);
}

void RateLimitGroup::spend_write(ssize_t n) {
  decrement_write(n);
  if (n > 0) total_written_ += static_cast<std::uint64_t>(n);
}

// An equal part of what the group has, at least min_share, never more
// than it has.
ssize_t RateLimitGroup::share_of(ssize_t limit) const {
  if (limit <= 0) return 0;
  ssize_t share = limit / static_cast<ssize_t>(std::max<std::size_t>(1, members_.size()));
  return std::min(limit, std::max(share, static_cast<ssize_t>(min_share_)));
}

ssize_t RateLimitGroup::read_share() { return share_of(bucket().read_limit()); }
ssize_t RateLimitGroup::write_share() { return share_of(bucket().write_limit()); }

void RateLimitGroup::add_member(BufferEvent* bev) { members_.push_back(bev); }

void RateLimitGroup::remove_member(BufferEvent* bev) { std::erase(members_, bev); }

// Wake the members at the next tick, when the bucket has tokens again.
void RateLimitGroup::arm_timer() {
  if (timer_.pending(kTimeout)) return;
  std::int64_t tick_us = bucket_.config().tick.count();
  std::int64_t now = clock_();
  timer_.add(Duration(tick_us - now % tick_us));
}

void RateLimitGroup::on_tick(int, short, void* arg) {
  auto* g = static_cast<RateLimitGroup*>(arg);
  for (BufferEvent* bev : std::vector<BufferEvent*>(g->members_)) bev->rate_limit_refilled();
}

}  // namespace ev
