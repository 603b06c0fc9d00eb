// Debug mode: a registry of live, assigned events so that misuse is caught
// instead of corrupting the loop (libevent's event_enable_debug_mode).
#include "engine/core/detail/debug.h"

#include <atomic>
#include <mutex>
#include <unordered_map>

#include "engine/core/log.h"

namespace ev {
namespace {

std::atomic<bool> g_debug_mode{false};
std::mutex g_mutex;
// Event address -> still assigned. Destroyed events are erased, so a stale
// pointer that is used again is reported as "not assigned".
std::unordered_map<const void*, bool>& registry() {
  static std::unordered_map<const void*, bool> map;
  return map;
}

}  // namespace

void enable_debug_mode() { g_debug_mode.store(true); }
bool debug_mode() { return g_debug_mode.load(std::memory_order_relaxed); }

namespace detail {

void debug_note_assign(const void* ev, bool pending) {
  if (!debug_mode()) return;
  if (pending) fatal(0, "debug mode: event %p re-assigned while pending", ev);
  std::lock_guard lock(g_mutex);
  registry()[ev] = true;
}

void debug_note_destroy(const void* ev) {
  if (!debug_mode()) return;
  std::lock_guard lock(g_mutex);
  registry().erase(ev);
}

void debug_check_live(const void* ev, const char* op) {
  if (!debug_mode()) return;
  bool live;
  {
    std::lock_guard lock(g_mutex);
    live = registry().count(ev) != 0;
  }
  if (!live) fatal(0, "debug mode: %s on event %p that is not assigned (never initialised, or destroyed)", op, ev);
}

}  // namespace detail
}  // namespace ev
