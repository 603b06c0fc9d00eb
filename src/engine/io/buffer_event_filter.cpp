// Filtering BufferEvents: transform data on its way between the user and
// an underlying BufferEvent (compression, framing, TLS-like layers).
#include "engine/io/buffer_event.h"

namespace ev {
namespace {

class FilterBufferEvent final : public BufferEvent {
 public:
  FilterBufferEvent(std::unique_ptr<BufferEvent> under, FilterFn in, FilterFn out, int options)
      : BufferEvent(under->base(), options), under_(std::move(under)), in_(std::move(in)), out_(std::move(out)) {
    under_->setcb([this](BufferEvent&) { pull(Flush::Normal); }, [this](BufferEvent&) { drained(); },
                  [this](BufferEvent&, short what) { underlying_event(what); });
    pull_ev_.assign(base_, -1, 0, &FilterBufferEvent::on_pull, this);
    under_->enable(kWrite);
    schedule_read_event();  // the underlying reads only while we do
  }

  BufferEvent* underlying() override { return under_.get(); }

  int flush(short iotype, Flush mode) override {
    if (iotype & kRead) pull(mode);
    if (iotype & kWrite) {
      push(mode);
      if (mode == Flush::Finished) under_->flush(kWrite, Flush::Finished);
    }
    return output_.empty() && under_->output().empty() ? 0 : 1;
  }

 protected:
  // Input the underlying already holds (read before we were enabled, or
  // held back while we were full) is pulled from the loop: never from
  // inside enable() or a drain, which would nest our read callback.
  void schedule_read_event() override {
    if ((enabled_ & kRead) && !paused()) {
      under_->enable(kRead);
      if (!under_->input().empty()) pull_ev_.activate(kTimeout);
    } else {
      under_->disable(kRead);
    }
  }
  void schedule_write_event() override { push(Flush::Normal); }
  void output_changed() override { push(Flush::Normal); }
  void input_changed() override {
    if (!paused()) schedule_read_event();
  }

 private:
  bool paused() const { return read_high_ && input_.length() >= read_high_; }

  // Underlying input -> filter -> our input.
  void pull(Flush mode) {
    if (!(enabled_ & kRead) || under_->input().empty()) return;
    ssize_t limit = read_high_ ? static_cast<ssize_t>(read_high_) - static_cast<ssize_t>(input_.length()) : -1;
    if (limit == 0) return;
    std::size_t before = input_.length();
    if (in_(under_->input(), input_, limit, mode) == FilterResult::Error) return run_eventcb(kReading | kError);
    if (paused()) under_->disable(kRead);
    if (input_.length() > before && input_.length() >= read_low_) run_readcb();
  }

  // Our output -> filter -> underlying output.
  void push(Flush mode) {
    if (!(enabled_ & kWrite) || (output_.empty() && mode == Flush::Normal)) return;
    if (out_(output_, under_->output(), -1, mode) == FilterResult::Error) return run_eventcb(kWriting | kError);
  }

  void drained() {
    push(Flush::Normal);
    if (output_.length() <= write_low_ && under_->output().length() <= write_low_) run_writecb();
  }

  void underlying_event(short what) {
    if (what & kEof) {
      Guard alive(*this);
      pull(Flush::Finished);
      if (!alive.alive()) return;  // the read callback destroyed us
    }
    run_eventcb(what);
  }

  static void on_pull(int, short, void* arg) { static_cast<FilterBufferEvent*>(arg)->pull(Flush::Normal); }

  std::unique_ptr<BufferEvent> under_;
  FilterFn in_, out_;
  Event pull_ev_;
};

}  // namespace

std::unique_ptr<BufferEvent> BufferEvent::filter(std::unique_ptr<BufferEvent> underlying, FilterFn input,
                                                 FilterFn output, int options) {
  if (!underlying || !input || !output) return nullptr;
  return std::make_unique<FilterBufferEvent>(std::move(underlying), std::move(input), std::move(output), options);
}

}  // namespace ev
