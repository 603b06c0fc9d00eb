// The static file side of `evtool http serve`: maps a request path to a
// file under the root (never outside it: "..", encoded dots and slashes,
// NUL bytes and symlinks out of the root are refused), and answers with
// the file (sendfile for large ones), a Range of it, 304 for a matching
// If-None-Match / If-Modified-Since, a redirect for a directory without
// its slash, the index file, or an HTML listing.
#pragma once

#include <sys/stat.h>

#include <string>
#include <string_view>
#include <vector>

#include "cmds/http_range.h"
#include "engine/http/server.h"

namespace evtool {

struct FileServerOptions {
  std::string index = "index.html";
  bool listing = true;
};

class FileServer {
 public:
  // Opens the root; throws std::runtime_error if it is not a directory.
  FileServer(const std::string& root, FileServerOptions options);
  ~FileServer();
  FileServer(const FileServer&) = delete;
  FileServer& operator=(const FileServer&) = delete;

  void handle(ev::http::Request& req);
  // The calling thread's loop has waited again: cached files are stat'ed
  // again before their next use (FileCache::lookup).
  void next_round();

 private:
  int open_beneath(const std::string& relative, int flags) const;
  void serve_directory(ev::http::Request& req, const std::string& relative, int dirfd);
  // `data`: the file's bytes when cached (fd is then -1).
  void serve_file(ev::http::Request& req, const std::string& relative, int fd, const struct stat& st,
                  const std::string* data);
  void send_byteranges(ev::http::Request& req, std::string_view type, int fd, std::uint64_t size,
                       const std::vector<ByteRange>& ranges, const std::string* data);
  void serve_listing(ev::http::Request& req, const std::string& relative, int dirfd);

  int root_fd_;
  FileServerOptions options_;
};

// The Content-Type for a file name, from its extension.
std::string_view content_type_for(std::string_view name);

}  // namespace evtool
