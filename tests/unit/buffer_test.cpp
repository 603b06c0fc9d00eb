// Section 八: Buffer in memory — adding, moving, removing, lines, searching,
// peek, reserve / commit, callbacks, freezing and the size checks. I/O,
// files and references are in buffer_io_test.cpp.
#include "engine/io/buffer.h"

#include <doctest/doctest.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

using ev::Buffer;
using ev::BufferPtr;
using ev::EolStyle;
using ev::PtrHow;

namespace {

constexpr EolStyle kAllStyles[] = {EolStyle::Any, EolStyle::Crlf, EolStyle::CrlfStrict, EolStyle::Lf, EolStyle::Nul};

// Appends each piece as a segment of its own (added to a buffer of its own,
// then moved whole), to put segment boundaries where a test wants them.
void fill_segments(Buffer& buf, std::initializer_list<std::string_view> pieces) {
  for (auto piece : pieces) {
    Buffer one;
    one.add(piece);
    REQUIRE(buf.add_buffer(one) == 0);
  }
}

// Segments holding data.
int segments(const Buffer& buf) { return buf.peek(static_cast<ssize_t>(buf.length()), nullptr, nullptr, 0); }

bool same(const ev::BufferChange& a, const ev::BufferChange& b) {
  return a.orig_size == b.orig_size && a.n_added == b.n_added && a.n_deleted == b.n_deleted;
}

}  // namespace

TEST_SUITE_BEGIN("Buffer");

TEST_CASE("an empty buffer") {
  Buffer buf;
  char out[4];
  CHECK(buf.length() == 0);
  CHECK(buf.empty());
  CHECK(buf.contiguous_space() == 0);
  CHECK(buf.copyout(out, sizeof out) == 0);
  CHECK(buf.remove(out, sizeof out) == 0);
  CHECK(buf.drain(10) == 0);
  CHECK(buf.pullup(-1) == nullptr);
  CHECK(buf.pullup(1) == nullptr);
  CHECK(buf.to_string().empty());
  for (auto style : kAllStyles) CHECK_FALSE(buf.readln(style));
  CHECK_FALSE(buf.search("x").valid());
  CHECK(buf.search("").pos == 0);
  iovec v[2];
  CHECK(buf.peek(-1, nullptr, v, 2) == 0);
  BufferPtr p;
  CHECK(buf.ptr_set(p, 0, PtrHow::Set) == 0);
  CHECK(p.pos == 0);
  CHECK(buf.ptr_set(p, 1, PtrHow::Set) == -1);
  CHECK_FALSE(p.valid());
}

TEST_CASE("add, 0-byte add and add_printf") {
  Buffer buf;
  CHECK(buf.add("hello", 5) == 0);
  CHECK(buf.add(nullptr, 0) == 0);
  CHECK(buf.add("", 0) == 0);
  CHECK(buf.add(nullptr, 3) == -1);
  CHECK(buf.add_printf(" %s %d.%d.%d", "world", 2, 0, 1) == 12);
  CHECK(buf.to_string() == "hello world 2.0.1");
  CHECK(buf.add_printf("%s", "") == 0);
  // Longer than any tail space: formatted again into a segment of its size.
  std::string big(10000, 'z');
  CHECK(buf.add_printf("<%s>", big.c_str()) == 10002);
  CHECK(buf.length() == 17 + 10002);
  CHECK(buf.to_string() == "hello world 2.0.1<" + big + ">");
}

TEST_CASE("small adds fill the tail instead of allocating each time") {
  Buffer buf;
  for (int i = 0; i < 1000; ++i) REQUIRE(buf.add("0123456789", 10) == 0);
  CHECK(buf.length() == 10000);
  CHECK(segments(buf) <= 6);  // 1 KiB, 2 KiB, 4 KiB, ... growing segments
  std::string all = buf.to_string();
  CHECK(all.substr(9990) == "0123456789");
}

TEST_CASE("drain and remove across segments") {
  Buffer buf;
  fill_segments(buf, {"abc", "defg", "hij"});
  REQUIRE(segments(buf) == 3);
  CHECK(buf.contiguous_space() == 3);
  CHECK(buf.drain(2) == 0);
  CHECK(buf.to_string() == "cdefghij");
  char out[8] = {};
  CHECK(buf.remove(out, 4) == 4);
  CHECK(std::string_view(out, 4) == "cdef");
  CHECK(buf.to_string() == "ghij");
  CHECK(segments(buf) == 2);
  CHECK(buf.remove(out, sizeof out) == 4);
  CHECK(std::string_view(out, 4) == "ghij");
  CHECK(buf.empty());
}

TEST_CASE("copyout and copyout_from") {
  Buffer buf;
  fill_segments(buf, {"0123", "4567", "89"});
  char out[16] = {};
  CHECK(buf.copyout(out, 6) == 6);
  CHECK(std::string_view(out, 6) == "012345");
  CHECK(buf.length() == 10);
  CHECK(buf.copyout(out, sizeof out) == 10);  // more than there is: all of it
  BufferPtr p;
  REQUIRE(buf.ptr_set(p, 5, PtrHow::Set) == 0);
  CHECK(buf.copyout_from(p, out, 4) == 4);
  CHECK(std::string_view(out, 4) == "5678");
  CHECK(buf.copyout_from(p, out, sizeof out) == 5);
  REQUIRE(buf.ptr_set(p, 10, PtrHow::Set) == 0);
  CHECK(buf.copyout_from(p, out, 1) == 0);
  BufferPtr by_hand;
  by_hand.pos = 9;  // only pos set: located by walking the chain
  CHECK(buf.copyout_from(by_hand, out, 1) == 1);
  CHECK(out[0] == '9');
  CHECK(buf.copyout_from(BufferPtr{}, out, 1) == -1);
}

TEST_CASE("prepend goes into the space drained from the front") {
  Buffer buf;
  std::string data(100, 'x');
  buf.add(data);
  buf.drain(10);
  iovec before;
  REQUIRE(buf.peek(-1, nullptr, &before, 1) == 1);
  CHECK(buf.prepend("HEAD:", 5) == 0);
  iovec after;
  REQUIRE(buf.peek(-1, nullptr, &after, 1) == 1);
  CHECK(segments(buf) == 1);
  CHECK(static_cast<char*>(after.iov_base) == static_cast<char*>(before.iov_base) - 5);
  CHECK(buf.to_string() == "HEAD:" + std::string(90, 'x'));
  // More than that space: the rest goes into a new segment in front.
  std::string big(50, 'p');
  CHECK(buf.prepend(big.data(), big.size()) == 0);
  CHECK(buf.to_string() == big + "HEAD:" + std::string(90, 'x'));
  // In front of a reference there is no space at all.
  Buffer ref;
  ref.add_reference("world", 5, nullptr, nullptr);
  CHECK(ref.prepend("hello ", 6) == 0);
  CHECK(ref.to_string() == "hello world");
  CHECK(segments(ref) == 2);
  Buffer empty;
  CHECK(empty.prepend("x", 1) == 0);
  CHECK(empty.to_string() == "x");
}

TEST_CASE("add_buffer and prepend_buffer move segments without copying") {
  Buffer dst;
  Buffer src;
  dst.add("middle");
  fill_segments(src, {"end1", "end2"});
  iovec v[2];
  REQUIRE(src.peek(-1, nullptr, v, 2) == 2);
  CHECK(dst.add_buffer(src) == 0);
  CHECK(src.empty());
  CHECK(dst.to_string() == "middleend1end2");
  iovec moved[3];
  REQUIRE(dst.peek(-1, nullptr, moved, 3) == 3);
  CHECK(moved[1].iov_base == v[0].iov_base);
  CHECK(moved[2].iov_base == v[1].iov_base);
  src.add("start");
  CHECK(dst.prepend_buffer(src) == 0);
  CHECK(src.empty());
  CHECK(dst.to_string() == "startmiddleend1end2");
  CHECK(dst.add_buffer(dst) == -1);
  CHECK(dst.add_buffer(src) == 0);  // nothing to move
  // The emptied source still works.
  src.add("again");
  CHECK(src.to_string() == "again");
}

TEST_CASE("remove_buffer moves whole segments and copies only the cut one") {
  Buffer src;
  Buffer dst;
  fill_segments(src, {"aaaa", "bbbb", "cccc"});
  iovec v[3];
  REQUIRE(src.peek(-1, nullptr, v, 3) == 3);
  CHECK(src.remove_buffer(dst, 6) == 6);
  CHECK(dst.to_string() == "aaaabb");
  CHECK(src.to_string() == "bbcccc");
  iovec d;
  REQUIRE(dst.peek(-1, nullptr, &d, 1) == 1);
  CHECK(d.iov_base == v[0].iov_base);  // moved, not copied
  CHECK(src.remove_buffer(dst, 100) == 6);
  CHECK(src.empty());
  CHECK(dst.to_string() == "aaaabbbbcccc");
  CHECK(src.remove_buffer(dst, 5) == 0);
  CHECK(dst.remove_buffer(dst, 5) == -1);
}

TEST_CASE("pullup makes the front contiguous") {
  Buffer buf;
  fill_segments(buf, {"ab", "cd", "ef", "gh"});
  unsigned char* first = buf.pullup(static_cast<ssize_t>(buf.contiguous_space()));
  REQUIRE(first != nullptr);
  CHECK(segments(buf) == 4);  // the contiguous part: nothing moved
  unsigned char* p = buf.pullup(5);
  REQUIRE(p != nullptr);
  CHECK(std::string_view(reinterpret_cast<char*>(p), 5) == "abcde");
  CHECK(buf.contiguous_space() >= 5);
  CHECK(buf.to_string() == "abcdefgh");
  CHECK(buf.pullup(9) == nullptr);
  CHECK(buf.pullup(0) == nullptr);
  p = buf.pullup(-1);
  REQUIRE(p != nullptr);
  CHECK(std::string_view(reinterpret_cast<char*>(p), 8) == "abcdefgh");
  CHECK(segments(buf) == 1);
  CHECK(buf.length() == 8);
}

TEST_CASE("readln with each end-of-line style") {
  struct Case {
    EolStyle style;
    const char* input;
    std::vector<std::string> lines;
    std::string rest;
  };
  const Case cases[] = {
      {EolStyle::Lf, "a\nb\r\n\nc", {"a", "b\r", ""}, "c"},
      {EolStyle::Crlf, "a\nb\r\n\r\nc\rd\n", {"a", "b", "", "c\rd"}, ""},
      {EolStyle::CrlfStrict, "a\nb\r\nc\r", {"a\nb"}, "c\r"},
      {EolStyle::Any, "a\r\n\r\nb\rc\n\nd", {"a", "b", "c"}, "d"},
      {EolStyle::Nul, "no nul here\n", {}, "no nul here\n"},
  };
  for (const auto& c : cases) {
    CAPTURE(static_cast<int>(c.style));
    Buffer buf;
    buf.add(c.input);
    for (const auto& want : c.lines) {
      auto line = buf.readln(c.style);
      REQUIRE(line);
      CHECK(*line == want);
    }
    CHECK_FALSE(buf.readln(c.style));
    CHECK(buf.to_string() == c.rest);
  }
  Buffer nul;
  nul.add(std::string_view("a\0b\n\0c", 6));
  CHECK(nul.readln(EolStyle::Nul) == "a");
  CHECK(nul.readln(EolStyle::Nul) == "b\n");
  CHECK_FALSE(nul.readln(EolStyle::Nul));
  CHECK(nul.to_string() == "c");
}

TEST_CASE("readln when the end of line straddles two segments") {
  for (auto style : {EolStyle::Crlf, EolStyle::CrlfStrict, EolStyle::Any}) {
    Buffer buf;
    fill_segments(buf, {"GET / HTTP/1.0\r", "\nHost: x\r", "\n"});
    CHECK(buf.readln(style) == "GET / HTTP/1.0");
    CHECK(buf.readln(style) == "Host: x");
    CHECK(buf.empty());
  }
  Buffer lf;
  fill_segments(lf, {"ab", "c", "\nd"});
  CHECK(lf.readln(EolStyle::Lf) == "abc");
  CHECK(lf.to_string() == "d");
  Buffer nul;
  fill_segments(nul, {"x", std::string_view("y\0", 2)});
  CHECK(nul.readln(EolStyle::Nul) == "xy");
  // A run of CR / LF spread over three segments is one end of line.
  Buffer any;
  fill_segments(any, {"one\r", "\n", "\r\ntwo\n"});
  CHECK(any.readln(EolStyle::Any) == "one");
  CHECK(any.readln(EolStyle::Any) == "two");
  // A CR at the end of a segment with no LF yet: no line for CRLF styles.
  Buffer partial;
  fill_segments(partial, {"abc", "\r"});
  CHECK_FALSE(partial.readln(EolStyle::CrlfStrict));
  CHECK_FALSE(partial.readln(EolStyle::Crlf));
  partial.add("\n");
  CHECK(partial.readln(EolStyle::Crlf) == "abc");
}

TEST_CASE("search with start pointers, across segments") {
  Buffer buf;
  fill_segments(buf, {"xxab", "cxxa", "bcxab", "c"});
  // libevent's count_instances example: search, then step past each match.
  int total = 0;
  BufferPtr p;
  REQUIRE(buf.ptr_set(p, 0, PtrHow::Set) == 0);
  std::vector<ssize_t> found;
  for (;;) {
    p = buf.search("abc", &p);
    if (!p.valid()) break;
    found.push_back(p.pos);
    ++total;
    if (buf.ptr_set(p, 1, PtrHow::Add) != 0) break;
  }
  CHECK(total == 3);
  CHECK(found == std::vector<ssize_t>{2, 7, 11});
  CHECK(buf.search("cxxabc").pos == 4);  // spans three segments
  CHECK_FALSE(buf.search("abd").valid());
  CHECK_FALSE(buf.search(std::string(20, 'x')).valid());
  // search_range: only matches that end by `end`.
  BufferPtr start;
  BufferPtr end;
  buf.ptr_set(start, 3, PtrHow::Set);
  buf.ptr_set(end, 10, PtrHow::Set);
  CHECK(buf.search_range("abc", &start, &end).pos == 7);
  buf.ptr_set(end, 9, PtrHow::Set);
  CHECK_FALSE(buf.search_range("abc", &start, &end).valid());
  CHECK(buf.search_range("abc", nullptr, nullptr).pos == 2);
  // The position found is usable by copyout_from.
  BufferPtr at = buf.search("bcx");
  char out[5];
  REQUIRE(buf.copyout_from(at, out, 5) == 5);
  CHECK(std::string_view(out, 5) == "bcxxa");
}

TEST_CASE("ptr_set") {
  Buffer buf;
  fill_segments(buf, {"abc", "de"});
  BufferPtr p;
  CHECK(buf.ptr_set(p, 1, PtrHow::Add) == -1);  // not valid yet
  REQUIRE(buf.ptr_set(p, 2, PtrHow::Set) == 0);
  REQUIRE(buf.ptr_set(p, 2, PtrHow::Add) == 0);
  CHECK(p.pos == 4);
  char c;
  REQUIRE(buf.copyout_from(p, &c, 1) == 1);
  CHECK(c == 'e');
  CHECK(buf.ptr_set(p, 1, PtrHow::Add) == 0);  // the end is a position
  CHECK(p.pos == 5);
  CHECK(buf.ptr_set(p, 1, PtrHow::Add) == -1);
  CHECK_FALSE(p.valid());
  CHECK(buf.ptr_set(p, SIZE_MAX, PtrHow::Set) == -1);
}

TEST_CASE("search_eol gives the position and the length") {
  Buffer buf;
  fill_segments(buf, {"ab\r", "\ncd\nef\r\r\n"});
  std::size_t len = 99;
  BufferPtr p = buf.search_eol(nullptr, &len, EolStyle::Crlf);
  CHECK(p.pos == 2);
  CHECK(len == 2);
  p = buf.search_eol(nullptr, &len, EolStyle::Lf);
  CHECK(p.pos == 3);
  CHECK(len == 1);
  BufferPtr from;
  buf.ptr_set(from, 4, PtrHow::Set);
  p = buf.search_eol(&from, &len, EolStyle::CrlfStrict);
  CHECK(p.pos == 10);
  CHECK(len == 2);
  p = buf.search_eol(&from, &len, EolStyle::Any);
  CHECK(p.pos == 6);
  CHECK(len == 1);
  buf.ptr_set(from, 9, PtrHow::Set);
  p = buf.search_eol(&from, &len, EolStyle::Any);
  CHECK(p.pos == 9);
  CHECK(len == 3);
  p = buf.search_eol(&from, nullptr, EolStyle::Nul);
  CHECK_FALSE(p.valid());
  // A CR before the start pointer is not part of the EOL.
  buf.ptr_set(from, 3, PtrHow::Set);
  p = buf.search_eol(&from, &len, EolStyle::Crlf);
  CHECK(p.pos == 3);
  CHECK(len == 1);
}

TEST_CASE("peek fills iovecs and counts what it would need") {
  Buffer buf;
  fill_segments(buf, {"aaaa", "bbbb", "cccc"});
  iovec v[8];
  CHECK(buf.peek(-1, nullptr, v, 2) == 2);
  CHECK(std::string_view(static_cast<char*>(v[1].iov_base), v[1].iov_len) == "bbbb");
  CHECK(buf.peek(-1, nullptr, v, 8) == 3);
  CHECK(buf.peek(3, nullptr, v, 8) == 1);
  CHECK(buf.peek(5, nullptr, v, 8) == 2);
  CHECK(buf.peek(100, nullptr, v, 1) == 3);  // needs 3, filled 1
  CHECK(buf.peek(12, nullptr, nullptr, 0) == 3);
  CHECK(buf.peek(0, nullptr, v, 8) == 0);
  BufferPtr p;
  buf.ptr_set(p, 6, PtrHow::Set);
  REQUIRE(buf.peek(-1, &p, v, 8) == 2);
  CHECK(std::string_view(static_cast<char*>(v[0].iov_base), v[0].iov_len) == "bb");
  CHECK(buf.length() == 12);  // nothing drained
}

TEST_CASE("reserve_space and commit_space") {
  Buffer buf;
  iovec v[2];
  REQUIRE(buf.reserve_space(100, v, 1) == 1);
  CHECK(v[0].iov_len >= 100);
  std::memcpy(v[0].iov_base, "hello", 5);
  v[0].iov_len = 5;
  CHECK(buf.commit_space(v, 1) == 0);
  CHECK(buf.to_string() == "hello");
  // More than the tail's free space, with two vectors: the tail's space
  // and a new segment.
  std::size_t room = 0;
  {
    iovec probe;
    REQUIRE(buf.reserve_space(1, &probe, 1) == 1);
    room = probe.iov_len;
  }
  REQUIRE(buf.reserve_space(room + 1000, v, 2) == 2);
  CHECK(v[0].iov_len == room);
  CHECK(v[1].iov_len >= 1000);
  std::memset(v[0].iov_base, 'a', v[0].iov_len);
  std::memset(v[1].iov_base, 'b', 1000);
  v[1].iov_len = 1000;
  CHECK(buf.commit_space(v, 2) == 0);
  CHECK(buf.length() == 5 + room + 1000);
  CHECK(buf.to_string() == "hello" + std::string(room, 'a') + std::string(1000, 'b'));
  // Committing only the first of two vectors.
  Buffer two;
  two.add("x");
  std::size_t free1 = 0;
  {
    iovec probe;
    two.reserve_space(1, &probe, 1);
    free1 = probe.iov_len;
  }
  REQUIRE(two.reserve_space(free1 + 10, v, 2) == 2);
  std::memcpy(v[0].iov_base, "y", 1);
  v[0].iov_len = 1;
  CHECK(two.commit_space(v, 1) == 0);
  two.add("z");
  CHECK(two.to_string() == "xyz");
  // Wrong pointers or lengths are refused.
  REQUIRE(buf.reserve_space(10, v, 1) == 1);
  iovec wrong = {static_cast<char*>(v[0].iov_base) + 1, 1};
  CHECK(buf.commit_space(&wrong, 1) == -1);
  iovec too_long = {v[0].iov_base, v[0].iov_len + 1};
  CHECK(buf.commit_space(&too_long, 1) == -1);
  CHECK(buf.commit_space(v, 0) == 0);
  CHECK(buf.reserve_space(10, v, 0) == -1);
}

TEST_CASE("expand makes room for the next add") {
  Buffer buf;
  buf.add("abc");
  CHECK(buf.expand(20000) == 0);
  std::string data(20000, 'q');
  buf.add(data);
  CHECK(segments(buf) == 1);  // "abc" moved into the expanded segment, the add fit
  CHECK(buf.to_string() == "abc" + data);
  CHECK(buf.expand(0) == 0);
}

TEST_CASE("change callbacks report every change") {
  Buffer buf;
  std::vector<ev::BufferChange> seen;
  int id = buf.add_cb([&](Buffer& b, const ev::BufferChange& c) {
    CHECK(&b == &buf);
    seen.push_back(c);
  });
  buf.add("hello");
  buf.drain(2);
  buf.add_printf("%d", 42);
  buf.drain(0);  // no change, no call
  buf.add("", 0);
  REQUIRE(seen.size() == 3);
  CHECK(same(seen[0], {0, 5, 0}));
  CHECK(same(seen[1], {5, 0, 2}));
  CHECK(same(seen[2], {3, 2, 0}));
  // Suspended: the changes are reported together on resume.
  seen.clear();
  buf.suspend_callbacks();
  buf.add("abc");
  buf.drain(4);
  CHECK(seen.empty());
  buf.resume_callbacks();
  REQUIRE(seen.size() == 1);
  CHECK(same(seen[0], {5, 3, 4}));
  // Moves report on both buffers.
  Buffer other;
  std::vector<ev::BufferChange> other_seen;
  other.add_cb([&](Buffer&, const ev::BufferChange& c) { other_seen.push_back(c); });
  seen.clear();
  other.add_buffer(buf);
  REQUIRE(seen.size() == 1);
  CHECK(same(seen[0], {4, 0, 4}));
  REQUIRE(other_seen.size() == 1);
  CHECK(same(other_seen[0], {0, 4, 0}));
  // Disabled, then removed.
  seen.clear();
  CHECK(buf.set_cb_enabled(id, false) == 0);
  buf.add("x");
  CHECK(seen.empty());
  CHECK(buf.set_cb_enabled(id, true) == 0);
  CHECK(buf.remove_cb(id) == 0);
  CHECK(buf.remove_cb(id) == -1);
  buf.add("x");
  CHECK(seen.empty());
}

TEST_CASE("a callback may remove itself and change the buffer") {
  Buffer buf;
  int calls = 0;
  int id = 0;
  id = buf.add_cb([&](Buffer& b, const ev::BufferChange&) {
    ++calls;
    b.remove_cb(id);
    b.drain(1);  // re-enters: this callback is already removed
  });
  int others = 0;
  buf.add_cb([&](Buffer&, const ev::BufferChange&) { ++others; });
  buf.add("ab");
  CHECK(calls == 1);
  CHECK(others == 2);  // the nested drain, then the add
  CHECK(buf.to_string() == "b");
}

TEST_CASE("freeze refuses changes at the frozen end") {
  Buffer buf;
  Buffer other;
  buf.add("line\nmore");
  char out[4];
  buf.freeze(true);
  CHECK(buf.frozen(true));
  CHECK(buf.drain(1) == -1);
  CHECK(buf.remove(out, 1) == -1);
  CHECK(buf.prepend("x", 1) == -1);
  CHECK_FALSE(buf.readln(EolStyle::Lf));
  CHECK(buf.remove_buffer(other, 1) == -1);
  CHECK(other.add_buffer(buf) == -1);
  CHECK(buf.add("!") == 0);  // the back is open
  CHECK(buf.copyout(out, 4) == 4);
  buf.unfreeze(true);
  buf.freeze(false);
  CHECK(buf.add("x") == -1);
  CHECK(buf.add_printf("x") == -1);
  CHECK(buf.add_reference("x", 1, nullptr, nullptr) == -1);
  other.add("y");
  CHECK(buf.add_buffer(other) == -1);
  CHECK(other.remove_buffer(buf, 1) == -1);
  iovec v;
  CHECK(buf.reserve_space(10, &v, 1) == -1);
  CHECK(buf.commit_space(&v, 1) == -1);
  CHECK(buf.readln(EolStyle::Lf) == "line");  // the front is open
  buf.unfreeze(false);
  CHECK(buf.add("x") == 0);
  CHECK(buf.to_string() == "more!x");
}

TEST_CASE("huge sizes fail without allocating (CVE-2014-6272 shapes)") {
  Buffer buf;
  buf.add("abc");
  char byte = 'x';
  char out[8];
  CHECK(buf.add(&byte, SIZE_MAX) == -1);
  CHECK(buf.add(&byte, Buffer::kMaxSize) == -1);  // 3 + kMaxSize is too much
  CHECK(buf.prepend(&byte, SIZE_MAX) == -1);
  CHECK(buf.prepend(&byte, SIZE_MAX - 2) == -1);
  CHECK(buf.expand(SIZE_MAX) == -1);
  CHECK(buf.expand(Buffer::kMaxSize - 2) == -1);
  CHECK(buf.add_reference(&byte, SIZE_MAX, nullptr, nullptr) == -1);
  iovec v[2];
  CHECK(buf.reserve_space(SIZE_MAX, v, 2) == -1);
  CHECK(buf.length() == 3);
  CHECK(buf.copyout(out, SIZE_MAX) == 3);  // only what is there
  BufferPtr p;
  buf.ptr_set(p, 1, PtrHow::Set);
  CHECK(buf.copyout_from(p, out, SIZE_MAX) == 2);
  CHECK(buf.ptr_set(p, SIZE_MAX, PtrHow::Add) == -1);
  CHECK(buf.peek(SSIZE_MAX, nullptr, v, 2) == 1);
  CHECK(buf.remove(out, SIZE_MAX) == 3);
  CHECK(std::string_view(out, 3) == "abc");
  buf.add("abc");
  CHECK(buf.drain(SIZE_MAX) == 0);
  CHECK(buf.empty());
  CHECK(buf.add_printf("%s", "still works") == 11);
}

TEST_SUITE_END();
