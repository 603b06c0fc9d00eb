// MultipartForm: the multipart/form-data body (RFC 7578, RFC 2046 5.1) as
// it goes on the wire, text and file parts, and the boundary.
#include "engine/http/multipart.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "temp_dir_util.h"

TEST_SUITE_BEGIN("codec");  // no EventBase: run once, not per backend

using ev::http::MultipartForm;

namespace {

std::string sent(const ev::http::RequestBody& body) {
  ev::Buffer out;
  REQUIRE(body.append_to(out));
  return out.to_string();
}

// RFC 2046 5.1.1: bcharsnospace.
bool is_bchar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         std::strchr("'()+_,-./:=?", c) != nullptr;
}

}  // namespace

TEST_CASE("MultipartForm: the boundary is valid and differs per form") {
  MultipartForm a, b;
  const std::string& boundary = a.boundary();
  CHECK(boundary.size() >= 27);  // room for enough randomness
  CHECK(boundary.size() <= 70);  // RFC 2046's limit
  for (char c : boundary) {
    CAPTURE(c);
    CHECK(is_bchar(c));
  }
  CHECK(a.boundary() != b.boundary());
  CHECK(a.content_type() == "multipart/form-data; boundary=" + a.boundary());
}

TEST_CASE("MultipartForm: an empty form is the closing delimiter alone") {
  MultipartForm form;
  ev::http::RequestBody body = form.finish();
  CHECK(sent(body) == "--" + form.boundary() + "--\r\n");
  CHECK(body.replayable());
  CHECK(body.length() == std::uint64_t{form.boundary().size() + 6});
}

TEST_CASE("MultipartForm: text fields in order, values as they are") {
  MultipartForm form;
  const std::string& b = form.boundary();
  form.add_field("user", "alice");
  form.add_field("note", "two\r\nlines \"quoted\"");
  form.add_field("empty", "");
  ev::http::RequestBody body = form.finish();
  std::string want = "--" + b + "\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nalice\r\n" +
                     "--" + b + "\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\ntwo\r\nlines \"quoted\"\r\n" +
                     "--" + b + "\r\nContent-Disposition: form-data; name=\"empty\"\r\n\r\n\r\n" +
                     "--" + b + "--\r\n";
  CHECK(sent(body) == want);
  CHECK(body.length() == std::uint64_t{want.size()});
}

TEST_CASE("MultipartForm: quotes, CR and LF in a name are percent-encoded") {
  MultipartForm form;
  form.add_field("a\"b\rc\nd;e=f%", "v");
  std::string text = sent(form.finish());
  CHECK(text.find("Content-Disposition: form-data; name=\"a%22b%0Dc%0Ad;e=f%\"\r\n\r\nv\r\n") != std::string::npos);
}

TEST_CASE("MultipartForm: a file part names the file and streams it from disk") {
  TempDir dir;
  std::string content(100000, '\0');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 31 + 7);
  std::string path = dir.write("photo.jpg", content);

  MultipartForm form;
  const std::string& b = form.boundary();
  std::string why;
  REQUIRE(form.add_file("pic", path, &why, "image/jpeg"));
  CHECK(why.empty());
  ev::http::RequestBody body = form.finish();
  std::string head = "--" + b + "\r\nContent-Disposition: form-data; name=\"pic\"; filename=\"photo.jpg\"\r\n" +
                     "Content-Type: image/jpeg\r\n\r\n";
  std::string want = head + content + "\r\n--" + b + "--\r\n";
  CHECK(body.length() == std::uint64_t{want.size()});
  CHECK(sent(body) == want);
  // The file is read when sent, so a body can be sent again.
  CHECK(sent(body) == want);
}

TEST_CASE("MultipartForm: a file's defaults and odd names") {
  TempDir dir;
  MultipartForm form;
  const std::string& b = form.boundary();

  SUBCASE("application/octet-stream without a type") {
    REQUIRE(form.add_file("f", dir.write("data.bin", "xyz"), nullptr));
    CHECK(sent(form.finish()) == "--" + b + "\r\nContent-Disposition: form-data; name=\"f\"; filename=\"data.bin\"\r\n" +
                                     "Content-Type: application/octet-stream\r\n\r\nxyz\r\n--" + b + "--\r\n");
  }
  SUBCASE("a relative path without a slash is its own filename") {
    dir.write("plain.txt", "p");
    std::string cwd(4096, '\0');
    REQUIRE(::getcwd(cwd.data(), cwd.size()) != nullptr);
    REQUIRE(::chdir(dir.path().c_str()) == 0);
    bool ok = form.add_file("f", "plain.txt", nullptr, "text/plain");
    REQUIRE(::chdir(cwd.c_str()) == 0);
    REQUIRE(ok);
    CHECK(sent(form.finish()).find("; filename=\"plain.txt\"\r\nContent-Type: text/plain\r\n\r\np\r\n") !=
          std::string::npos);
  }
  SUBCASE("a quote in the file name is percent-encoded") {
    REQUIRE(form.add_file("f", dir.write("say \"hi\".txt", "hi"), nullptr));
    CHECK(sent(form.finish()).find("; filename=\"say %22hi%22.txt\"\r\n") != std::string::npos);
  }
  SUBCASE("an empty file is an empty part") {
    REQUIRE(form.add_file("f", dir.write("empty", ""), nullptr, "text/plain"));
    CHECK(sent(form.finish()) == "--" + b + "\r\nContent-Disposition: form-data; name=\"f\"; filename=\"empty\"\r\n" +
                                     "Content-Type: text/plain\r\n\r\n\r\n--" + b + "--\r\n");
  }
}

TEST_CASE("MultipartForm: fields and files mix in the order added") {
  TempDir dir;
  MultipartForm form;
  const std::string& b = form.boundary();
  form.add_field("a", "1");
  REQUIRE(form.add_file("b", dir.write("two", "2"), nullptr, "text/plain"));
  form.add_field("c", "3");
  std::string text = sent(form.finish());
  std::size_t a = text.find("name=\"a\"\r\n\r\n1\r\n--" + b + "\r\n");
  std::size_t two = text.find("name=\"b\"; filename=\"two\"\r\nContent-Type: text/plain\r\n\r\n2\r\n--" + b + "\r\n");
  std::size_t c = text.find("name=\"c\"\r\n\r\n3\r\n--" + b + "--\r\n");
  REQUIRE(a != std::string::npos);
  REQUIRE(two != std::string::npos);
  REQUIRE(c != std::string::npos);
  CHECK(a < two);
  CHECK(two < c);
  CHECK(text.rfind("--" + b + "--\r\n") == text.size() - b.size() - 6);
}

TEST_CASE("MultipartForm: a file that cannot be opened adds no part") {
  TempDir dir;
  MultipartForm form;
  form.add_field("kept", "yes");
  std::string why;
  std::string missing = (dir.path() / "missing.txt").string();
  CHECK_FALSE(form.add_file("f", missing, &why));
  CHECK(why == missing + ": " + std::strerror(ENOENT));
  CHECK_FALSE(form.add_file("f", dir.path().string(), &why));  // a directory
  CHECK(why.find("not a regular file") != std::string::npos);
  std::string text = sent(form.finish());
  CHECK(text == "--" + form.boundary() + "\r\nContent-Disposition: form-data; name=\"kept\"\r\n\r\nyes\r\n--" +
                    form.boundary() + "--\r\n");
}

TEST_CASE("MultipartForm: finish leaves the form empty") {
  MultipartForm form;
  std::string boundary = form.boundary();
  form.add_field("x", "1");
  ev::http::RequestBody first = form.finish();
  CHECK(sent(first).find("name=\"x\"") != std::string::npos);
  CHECK(form.boundary() == boundary);
  ev::http::RequestBody second = form.finish();
  CHECK(sent(second) == "--" + boundary + "--\r\n");
}

TEST_SUITE_END();
