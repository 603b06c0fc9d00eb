// The HTML directory listing of `http serve`: one self-contained page (its
// CSS inline, light and dark, no script), names escaped, sizes in human
// units (the exact byte count in a tooltip), modification times, a link to
// the parent, and columns sorted by the server from the query:
// `?sort=name|size|time` and `&order=desc`; directories come first.
#pragma once

#include <ctime>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace evtool {

struct ListingEntry {
  std::string name;
  bool is_dir = false;
  std::uint64_t size = 0;
  std::time_t mtime = 0;
};

// `path` is the directory's URL path ("/", "/docs/"), unescaped; `query`
// the request's query string.
std::string render_listing(std::string_view path, std::vector<ListingEntry> entries, std::string_view query);

// 1023 B, 12.1 KiB, 3.4 MiB, ...
std::string human_size(std::uint64_t bytes);

}  // namespace evtool
