// Section 二: choosing a backend (Config, environment), method and
// features, priorities, reinit after fork.
#include "engine/core/event_base.h"

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "engine/core/log.h"
#include "test_base.h"

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const ev::MethodChoice& choice(const std::vector<ev::MethodChoice>& all, const std::string& name) {
  auto it = std::find_if(all.begin(), all.end(), [&](const ev::MethodChoice& c) { return c.name == name; });
  REQUIRE(it != all.end());
  return *it;
}

ev::Config ignore_env() {
  ev::Config cfg;
  cfg.set_flag(ev::Config::kIgnoreEnv);
  return cfg;
}

std::string method_of(const ev::Config& cfg) {
  auto base = ev::EventBase::create(cfg);
  return base ? base->method() : "";
}

void noop_cb(int, short, void*) {}

}  // namespace

TEST_CASE("compiled methods, in order of preference, with their features") {
  const auto& methods = ev::compiled_methods();
  REQUIRE(methods.size() == 3);
  CHECK(std::string(methods[0].name) == "epoll");
  CHECK(std::string(methods[1].name) == "poll");
  CHECK(std::string(methods[2].name) == "select");
  CHECK(methods[0].features == (ev::kFeatureET | ev::kFeatureO1 | ev::kFeatureEarlyClose));
  CHECK(methods[1].features == (ev::kFeatureFDS | ev::kFeatureEarlyClose));
  CHECK(methods[2].features == ev::kFeatureFDS);
}

TEST_CASE("feature names") {
  CHECK(ev::features_string(ev::kFeatureET | ev::kFeatureO1) == "ET,O1");
  CHECK(ev::features_string(ev::kFeatureFDS) == "FDS");
  CHECK(ev::features_string(0).empty());
  CHECK(ev::feature_from_name("et") == ev::kFeatureET);
  CHECK(ev::feature_from_name("O1") == ev::kFeatureO1);
  CHECK(ev::feature_from_name("fds") == ev::kFeatureFDS);
  CHECK(ev::feature_from_name("early_close") == ev::kFeatureEarlyClose);
  CHECK(ev::feature_from_name("fast") == 0);
}

TEST_CASE("the default base uses the most preferred method the environment allows") {
  auto supported = ev::supported_methods();
  REQUIRE_FALSE(supported.empty());
  auto base = ev::EventBase::create();
  REQUIRE(base);
  CHECK(std::string(base->method()) == supported.front());
  if (!std::getenv("EVENT_NOEPOLL")) CHECK(std::string(base->method()) == "epoll");
  else CHECK(std::string(base->method()) != "epoll");
  std::string why;
  CHECK(ev::choose_method(ev::Config{}, &why) == supported.front());
}

TEST_CASE("method() and features() for every backend") {
  for (const ev::MethodInfo& m : ev::compiled_methods()) {
    CAPTURE(m.name);
    ev::Config cfg = ignore_env();
    cfg.require_method(m.name);
    auto base = ev::EventBase::create(cfg);
    REQUIRE(base);
    CHECK(std::string(base->method()) == m.name);
    CHECK(base->features() == m.features);
  }
}

TEST_CASE("Config::avoid_method") {
  ev::Config cfg = ignore_env();
  cfg.avoid_method("epoll");
  CHECK(method_of(cfg) == "poll");
  cfg.avoid_method("POLL");  // names are case-insensitive
  CHECK(method_of(cfg) == "select");
  CHECK(choice(ev::rank_methods(cfg), "epoll").why_not == "avoided");
  cfg.avoid_method("select");
  std::string why;
  CHECK(ev::EventBase::create(cfg, &why) == nullptr);
  CHECK(contains(why, "avoided"));
}

TEST_CASE("Config::require_features names the missing feature") {
  ev::Config et = ignore_env();
  et.require_features(ev::kFeatureET);
  CHECK(method_of(et) == "epoll");

  ev::Config fds = ignore_env();
  fds.require_features(ev::kFeatureFDS);
  CHECK(method_of(fds) == "poll");
  auto ranked = ev::rank_methods(fds);
  CHECK_FALSE(choice(ranked, "epoll").eligible);
  CHECK(choice(ranked, "epoll").why_not == "lacks FDS");
  CHECK(choice(ranked, "poll").eligible);
  CHECK(choice(ranked, "poll").why_not.empty());

  ev::Config both = ignore_env();
  both.require_features(ev::kFeatureET | ev::kFeatureFDS);
  std::string why;
  CHECK(ev::EventBase::create(both, &why) == nullptr);
  CHECK(contains(why, "ET"));
  CHECK(contains(why, "FDS"));
  CHECK(contains(why, "epoll lacks FDS"));
  CHECK(contains(why, "poll lacks ET"));
  why.clear();
  CHECK(ev::choose_method(both, &why).empty());
  CHECK(contains(why, "select lacks ET"));

  ev::Config o1 = ignore_env();
  o1.require_features(ev::kFeatureO1).avoid_method("epoll");
  auto o1_ranked = ev::rank_methods(o1);
  CHECK(choice(o1_ranked, "poll").why_not == "lacks O1");
  CHECK(ev::EventBase::create(o1) == nullptr);

  ev::Config early = ignore_env();
  early.require_features(ev::kFeatureEarlyClose).avoid_method("epoll").avoid_method("poll");
  auto early_ranked = ev::rank_methods(early);
  CHECK_FALSE(choice(early_ranked, "select").eligible);
  CHECK(contains(choice(early_ranked, "select").why_not, "EARLY_CLOSE"));
  why.clear();
  CHECK(ev::choose_method(early, &why).empty());
  CHECK(contains(why, "EARLY_CLOSE"));
}

TEST_CASE("Config::require_method") {
  for (const char* name : {"epoll", "poll", "select"}) {
    ev::Config cfg = ignore_env();
    cfg.require_method(name);
    CHECK(method_of(cfg) == name);
    auto ranked = ev::rank_methods(cfg);
    for (const ev::MethodChoice& c : ranked)
      if (c.name != name) CHECK(c.why_not == "not the requested backend");
  }
  ev::Config unknown = ignore_env();
  unknown.require_method("kqueue");
  std::string why;
  CHECK(ev::EventBase::create(unknown, &why) == nullptr);
  CHECK(contains(why, "unknown backend 'kqueue'"));

  ev::Config poll_et = ignore_env();
  poll_et.require_method("poll").require_features(ev::kFeatureET);
  why.clear();
  CHECK(ev::choose_method(poll_et, &why).empty());
  CHECK(contains(why, "poll lacks ET"));
  CHECK_FALSE(contains(why, "epoll"));  // only the requested backend is explained
}

TEST_CASE("EVENT_NO<METHOD> disables a method unless the config ignores the environment") {
  ScopedEnv no_epoll("EVENT_NOEPOLL", "1");
  ScopedEnv poll_allowed("EVENT_NOPOLL", nullptr);
  auto supported = ev::supported_methods();
  CHECK(std::find(supported.begin(), supported.end(), "epoll") == supported.end());
  CHECK(method_of(test_config()) == "poll");
  auto ranked = ev::rank_methods(ev::Config{});
  const ev::MethodChoice& epoll = choice(ranked, "epoll");
  CHECK_FALSE(epoll.available);
  CHECK(epoll.why_not == "disabled by EVENT_NOEPOLL");
  CHECK(method_of(ignore_env()) == "epoll");

  ev::Config et;
  et.require_features(ev::kFeatureET);
  std::string why;
  CHECK(ev::EventBase::create(et, &why) == nullptr);
  CHECK(contains(why, "EVENT_NOEPOLL"));

  {
    ScopedEnv no_poll("EVENT_NOPOLL", "yes");
    CHECK(method_of(ev::Config{}) == "select");
    CHECK(ev::supported_methods() == std::vector<std::string>{"select"});
  }
  CHECK(method_of(ev::Config{}) == "poll");
}

TEST_CASE("EVENT_SHOW_METHOD logs the chosen method") {
  static std::vector<std::string> messages;
  messages.clear();
  ev::set_log_callback([](ev::Severity, const char* m) { messages.emplace_back(m); });
  {
    ScopedEnv show("EVENT_SHOW_METHOD", "1");
    auto base = make_test_base();
    REQUIRE(messages.size() == 1);
    CHECK(contains(messages[0], base->method()));
    auto quiet = ev::EventBase::create(ignore_env());
    CHECK(messages.size() == 1);
  }
  ev::set_log_callback(nullptr);
}

TEST_CASE("Config accessors") {
  ev::Config cfg;
  cfg.avoid_method("select").require_method("poll").require_features(ev::kFeatureFDS);
  cfg.set_flag(ev::Config::kNoCacheTime).set_flag(ev::Config::kPreciseTimer);
  cfg.set_max_dispatch_interval(5ms, 16, 1);
  CHECK(cfg.avoided() == std::vector<std::string>{"select"});
  CHECK(cfg.required_method() == "poll");
  CHECK(cfg.required_features() == ev::kFeatureFDS);
  CHECK(cfg.flags() == (ev::Config::kNoCacheTime | ev::Config::kPreciseTimer));
  CHECK(cfg.max_dispatch_interval() == 5ms);
  CHECK(cfg.max_dispatch_callbacks() == 16);
  CHECK(cfg.limit_callbacks_after_priority() == 1);
  ev::Config defaults;
  CHECK(defaults.max_dispatch_interval().count() < 0);
  CHECK(defaults.max_dispatch_callbacks() < 0);
}

TEST_CASE("flags that only change behaviour still give a working base") {
  ev::Config cfg;
  cfg.set_flag(ev::Config::kNoLock | ev::Config::kStartupIocp | ev::Config::kPreciseTimer);
  auto base = make_test_base(cfg);
  int fired = 0;
  ev::Event timer(*base, -1, 0, [&](int, short what) {
    CHECK(what == ev::kTimeout);
    ++fired;
  });
  timer.add(2ms);
  CHECK(base->loop() == 1);
  CHECK(fired == 1);
}

TEST_CASE("priority_init: bounds, default priority n/2, refused while events are active") {
  auto base = make_test_base();
  CHECK(base->priorities() == 1);
  ev::Event first(*base, -1, 0, noop_cb, nullptr);
  CHECK(first.priority() == 0);

  CHECK(base->priority_init(0) == -1);
  CHECK(base->priority_init(257) == -1);
  CHECK(base->priority_init(256) == 0);
  CHECK(base->priorities() == 256);
  ev::Event mid(*base, -1, 0, noop_cb, nullptr);
  CHECK(mid.priority() == 128);

  CHECK(base->priority_init(3) == 0);
  ev::Event ev(*base, -1, 0, noop_cb, nullptr);
  CHECK(ev.priority() == 1);
  CHECK(ev.set_priority(3) == -1);
  CHECK(ev.set_priority(-1) == -1);
  CHECK(ev.set_priority(2) == 0);
  CHECK(ev.priority() == 2);

  ev.activate(ev::kTimeout);
  CHECK(ev.set_priority(0) == -1);  // not while active
  CHECK(base->priority_init(2) == -1);
  CHECK(base->priorities() == 3);
  CHECK(base->loop(ev::EventBase::kLoopNonblock) == 0);
  CHECK(base->priority_init(2) == 0);
  CHECK(base->priorities() == 2);
}

TEST_CASE("reinit after fork: the child's base works on its own backend") {
  auto base = make_test_base();
  SocketPair sp;
  bool got_read = false, got_timer = false;
  ev::Event reader(*base, sp.a.get(), ev::kRead, [&](int fd, short what) {
    got_read = (what & ev::kRead) && read_available(fd) == "x";
  });
  ev::Event timer(*base, -1, 0, [&](int, short what) { got_timer = what == ev::kTimeout; });
  REQUIRE(reader.add() == 0);
  REQUIRE(timer.add(10ms) == 0);

  std::fflush(nullptr);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (base->reinit() != 0) ::_exit(10);
    if (::write(sp.b.get(), "x", 1) != 1) ::_exit(11);
    ::alarm(10);  // a safety net: a hung child dies of SIGALRM
    int rc = base->loop();
    ::_exit(rc == 1 && got_read && got_timer ? 0 : 13);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);

  // The parent's registrations were not disturbed by the child.
  CHECK(reader.pending(ev::kRead));
  write_text(sp.b.get(), "x");
  CHECK(base->loop() == 1);
  CHECK(got_read);
  CHECK(got_timer);
}

TEST_CASE("reinit with changes still queued (the epoll changelist)") {
  auto base = make_test_base();
  SocketPair sp;
  int reads = 0;
  ev::Event reader(*base, sp.a.get(), ev::kRead, [&](int, short) { ++reads; });
  REQUIRE(reader.add() == 0);
  CHECK(base->loop(ev::EventBase::kLoopNonblock) == 0);  // registered
  reader.del();  // with the changelist, this is only queued
  std::fflush(nullptr);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (base->reinit() != 0) ::_exit(10);
    if (reader.add() != 0) ::_exit(11);
    if (::write(sp.b.get(), "x", 1) != 1) ::_exit(12);
    ::alarm(10);
    int rc = base->loop();
    ::_exit(rc == 1 && reads == 1 ? 0 : 13);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("reinit: work queued with run_in_loop before the fork still runs in the child") {
  auto base = make_test_base();
  int ran = 0;
  base->run_in_loop([&] { ++ran; });
  std::fflush(nullptr);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (base->reinit() != 0) ::_exit(10);
    ::alarm(10);
    base->loop(ev::EventBase::kLoopNoExitOnEmpty | ev::EventBase::kLoopOnce);
    if (ran != 1) ::_exit(11);
    base->run_in_loop([&] { ++ran; });  // and the wake-up still works afterwards
    base->loop(ev::EventBase::kLoopNoExitOnEmpty | ev::EventBase::kLoopOnce);
    ::_exit(ran == 2 ? 0 : 12);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(base->loop(ev::EventBase::kLoopNoExitOnEmpty | ev::EventBase::kLoopOnce) == 0);
  CHECK(ran == 1);  // the parent runs its own copy of the work
}

TEST_CASE("reinit keeps signal events working in the child") {
  auto base = make_test_base();
  int caught = 0;
  ev::Event sig(*base, SIGUSR2, ev::kSignal | ev::kPersist, [&](int, short) {
    ++caught;
    base->loopbreak();
  });
  REQUIRE(sig.add() == 0);
  std::fflush(nullptr);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (base->reinit() != 0) ::_exit(10);
    ::raise(SIGUSR2);
    ::alarm(10);
    base->loop();
    ::_exit(caught == 1 && base->got_break() ? 0 : 11);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(caught == 0);
}
