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
  for (RateLimitState* m : std::vector<RateLimitState*>(members_)) m->leave();
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

void RateLimitGroup::add_member(RateLimitState* member) { members_.push_back(member); }

void RateLimitGroup::remove_member(RateLimitState* member) { std::erase(members_, member); }

// Wake the members at the next tick, when the bucket has tokens again.
void RateLimitGroup::arm_timer() {
  if (timer_.pending(kTimeout)) return;
  std::int64_t tick_us = bucket_.config().tick.count();
  std::int64_t now = clock_();
  timer_.add(Duration(tick_us - now % tick_us));
}

void RateLimitGroup::on_tick(int, short, void* arg) {
  auto* g = static_cast<RateLimitGroup*>(arg);
  for (RateLimitState* m : std::vector<RateLimitState*>(g->members_)) m->refilled();
}

// ---- one BufferEvent's limits -------------------------------------------

RateLimitState::~RateLimitState() { leave(); }

int RateLimitState::set_bucket(const TokenBucketConfig* cfg) {
  refill_ev_.del();  // a direction waiting for the old bucket's tick tries the new one
  if (!cfg) {
    bucket_.reset();
  } else {
    bucket_ = std::make_unique<TokenBucket>(*cfg, 0);
    *bucket_ = TokenBucket(*cfg, bucket_->tick_of(base_.now_us()));
  }
  refilled();
  return 0;
}

int RateLimitState::join(RateLimitGroup& group) {
  if (group_ == &group) return 0;
  leave();
  group_ = &group;
  group.add_member(this);
  return 0;
}

int RateLimitState::leave() {
  if (!group_) return 0;
  group_->remove_member(this);
  group_ = nullptr;
  refilled();
  return 0;
}

ssize_t RateLimitState::read_limit(ssize_t cap) {
  if (!bucket_) return cap;
  bucket_->update(bucket_->tick_of(base_.now_us()));
  return bucket_->read_limit();
}

ssize_t RateLimitState::write_limit(ssize_t cap) {
  if (!bucket_) return cap;
  bucket_->update(bucket_->tick_of(base_.now_us()));
  return bucket_->write_limit();
}

ssize_t RateLimitState::max_to_read(ssize_t cap) {
  ssize_t n = std::min(cap, read_limit(cap));
  return group_ ? std::min(n, group_->read_share()) : n;
}

ssize_t RateLimitState::max_to_write(ssize_t cap) {
  ssize_t n = std::min(cap, write_limit(cap));
  return group_ ? std::min(n, group_->write_share()) : n;
}

void RateLimitState::decrement_read(ssize_t n) {
  if (bucket_) bucket_->decrement_read(n);
}

void RateLimitState::decrement_write(ssize_t n) {
  if (bucket_) bucket_->decrement_write(n);
}

void RateLimitState::spend(bool reading, ssize_t n) {
  if (reading) {
    decrement_read(n);
    if (group_) group_->spend_read(n);
  } else {
    decrement_write(n);
    if (group_) group_->spend_write(n);
  }
}

// Sleep until the next tick of the own bucket (a group wakes its members
// itself, once its timer is armed).
void RateLimitState::exhausted(bool reading) {
  (reading ? read_blocked_ : write_blocked_) = true;
  if (group_) {
    if (group_->read_limit() <= 0) group_->decrement_read(0);
    if (group_->write_limit() <= 0) group_->decrement_write(0);
  }
  if (!bucket_ || refill_ev_.pending(kTimeout)) return;
  std::int64_t tick_us = bucket_->config().tick.count();
  refill_ev_.add(Duration(tick_us - base_.now_us() % tick_us));
}

void RateLimitState::on_refill(int, short, void* arg) { static_cast<RateLimitState*>(arg)->refilled(); }

void RateLimitState::refilled() {
  if (!read_blocked_ && !write_blocked_) return;
  read_blocked_ = write_blocked_ = false;
  wake_(owner_);
}

// ---- the BufferEvent API --------------------------------------------------

// A layer without a socket of its own counts the bytes of the one beneath.
RateLimitState* BufferEvent::rate_limit_state(bool create) {
  return underlying() ? underlying()->rate_limit_state(create) : nullptr;
}

int BufferEvent::set_rate_limit(const TokenBucketConfig* cfg) {
  RateLimitState* s = rate_limit_state(cfg != nullptr);
  if (!s) return cfg ? -1 : 0;
  return s->set_bucket(cfg);
}

int BufferEvent::add_to_rate_limit_group(RateLimitGroup& group) {
  RateLimitState* s = rate_limit_state(true);
  return s ? s->join(group) : -1;
}

int BufferEvent::remove_from_rate_limit_group() {
  RateLimitState* s = rate_limit_state(false);
  return s ? s->leave() : 0;
}

ssize_t BufferEvent::get_read_limit() {
  RateLimitState* s = rate_limit_state(false);
  return s ? s->read_limit(static_cast<ssize_t>(max_read_)) : static_cast<ssize_t>(max_read_);
}

ssize_t BufferEvent::get_write_limit() {
  RateLimitState* s = rate_limit_state(false);
  return s ? s->write_limit(static_cast<ssize_t>(max_write_)) : static_cast<ssize_t>(max_write_);
}

ssize_t BufferEvent::get_max_to_read() {
  RateLimitState* s = rate_limit_state(false);
  return s ? s->max_to_read(static_cast<ssize_t>(max_read_)) : static_cast<ssize_t>(max_read_);
}

ssize_t BufferEvent::get_max_to_write() {
  RateLimitState* s = rate_limit_state(false);
  return s ? s->max_to_write(static_cast<ssize_t>(max_write_)) : static_cast<ssize_t>(max_write_);
}

int BufferEvent::decrement_read_limit(ssize_t n) {
  if (RateLimitState* s = rate_limit_state(false)) s->decrement_read(n);
  return 0;
}

int BufferEvent::decrement_write_limit(ssize_t n) {
  if (RateLimitState* s = rate_limit_state(false)) s->decrement_write(n);
  return 0;
}

}  // namespace ev
