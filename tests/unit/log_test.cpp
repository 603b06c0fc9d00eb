// Section 一: log and fatal-error callbacks, debug mode, version.
#include "engine/core/log.h"

#include <sys/wait.h>

#include <csignal>
#include <cstdio>
#include <new>
#include <string>
#include <vector>

#include "test_base.h"

namespace {

struct Logged {
  ev::Severity severity;
  std::string message;
};
std::vector<Logged> g_logged;
void capture_log(ev::Severity severity, const char* message) { g_logged.push_back({severity, message}); }

// Installs the capturing log callback for one scope, then restores the default.
struct LogCapture {
  LogCapture() {
    g_logged.clear();
    ev::set_log_callback(capture_log);
  }
  ~LogCapture() {
    ev::set_log_callback(nullptr);
    ev::enable_debug_logging(false);
  }
};

struct FatalError {
  int err;
  std::string message;
};
void throw_fatal(int err, const char* message) { throw FatalError{err, message}; }

struct FatalThrows {
  FatalThrows() { ev::set_fatal_callback(throw_fatal); }
  ~FatalThrows() { ev::set_fatal_callback(nullptr); }
};

void noop_cb(int, short, void*) {}

}  // namespace

TEST_CASE("log callback receives the four severities; Debug only when enabled") {
  LogCapture capture;
  CHECK_FALSE(ev::debug_logging_enabled());
  ev::log(ev::Severity::Debug, "debug %d", 1);  // dropped: debug logging is off
  ev::log(ev::Severity::Msg, "msg %s", "two");
  ev::log(ev::Severity::Warn, "warn %d", 3);
  ev::log(ev::Severity::Err, "err %d", 4);
  REQUIRE(g_logged.size() == 3);
  CHECK(g_logged[0].severity == ev::Severity::Msg);
  CHECK(g_logged[0].message == "msg two");
  CHECK(g_logged[1].severity == ev::Severity::Warn);
  CHECK(g_logged[1].message == "warn 3");
  CHECK(g_logged[2].severity == ev::Severity::Err);
  CHECK(g_logged[2].message == "err 4");

  ev::enable_debug_logging(true);
  CHECK(ev::debug_logging_enabled());
  ev::log(ev::Severity::Debug, "debug %d", 5);
  REQUIRE(g_logged.size() == 4);
  CHECK(g_logged[3].severity == ev::Severity::Debug);
  CHECK(g_logged[3].message == "debug 5");
}

TEST_CASE("severity names") {
  CHECK(std::string(ev::severity_name(ev::Severity::Debug)) == "debug");
  CHECK(std::string(ev::severity_name(ev::Severity::Msg)) == "msg");
  CHECK(std::string(ev::severity_name(ev::Severity::Warn)) == "warn");
  CHECK(std::string(ev::severity_name(ev::Severity::Err)) == "err");
}

TEST_CASE("long messages are truncated, not overflowed") {
  LogCapture capture;
  std::string big(5000, 'x');
  ev::log(ev::Severity::Warn, "%s", big.c_str());
  REQUIRE(g_logged.size() == 1);
  CHECK(g_logged[0].message.size() < big.size());
  CHECK(g_logged[0].message.find_first_not_of('x') == std::string::npos);
}

TEST_CASE("engine warnings go through the log callback") {
  LogCapture capture;
  auto base = make_test_base();
  ev::Event bad(*base, -5, ev::kRead, noop_cb, nullptr);
  CHECK(bad.add() == -1);
  REQUIRE_FALSE(g_logged.empty());
  CHECK(g_logged.back().severity == ev::Severity::Warn);
  CHECK(g_logged.back().message.find("negative fd") != std::string::npos);
}

TEST_CASE("fatal callback receives the error and message") {
  FatalThrows guard;
  CHECK_THROWS_AS(ev::fatal(42, "boom %d", 7), FatalError);
  try {
    ev::fatal(17, "bad %s", "state");
  } catch (const FatalError& e) {
    CHECK(e.err == 17);
    CHECK(e.message == "bad state");
  }
}

TEST_CASE("fatal aborts when the callback returns") {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::signal(SIGABRT, SIG_DFL);  // not doctest's crash reporter
    ev::set_log_callback([](ev::Severity, const char*) {});
    ev::set_fatal_callback([](int, const char*) {});  // returns: the engine must still stop
    ev::fatal(1, "returning fatal callback");
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status));
  if (WIFSIGNALED(status)) CHECK(WTERMSIG(status) == SIGABRT);
}

TEST_CASE("using an event that was never assigned is fatal") {
  FatalThrows guard;
  ev::Event never;
  CHECK_FALSE(never.initialized());
  CHECK_THROWS_AS(never.add(), FatalError);
  CHECK_THROWS_AS(never.activate(ev::kRead), FatalError);
  CHECK(never.pending(ev::kRead | ev::kTimeout) == 0);
}

// Debug mode stays on for the rest of the process (like libevent's); every
// later test creates its events after this, as the mode requires.
TEST_CASE("debug mode catches re-assigning a pending event and using a destroyed one") {
  FatalThrows guard;
  ev::enable_debug_mode();
  CHECK(ev::debug_mode());
  auto base = make_test_base();
  SocketPair sp;

  ev::Event ev;
  ev.assign(*base, sp.a.get(), ev::kRead, noop_cb, nullptr);
  REQUIRE(ev.add(1s) == 0);
  CHECK_THROWS_AS(ev.assign(*base, sp.a.get(), ev::kWrite, noop_cb, nullptr), FatalError);
  CHECK(ev.pending(ev::kRead | ev::kTimeout) == (ev::kRead | ev::kTimeout));  // untouched
  CHECK(ev.events() == ev::kRead);

  CHECK(ev.del() == 0);
  CHECK_NOTHROW(ev.assign(*base, sp.a.get(), ev::kWrite, noop_cb, nullptr));  // not pending: fine
  CHECK(ev.events() == ev::kWrite);
  CHECK(base->event_count() == 0);

  ev.~Event();
  CHECK_THROWS_AS(ev.add(), FatalError);
  CHECK_THROWS_AS(ev.del(), FatalError);
  CHECK_THROWS_AS(ev.activate(ev::kRead), FatalError);
  new (&ev) ev::Event();  // keep the object valid for its real destructor
  CHECK(base->event_count() == 0);

  // A destroyed event's address is reusable by a new, assigned event.
  ev.assign_timer(*base, noop_cb, nullptr);
  CHECK(ev.add(1ms) == 0);
  CHECK(base->loop() == 1);
}

TEST_CASE("version string and number agree") {
  CHECK(std::string(ev::version()) == EVTOOL_VERSION);
  unsigned major = 0, minor = 0, patch = 0;
  REQUIRE(std::sscanf(ev::version(), "%u.%u.%u", &major, &minor, &patch) == 3);
  std::uint32_t n = ev::version_number();
  CHECK((n >> 24) == major);
  CHECK(((n >> 16) & 0xff) == minor);
  CHECK(((n >> 8) & 0xff) == patch);
  CHECK((n & 0xff) == 0);  // a release
}
