// RequestBody: bytes, file ranges and a stream; lengths, replays, who owns
// which descriptor.
#include "engine/http/request_body.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "temp_dir_util.h"

TEST_SUITE_BEGIN("codec");  // no EventBase: run once, not per backend

using ev::http::RequestBody;

namespace {

// What the body puts into a fresh Buffer.
std::string sent(const RequestBody& body) {
  ev::Buffer out;
  REQUIRE(body.append_to(out));
  return out.to_string();
}

bool fd_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

}  // namespace

TEST_CASE("RequestBody: a new body is empty, replayable and of length 0") {
  RequestBody body;
  CHECK(body.empty());
  CHECK(body.replayable());
  CHECK(body.length() == std::uint64_t{0});
  CHECK(body.stream_fd() == -1);
  CHECK(sent(body) == "");
}

TEST_CASE("RequestBody: bytes are copied and counted") {
  RequestBody body;
  body.add_bytes("");
  CHECK(body.empty());
  {
    std::string chunk = "hello, ";
    body.add_bytes(chunk);
    chunk.assign(chunk.size(), '#');
  }
  body.add_bytes("world");
  body.add_bytes(std::string_view("\0\r\n", 3));
  CHECK_FALSE(body.empty());
  CHECK(body.length() == std::uint64_t{15});
  CHECK(sent(body) == std::string("hello, world\0\r\n", 15));
}

TEST_CASE("RequestBody: a file is opened at once and read when sent") {
  TempDir dir;
  std::string path = dir.write("upload.txt", "0123456789");
  RequestBody body;
  std::string why;
  REQUIRE(body.add_file(path, &why));
  CHECK(why.empty());
  CHECK(body.length() == std::uint64_t{10});
  CHECK(body.replayable());

  SUBCASE("the bytes on disk when sent") {
    dir.write("upload.txt", "ABCDEFGHIJ");  // same file, same size
    CHECK(sent(body) == "ABCDEFGHIJ");
  }
  SUBCASE("an unlinked file is still sent: the body holds it open") {
    REQUIRE(::unlink(path.c_str()) == 0);
    CHECK(sent(body) == "0123456789");
  }
}

TEST_CASE("RequestBody: add_file failures say which file and why, and add nothing") {
  TempDir dir;
  RequestBody body;
  body.add_bytes("x");
  std::string why;

  SUBCASE("missing") {
    std::string path = (dir.path() / "missing").string();
    CHECK_FALSE(body.add_file(path, &why));
    CHECK(why == path + ": " + std::strerror(ENOENT));
  }
  SUBCASE("a directory") {
    std::string path = dir.path().string();
    CHECK_FALSE(body.add_file(path, &why));
    CHECK(why == path + ": not a regular file");
  }
  SUBCASE("without a why") {
    CHECK_FALSE(body.add_file((dir.path() / "missing").string(), nullptr));
  }
  CHECK(body.length() == std::uint64_t{1});
  CHECK(sent(body) == "x");
}

TEST_CASE("RequestBody: an empty file adds nothing") {
  TempDir dir;
  RequestBody body;
  REQUIRE(body.add_file(dir.write("empty", ""), nullptr));
  CHECK(body.empty());
  CHECK(body.length() == std::uint64_t{0});
  CHECK(sent(body) == "");
}

TEST_CASE("RequestBody: add_fd sends from the current offset; the fd stays the caller's") {
  TempDir dir;
  std::string path = dir.write("data", "skip:payload");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(::lseek(fd, 5, SEEK_SET) == 5);
  {
    RequestBody body;
    std::string why;
    REQUIRE(body.add_fd(fd, &why));
    CHECK(body.length() == std::uint64_t{7});
    // Neither the caller's offset nor its descriptor matters once added.
    REQUIRE(::lseek(fd, 0, SEEK_SET) == 0);
    CHECK(sent(body) == "payload");
  }
  CHECK(fd_open(fd));  // the body closed its own copy, not ours
  CHECK(::lseek(fd, 0, SEEK_CUR) == 0);
  ::close(fd);
}

TEST_CASE("RequestBody: add_fd at the end of the file adds nothing") {
  TempDir dir;
  int fd = ::open(dir.write("data", "abc").c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(::lseek(fd, 0, SEEK_END) == 3);
  RequestBody body;
  REQUIRE(body.add_fd(fd, nullptr));
  CHECK(body.empty());
  CHECK(body.length() == std::uint64_t{0});
  ::close(fd);
}

TEST_CASE("RequestBody: add_fd refuses what is not a regular file") {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  RequestBody body;
  std::string why;
  CHECK_FALSE(body.add_fd(p[0], &why));
  CHECK(why == "not a regular file");
  CHECK(body.empty());
  CHECK(fd_open(p[0]));
  ::close(p[0]);
  ::close(p[1]);

  CHECK_FALSE(body.add_fd(-1, &why));
  CHECK(body.empty());
}

TEST_CASE("RequestBody: pieces are sent in the order they were added") {
  TempDir dir;
  std::string a = dir.write("a", "AAA");
  std::string b = dir.write("b", "BB");
  RequestBody body;
  body.add_bytes("<");
  REQUIRE(body.add_file(a, nullptr));
  body.add_bytes("|");
  body.add_bytes("|");
  REQUIRE(body.add_file(b, nullptr));
  REQUIRE(body.add_file(a, nullptr));
  body.add_bytes(">");
  CHECK(body.length() == std::uint64_t{12});
  CHECK(sent(body) == "<AAA||BBAAA>");
}

TEST_CASE("RequestBody: a body without a stream can be sent again and again") {
  TempDir dir;
  RequestBody body;
  body.add_bytes("head;");
  REQUIRE(body.add_file(dir.write("f", "file-bytes"), nullptr));
  body.add_bytes(";tail");

  ev::Buffer first;
  REQUIRE(body.append_to(first));
  // Reading the first copy (which loads and drains its file range) leaves
  // the body as it was.
  CHECK(first.to_string() == "head;file-bytes;tail");
  first.drain(first.length());
  ev::Buffer second;
  REQUIRE(body.append_to(second));
  REQUIRE(body.append_to(second));
  CHECK(second.to_string() == "head;file-bytes;tailhead;file-bytes;tail");
  CHECK(body.length() == std::uint64_t{20});
}

TEST_CASE("RequestBody: append_to adds after what the buffer holds") {
  RequestBody body;
  body.add_bytes("body");
  ev::Buffer out;
  out.add("headers\r\n\r\n");
  REQUIRE(body.append_to(out));
  CHECK(out.to_string() == "headers\r\n\r\nbody");
}

TEST_CASE("RequestBody: append moves every piece of the other body") {
  TempDir dir;
  RequestBody body;
  body.add_bytes("1");
  RequestBody other;
  other.add_bytes("2");
  REQUIRE(other.add_file(dir.write("f", "345"), nullptr));
  other.add_bytes("6");
  body.append(std::move(other));
  CHECK(body.length() == std::uint64_t{6});
  CHECK(sent(body) == "123456");
  CHECK(other.empty());  // append empties it
  CHECK(other.length() == std::uint64_t{0});

  RequestBody nothing;
  body.append(std::move(nothing));
  CHECK(sent(body) == "123456");
}

TEST_CASE("RequestBody: a stream has no length, is sent once, and stays the caller's") {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  {
    RequestBody body;
    body.set_stream(p[0]);
    CHECK_FALSE(body.empty());
    CHECK_FALSE(body.replayable());
    CHECK(body.length() == std::nullopt);
    CHECK(body.stream_fd() == p[0]);

    RequestBody moved(std::move(body));
    CHECK(moved.stream_fd() == p[0]);
    CHECK(body.stream_fd() == -1);
    CHECK(body.replayable());
  }
  CHECK(fd_open(p[0]));
  ::close(p[0]);
  ::close(p[1]);
}

TEST_CASE("RequestBody: moving hands the pieces over; nothing leaks or closes twice") {
  TempDir dir;
  std::string path = dir.write("f", "data");
  std::size_t before = open_fd_count();
  {
    RequestBody a;
    REQUIRE(a.add_file(path, nullptr));
    a.add_bytes("!");
    CHECK(open_fd_count() == before + 1);

    RequestBody b(std::move(a));
    CHECK(a.empty());
    CHECK(sent(b) == "data!");

    RequestBody c;
    REQUIRE(c.add_file(path, nullptr));
    CHECK(open_fd_count() == before + 2);
    c = std::move(b);  // c's own file is closed
    CHECK(open_fd_count() == before + 1);
    CHECK(sent(c) == "data!");

    RequestBody& same = c;
    c = std::move(same);  // a self-move keeps the body
    CHECK(sent(c) == "data!");

    RequestBody d;
    d.append(std::move(c));
    CHECK(open_fd_count() == before + 1);
    CHECK(sent(d) == "data!");
  }
  CHECK(open_fd_count() == before);
}

TEST_SUITE_END();
