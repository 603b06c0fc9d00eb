#include "cmds/http_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "cmds/http_file_cache.h"
#include "cmds/http_listing.h"
#include "cmds/http_range.h"
#include "engine/util/ascii.h"

namespace evtool {
namespace {

namespace http = ev::http;

// Files up to this size are read into the reply (one writev with the
// head); larger ones go out with sendfile.
constexpr off_t kInlineFileMax = 64 * 1024;

std::string content_range(const ByteRange& r, std::uint64_t size) {
  return "bytes " + std::to_string(r.first) + "-" + std::to_string(r.first + r.length - 1) + "/" + std::to_string(size);
}

// Appends `range` of the file to `body`: from the cached bytes when there
// are some, read in when small, else as a file segment (sendfile), which
// then owns fd. A HEAD reply gets the segment too (Content-Length must
// say the size; nothing is read). Closes fd unless a segment took it;
// false if the file cannot be read.
bool add_file_bytes(ev::Buffer& body, int fd, const ByteRange& range, const std::string* data, bool head) {
  if (data) {
    if (fd >= 0) ::close(fd);
    return body.add(data->data() + range.first, range.length) == 0;
  }
  if (!head && static_cast<off_t>(range.length) <= kInlineFileMax) {
    iovec v[2];
    int n = body.reserve_space(range.length, v, 1);
    ssize_t got = n == 1 ? ::pread(fd, v[0].iov_base, range.length, static_cast<off_t>(range.first)) : -1;
    ::close(fd);
    if (got != static_cast<ssize_t>(range.length)) return false;
    v[0].iov_len = static_cast<std::size_t>(got);
    return body.commit_space(v, 1) == 0;
  }
  if (body.add_file(fd, static_cast<off_t>(range.first), static_cast<off_t>(range.length)) == 0) return true;
  ::close(fd);
  return false;
}

// A boundary that no file is likely to contain: 64 random bits, in hex.
std::string make_boundary() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(random()));
  return std::string("evtool-") + text;
}

// The decoded path relative to the root ("" for the root itself), or
// nullopt when it must not be served: a malformed escape, a NUL byte, or
// a ".." segment (whether written plainly or percent-encoded).
std::optional<std::string> relative_path(std::string_view raw) {
  auto decoded = http::percent_decode(raw);
  if (!decoded || decoded->empty() || decoded->front() != '/') return std::nullopt;
  if (decoded->find('\0') != std::string::npos) return std::nullopt;
  std::string out;
  std::size_t pos = 1;
  while (pos <= decoded->size()) {
    std::size_t slash = decoded->find('/', pos);
    if (slash == std::string::npos) slash = decoded->size();
    std::string_view seg(decoded->data() + pos, slash - pos);
    if (seg == "..") return std::nullopt;
    if (!seg.empty() && seg != ".") {
      if (!out.empty()) out += '/';
      out.append(seg);
    }
    pos = slash + 1;
  }
  return out;
}

// "SIZE-MTIME_NS" in hex, quoted (as nginx's size-mtime form, with
// nanoseconds). Written by hand: it is made for every reply.
std::string etag_for(const struct stat& st) {
  auto hex = [](std::string& out, unsigned long long v) {
    char digits[16];
    int n = 0;
    do digits[n++] = "0123456789abcdef"[v & 0xf];
    while ((v >>= 4) != 0);
    while (n > 0) out.push_back(digits[--n]);
  };
  std::string tag;
  tag.reserve(36);
  tag.push_back('"');
  hex(tag, static_cast<unsigned long long>(st.st_size));
  tag.push_back('-');
  hex(tag, static_cast<unsigned long long>(st.st_mtim.tv_sec) * 1000000000ULL +
               static_cast<unsigned long long>(st.st_mtim.tv_nsec));
  tag.push_back('"');
  return tag;
}

// If-None-Match takes precedence over If-Modified-Since (RFC 9110 13.2.2).
bool not_modified(const http::Request& req, const std::string& etag, const struct stat& st) {
  if (const std::string* inm = req.headers().find("If-None-Match")) {
    return http::for_each_list_item(*inm, [&etag](std::string_view tag) {
      if (tag.starts_with("W/")) tag.remove_prefix(2);  // weak comparison (RFC 9110 13.1.2)
      return tag == "*" || tag == etag;
    });
  }
  if (const std::string* ims = req.headers().find("If-Modified-Since")) {
    long since = http::parse_http_date(*ims);
    return since >= 0 && st.st_mtim.tv_sec <= since;
  }
  return false;
}

// If-Range (RFC 9110 13.1.5): the Range counts only for the representation
// the client already holds part of. An entity tag must match strongly (a
// weak one never does); a date must equal Last-Modified exactly.
bool range_applies(const http::Request& req, const std::string& etag, const struct stat& st) {
  const std::string* if_range = req.headers().find("If-Range");
  if (!if_range) return true;
  std::string_view v = *if_range;  // the parser dropped the surrounding white space
  if (v.starts_with("\"") || v.starts_with("W/")) return v == etag;
  long date = http::parse_http_date(v);
  return date >= 0 && date == st.st_mtim.tv_sec;
}

}  // namespace

FileServer::FileServer(const std::string& root, FileServerOptions options) : options_(std::move(options)) {
  root_fd_ = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd_ < 0) throw std::runtime_error("cannot open directory '" + root + "': " + std::strerror(errno));
}

FileServer::~FileServer() { ::close(root_fd_); }

// Opens a path below the root, refusing any resolution that would leave
// it (symlinks included): openat2 RESOLVE_BENEATH does it in the kernel.
int FileServer::open_beneath(const std::string& relative, int flags) const {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  const char* path = relative.empty() ? "." : relative.c_str();
  return static_cast<int>(::syscall(SYS_openat2, root_fd_, path, &how, sizeof how));
}

void FileServer::next_round() { FileCache::for_thread(root_fd_).next_round(); }

void FileServer::handle(http::Request& req) {
  const std::string& m = req.method();
  if (m != "GET" && m != "HEAD") {
    req.reply_headers().set("Allow", "GET, HEAD");
    return req.send_error(405, "only GET and HEAD are allowed here");
  }
  auto relative = relative_path(req.uri().path);
  if (!relative) return req.send_error(403, "this path is not allowed");
  // "/file.txt/" names a directory that is not there (nginx: 404).
  const bool wants_directory = !relative->empty() && req.uri().path.back() == '/';
  if (const FileCache::Entry* cached = FileCache::for_thread(root_fd_).lookup(*relative)) {
    if (wants_directory) return req.send_error(404, "no such directory");
    return serve_file(req, *relative, -1, cached->st, &cached->data);
  }
  int fd = open_beneath(*relative, O_RDONLY | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    if (err == EXDEV || err == EACCES || err == EPERM || err == ELOOP) return req.send_error(403, "access denied");
    return req.send_error(404, "no such file");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return req.send_error(500, "cannot stat the file");
  }
  if (S_ISDIR(st.st_mode)) return serve_directory(req, *relative, fd);
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return req.send_error(403, "not a regular file");
  }
  if (wants_directory) {
    ::close(fd);
    return req.send_error(404, "no such directory");
  }
  serve_file(req, *relative, fd, st, nullptr);
}

void FileServer::serve_directory(http::Request& req, const std::string& relative, int dirfd) {
  const std::string& path = req.uri().path;
  if (path.empty() || path.back() != '/') {
    ::close(dirfd);
    // Repeated slashes were merged to find the directory; a Location that
    // starts with "//" would name another host.
    std::string_view merged = path;
    while (merged.starts_with("//")) merged.remove_prefix(1);
    std::string location = std::string(merged) + "/";
    if (req.uri().has_query) location += "?" + req.uri().query;
    req.reply_headers().set("Location", location);
    return req.send_reply(301, "Moved Permanently\n");
  }
  std::string index = relative.empty() ? options_.index : relative + "/" + options_.index;
  int fd = open_beneath(index, O_RDONLY | O_NONBLOCK);
  struct stat st {};
  if (fd >= 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    ::close(dirfd);
    return serve_file(req, index, fd, st, nullptr);
  }
  if (fd >= 0) ::close(fd);
  if (!options_.listing) {
    ::close(dirfd);
    return req.send_error(403, "directory listing is disabled");
  }
  serve_listing(req, relative, dirfd);
}

void FileServer::serve_file(http::Request& req, const std::string& relative, int fd, const struct stat& st,
                            const std::string* data) {
  if (!data && st.st_size <= FileCache::kMaxFileSize) {
    std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
    ssize_t got = ::pread(fd, bytes.data(), bytes.size(), 0);
    if (got == static_cast<ssize_t>(bytes.size())) {
      ::close(fd);
      fd = -1;
      data = &FileCache::for_thread(root_fd_).store(relative, st, std::move(bytes)).data;
    }
  }
  std::string etag = etag_for(st);
  auto& h = req.reply_headers();
  h.add("Content-Type", content_type_for(relative));
  h.add("Last-Modified", http::http_date(st.st_mtim.tv_sec));
  h.add("ETag", etag);
  h.add("Accept-Ranges", "bytes");
  if (not_modified(req, etag, st)) {
    ::close(fd);
    return req.send_reply(304);
  }
  auto size = static_cast<std::uint64_t>(st.st_size);
  RangeSpec ranges;
  if (const std::string* r = req.headers().find("Range"); r && range_applies(req, etag, st)) ranges = parse_range(*r, size);
  if (ranges.kind == RangeSpec::kUnsatisfiable) {
    ::close(fd);
    h.remove("Content-Type");
    h.set("Content-Range", "bytes */" + std::to_string(size));
    return req.send_error(416, "range not satisfiable");
  }
  if (ranges.ranges.size() > 1) return send_byteranges(req, content_type_for(relative), fd, size, ranges.ranges, data);
  ByteRange range = ranges.kind == RangeSpec::kRanges ? ranges.ranges[0] : ByteRange{0, size};
  int status = 200;
  if (ranges.kind == RangeSpec::kRanges) {
    status = 206;
    h.add("Content-Range", content_range(range, size));
  }
  ev::Buffer body;
  if (!add_file_bytes(body, fd, range, data, req.is_head())) return req.send_error(500, "cannot read the file");
  req.send_reply(status, body);
}

// 206 multipart/byteranges (RFC 9110 14.6): each range as a part with its
// own Content-Type and Content-Range. Every file segment owns a descriptor
// of its own (a dup of fd).
void FileServer::send_byteranges(http::Request& req, std::string_view type, int fd, std::uint64_t size,
                                 const std::vector<ByteRange>& ranges, const std::string* data) {
  std::string boundary = make_boundary();
  ev::Buffer body;
  for (const ByteRange& r : ranges) {
    std::string part = "\r\n--" + boundary + "\r\nContent-Type: " + std::string(type) + "\r\nContent-Range: " +
                       content_range(r, size) + "\r\n\r\n";
    body.add(part.data(), part.size());
    int own = data ? -1 : ::dup(fd);
    if ((!data && own < 0) || !add_file_bytes(body, own, r, data, req.is_head())) {
      if (fd >= 0) ::close(fd);
      return req.send_error(500, "cannot read the file");
    }
  }
  if (fd >= 0) ::close(fd);
  std::string end = "\r\n--" + boundary + "--\r\n";
  body.add(end.data(), end.size());
  req.reply_headers().set("Content-Type", "multipart/byteranges; boundary=" + boundary);
  req.send_reply(206, body);
}

void FileServer::serve_listing(http::Request& req, const std::string& relative, int dirfd) {
  DIR* dir = ::fdopendir(dirfd);
  if (!dir) {
    ::close(dirfd);
    return req.send_error(500, "cannot read the directory");
  }
  std::vector<ListingEntry> entries;
  while (dirent* d = ::readdir(dir)) {
    std::string name = d->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    if (::fstatat(dirfd, d->d_name, &st, 0) != 0) continue;  // dangling link
    entries.push_back({name, S_ISDIR(st.st_mode), static_cast<std::uint64_t>(st.st_size), st.st_mtim.tv_sec});
  }
  ::closedir(dir);
  std::string path = "/" + relative + (relative.empty() ? "" : "/");
  std::string page = render_listing(path, std::move(entries), req.uri().has_query ? req.uri().query : "");
  req.reply_headers().set("Content-Type", "text/html; charset=utf-8");
  req.send_reply(200, std::string_view(page));
}

std::string_view content_type_for(std::string_view name) {
  static const std::pair<std::string_view, std::string_view> kTypes[] = {
      {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
      {"css", "text/css; charset=utf-8"}, {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"}, {"json", "application/json"},
      {"txt", "text/plain; charset=utf-8"}, {"md", "text/markdown; charset=utf-8"},
      {"csv", "text/csv; charset=utf-8"}, {"xml", "application/xml"},
      {"svg", "image/svg+xml"}, {"png", "image/png"}, {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"},
      {"gif", "image/gif"}, {"webp", "image/webp"}, {"avif", "image/avif"}, {"ico", "image/x-icon"},
      {"pdf", "application/pdf"}, {"wasm", "application/wasm"}, {"zip", "application/zip"},
      {"gz", "application/gzip"}, {"tar", "application/x-tar"}, {"bz2", "application/x-bzip2"},
      {"xz", "application/x-xz"}, {"zst", "application/zstd"}, {"7z", "application/x-7z-compressed"},
      {"mp4", "video/mp4"}, {"webm", "video/webm"}, {"ogv", "video/ogg"}, {"mp3", "audio/mpeg"},
      {"ogg", "audio/ogg"}, {"wav", "audio/wav"}, {"flac", "audio/flac"}, {"woff", "font/woff"},
      {"woff2", "font/woff2"}, {"ttf", "font/ttf"}, {"otf", "font/otf"}, {"map", "application/json"},
      {"yaml", "application/yaml"}, {"yml", "application/yaml"}, {"toml", "application/toml"},
      {"sh", "text/x-shellscript; charset=utf-8"}, {"c", "text/x-c; charset=utf-8"},
      {"h", "text/x-c; charset=utf-8"}, {"cpp", "text/x-c++; charset=utf-8"}, {"py", "text/x-python; charset=utf-8"},
  };
  std::size_t slash = name.rfind('/');
  std::string_view base = slash == std::string_view::npos ? name : name.substr(slash + 1);
  std::size_t dot = base.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return "application/octet-stream";
  std::string_view ext = base.substr(dot + 1);
  for (const auto& [e, type] : kTypes)
    if (ev::ascii_iequals(e, ext)) return type;
  return "application/octet-stream";
}

}  // namespace evtool
