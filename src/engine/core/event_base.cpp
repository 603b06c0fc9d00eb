// EventBase's public methods. Each forwards to detail::EventBaseImpl, the
// object create() makes; impl() is a static_cast, so a forward costs at
// most a jump.
#include "engine/core/event_base.h"

#include <string>
#include <utility>

#include "engine/core/detail/event_base_impl.h"

namespace ev {

using detail::impl;

std::unique_ptr<EventBase> EventBase::create(const Config& cfg, std::string* why) {
  std::string method = choose_method(cfg, why);
  if (method.empty()) return nullptr;
  auto base = std::make_unique<detail::EventBaseImpl>();
  if (base->init(cfg, method, why) != 0) return nullptr;
  return base;
}

EventBase::~EventBase() = default;

const char* EventBase::method() const { return impl(*this).method(); }
int EventBase::features() const { return impl(*this).features(); }
int EventBase::priority_init(int n) { return impl(*this).priority_init(n); }
int EventBase::priorities() const { return impl(*this).priorities(); }

int EventBase::loop(int flags) { return impl(*this).loop(flags); }
int EventBase::loopexit(std::optional<Duration> delay) { return impl(*this).loopexit(delay); }
int EventBase::loopbreak() { return impl(*this).loopbreak(); }
int EventBase::loopcontinue() { return impl(*this).loopcontinue(); }
bool EventBase::got_exit() const { return impl(*this).got_exit(); }
bool EventBase::got_break() const { return impl(*this).got_break(); }
bool EventBase::running() const { return impl(*this).running(); }

TimePoint EventBase::now() { return impl(*this).now(); }
std::int64_t EventBase::now_us() { return impl(*this).now_us(); }
int EventBase::gettimeofday_cached(struct timeval* tv) { return impl(*this).gettimeofday_cached(tv); }
int EventBase::update_cache_time() { return impl(*this).update_cache_time(); }

CommonTimeout EventBase::init_common_timeout(Duration d) { return impl(*this).init_common_timeout(d); }

int EventBase::once(int fd, short what, std::function<void(int, short)> cb, std::optional<Duration> timeout) {
  return impl(*this).once(fd, what, std::move(cb), timeout);
}

Event* EventBase::running_event() const { return impl(*this).running_event(); }

void EventBase::dump_events(std::FILE* out) {
  std::string text = dump_events();
  std::fwrite(text.data(), 1, text.size(), out);
}
std::string EventBase::dump_events() { return impl(*this).dump_events(); }
int EventBase::foreach_event(const std::function<int(const Event&)>& fn) const {
  return impl(*this).foreach_event(fn);
}
int EventBase::event_count() const { return impl(*this).event_count(); }
int EventBase::active_count() const { return impl(*this).active_count(); }

int EventBase::add_prepare_watcher(PrepareCallback cb) { return impl(*this).add_prepare_watcher(std::move(cb)); }
int EventBase::add_check_watcher(CheckCallback cb) { return impl(*this).add_check_watcher(std::move(cb)); }
void EventBase::remove_watcher(int id) { impl(*this).remove_watcher(id); }

void EventBase::run_in_loop(std::function<void()> fn) { impl(*this).run_in_loop(std::move(fn)); }
void EventBase::wake() { impl(*this).wake(); }

int EventBase::reinit() { return impl(*this).reinit(); }

}  // namespace ev
