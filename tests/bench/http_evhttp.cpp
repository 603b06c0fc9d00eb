// The HTTP benchmark's libevent peer: a small static file server on
// libevent 2.1's evhttp with its defaults. One callback for every request
// (evhttp_set_gencb): GET and HEAD of a regular file under ROOT, the body
// handed to evhttp as a file segment (evbuffer_add_file, which libevent
// sends with sendfile), a Content-Type from the file's extension, 404 for
// anything else. HTTP/1.1 keep-alive as evhttp does it. Listens on
// 127.0.0.1 only.
//
//   http_evhttp ROOT PORT    (PORT 0: any free port)
//
// Prints `listening on 127.0.0.1:PORT` as `evtool http serve` does, and
// stops on SIGINT / SIGTERM.
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "libevent_peer.h"

namespace {

struct Server {
  std::string root;  // no trailing slash
};

const char* content_type(std::string_view path) {
  struct Type {
    std::string_view ext;
    const char* type;
  };
  static constexpr Type kTypes[] = {
      {".html", "text/html; charset=utf-8"}, {".htm", "text/html; charset=utf-8"},
      {".txt", "text/plain; charset=utf-8"}, {".css", "text/css"},
      {".js", "application/javascript"},     {".json", "application/json"},
      {".png", "image/png"},                 {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},               {".gif", "image/gif"},
      {".svg", "image/svg+xml"},             {".pdf", "application/pdf"},
  };
  std::size_t slash = path.rfind('/');
  std::size_t dot = path.rfind('.');
  if (dot != std::string_view::npos && (slash == std::string_view::npos || dot > slash)) {
    std::string_view ext = path.substr(dot);
    for (const Type& t : kTypes) {
      if (ext.size() == t.ext.size() && strncasecmp(ext.data(), t.ext.data(), ext.size()) == 0) return t.type;
    }
  }
  return "application/octet-stream";
}

void send_error(evhttp_request* req, int code, const char* reason) {
  evkeyvalq* headers = evhttp_request_get_output_headers(req);
  evhttp_add_header(headers, "Content-Type", "text/plain; charset=utf-8");
  evbuffer* body = evbuffer_new();
  if (body && evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) evbuffer_add_printf(body, "%d %s\n", code, reason);
  evhttp_send_reply(req, code, reason, body);
  if (body) evbuffer_free(body);
}

// The request's path, percent-decoded, if it is safe to append to ROOT:
// absolute, no NUL, no "." or ".." segment.
bool safe_path(evhttp_request* req, std::string& out) {
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(req);
  const char* raw = uri ? evhttp_uri_get_path(uri) : nullptr;
  if (!raw || raw[0] != '/') return false;
  std::size_t len = 0;
  char* decoded = evhttp_uridecode(raw, 0, &len);
  if (!decoded) return false;
  out.assign(decoded, len);
  std::free(decoded);
  if (out.find('\0') != std::string::npos) return false;
  std::size_t start = 1;
  while (start <= out.size()) {
    std::size_t end = out.find('/', start);
    if (end == std::string::npos) end = out.size();
    std::string_view seg(out.data() + start, end - start);
    if (seg == "." || seg == "..") return false;
    start = end + 1;
  }
  return true;
}

void on_request(evhttp_request* req, void* arg) {
  const auto* server = static_cast<const Server*>(arg);
  evhttp_cmd_type cmd = evhttp_request_get_command(req);
  std::string path;
  if (!safe_path(req, path)) {
    send_error(req, 404, "Not Found");
    return;
  }
  if (path.back() == '/') path += "index.html";
  std::string file = server->root + path;
  int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    if (fd >= 0) close(fd);
    send_error(req, 404, "Not Found");
    return;
  }
  evkeyvalq* headers = evhttp_request_get_output_headers(req);
  evhttp_add_header(headers, "Content-Type", content_type(path));
  evbuffer* body = evhttp_request_get_output_buffer(req);
  if (cmd == EVHTTP_REQ_HEAD) {
    close(fd);
    evhttp_add_header(headers, "Content-Length", std::to_string(st.st_size).c_str());
  } else if (st.st_size == 0) {
    close(fd);
  } else if (evbuffer_add_file(body, fd, 0, st.st_size) != 0) {  // takes fd, also on failure
    send_error(req, 500, "Internal Server Error");
    return;
  }
  evhttp_send_reply(req, HTTP_OK, "OK", nullptr);
}


[[noreturn]] void usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s ROOT PORT   (PORT 0: any free port)\n", argv0);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) usage(argv[0]);
  char* end = nullptr;
  long port = std::strtol(argv[2], &end, 10);
  if (*argv[2] == '\0' || *end != '\0' || port < 0 || port > 65535) usage(argv[0]);
  struct stat st {};
  if (stat(argv[1], &st) != 0 || !S_ISDIR(st.st_mode)) {
    std::fprintf(stderr, "http_evhttp: %s: not a directory\n", argv[1]);
    return 2;
  }
  Server server{argv[1]};
  while (server.root.size() > 1 && server.root.back() == '/') server.root.pop_back();
  if (server.root == "/") server.root.clear();

  std::signal(SIGPIPE, SIG_IGN);  // a client that resets mid-body must not kill the server
  event_base* base = event_base_new();
  evhttp* http = base ? evhttp_new(base) : nullptr;
  if (!http) {
    std::fprintf(stderr, "http_evhttp: cannot create the event base / evhttp\n");
    if (base) event_base_free(base);
    return 1;
  }
  evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);  // evhttp answers 501 to the rest
  evhttp_set_gencb(http, on_request, &server);
  evhttp_bound_socket* bound = evhttp_bind_socket_with_handle(http, "127.0.0.1", static_cast<ev_uint16_t>(port));
  if (!bound) {
    std::fprintf(stderr, "http_evhttp: cannot listen on 127.0.0.1:%ld: %s\n", port, std::strerror(errno));
    evhttp_free(http);
    event_base_free(base);
    return 1;
  }
  sockaddr_in sin{};
  socklen_t len = sizeof sin;
  getsockname(evhttp_bound_socket_get_fd(bound), reinterpret_cast<sockaddr*>(&sin), &len);
  std::printf("listening on 127.0.0.1:%u\n", ntohs(sin.sin_port));
  std::fflush(stdout);

  int rc = bench::dispatch_until_stopped(base);
  evhttp_free(http);
  event_base_free(base);
  return rc;
}
