// Headers: the ordered, case-insensitive field list; the comma-list walker
// and OWS trimming the parsers and the server share; html_escape and the
// reason phrases.
#include "engine/http/headers.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

TEST_SUITE_BEGIN("codec");  // no EventBase: run once, not per backend

using ev::http::Headers;

namespace {

std::vector<Headers::Field> fields(const Headers& h) { return {h.begin(), h.end()}; }

std::vector<std::string> list_items(std::string_view list) {
  std::vector<std::string> items;
  CHECK_FALSE(ev::http::for_each_list_item(list, [&](std::string_view item) {
    items.emplace_back(item);
    return false;
  }));
  return items;
}

}  // namespace

TEST_CASE("Headers: a new list is empty") {
  Headers h;
  CHECK(h.empty());
  CHECK(h.size() == 0);
  CHECK(h.begin() == h.end());
  CHECK(h.find("Host") == nullptr);
  CHECK_FALSE(h.has("Host"));
  CHECK(h.count("Host") == 0);
  CHECK(h.get("Host") == "");
  CHECK(h.get("Host", "fallback") == "fallback");
}

TEST_CASE("Headers: add keeps every field, duplicates included, in wire order") {
  Headers h;
  h.add("Host", "example.com");
  h.add("Set-Cookie", "a=1");
  h.add("Accept", "*/*");
  h.add("set-cookie", "b=2");
  CHECK(h.size() == 4);
  CHECK_FALSE(h.empty());
  std::vector<Headers::Field> want = {
      {"Host", "example.com"}, {"Set-Cookie", "a=1"}, {"Accept", "*/*"}, {"set-cookie", "b=2"}};
  CHECK(fields(h) == want);
  CHECK(h.count("SET-COOKIE") == 2);
  CHECK(h.count("Host") == 1);
}

TEST_CASE("Headers: lookup ignores ASCII case and returns the first value") {
  Headers h;
  h.add("Content-Type", "text/html");
  h.add("content-type", "text/plain");
  for (const char* name : {"Content-Type", "content-type", "CONTENT-TYPE", "cOnTeNt-TyPe"}) {
    CAPTURE(name);
    const std::string* v = h.find(name);
    REQUIRE(v != nullptr);
    CHECK(*v == "text/html");
    CHECK(h.get(name) == "text/html");
    CHECK(h.has(name));
  }
}

TEST_CASE("Headers: lookup matches whole names only") {
  Headers h;
  h.add("Content-Length", "5");
  CHECK(h.find("Content") == nullptr);
  CHECK(h.find("Content-Length ") == nullptr);
  CHECK(h.find("Content-Lengths") == nullptr);
  CHECK(h.find("") == nullptr);
  // Only A-Z fold: '[' and '{', '@' and '`' differ by the same bit.
  h.add("X-[@]", "1");
  CHECK(h.find("x-{`}") == nullptr);
  CHECK(h.find("x-[@]") != nullptr);
}

TEST_CASE("Headers: an empty value is present, not missing") {
  Headers h;
  h.add("X-Empty", "");
  CHECK(h.has("x-empty"));
  REQUIRE(h.find("X-Empty") != nullptr);
  CHECK(h.find("X-Empty")->empty());
  CHECK(h.get("X-Empty", "fallback") == "");
}

TEST_CASE("Headers: find points at the stored value") {
  Headers h;
  h.add("A", "1");
  const std::string* v = h.find("a");
  REQUIRE(v != nullptr);
  CHECK(v == &h.begin()->second);
}

TEST_CASE("Headers: set replaces every field of that name with one") {
  Headers h;
  h.add("Via", "1.0 a");
  h.add("Host", "example.com");
  h.add("VIA", "1.1 b");
  h.add("Accept", "*/*");
  h.set("via", "2.0 c");
  CHECK(h.count("Via") == 1);
  CHECK(h.get("Via") == "2.0 c");
  CHECK(h.size() == 3);
  // The other fields keep their order.
  std::vector<std::string> names;
  for (const auto& [name, value] : h)
    if (value != "2.0 c") names.push_back(name);
  CHECK(names == std::vector<std::string>{"Host", "Accept"});

  SUBCASE("set on a missing name adds it") {
    h.set("Date", "now");
    CHECK(h.size() == 4);
    CHECK(h.get("date") == "now");
  }
}

TEST_CASE("Headers: remove takes every spelling of the name, nothing else") {
  Headers h;
  h.add("Cookie", "a");
  h.add("Cookie2", "b");
  h.add("COOKIE", "c");
  h.add("X", "d");
  h.remove("cookie");
  CHECK(h.size() == 2);
  CHECK_FALSE(h.has("Cookie"));
  CHECK(h.get("Cookie2") == "b");
  CHECK(h.get("X") == "d");
  h.remove("not-there");
  CHECK(h.size() == 2);
  h.clear();
  CHECK(h.empty());
  CHECK_FALSE(h.has("X"));
}

TEST_CASE("Headers: the stored names and values are copies") {
  Headers h;
  {
    std::string name = "X-Temp";
    std::string value = "value";
    h.add(name, value);
    name.assign(name.size(), '#');
    value.assign(value.size(), '#');
  }
  CHECK(h.get("x-temp") == "value");
  CHECK(h.begin()->first == "X-Temp");
}

TEST_CASE("Headers: has_token looks for a whole item of a comma list") {
  Headers h;
  h.add("Connection", "keep-alive, Upgrade");
  CHECK(h.has_token("connection", "upgrade"));
  CHECK(h.has_token("Connection", "KEEP-ALIVE"));
  CHECK_FALSE(h.has_token("Connection", "keep"));
  CHECK_FALSE(h.has_token("Connection", "alive"));
  CHECK_FALSE(h.has_token("Connection", "keep-alive, Upgrade"));
  CHECK_FALSE(h.has_token("Connection", ""));
  CHECK_FALSE(h.has_token("Upgrade", "upgrade"));  // a token, not a name

  SUBCASE("in any field of that name") {
    h.add("Transfer-Encoding", "gzip");
    h.add("transfer-encoding", " \tchunked\t ");
    CHECK(h.has_token("Transfer-Encoding", "chunked"));
    CHECK(h.has_token("Transfer-Encoding", "gzip"));
    CHECK_FALSE(h.has_token("Transfer-Encoding", "deflate"));
  }
  SUBCASE("empty items and odd whitespace") {
    h.add("TE", ",, ,\ttrailers ,,");
    CHECK(h.has_token("te", "trailers"));
    CHECK_FALSE(h.has_token("te", ""));
  }
  SUBCASE("a missing field lists nothing") { CHECK_FALSE(h.has_token("TE", "trailers")); }
}

TEST_CASE("trim_ows removes spaces and tabs at both ends only") {
  using ev::http::trim_ows;
  CHECK(trim_ows("") == "");
  CHECK(trim_ows(" \t \t") == "");
  CHECK(trim_ows("a") == "a");
  CHECK(trim_ows("  a b\t") == "a b");
  CHECK(trim_ows("\ta \t b ") == "a \t b");
  // OWS is SP / HTAB (RFC 9110 5.6.3): other bytes stay.
  CHECK(trim_ows("\r\na\r\n") == "\r\na\r\n");
  CHECK(trim_ows("\va\f") == "\va\f");
  std::string_view s = "  xy  ";
  std::string_view t = trim_ows(s);
  CHECK(t.data() == s.data() + 2);  // a view into the input, no copy
}

TEST_CASE("for_each_list_item: trimmed, non-empty items in order") {
  CHECK(list_items("").empty());
  CHECK(list_items(",").empty());
  CHECK(list_items(" , \t,").empty());
  CHECK(list_items("a") == std::vector<std::string>{"a"});
  CHECK(list_items("a,b") == std::vector<std::string>{"a", "b"});
  CHECK(list_items(" a , b ,, c\t") == std::vector<std::string>{"a", "b", "c"});
  CHECK(list_items(",a,") == std::vector<std::string>{"a"});
  CHECK(list_items("W/\"x\", \"y\"") == std::vector<std::string>{"W/\"x\"", "\"y\""});
  CHECK(list_items("a b, c") == std::vector<std::string>{"a b", "c"});
}

TEST_CASE("for_each_list_item stops at the first item fn accepts") {
  std::vector<std::string> seen;
  bool found = ev::http::for_each_list_item("gzip, chunked, br", [&](std::string_view item) {
    seen.emplace_back(item);
    return item == "chunked";
  });
  CHECK(found);
  CHECK(seen == std::vector<std::string>{"gzip", "chunked"});

  int calls = 0;
  CHECK_FALSE(ev::http::for_each_list_item(" , ", [&](std::string_view) { return ++calls, true; }));
  CHECK(calls == 0);
}

TEST_CASE("html_escape escapes the five HTML specials and nothing else") {
  using ev::http::html_escape;
  CHECK(html_escape("") == "");
  CHECK(html_escape("plain text/ 123") == "plain text/ 123");
  CHECK(html_escape("<a href=\"x\">Tom & Jerry's</a>") ==
        "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
  CHECK(html_escape("&amp;") == "&amp;amp;");  // never treated as already escaped
  CHECK(html_escape("caf\xc3\xa9 \xe2\x9c\x93") == "caf\xc3\xa9 \xe2\x9c\x93");
  CHECK(html_escape(std::string_view("a\0<", 3)) == std::string("a\0&lt;", 6));
}

TEST_CASE("reason_phrase") {
  using ev::http::reason_phrase;
  CHECK(std::string(reason_phrase(200)) == "OK");
  CHECK(std::string(reason_phrase(206)) == "Partial Content");
  CHECK(std::string(reason_phrase(304)) == "Not Modified");
  CHECK(std::string(reason_phrase(404)) == "Not Found");
  CHECK(std::string(reason_phrase(413)) == "Content Too Large");  // RFC 9110's name
  CHECK(std::string(reason_phrase(416)) == "Range Not Satisfiable");
  CHECK(std::string(reason_phrase(500)) == "Internal Server Error");
  CHECK(std::string(reason_phrase(505)) == "HTTP Version Not Supported");
  for (int status : {0, -1, 99, 299, 418, 600, 1000}) {
    CAPTURE(status);
    CHECK(std::string(reason_phrase(status)) == "Unknown");
  }
}

TEST_SUITE_END();
