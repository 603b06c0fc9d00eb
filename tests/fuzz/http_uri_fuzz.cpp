// libFuzzer target: URI parsing, resolving and percent coding. Whatever
// the text, nothing may crash. What parses must write back (to_string)
// into text that parses to the same fields; a reference resolves exactly
// when it parses, to a URI without dot segments that also writes back;
// percent_decode undoes percent_encode; remove_dot_segments never grows
// a path and is idempotent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/http/uri.h"

namespace {

namespace http = ev::http;

void check(bool ok) {
  if (!ok) std::abort();
}

bool same_authority(const http::Uri& a, const http::Uri& b) {
  return a.has_authority == b.has_authority && a.userinfo == b.userinfo && a.host == b.host && a.port == b.port;
}

bool same_uri(const http::Uri& a, const http::Uri& b) {
  return a.scheme == b.scheme && same_authority(a, b) && a.path == b.path && a.has_query == b.has_query &&
         a.query == b.query && a.has_fragment == b.has_fragment && a.fragment == b.fragment;
}

bool has_dot_segment(std::string_view path) {
  while (!path.empty()) {
    std::size_t slash = path.find('/');
    std::string_view segment = path.substr(0, slash);
    if (segment == "." || segment == "..") return true;
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
  }
  return false;
}

void check_parsed(const http::Uri& uri) {
  auto back = http::Uri::parse(uri.to_string());
  check(back && same_uri(uri, *back));
  check(uri.port >= -1 && uri.port <= 65535);
  check(uri.effective_port() >= -1 && uri.effective_port() <= 65535);
  uri.host_header();
  check(!uri.request_target().empty());
}

// A resolved URI writes back to itself, except that a path starting with
// "//" and no authority is written as "/.//" (dots that resolve away).
void check_resolved(const http::Uri& t) {
  check(!has_dot_segment(t.path));
  auto back = http::Uri::parse(t.to_string());
  check(back.has_value());
  http::Uri normal = *back;
  normal.path = http::remove_dot_segments(back->path);
  check(same_uri(t, normal));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string why;
  auto uri = http::Uri::parse(text, &why);
  check(uri.has_value() == why.empty());
  if (uri) check_parsed(*uri);

  static const http::Uri base = *http::Uri::parse("http://a/b/c/d;p?q");
  auto t = base.resolve(text);
  check(t.has_value() == uri.has_value());
  if (t) check_resolved(*t);

  check(http::percent_decode(http::percent_encode(text)) == std::string(text));
  check(http::percent_decode(http::percent_encode(text, "/:@+")) == std::string(text));
  http::percent_decode(text, true);
  http::parse_query(text);
  std::string path = http::remove_dot_segments(text);
  check(path.size() <= text.size());
  check(http::remove_dot_segments(path) == path);
  return 0;
}
