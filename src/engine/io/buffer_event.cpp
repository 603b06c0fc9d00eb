// What every kind of BufferEvent shares: buffers, callbacks (run now or
// deferred to the loop), enabling, watermarks.
#include "engine/io/buffer_event.h"

#include <cerrno>

namespace ev {

BufferEvent::BufferEvent(EventBase& base, int options) : base_(base), options_(options) {
  // Most connections are idle most of the time: an emptied buffer gives its
  // memory back rather than keeping a segment per connection.
  input_.set_keep_drained_tail(false);
  output_.set_keep_drained_tail(false);
  // Plain hooks, not change callbacks: no allocation per connection.
  output_.set_owner_hook(
      [](void* self, Buffer&, const BufferChange& c) {
        if (c.n_added) static_cast<BufferEvent*>(self)->output_changed();
      },
      this);
  input_.set_owner_hook(
      [](void* self, Buffer&, const BufferChange& c) {
        if (c.n_deleted) static_cast<BufferEvent*>(self)->input_changed();
      },
      this);
}

BufferEvent::~BufferEvent() {
  for (Guard* g = guards_; g; g = g->next_) g->bev_ = nullptr;
  deferred_ev_.reset();
}

// Only connections whose callbacks are deferred need this event: made on
// first use, so an idle connection costs as little memory as possible.
Event& BufferEvent::deferred_event() {
  if (!deferred_ev_) deferred_ev_ = std::make_unique<Event>(base_, -1, 0, &BufferEvent::on_deferred, this);
  return *deferred_ev_;
}

void BufferEvent::setcb(DataCallback readcb, DataCallback writecb, EventCallback eventcb) {
  cbs_ = std::make_shared<const Callbacks>(Callbacks{std::move(readcb), std::move(writecb), std::move(eventcb)});
}

int BufferEvent::enable(short what) {
  enabled_ |= what & (kRead | kWrite);
  if (what & kRead) schedule_read_event();
  if (what & kWrite) schedule_write_event();
  return 0;
}

int BufferEvent::disable(short what) {
  enabled_ &= static_cast<short>(~(what & (kRead | kWrite)));
  if (what & kRead) schedule_read_event();
  if (what & kWrite) schedule_write_event();
  return 0;
}

std::size_t BufferEvent::read(void* data, std::size_t len) {
  ssize_t n = input_.remove(data, len);
  return n < 0 ? 0 : static_cast<std::size_t>(n);
}

void BufferEvent::setwatermark(short events, std::size_t low, std::size_t high) {
  if (events & kWrite) write_low_ = clamp32(low);
  if (events & kRead) {
    read_low_ = clamp32(low);
    read_high_ = clamp32(high);
    input_changed();  // a higher (or no) limit may let a paused reader go on
  }
}

int BufferEvent::set_timeouts(std::optional<Duration> read, std::optional<Duration> write) {
  return underlying() ? underlying()->set_timeouts(read, write) : -1;
}

int BufferEvent::flush(short, Flush) { return output_.empty() ? 0 : 1; }

std::optional<SocketAddress> BufferEvent::peer_address() const {
  auto* under = const_cast<BufferEvent*>(this)->underlying();
  return under ? under->peer_address() : std::nullopt;
}

// ---- callbacks ------------------------------------------------------------

// Each call holds its own reference to the callbacks (see cbs_).
void BufferEvent::run_readcb() {
  if (!cbs_->read) return;
  if (options_ & kDeferCallbacks) {
    deferred_read_ = true;
    deferred_event().activate(kTimeout);
    return;
  }
  auto cbs = cbs_;
  cbs->read(*this);
}

void BufferEvent::run_writecb() {
  if (!cbs_->write) return;
  if (options_ & kDeferCallbacks) {
    deferred_write_ = true;
    deferred_event().activate(kTimeout);
    return;
  }
  auto cbs = cbs_;
  cbs->write(*this);
}

void BufferEvent::run_eventcb(short what) {
  if (!cbs_->event) return;
  if (options_ & kDeferCallbacks) {
    deferred_what_ |= what;
    deferred_errno_ = errno;
    deferred_event().activate(kTimeout);
    return;
  }
  auto cbs = cbs_;
  cbs->event(*this, what);
}

void BufferEvent::on_deferred(int, short, void* arg) {
  auto* bev = static_cast<BufferEvent*>(arg);
  Guard alive(*bev);
  if (bev->deferred_read_) {
    bev->deferred_read_ = false;
    if (auto cbs = bev->cbs_; cbs->read) cbs->read(*bev);
    if (!alive.alive()) return;
  }
  if (bev->deferred_write_) {
    bev->deferred_write_ = false;
    if (auto cbs = bev->cbs_; cbs->write) cbs->write(*bev);
    if (!alive.alive()) return;
  }
  if (short what = bev->deferred_what_) {
    bev->deferred_what_ = 0;
    errno = bev->deferred_errno_;
    if (auto cbs = bev->cbs_; cbs->event) cbs->event(*bev, what);
  }
}

}  // namespace ev
