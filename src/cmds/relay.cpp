#include "cmds/relay.h"

#include <utility>

#include "cmds/server_frame.h"
#include "engine/io/socket_buffer_event.h"

namespace evtool {
namespace {

// Unsent bytes above this pause reading the other side; the write
// callback (output at or below the low mark) lets it resume.
constexpr std::size_t kOutputHigh = 1024 * 1024;
constexpr std::size_t kOutputLow = 256 * 1024;

std::size_t unsent(ev::BufferEvent& bev) { return ConnectionHandler::queued(bev); }

}  // namespace

Relay::Relay(std::unique_ptr<ev::BufferEvent> client, std::string peer, Finished finished)
    : peer_(std::move(peer)), finished_(std::move(finished)) {
  sides_[kClient].bev = std::move(client);
}

void Relay::start(std::unique_ptr<ev::BufferEvent> target, bool write_through) {
  sides_[kTarget].bev = std::move(target);
  for (int i : {kClient, kTarget}) {
    ev::BufferEvent& b = *sides_[i].bev;
    // Only a plain socket (no TLS or filter layer) can be written past its BufferEvent.
    sides_[i].direct = write_through && dynamic_cast<ev::SocketBufferEvent*>(&b) != nullptr;
    b.setcb([this, i](ev::BufferEvent&) { readable(i); }, [this, i](ev::BufferEvent&) { drained(i); },
            [this, i](ev::BufferEvent&, short what) { event(i, what); });
    b.setwatermark(ev::kWrite, kOutputLow, 0);
    b.enable(ev::kRead | ev::kWrite);
  }
}

void Relay::readable(int from) {
  Side& src = sides_[from];
  Side& to = sides_[1 - from];
  ev::BufferEvent& dst = *to.bev;
  src.bytes_read += src.bev->input().length();
  if (to.direct && dst.output().empty()) write_through(src.bev->input(), dst);
  dst.output().add_buffer(src.bev->input());
  if (unsent(dst) >= kOutputHigh) src.bev->disable(ev::kRead);
}

// Nothing is queued for dst: write straight to its socket, sparing the
// write event's arming, wake-up and disarming per message (what is left,
// when the socket is full, queues as usual). An error is left for dst's
// own write to find and report.
void Relay::write_through(ev::Buffer& data, ev::BufferEvent& dst) {
  if (!data.empty()) data.write(dst.fd(), static_cast<ssize_t>(dst.max_single_write()));
}

// `to` sent some of what it owed: its source may read again, and a
// finished relay may close.
void Relay::drained(int to) {
  Side& src = sides_[1 - to];
  if (!src.eof && !(src.bev->enabled() & ev::kRead) && unsent(*sides_[to].bev) < kOutputHigh)
    src.bev->enable(ev::kRead);
  finish_if_done();
}

void Relay::event(int side, short what) {
  Side& s = sides_[side];
  if (what & ev::BufferEvent::kTimedOut) return timed_out(side, what);
  if (what & ev::BufferEvent::kEof) {
    readable(side);  // whatever came with the FIN
    s.eof = true;
    s.bev->disable(ev::kRead);
    sides_[1 - side].bev->flush(ev::kWrite, ev::BufferEvent::Flush::Finished);
    return finish_if_done();
  }
  close();  // kError: a reset or a TLS failure ends both directions
}

void Relay::timed_out(int side, short what) {
  std::uint64_t moved = bytes_up() + bytes_down();
  if (moved == moved_at_last_timeout_) return close();
  moved_at_last_timeout_ = moved;
  // A timeout disables its direction; the relay is still moving, so go on.
  short dir = (what & ev::BufferEvent::kReading) ? ev::kRead : ev::kWrite;
  if (dir == ev::kWrite || !sides_[side].eof) sides_[side].bev->enable(dir);
}

void Relay::finish_if_done() {
  const Side& c = sides_[kClient];
  const Side& t = sides_[kTarget];
  if (c.eof && t.eof && unsent(*c.bev) == 0 && unsent(*t.bev) == 0) close();
}

void Relay::close() {
  if (closed_) return;
  closed_ = true;
  for (Side& s : sides_) s.bev.reset();
  Finished finished = std::move(finished_);
  finished(*this);  // may destroy us: nothing after this
}

}  // namespace evtool
