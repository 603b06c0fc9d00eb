// Section 七: BufferEvent pairs (in-memory ends, deferred callbacks, flush,
// watermarks across the pair, large transfers) and filtering BufferEvents
// (transforming both ways, NeedMore, Error, watermarks, half-close).
#include <cctype>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "engine/io/buffer_event.h"
#include "engine/io/socket_buffer_event.h"
#include "io_test_util.h"

namespace {

using ev::Buffer;
using ev::BufferEvent;
using ev::SocketBufferEvent;
using Result = BufferEvent::FilterResult;

struct Recorder {
  std::string data;
  int reads = 0, writes = 0;
  std::vector<short> events;
  std::vector<std::string> order;  // "data" / "event", as they arrived

  void attach(BufferEvent& bev) {
    bev.setcb(
        [this](BufferEvent& b) {
          ++reads;
          data += b.input().to_string();
          b.input().drain(b.input().length());
          order.push_back("data");
        },
        [this](BufferEvent&) { ++writes; },
        [this](BufferEvent&, short what) {
          events.push_back(what);
          order.push_back("event");
        });
  }
};

// A BufferEvent pair (options 0), `rec` recording one side.
enum class Side { kA, kB };
struct RecordedPair {
  std::unique_ptr<ev::EventBase> base = make_test_base();
  std::unique_ptr<BufferEvent> a, b;
  Recorder rec;
  explicit RecordedPair(Side recorded) {
    std::tie(a, b) = BufferEvent::pair(*base, 0);
    rec.attach(recorded == Side::kA ? *a : *b);
  }
};

// Filters: move what the limit allows, transformed byte by byte.
template <typename Fn>
BufferEvent::FilterFn byte_filter(Fn fn) {
  return [fn](Buffer& src, Buffer& dst, ssize_t limit, BufferEvent::Flush) {
    std::size_t n = src.length();
    if (limit >= 0) n = std::min(n, static_cast<std::size_t>(limit));
    if (n == 0) return Result::NeedMore;
    std::string chunk(n, '\0');
    src.remove(chunk.data(), n);
    for (char& c : chunk) c = fn(c);
    dst.add(chunk);
    return Result::Ok;
  };
}
auto upper = byte_filter([](char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); });
auto xor_5a = byte_filter([](char c) { return static_cast<char>(c ^ 0x5a); });

// Only whole lines pass, until the stream is finished.
Result line_filter(Buffer& src, Buffer& dst, ssize_t, BufferEvent::Flush mode) {
  if (mode == BufferEvent::Flush::Finished) {
    bool any = !src.empty();
    dst.add_buffer(src);
    return any ? Result::Ok : Result::NeedMore;
  }
  ev::BufferPtr eol = src.search("\n");
  if (!eol.valid()) return Result::NeedMore;
  src.remove_buffer(dst, static_cast<std::size_t>(eol.pos) + 1);
  return Result::Ok;
}

std::unique_ptr<BufferEvent> socket_bev(ev::EventBase& base, int fd) {
  return SocketBufferEvent::create(base, fd, BufferEvent::kCloseOnFree);
}

}  // namespace

// ---- pairs ------------------------------------------------------------------

TEST_CASE("BufferEvent pair: what one side writes the other reads, from the loop") {
  auto base = make_test_base();
  auto [a, b] = BufferEvent::pair(*base, 0);
  Recorder ra, rb;
  ra.attach(*a);
  rb.attach(*b);
  a->enable(ev::kRead);
  b->enable(ev::kRead);

  a->write("to b", 4);
  CHECK(rb.reads == 0);  // callbacks are always deferred
  CHECK(ra.writes == 0);
  REQUIRE(run_until(*base, [&] { return rb.data == "to b"; }));
  CHECK(ra.writes == 1);
  b->write("to a", 4);
  REQUIRE(run_until(*base, [&] { return ra.data == "to a"; }));
  CHECK(a->fd() == -1);
}

TEST_CASE("BufferEvent pair: a side that is not reading holds the data back") {
  RecordedPair t(Side::kB);
  auto& [base, a, b, rb] = t;
  a->write("held", 4);
  run_for(*base, std::chrono::milliseconds(10));
  CHECK(rb.reads == 0);
  CHECK(a->output().length() == 4);
  b->enable(ev::kRead);
  REQUIRE(run_until(*base, [&] { return rb.data == "held"; }));
  CHECK(a->output().empty());
}

TEST_CASE("BufferEvent pair: flush(Finished) gives the partner kEof after the data") {
  RecordedPair t(Side::kB);
  auto& [base, a, b, rb] = t;
  b->enable(ev::kRead);
  a->write("last words", 10);
  a->flush(ev::kWrite, BufferEvent::Flush::Finished);
  REQUIRE(run_until(*base, [&] { return !rb.events.empty(); }));
  CHECK(rb.data == "last words");
  CHECK(rb.order == std::vector<std::string>{"data", "event"});
  CHECK((rb.events[0] & BufferEvent::kEof));
}

TEST_CASE("BufferEvent pair: watermarks across the pair") {
  auto base = make_test_base();
  auto [a, b] = BufferEvent::pair(*base, 0);
  const std::string sent = pattern(1000);
  std::string got;
  std::size_t most = 0;
  int reads = 0;
  std::vector<std::size_t> writer_left;
  b->setcb(
      [&](BufferEvent& r) {
        ++reads;
        // Drain a little at a time: each read makes room for more.
        while (!r.input().empty()) {
          most = std::max(most, r.input().length());
          char buf[30];
          got.append(buf, r.read(buf, sizeof buf));
        }
      },
      nullptr, nullptr);
  a->setcb(nullptr, [&](BufferEvent& w) { writer_left.push_back(w.output().length()); }, nullptr);
  b->setwatermark(ev::kRead, 20, 100);
  a->setwatermark(ev::kWrite, 500, 0);
  b->enable(ev::kRead);
  a->write("0123456789", 10);  // below the reader's low watermark
  run_for(*base, std::chrono::milliseconds(10));
  CHECK(reads == 0);
  CHECK(b->input().length() == 10);

  a->write(sent.data(), sent.size());
  CHECK(b->input().length() == 100);  // the rest waits in a's output
  CHECK(a->output().length() == 910);
  REQUIRE(run_until(*base, [&] { return got.size() == sent.size() + 10; }));
  CHECK(got == "0123456789" + sent);
  CHECK(most <= 100);
  REQUIRE_FALSE(writer_left.empty());
  for (std::size_t left : writer_left) CHECK(left <= 500);
  CHECK(writer_left.back() == 0);
}

TEST_CASE("BufferEvent pair: flush moves data past the reader's high watermark") {
  auto base = make_test_base();
  auto [a, b] = BufferEvent::pair(*base, 0);
  b->setwatermark(ev::kRead, 0, 10);
  b->enable(ev::kRead);
  a->write("0123456789abcdef", 16);
  CHECK(b->input().length() == 10);
  CHECK(a->flush(ev::kWrite, BufferEvent::Flush::Flush) == 0);
  CHECK(b->input().length() == 16);
  CHECK(a->output().empty());
}

TEST_CASE("BufferEvent pair: 1 MiB arrives intact through a small window") {
  auto base = make_test_base();
  auto [a, b] = BufferEvent::pair(*base, 0);
  const std::string sent = pattern(1 << 20);
  std::string got;
  b->setcb(
      [&](BufferEvent& r) {
        got += r.input().to_string();
        r.input().drain(r.input().length());
      },
      nullptr, nullptr);
  b->setwatermark(ev::kRead, 0, 64 * 1024);
  b->enable(ev::kRead);
  // Written in uneven pieces from the write callback, as a producer would.
  std::size_t off = 0;
  auto produce = [&](BufferEvent& w) {
    std::size_t n = std::min<std::size_t>(77777, sent.size() - off);
    if (n) w.write(sent.data() + off, n), off += n;
  };
  a->setcb(nullptr, produce, nullptr);
  produce(*a);
  REQUIRE(run_until(*base, [&] { return got.size() == sent.size(); }));
  CHECK(got == sent);
}

TEST_CASE("BufferEvent pair: destroying one side disconnects the other") {
  RecordedPair t(Side::kA);
  auto& [base, a, b, ra] = t;
  a->enable(ev::kRead);
  b.reset();
  a->write("nobody", 6);  // nowhere to go, and nothing breaks
  run_for(*base, std::chrono::milliseconds(10));
  CHECK(ra.events.empty());
  CHECK(a->output().length() == 6);
  CHECK(a->flush(ev::kWrite, BufferEvent::Flush::Finished) == 1);
}

TEST_CASE("BufferEvent pair: a side destroyed with callbacks still pending") {
  auto base = make_test_base();
  auto [a, b] = BufferEvent::pair(*base, 0);
  int calls = 0;
  b->setcb([&](BufferEvent&) { ++calls; }, nullptr, [&](BufferEvent&, short) { ++calls; });
  b->enable(ev::kRead);
  a->write("x", 1);
  a->flush(ev::kWrite, BufferEvent::Flush::Finished);
  b.reset();  // its deferred read and event callbacks never run
  run_for(*base, std::chrono::milliseconds(10));
  CHECK(calls == 0);
}

TEST_CASE("BufferEvent pair: a side destroyed in its own callback") {
  auto base = make_test_base();
  auto [a, b] = BufferEvent::pair(*base, 0);
  int calls = 0;
  b->setcb([&](BufferEvent&) { b.reset(), ++calls; }, nullptr, [&](BufferEvent&, short) { ++calls; });
  b->enable(ev::kRead);
  a->write("x", 1);
  a->flush(ev::kWrite, BufferEvent::Flush::Finished);  // kEof queued behind the data
  REQUIRE(run_until(*base, [&] { return !b; }));
  a->write("y", 1);
  run_for(*base, std::chrono::milliseconds(10));
  CHECK(calls == 1);
}

// ---- filters ----------------------------------------------------------------

TEST_CASE("BufferEvent filter transforms both ways over a socketpair") {
  auto base = make_test_base();
  SocketPair sp;
  BufferEvent* under = nullptr;
  auto f = BufferEvent::filter(socket_bev(*base, sp.a.release()), upper, xor_5a, 0);
  REQUIRE(f);
  under = f->underlying();
  REQUIRE(under);
  CHECK(under->fd() >= 0);
  Recorder rec;
  rec.attach(*f);
  f->enable(ev::kRead);

  write_text(sp.b.get(), "shout this");
  REQUIRE(run_until(*base, [&] { return rec.data == "SHOUT THIS"; }));

  f->write("abc", 3);
  REQUIRE(run_until(*base, [&] { return bytes_queued(sp.b.get()) == 3; }));
  std::string wire = read_available(sp.b.get());
  CHECK(wire == std::string{'a' ^ 0x5a, 'b' ^ 0x5a, 'c' ^ 0x5a});
  REQUIRE(run_until(*base, [&] { return rec.writes >= 1; }));

  int fd = under->fd();
  f.reset();  // the underlying BufferEvent goes with it, and closes its fd
  CHECK(fd_is_closed(fd));
}

TEST_CASE("BufferEvent timeouts and rate limits: a filter passes them to its socket, a pair refuses them") {
  auto base = make_test_base();
  SocketPair sp;
  auto f = BufferEvent::filter(socket_bev(*base, sp.a.release()), upper, xor_5a, 0);
  REQUIRE(f);
  Recorder rec;
  rec.attach(*f);
  f->enable(ev::kRead);
  // The socket beneath times out and the filter hears of it.
  CHECK(f->set_timeouts(std::chrono::milliseconds(30), std::nullopt) == 0);
  REQUIRE(run_until(*base, [&] { return !rec.events.empty(); }));
  CHECK((rec.events[0] & BufferEvent::kTimedOut) != 0);
  ev::TokenBucketConfig cfg = ev::TokenBucketConfig::per_second(1000);
  CHECK(f->set_rate_limit(&cfg) == 0);
  CHECK(f->underlying()->get_read_limit() <= 1000);

  auto [a, b] = BufferEvent::pair(*base, 0);
  CHECK(a->set_timeouts(std::chrono::milliseconds(30), std::chrono::milliseconds(30)) == -1);
  CHECK(a->set_rate_limit(&cfg) == -1);
  CHECK(a->set_rate_limit(nullptr) == 0);
}

TEST_CASE("BufferEvent filters over a pair undo each other; 256 KiB intact") {
  auto base = make_test_base();
  auto [x, y] = BufferEvent::pair(*base, 0);
  auto fx = BufferEvent::filter(std::move(x), xor_5a, xor_5a, 0);
  auto fy = BufferEvent::filter(std::move(y), xor_5a, xor_5a, 0);
  Recorder ry;
  ry.attach(*fy);
  fy->enable(ev::kRead);
  const std::string sent = pattern(256 * 1024);
  fx->write(sent.data(), sent.size());
  REQUIRE(run_until(*base, [&] { return ry.data.size() == sent.size(); }));
  CHECK(ry.data == sent);
  fx->flush(ev::kWrite, BufferEvent::Flush::Finished);
  REQUIRE(run_until(*base, [&] { return !ry.events.empty(); }));
  CHECK((ry.events[0] & BufferEvent::kEof));
}

TEST_CASE("BufferEvent filter NeedMore holds input back until it is complete or finished") {
  auto base = make_test_base();
  SocketPair sp;
  auto f = BufferEvent::filter(socket_bev(*base, sp.a.release()), line_filter, upper, 0);
  Recorder rec;
  rec.attach(*f);
  f->enable(ev::kRead);
  write_text(sp.b.get(), "ab");
  run_until(*base, [&] { return f->underlying()->input().length() == 2; });
  run_for(*base, std::chrono::milliseconds(20));
  CHECK(rec.reads == 0);
  write_text(sp.b.get(), "c\nde");
  REQUIRE(run_until(*base, [&] { return rec.data == "abc\n"; }));
  sp.b.reset();  // EOF: the filter is told Finished and lets the tail through
  REQUIRE(run_until(*base, [&] { return !rec.events.empty(); }));
  CHECK(rec.data == "abc\nde");
  CHECK(rec.order == std::vector<std::string>{"data", "data", "event"});
  CHECK((rec.events[0] & BufferEvent::kEof));
}

TEST_CASE("BufferEvent filter destroyed by its read callback at EOF") {
  auto base = make_test_base();
  SocketPair sp;
  auto f = BufferEvent::filter(socket_bev(*base, sp.a.release()), line_filter, upper, 0);
  int calls = 0;
  f->setcb([&](BufferEvent&) { f.reset(), ++calls; }, nullptr, [&](BufferEvent&, short) { ++calls; });
  f->enable(ev::kRead);
  write_text(sp.b.get(), "no newline");
  sp.b.reset();
  REQUIRE(run_until(*base, [&] { return !f; }));
  run_for(*base, std::chrono::milliseconds(10));
  CHECK(calls == 1);
}

TEST_CASE("BufferEvent filter errors become kError events") {
  auto base = make_test_base();
  auto failing = [](Buffer&, Buffer&, ssize_t, BufferEvent::Flush) { return Result::Error; };
  SUBCASE("input filter") {
    SocketPair sp;
    auto f = BufferEvent::filter(socket_bev(*base, sp.a.release()), failing, upper, 0);
    Recorder rec;
    rec.attach(*f);
    f->enable(ev::kRead);
    write_text(sp.b.get(), "bad");
    REQUIRE(run_until(*base, [&] { return !rec.events.empty(); }));
    CHECK(rec.events[0] == (BufferEvent::kReading | BufferEvent::kError));
    CHECK(rec.reads == 0);
  }
  SUBCASE("output filter") {
    SocketPair sp;
    auto f = BufferEvent::filter(socket_bev(*base, sp.a.release()), upper, failing, 0);
    Recorder rec;
    rec.attach(*f);
    f->write("bad", 3);
    REQUIRE(run_until(*base, [&] { return !rec.events.empty(); }));
    CHECK(rec.events[0] == (BufferEvent::kWriting | BufferEvent::kError));
    CHECK(bytes_queued(sp.b.get()) == 0);
  }
}

TEST_CASE("BufferEvent filter high watermark: input never exceeds it and nothing is lost") {
  auto base = make_test_base();
  SocketPair sp;
  auto f = BufferEvent::filter(socket_bev(*base, sp.a.release()), upper, upper, 0);
  std::string got;
  std::size_t most = 0;
  f->setcb(
      [&](BufferEvent& b) {
        most = std::max(most, b.input().length());
        char buf[7];
        got.append(buf, b.read(buf, sizeof buf));
      },
      nullptr, nullptr);
  f->setwatermark(ev::kRead, 0, 10);
  f->enable(ev::kRead);
  std::string sent(3000, 'q');
  write_text(sp.b.get(), sent);
  REQUIRE(run_until(*base, [&] { return got.size() + f->input().length() == sent.size(); }));
  got += f->input().to_string();
  CHECK(got == std::string(3000, 'Q'));
  CHECK(most <= 10);
}

TEST_CASE("BufferEvent filter delivers data that arrived before reading was enabled") {
  auto base = make_test_base();
  SocketPair sp;
  auto f = BufferEvent::filter(socket_bev(*base, sp.a.release()), upper, upper, 0);
  Recorder rec;
  rec.attach(*f);
  write_text(sp.b.get(), "early");
  run_for(*base, std::chrono::milliseconds(20));
  CHECK(rec.reads == 0);
  f->enable(ev::kRead);
  REQUIRE(run_until(*base, [&] { return rec.data == "EARLY"; }, std::chrono::milliseconds(500)));
}

TEST_CASE("BufferEvent filter flush(Finished) half-closes the underlying socket") {
  auto base = make_test_base();
  SocketPair sp;
  auto f = BufferEvent::filter(socket_bev(*base, sp.a.release()), upper, upper, 0);
  f->write("done", 4);
  f->flush(ev::kWrite, BufferEvent::Flush::Finished);
  std::string got;
  bool eof = false;
  REQUIRE(run_until(*base, [&] {
    char buf[64];
    ssize_t n = ::read(sp.b.get(), buf, sizeof buf);
    if (n > 0) got.append(buf, static_cast<std::size_t>(n));
    eof = n == 0;
    return eof;
  }));
  CHECK(got == "DONE");
}

TEST_CASE("BufferEvent::filter refuses missing pieces") {
  auto base = make_test_base();
  CHECK_FALSE(BufferEvent::filter(nullptr, upper, upper, 0));
  CHECK_FALSE(BufferEvent::filter(SocketBufferEvent::create(*base, -1, 0), nullptr, upper, 0));
  CHECK_FALSE(BufferEvent::filter(SocketBufferEvent::create(*base, -1, 0), upper, nullptr, 0));
}
