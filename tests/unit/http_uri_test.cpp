// URIs (RFC 3986): parsing with its refusals, resolving references (the
// section 5.4 examples), percent coding and query strings.
#include "engine/http/uri.h"

#include <string>

#include "test_base.h"

TEST_SUITE_BEGIN("codec");  // no EventBase: run once, not per backend

using ev::http::Uri;

namespace {

Uri must_parse(std::string_view text) {
  std::string why;
  auto uri = Uri::parse(text, &why);
  INFO("text: ", std::string(text), " why: ", why);
  REQUIRE(uri);
  return *uri;
}

std::string resolved(const Uri& base, std::string_view ref) {
  auto t = base.resolve(ref);
  REQUIRE(t);
  return t->to_string();
}

}  // namespace

TEST_CASE("http uri: a full absolute URI splits into its parts") {
  Uri u = must_parse("HTTP://User:Pa%20ss@Example.COM:8080/a/b%2Fc?x=1&y=2#Frag");
  CHECK(u.scheme == "http");
  CHECK(u.userinfo == "User:Pa%20ss");
  CHECK(u.host == "example.com");
  CHECK(u.port == 8080);
  CHECK(u.path == "/a/b%2Fc");
  CHECK(u.query == "x=1&y=2");
  CHECK(u.fragment == "Frag");
  CHECK(u.has_authority);
  CHECK(u.has_query);
  CHECK(u.has_fragment);
  CHECK(u.effective_port() == 8080);
  CHECK(u.host_header() == "example.com:8080");
  CHECK(u.request_target() == "/a/b%2Fc?x=1&y=2");
  CHECK(u.to_string() == "http://User:Pa%20ss@example.com:8080/a/b%2Fc?x=1&y=2#Frag");
}

TEST_CASE("http uri: defaults for port, path and target") {
  Uri u = must_parse("http://example.com");
  CHECK(u.port == -1);
  CHECK(u.effective_port() == 80);
  CHECK(u.path.empty());
  CHECK(u.request_target() == "/");
  CHECK(u.host_header() == "example.com");
  CHECK(must_parse("https://example.com/").effective_port() == 443);
  CHECK(must_parse("ftp://example.com/").effective_port() == -1);
  CHECK(must_parse("HTTPS://x").effective_port() == 443);
  CHECK(must_parse("http://x:0/").port == 0);
  CHECK(must_parse("http://x:65535/").port == 65535);
  CHECK(must_parse("http://x:080/").port == 80);
  CHECK(must_parse("http://x:0000000000080/").port == 80);
  // An empty port after the colon is allowed and means none.
  Uri empty_port = must_parse("http://x:/p");
  CHECK(empty_port.port == -1);
  CHECK(empty_port.host == "x");
  CHECK(empty_port.path == "/p");
}

TEST_CASE("http uri: IPv6 literals") {
  Uri u = must_parse("http://[::1]:8080/x");
  CHECK(u.host == "::1");
  CHECK(u.port == 8080);
  CHECK(u.host_header() == "[::1]:8080");
  CHECK(u.to_string() == "http://[::1]:8080/x");
  Uri v = must_parse("http://[2001:DB8::A]");
  CHECK(v.host == "2001:db8::a");
  CHECK(v.port == -1);
  CHECK(v.host_header() == "[2001:db8::a]");
  CHECK(must_parse("http://[::ffff:1.2.3.4]/").host == "::ffff:1.2.3.4");
  CHECK(must_parse("http://user@[::1]:/").port == -1);
  for (const std::string bad :
       {"http://[::1/", "http://[::1", "http://[::1]x/", "http://[::1]:80x/", "http://[]/", "http://[1.2.3.4]/",
        "http://[::g]/", "http://[:::]/", "http://[fe80::1%25eth0]/", "http://[fe80::1%eth0]/", "http://[v1.fe80::1]/",
        "http://::1/", "http://[::1]]/", "http://[[::1]/"}) {
    CAPTURE(bad);
    std::string why;
    CHECK_FALSE(Uri::parse(bad, &why));
    CHECK_FALSE(why.empty());
  }
  const std::string long_v6 = "http://[" + std::string(100, ':') + "]/";
  CHECK_FALSE(Uri::parse(long_v6));
}

TEST_CASE("http uri: userinfo") {
  CHECK(must_parse("http://u@h/").userinfo == "u");
  CHECK(must_parse("http://u:p@h/").userinfo == "u:p");
  CHECK(must_parse("http://:@h/").userinfo == ":");
  CHECK(must_parse("http://@h/").userinfo.empty());
  CHECK(must_parse("http://a!$&'()*+,;=b@h").userinfo == "a!$&'()*+,;=b");
  // The host is what follows the last '@' (never the userinfo's look-alike).
  Uri spoof = must_parse("http://good.example:80@evil.example/");
  CHECK(spoof.host == "evil.example");
  CHECK(spoof.userinfo == "good.example:80");
  for (const std::string bad : {"http://a@b@c/", "http://u[@h/", "http://u%zz@h/", "http://u\"@h/"}) {
    CAPTURE(bad);
    CHECK_FALSE(Uri::parse(bad));
  }
}

TEST_CASE("http uri: ports out of range or not digits are refused") {
  for (const std::string bad : {"http://x:65536/", "http://x:99999999999999999999/", "http://x:-1/", "http://x:+80/",
                                "http://x:8o/", "http://x:0x50/", "http://x:80:80/", "http://x:1e3/",
                                "http://[::1]:-1/", "http://[::1]:65536/", "http://x:4294967376/"}) {
    CAPTURE(bad);
    std::string why;
    CHECK_FALSE(Uri::parse(bad, &why));
    CHECK_FALSE(why.empty());
  }
}

TEST_CASE("http uri: host characters are checked") {
  CHECK(must_parse("http://a-b.c_d~e/").host == "a-b.c_d~e");
  CHECK(must_parse("http://1.2.3.4/").host == "1.2.3.4");
  CHECK(must_parse("http://%41b/").host == "%41b");
  CHECK(must_parse("http://a!$&'()*+,;=/").host == "a!$&'()*+,;=");
  CHECK(must_parse("file:///etc/hosts").host.empty());
  for (const std::string bad :
       {"http://a\"b/", "http://a<b/", "http://a{b/", "http://a|b/", "http://a^b/", "http://a]b/", "http://a[b/",
        "http://a\\b/", "http://%4/", "http://a%G1/", "http://h\xc3\xa9/"}) {
    CAPTURE(bad);
    CHECK_FALSE(Uri::parse(bad));
  }
}

TEST_CASE("http uri: schemes") {
  CHECK(must_parse("a+b-c.d1://h").scheme == "a+b-c.d1");
  CHECK(must_parse("mailto:x@y").path == "x@y");
  CHECK_FALSE(must_parse("mailto:x@y").has_authority);
  Uri urn = must_parse("urn:isbn:0451450523");
  CHECK(urn.scheme == "urn");
  CHECK(urn.path == "isbn:0451450523");
  for (const std::string bad : {"1http://h/", "://h/", ":", "ht_tp://h/", "ht%74p://h/", "-a:b", "a*b:c", "a b:c"}) {
    CAPTURE(bad);
    CHECK_FALSE(Uri::parse(bad));
  }
}

TEST_CASE("http uri: control characters, spaces, bad escapes and huge text are refused") {
  for (const std::string bad : {"http://h/a b", "http://h/a\tb", "http://h/\x7f", "http://h/\x01", " http://h/",
                                "http://h/ ", "http://h/?a=b c", "http://h/#a b", "http://h/%", "http://h/%4",
                                "http://h/%4g", "http://h/?%zz", "http://h/#%", "%"}) {
    CAPTURE(bad);
    std::string why;
    CHECK_FALSE(Uri::parse(bad, &why));
    CHECK_FALSE(why.empty());
  }
  CHECK_FALSE(Uri::parse(std::string("http://h/a\0b", 12)));
  CHECK_FALSE(Uri::parse("http://h/\r\nX-Injected: 1"));
  const std::string prefix = "http://h/";
  CHECK(Uri::parse(prefix + std::string(64 * 1024 - prefix.size(), 'a')));
  std::string why;
  CHECK_FALSE(Uri::parse(prefix + std::string(64 * 1024 - prefix.size() + 1, 'a'), &why));
  CHECK(why.find("64 KiB") != std::string::npos);
}

TEST_CASE("http uri: query and fragment") {
  Uri u = must_parse("http://h/p?a=1?b/c#f?g/h#i");
  CHECK(u.path == "/p");
  CHECK(u.query == "a=1?b/c");
  CHECK(u.fragment == "f?g/h#i");
  Uri empty = must_parse("http://h?#");
  CHECK(empty.has_query);
  CHECK(empty.query.empty());
  CHECK(empty.has_fragment);
  CHECK(empty.fragment.empty());
  CHECK(empty.path.empty());
  CHECK(empty.request_target() == "/?");
  CHECK(empty.to_string() == "http://h?#");
  Uri frag_only = must_parse("http://h#x?y");
  CHECK_FALSE(frag_only.has_query);
  CHECK(frag_only.fragment == "x?y");
  CHECK(frag_only.request_target() == "/");
  Uri none = must_parse("http://h/p");
  CHECK_FALSE(none.has_query);
  CHECK_FALSE(none.has_fragment);
}

TEST_CASE("http uri: relative references") {
  Uri path_only = must_parse("a/b/c");
  CHECK(path_only.scheme.empty());
  CHECK_FALSE(path_only.has_authority);
  CHECK(path_only.path == "a/b/c");
  Uri abs_path = must_parse("/a?q#f");
  CHECK(abs_path.path == "/a");
  CHECK(abs_path.query == "q");
  CHECK(abs_path.fragment == "f");
  Uri net = must_parse("//host:81/x");
  CHECK(net.scheme.empty());
  CHECK(net.has_authority);
  CHECK(net.host == "host");
  CHECK(net.port == 81);
  CHECK(net.path == "/x");
  CHECK(must_parse("./a:b").path == "./a:b");
  CHECK(must_parse("a/b:c").path == "a/b:c");
  CHECK(must_parse("?x").query == "x");
  CHECK(must_parse("#x").fragment == "x");
  Uri empty = must_parse("");
  CHECK(empty.to_string().empty());
  CHECK(must_parse("///a").path == "/a");
  CHECK(must_parse("///a").to_string() == "///a");
  CHECK(must_parse("/p|{}^`\xc3\xa9").path == "/p|{}^`\xc3\xa9");  // kept as written
}

TEST_CASE("http uri: what parses writes back to the same fields") {
  for (const std::string text :
       {"http://u:p@h:1/p?q#f", "HTTP://[::1]:0", "x:", "x:/", "//h", "//h:", "?", "#", "", "a/b", "http://@h",
        "http://h?", "mailto:a@b", "http://h:080", "file:///x", "//[::1]?#"}) {
    CAPTURE(text);
    Uri a = must_parse(text);
    Uri b = must_parse(a.to_string());
    CHECK(a.scheme == b.scheme);
    CHECK(a.userinfo == b.userinfo);
    CHECK(a.host == b.host);
    CHECK(a.port == b.port);
    CHECK(a.path == b.path);
    CHECK(a.query == b.query);
    CHECK(a.fragment == b.fragment);
    CHECK(a.has_authority == b.has_authority);
    CHECK(a.has_query == b.has_query);
    CHECK(a.has_fragment == b.has_fragment);
  }
}

TEST_CASE("http uri: resolve, RFC 3986 5.4.1 normal examples") {
  Uri base = must_parse("http://a/b/c/d;p?q");
  const std::pair<const char*, const char*> cases[] = {
      {"g:h", "g:h"},
      {"g", "http://a/b/c/g"},
      {"./g", "http://a/b/c/g"},
      {"g/", "http://a/b/c/g/"},
      {"/g", "http://a/g"},
      {"//g", "http://g"},
      {"?y", "http://a/b/c/d;p?y"},
      {"g?y", "http://a/b/c/g?y"},
      {"#s", "http://a/b/c/d;p?q#s"},
      {"g#s", "http://a/b/c/g#s"},
      {"g?y#s", "http://a/b/c/g?y#s"},
      {";x", "http://a/b/c/;x"},
      {"g;x", "http://a/b/c/g;x"},
      {"g;x?y#s", "http://a/b/c/g;x?y#s"},
      {"", "http://a/b/c/d;p?q"},
      {".", "http://a/b/c/"},
      {"./", "http://a/b/c/"},
      {"..", "http://a/b/"},
      {"../", "http://a/b/"},
      {"../g", "http://a/b/g"},
      {"../..", "http://a/"},
      {"../../", "http://a/"},
      {"../../g", "http://a/g"},
  };
  for (const auto& c : cases) {
    CAPTURE(std::string(c.first));
    CHECK(resolved(base, c.first) == c.second);
  }
}

TEST_CASE("http uri: resolve, RFC 3986 5.4.2 abnormal examples") {
  Uri base = must_parse("http://a/b/c/d;p?q");
  const std::pair<const char*, const char*> cases[] = {
      {"../../../g", "http://a/g"},
      {"../../../../g", "http://a/g"},
      {"/./g", "http://a/g"},
      {"/../g", "http://a/g"},
      {"g.", "http://a/b/c/g."},
      {".g", "http://a/b/c/.g"},
      {"g..", "http://a/b/c/g.."},
      {"..g", "http://a/b/c/..g"},
      {"./../g", "http://a/b/g"},
      {"./g/.", "http://a/b/c/g/"},
      {"g/./h", "http://a/b/c/g/h"},
      {"g/../h", "http://a/b/c/h"},
      {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
      {"g;x=1/../y", "http://a/b/c/y"},
      {"g?y/./x", "http://a/b/c/g?y/./x"},
      {"g?y/../x", "http://a/b/c/g?y/../x"},
      {"g#s/./x", "http://a/b/c/g#s/./x"},
      {"g#s/../x", "http://a/b/c/g#s/../x"},
      {"http:g", "http:g"},  // the strict reading
  };
  for (const auto& c : cases) {
    CAPTURE(std::string(c.first));
    CHECK(resolved(base, c.first) == c.second);
  }
}

TEST_CASE("http uri: resolve keeps or replaces the authority as it should") {
  Uri base = must_parse("https://u@h:8443/dir/page?x#y");
  Uri t = *base.resolve("other");
  CHECK(t.scheme == "https");
  CHECK(t.userinfo == "u");
  CHECK(t.host == "h");
  CHECK(t.port == 8443);
  CHECK(t.path == "/dir/other");
  CHECK_FALSE(t.has_query);
  CHECK_FALSE(t.has_fragment);
  CHECK(resolved(base, "//g.example/a/../b") == "https://g.example/b");
  CHECK(resolved(base, "HTTP://[::1]:1/./x") == "http://[::1]:1/x");
  // A base with an authority and no path merges as "/" + reference.
  CHECK(resolved(must_parse("http://h"), "g") == "http://h/g");
  CHECK(resolved(must_parse("http://h?q"), "") == "http://h?q");
  // A bad reference is not resolved.
  CHECK_FALSE(base.resolve("http://h:99999/"));
  CHECK_FALSE(base.resolve("a b"));
  // Without an authority a "//" path must not turn into one when written.
  auto odd = must_parse("foo:/a/b").resolve("..//c");
  REQUIRE(odd);
  CHECK(odd->path == "//c");
  CHECK_FALSE(odd->has_authority);
  CHECK(must_parse(odd->to_string()).path == "/.//c");
  CHECK_FALSE(must_parse(odd->to_string()).has_authority);
}

TEST_CASE("http uri: remove_dot_segments never climbs above '/'") {
  using ev::http::remove_dot_segments;
  CHECK(remove_dot_segments("/a/b/c/./../../g") == "/a/g");
  CHECK(remove_dot_segments("mid/content=5/../6") == "mid/6");
  CHECK(remove_dot_segments("/a/./b/../c") == "/a/c");
  CHECK(remove_dot_segments("/..") == "/");
  CHECK(remove_dot_segments("/../..") == "/");
  CHECK(remove_dot_segments("/../../../etc/passwd") == "/etc/passwd");
  CHECK(remove_dot_segments("/a/../../../b") == "/b");
  CHECK(remove_dot_segments("/.") == "/");
  CHECK(remove_dot_segments("/./") == "/");
  CHECK(remove_dot_segments("/a/..") == "/");
  CHECK(remove_dot_segments("/a/.") == "/a/");
  CHECK(remove_dot_segments("..") == "");
  CHECK(remove_dot_segments(".") == "");
  CHECK(remove_dot_segments("../a") == "a");
  CHECK(remove_dot_segments("./a") == "a");
  CHECK(remove_dot_segments("") == "");
  CHECK(remove_dot_segments("/") == "/");
  CHECK(remove_dot_segments("//a//") == "//a//");
  CHECK(remove_dot_segments("/a/b..c/.d/...") == "/a/b..c/.d/...");
  CHECK(remove_dot_segments("/%2e%2e/x") == "/%2e%2e/x");  // escapes are not dots
  // However many "..", an absolute path stays absolute.
  std::string deep;
  for (int i = 0; i < 1000; ++i) deep += "/..";
  CHECK(remove_dot_segments(deep + "/x") == "/x");
}

TEST_CASE("http uri: percent_decode") {
  using ev::http::percent_decode;
  CHECK(percent_decode("%41b+c") == "Ab+c");
  CHECK(percent_decode("%41b+c", true) == "Ab c");
  CHECK(percent_decode("%2f%2F%7e") == "//~");
  CHECK(percent_decode("") == "");
  CHECK(percent_decode("%ff") == std::string("\xff"));
  CHECK(percent_decode("a%00b") == std::string("a\0b", 3));
  CHECK(percent_decode("%2B", true) == "+");  // an escaped plus stays a plus
  for (const std::string bad : {"%", "%4", "a%", "%g0", "%0g", "%%", "%%41", "% 41", "%-1", "%+1"}) {
    CAPTURE(bad);
    CHECK_FALSE(percent_decode(bad));
  }
}

TEST_CASE("http uri: percent_encode and round trips") {
  using ev::http::percent_decode;
  using ev::http::percent_encode;
  CHECK(percent_encode("AZaz09-._~") == "AZaz09-._~");
  CHECK(percent_encode("a b/c") == "a%20b%2Fc");
  CHECK(percent_encode("a b/c", "/") == "a%20b/c");
  CHECK(percent_encode("+&=%") == "%2B%26%3D%25");
  CHECK(percent_encode(std::string("\0\xff", 2)) == "%00%FF");
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  CHECK(percent_decode(percent_encode(all)) == all);
  CHECK(percent_decode(percent_encode(all, "/?#[]@!$&'()*+,;=")) == all);
  // An encoded path is a valid URI path.
  CHECK(Uri::parse("http://h/" + percent_encode(all, "/")));
}

TEST_CASE("http uri: parse_query") {
  using ev::http::parse_query;
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  CHECK(parse_query("a=1&b=x%20y&c") == Pairs{{"a", "1"}, {"b", "x y"}, {"c", ""}});
  CHECK(parse_query("q=a+b%2Bc") == Pairs{{"q", "a b+c"}});
  CHECK(parse_query("") == Pairs{});
  CHECK(parse_query("a=1&&b=2&") == Pairs{{"a", "1"}, {"b", "2"}});
  CHECK(parse_query("a=&=b") == Pairs{{"a", ""}, {"", "b"}});
  CHECK(parse_query("a=b=c") == Pairs{{"a", "b=c"}});
  CHECK(parse_query("k%3D=v%26") == Pairs{{"k=", "v&"}});
  CHECK(parse_query("dup=1&dup=2") == Pairs{{"dup", "1"}, {"dup", "2"}});
  CHECK(parse_query("n=%00") == Pairs{{"n", std::string(1, '\0')}});
  for (const std::string bad : {"a=%", "a=%4", "a=%zz", "%=1", "a=1&b=%g0", "x%2"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_query(bad));
  }
}

TEST_SUITE_END();
