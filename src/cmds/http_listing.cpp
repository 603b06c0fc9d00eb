#include "cmds/http_listing.h"

#include <algorithm>
#include <cstdio>

#include "engine/http/headers.h"
#include "engine/http/server.h"
#include "engine/http/uri.h"

namespace evtool {
namespace {

namespace http = ev::http;

constexpr const char* kStyle =
    "body{font:15px/1.4 system-ui,sans-serif;margin:2em auto;max-width:60em;padding:0 1em;"
    "color:#222;background:#fff}"
    "h1{font-size:1.3em;word-break:break-all}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{padding:.3em .6em;text-align:left;border-bottom:1px solid #ddd}"
    "td.size,th.size{text-align:right;white-space:nowrap}td.time{white-space:nowrap}"
    "th a{color:inherit}a{color:#0645ad;text-decoration:none}a:hover{text-decoration:underline}"
    "tr:hover td{background:#f4f4f4}"
    "@media (prefers-color-scheme:dark){body{color:#ddd;background:#181818}a{color:#8ab4f8}"
    "th,td{border-color:#333}tr:hover td{background:#222}}";

enum class Column { kName, kSize, kTime };

struct Order {
  Column column = Column::kName;
  bool descending = false;
};

Order order_from(std::string_view query) {
  Order o;
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair == "sort=size") o.column = Column::kSize;
    else if (pair == "sort=time") o.column = Column::kTime;
    else if (pair == "order=desc") o.descending = true;
  }
  return o;
}

void sort_entries(std::vector<ListingEntry>& entries, Order o) {
  std::sort(entries.begin(), entries.end(), [o](const ListingEntry& a, const ListingEntry& b) {
    if (a.is_dir != b.is_dir) return a.is_dir;
    const ListingEntry& x = o.descending ? b : a;
    const ListingEntry& y = o.descending ? a : b;
    if (o.column == Column::kSize && x.size != y.size) return x.size < y.size;
    if (o.column == Column::kTime && x.mtime != y.mtime) return x.mtime < y.mtime;
    return x.name < y.name;
  });
}

// A column heading that sorts by it; again on the current column reverses.
std::string heading(const char* label, const char* key, Column column, Order o, const char* css) {
  bool current = o.column == column;
  std::string href = std::string("?sort=") + key + (current && !o.descending ? "&amp;order=desc" : "");
  std::string mark = current ? (o.descending ? " \xE2\x86\x93" : " \xE2\x86\x91") : "";
  return std::string("<th class=\"") + css + "\"><a href=\"" + href + "\">" + label + mark + "</a></th>";
}

std::string local_time(std::time_t t) {
  std::tm tm{};
  localtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M", &tm);
  return text;
}

}  // namespace

std::string human_size(std::uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  static const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes) / 1024.0;
  std::size_t unit = 0;
  while (v >= 1024.0 && unit + 1 < std::size(kUnits)) v /= 1024.0, ++unit;
  char text[32];
  std::snprintf(text, sizeof text, "%.1f %s", v, kUnits[unit]);
  return text;
}

std::string render_listing(std::string_view path, std::vector<ListingEntry> entries, std::string_view query) {
  Order order = order_from(query);
  sort_entries(entries, order);
  std::string title = http::html_escape(path);
  std::string page = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                     "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                     "<meta name=\"color-scheme\" content=\"light dark\"><title>Index of " + title +
                     "</title><style>" + kStyle + "</style></head>\n<body><h1>Index of " + title + "</h1>\n<table>\n<tr>" +
                     heading("Name", "name", Column::kName, order, "name") +
                     heading("Size", "size", Column::kSize, order, "size") +
                     heading("Modified", "time", Column::kTime, order, "time") + "</tr>\n";
  if (path != "/") page += "<tr><td><a href=\"../\">../</a></td><td class=\"size\"></td><td class=\"time\"></td></tr>\n";
  for (const ListingEntry& e : entries) {
    std::string shown = e.name + (e.is_dir ? "/" : "");
    std::string href = http::percent_encode(e.name) + (e.is_dir ? "/" : "");
    std::string size = e.is_dir ? "<td class=\"size\">-</td>"
                                : "<td class=\"size\" title=\"" + std::to_string(e.size) + " bytes\">" +
                                      human_size(e.size) + "</td>";
    page += "<tr><td><a href=\"" + http::html_escape(href) + "\">" + http::html_escape(shown) + "</a></td>" + size +
            "<td class=\"time\" title=\"" + http::http_date(e.mtime) + "\">" + local_time(e.mtime) + "</td></tr>\n";
  }
  page += "</table></body></html>\n";
  return page;
}

}  // namespace evtool
