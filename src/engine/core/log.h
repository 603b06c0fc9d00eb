// Engine-wide setup: log and fatal-error callbacks, debug mode, version.
//
// libevent's event_set_log_callback, event_set_fatal_callback and
// event_enable_debug_mode. Logging is process-wide (like libevent's), so set
// the callbacks before creating bases and do not change them while loops run
// on other threads.
#pragma once

#include <cstdint>

namespace ev {

enum class Severity { Debug = 0, Msg = 1, Warn = 2, Err = 3 };

const char* severity_name(Severity s);

// Receives every message the engine logs. nullptr restores the default,
// which writes "[warn] message" to stderr and drops Debug messages.
using LogCallback = void (*)(Severity severity, const char* message);
void set_log_callback(LogCallback cb);

// Debug messages are only produced when enabled (they cost formatting).
void enable_debug_logging(bool on);
bool debug_logging_enabled();

// Logs a message through the current callback (printf-style).
void log(Severity severity, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Called on unrecoverable internal errors and, in debug mode, on API misuse.
// The callback should not return; if it does (or none is set) the process
// aborts. A callback may throw, which is how the unit tests observe misuse.
using FatalCallback = void (*)(int err, const char* message);
void set_fatal_callback(FatalCallback cb);
[[noreturn]] void fatal(int err, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Debug mode tracks every assigned Event so that misuse is caught: assigning
// an event that is still pending, adding or deleting an event that was never
// assigned or was already destroyed. Enable it before creating any EventBase
// or Event (a base assigns internal events when it is created).
void enable_debug_mode();
bool debug_mode();

// "1.0.0" and 0x01000000 (major, minor, patch, 0) like LIBEVENT_VERSION.
const char* version();
std::uint32_t version_number();

}  // namespace ev
