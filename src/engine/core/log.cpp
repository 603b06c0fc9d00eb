#include "engine/core/log.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>

namespace ev {
namespace {

std::atomic<LogCallback> g_log_cb{nullptr};
std::atomic<FatalCallback> g_fatal_cb{nullptr};
std::atomic<bool> g_debug_logging{false};

void vlog(Severity severity, const char* fmt, va_list ap) {
  char buf[1024];
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  if (LogCallback cb = g_log_cb.load()) {
    cb(severity, buf);
  } else if (severity != Severity::Debug || g_debug_logging.load()) {
    std::fprintf(stderr, "[%s] %s\n", severity_name(severity), buf);
  }
}

}  // namespace

const char* severity_name(Severity s) {
  switch (s) {
    case Severity::Debug: return "debug";
    case Severity::Msg: return "msg";
    case Severity::Warn: return "warn";
    case Severity::Err: return "err";
  }
  return "?";
}

void set_log_callback(LogCallback cb) { g_log_cb.store(cb); }
void enable_debug_logging(bool on) { g_debug_logging.store(on); }
bool debug_logging_enabled() { return g_debug_logging.load(); }

void log(Severity severity, const char* fmt, ...) {
  if (severity == Severity::Debug && !g_debug_logging.load()) return;
  va_list ap;
  va_start(ap, fmt);
  vlog(severity, fmt, ap);
  va_end(ap);
}

void set_fatal_callback(FatalCallback cb) { g_fatal_cb.store(cb); }

void fatal(int err, const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (FatalCallback cb = g_fatal_cb.load()) {
    cb(err, buf);
  } else {
    std::fprintf(stderr, "[err] fatal: %s\n", buf);
  }
  std::abort();
}

const char* version() { return EVTOOL_VERSION; }

std::uint32_t version_number() {
  unsigned major = 0, minor = 0, patch = 0;
  std::sscanf(EVTOOL_VERSION, "%u.%u.%u", &major, &minor, &patch);
  return (major << 24) | (minor << 16) | (patch << 8);
}

}  // namespace ev
