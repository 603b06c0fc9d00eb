// BufferEvent pairs: two in-memory ends. Writing to one moves the data
// (whole segments, no copy) into the other's input, within the reader's
// high watermark; callbacks are deferred so the ends may answer each other.
#include "engine/io/buffer_event.h"

namespace ev {
namespace {

class PairBufferEvent final : public BufferEvent {
 public:
  PairBufferEvent(EventBase& base, int options) : BufferEvent(base, options | kDeferCallbacks) {}
  ~PairBufferEvent() override {
    if (partner_) partner_->partner_ = nullptr;
  }
  void link(PairBufferEvent* other) { partner_ = other; }

  // Every mode moves what the reading side's high watermark held back;
  // Finished then gives the partner kEof (after the data: both deferred).
  int flush(short iotype, Flush mode) override {
    if ((iotype & kRead) && partner_) partner_->transfer(true);
    if (iotype & kWrite) {
      transfer(true);
      if (mode == Flush::Finished && partner_) partner_->run_eventcb(kReading | kEof);
    }
    return output_.empty() ? 0 : 1;
  }

 protected:
  void schedule_read_event() override {
    if (partner_) partner_->transfer();
  }
  void schedule_write_event() override { transfer(); }
  void output_changed() override { transfer(); }
  void input_changed() override {
    if (partner_) partner_->transfer();  // room again under our high watermark
  }

 private:
  // Our output into the partner's input, as far as both sides allow
  // (`flush`: past the partner's high watermark).
  void transfer(bool flush = false) {
    if (!partner_ || output_.empty() || !(enabled_ & kWrite) || !(partner_->enabled_ & kRead)) return;
    std::size_t n = output_.length();
    if (partner_->read_high_ && !flush) {
      std::size_t have = partner_->input_.length();
      if (have >= partner_->read_high_) return;
      n = std::min(n, partner_->read_high_ - have);
    }
    if (output_.remove_buffer(partner_->input_, n) <= 0) return;
    if (partner_->input_.length() >= partner_->read_low_) partner_->run_readcb();
    if (output_.length() <= write_low_) run_writecb();
  }

  PairBufferEvent* partner_ = nullptr;
};

}  // namespace

std::pair<std::unique_ptr<BufferEvent>, std::unique_ptr<BufferEvent>> BufferEvent::pair(EventBase& base, int options) {
  auto a = std::make_unique<PairBufferEvent>(base, options);
  auto b = std::make_unique<PairBufferEvent>(base, options);
  a->link(b.get());
  b->link(a.get());
  return {std::move(a), std::move(b)};
}

}  // namespace ev
