// Section 八: Buffer I/O and zero-copy — read / write over sockets (readv,
// writev), files added with add_file and sent with sendfile or loaded with
// pread, and references to caller memory with their cleanup.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

#include "engine/io/buffer.h"
#include "engine/io/detail/segment.h"
#include "engine/util/socket.h"

using ev::Buffer;
using ev::EolStyle;

namespace {

struct SocketPair {
  ev::UniqueFd a;
  ev::UniqueFd b;
  SocketPair() {
    int fds[2];
    REQUIRE(ev::make_socketpair(fds) == 0);
    a.reset(fds[0]);
    b.reset(fds[1]);
  }
};

// An unlinked temporary file holding `content`; the caller owns the fd.
int temp_file(std::string_view content) {
  char path[] = "/tmp/evtool-buffer-XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::unlink(path);
  REQUIRE(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
  return fd;
}

bool fd_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
  return s;
}

int segments(const Buffer& buf) { return buf.peek(static_cast<ssize_t>(buf.length()), nullptr, nullptr, 0); }

// Writes all of `out` to fd while reading the other end into `in`.
void pump(Buffer& out, int wfd, Buffer& in, int rfd, std::size_t expect) {
  int rounds = 0;
  while (in.length() < expect) {
    REQUIRE(++rounds < 100000);
    if (!out.empty()) {
      ssize_t w = out.write(wfd);
      if (w < 0) REQUIRE(errno == EAGAIN);
    }
    ssize_t r = in.read(rfd);
    if (r < 0) REQUIRE(errno == EAGAIN);
    REQUIRE(r != 0);
  }
}

struct CleanupLog {
  int calls = 0;
  const void* data = nullptr;
  std::size_t len = 0;
  static void cb(const void* data, std::size_t len, void* arg) {
    auto* log = static_cast<CleanupLog*>(arg);
    ++log->calls;
    log->data = data;
    log->len = len;
  }
};

}  // namespace

TEST_SUITE_BEGIN("Buffer I/O");

TEST_CASE("read and write over a socketpair") {
  SocketPair sp;
  Buffer out;
  Buffer in;
  errno = 0;
  CHECK(in.read(sp.b.get()) == -1);
  CHECK(errno == EAGAIN);
  out.add("hello ");
  out.add_reference("world", 5, nullptr, nullptr);
  CHECK(out.write(sp.a.get()) == 11);
  CHECK(out.empty());
  CHECK(out.write(sp.a.get()) == 0);  // nothing to write
  CHECK(in.read(sp.b.get(), 0) == 0);
  CHECK(in.read(sp.b.get(), 4) == 4);
  CHECK(in.read(sp.b.get()) == 7);
  CHECK(in.to_string() == "hello world");
  sp.a.reset();
  CHECK(in.read(sp.b.get()) == 0);  // EOF
  CHECK(in.length() == 11);
}

TEST_CASE("read fills the tail's free space first") {
  SocketPair sp;
  Buffer in;
  in.add("x");
  REQUIRE(::write(sp.a.get(), "abc", 3) == 3);
  CHECK(in.read(sp.b.get()) == 3);
  CHECK(segments(in) == 1);
  CHECK(in.to_string() == "xabc");
}

TEST_CASE("1 MiB through a non-blocking socketpair arrives intact") {
  SocketPair sp;
  const std::string data = pattern(1 << 20);
  Buffer out;
  Buffer in;
  out.add(data);
  pump(out, sp.a.get(), in, sp.b.get(), data.size());
  CHECK(out.empty());
  CHECK(in.length() == data.size());
  CHECK(in.to_string() == data);
}

TEST_CASE("write sends many segments at once, and write_atmost stops at its limit") {
  SocketPair sp;
  Buffer out;
  std::string expect;
  for (int i = 0; i < 100; ++i) {
    Buffer piece;
    piece.add_printf("<%08d>", i);
    expect += piece.to_string();
    out.add_buffer(piece);
  }
  REQUIRE(segments(out) == 100);
  CHECK(out.write_atmost(sp.a.get(), 15) == 15);
  CHECK(out.length() == 985);
  CHECK(out.write(sp.a.get()) == 985);  // 64 iovecs, then the other 36
  Buffer in;
  CHECK(in.read(sp.b.get()) == 1000);
  CHECK(in.to_string() == expect);
}

TEST_CASE("frozen buffers refuse read and write") {
  SocketPair sp;
  Buffer buf;
  buf.add("x");
  buf.freeze(true);
  CHECK(buf.write(sp.a.get()) == -1);
  CHECK(errno == EPERM);
  buf.unfreeze(true);
  buf.freeze(false);
  REQUIRE(::write(sp.a.get(), "y", 1) == 1);
  CHECK(buf.read(sp.b.get()) == -1);
  CHECK(errno == EPERM);
}

TEST_CASE("add_file is sent with sendfile, and the fd is closed once sent") {
  const std::string content = pattern(300 * 1024 + 17);
  int fd = temp_file(content);
  SocketPair sp;
  Buffer out;
  out.add("head:");
  REQUIRE(out.add_file(fd, 0, -1) == 0);
  out.add(":tail");
  CHECK(out.length() == content.size() + 10);
  Buffer in;
  pump(out, sp.a.get(), in, sp.b.get(), content.size() + 10);
  CHECK(in.to_string() == "head:" + content + ":tail");
  CHECK_FALSE(fd_open(fd));
}

TEST_CASE("a file range is loaded with pread for copyout, readln and pullup") {
  int fd = temp_file("line1\nline2\nrest of it");
  Buffer buf;
  REQUIRE(buf.add_file(fd, 6, 9) == 0);  // "line2\nres"
  CHECK(buf.length() == 9);
  char out[5];
  CHECK(buf.copyout(out, 5) == 5);
  CHECK(std::string_view(out, 5) == "line2");
  CHECK(buf.readln(EolStyle::Lf) == "line2");
  CHECK(buf.to_string() == "res");
  buf.add("ult");
  unsigned char* p = buf.pullup(-1);
  REQUIRE(p != nullptr);
  CHECK(std::string_view(reinterpret_cast<char*>(p), 6) == "result");
  CHECK_FALSE(fd_open(fd));  // loaded: the descriptor is no longer needed

  int fd2 = temp_file("0123456789");
  Buffer tail;
  REQUIRE(tail.add_file(fd2, 4, -1) == 0);
  CHECK(tail.to_string() == "456789");
}

TEST_CASE("a search straddles two pieces of a large file") {
  std::string content(2 * ev::detail::kFilePiece + 100, 'a');
  content.replace(ev::detail::kFilePiece - 2, 4, "MARK");
  content.back() = '\n';
  int fd = temp_file(content);
  Buffer buf;
  REQUIRE(buf.add_file(fd, 0, -1) == 0);
  CHECK(segments(buf) == 3);
  CHECK(buf.search("MARK").pos == static_cast<ssize_t>(ev::detail::kFilePiece - 2));
  std::size_t eol_len = 0;
  CHECK(buf.search_eol(nullptr, &eol_len, EolStyle::Lf).pos == static_cast<ssize_t>(content.size() - 1));
  auto line = buf.readln(EolStyle::Lf);
  REQUIRE(line);
  CHECK(line->size() == content.size() - 1);
  CHECK(buf.empty());
  CHECK_FALSE(fd_open(fd));
}

TEST_CASE("remove_buffer cuts a file range without reading it") {
  const std::string content = pattern(100);
  int fd = temp_file(content);
  SocketPair sp;
  Buffer src;
  Buffer dst;
  REQUIRE(src.add_file(fd, 0, 100) == 0);
  CHECK(src.remove_buffer(dst, 40) == 40);
  CHECK(src.length() == 60);
  Buffer in;
  pump(dst, sp.a.get(), in, sp.b.get(), 40);
  CHECK(fd_open(fd));  // src still holds the rest
  pump(src, sp.a.get(), in, sp.b.get(), 100);
  CHECK(in.to_string() == content);
  CHECK_FALSE(fd_open(fd));
}

TEST_CASE("add_file refuses bad arguments and leaves the fd to the caller") {
  int fd = temp_file("abc");
  Buffer buf;
  CHECK(buf.add_file(-1, 0, 3) == -1);
  CHECK(buf.add_file(fd, -1, 3) == -1);
  CHECK(buf.add_file(fd, 0, -2) == -1);
  CHECK(buf.add_file(fd, 4, -1) == -1);  // past the end
  CHECK(buf.add_file(fd, 0, 4) == -1);
  CHECK(buf.add_file(fd, 1, ev::Buffer::kMaxSize) == -1);
  CHECK(buf.add_file(fd, 1, std::numeric_limits<off_t>::max()) == -1);
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  CHECK(buf.add_file(pipe_fds[0], 0, 1) == -1);  // not a regular file
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  buf.freeze(false);
  CHECK(buf.add_file(fd, 0, 3) == -1);
  buf.unfreeze(false);
  CHECK(buf.empty());
  CHECK(fd_open(fd));
  CHECK(buf.add_file(fd, 3, -1) == 0);  // nothing left: closed at once
  CHECK(buf.empty());
  CHECK_FALSE(fd_open(fd));
}

TEST_CASE("reference cleanup runs exactly once when drained") {
  CleanupLog log;
  static const char text[] = "referenced";
  Buffer buf;
  buf.add("a");
  REQUIRE(buf.add_reference(text, 10, CleanupLog::cb, &log) == 0);
  buf.add("z");
  CHECK(buf.to_string() == "areferencedz");
  buf.drain(5);
  CHECK(log.calls == 0);
  buf.drain(6);
  CHECK(log.calls == 1);
  CHECK(log.data == text);
  CHECK(log.len == 10);
  buf.drain(1);
  CHECK(log.calls == 1);
  // A 0-byte reference is released at once.
  CHECK(buf.add_reference(text, 0, CleanupLog::cb, &log) == 0);
  CHECK(log.calls == 2);
}

TEST_CASE("reference cleanup runs exactly once when the buffer is destroyed") {
  CleanupLog log;
  static const char text[] = "0123456789";
  {
    Buffer buf;
    buf.add_reference(text, 10, CleanupLog::cb, &log);
    buf.drain(3);
  }
  CHECK(log.calls == 1);
  // Moved to another buffer, it is released by that one, once.
  {
    Buffer other;
    {
      Buffer buf;
      buf.add_reference(text, 10, CleanupLog::cb, &log);
      other.add_buffer(buf);
    }
    CHECK(log.calls == 1);
    // A cut through it copies the bytes and keeps the reference.
    Buffer part;
    CHECK(other.remove_buffer(part, 4) == 4);
    CHECK(log.calls == 1);
    CHECK(part.to_string() == "0123");
    CHECK(other.to_string() == "456789");
    // pullup copies it and releases it.
    other.add("!");
    REQUIRE(other.pullup(-1) != nullptr);
    CHECK(log.calls == 2);
  }
  CHECK(log.calls == 2);
}

TEST_SUITE_END();

TEST_CASE("read and write work on a pipe too (not a socket: readv / writev)") {
  int fds[2];
  REQUIRE(::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0);
  ev::UniqueFd r(fds[0]), w(fds[1]);
  Buffer out;
  out.add("through a pipe", 14);
  CHECK(out.write(w.get()) == 14);
  Buffer in;
  CHECK(in.read(r.get()) == 14);
  CHECK(in.to_string() == "through a pipe");
  CHECK(in.read(r.get()) == -1);
  CHECK(errno == EAGAIN);
}

TEST_CASE("writing to a socket whose peer is gone is EPIPE, not SIGPIPE") {
  SocketPair sp;
  sp.b.reset();
  Buffer out;
  out.add("x", 1);
  // Without MSG_NOSIGNAL this would kill the test process.
  CHECK(out.write(sp.a.get()) == -1);
  CHECK(errno == EPIPE);
  CHECK(out.length() == 1);  // nothing drained
}

TEST_CASE("small reads after large ones, and large after small, keep every byte in order") {
  SocketPair sp;
  std::string sent;
  Buffer in;
  for (std::size_t size : {64u, 200000u, 10u, 70000u, 1u, 300000u, 64u}) {
    std::string chunk(size, '\0');
    for (std::size_t i = 0; i < size; ++i) chunk[i] = static_cast<char>('a' + (sent.size() + i) % 26);
    sent += chunk;
    std::size_t off = 0;
    while (off < chunk.size()) {
      ssize_t n = ::send(sp.b.get(), chunk.data() + off, chunk.size() - off, 0);
      if (n > 0) off += static_cast<std::size_t>(n);
      while (in.read(sp.a.get()) > 0) {
      }
    }
  }
  while (in.read(sp.a.get()) > 0) {
  }
  CHECK(in.length() == sent.size());
  CHECK(in.to_string() == sent);
}
