// `evtool http get URL` and `evtool http post URL`: curl's flags on the
// engine's ev::http::Client. The body goes to stdout or -o as it arrives
// (constant memory, a slow reader pauses the download); --json prints one
// document with the response, its timings and the body (without -o).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include "cli/validators.h"
#include "cmds/http_commands.h"
#include "cmds/http_files.h"
#include "cmds/http_sink.h"
#include "cmds/std_streams.h"
#include "cmds/stop_signals.h"
#include "cmds/tls_options.h"
#include "engine/core/log.h"
#include "engine/dns/resolver.h"
#include "engine/http/client.h"
#include "engine/http/multipart.h"
#include "engine/util/ascii.h"
#include "engine/util/units.h"

namespace evtool {
namespace {

namespace http = ev::http;

struct ClientFlags {
  bool post = false;
  std::string url;
  std::vector<std::string> headers;
  std::string output;
  bool include = false, head = false;
  std::string method;
  bool location = false;
  long max_redirs = 10;
  bool fail = false;
  std::string timeout, connect_timeout;
  std::string unix_socket;  // --unix-socket PATH
  long retries = 0;
  ClientTlsFlags tls;  // -k, --cacert
  std::vector<std::string> data, data_binary, form;
  std::string content_type;
  // To restore the order in which -d and --data-binary were given.
  CLI::Option *data_option = nullptr, *data_binary_option = nullptr;
};

// One piece of a -d / --data-binary body; `binary`: sent as it is.
struct DataItem {
  std::string text;
  bool binary = false;
};

// A local problem found before any connection (an unreadable upload): exit 1.
struct SetupError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ---- building the request -----------------------------------------------

http::Uri parse_url(const std::string& text) {
  std::string why;
  std::optional<http::Uri> url = http::Uri::parse(text, &why);
  if (!url) throw UsageError("invalid URL '" + text + "': " + why);
  if (url->scheme != "http" && url->scheme != "https")
    throw UsageError("invalid URL '" + text + "': it must start with http:// or https://");
  if (!url->has_authority || url->host.empty()) throw UsageError("invalid URL '" + text + "': no host");
  return *url;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
  });
}

// -H as curl reads it: 'Name: value' adds a field, 'Name:' (no value)
// drops a field evtool would send by itself (Accept, User-Agent, Host,
// Authorization, Content-Type), and 'Name;' sends it with an empty value.
void add_header(http::ClientRequest& req, const std::string& text) {
  std::string::size_type colon = text.find(':');
  bool empty_field = colon == std::string::npos && text.ends_with(';');
  std::string name = text.substr(0, empty_field ? text.size() - 1 : colon);
  std::string_view value = colon == std::string::npos ? "" : std::string_view(text).substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  bool bad_value = value.find_first_of("\r\n") != std::string_view::npos || value.find('\0') != std::string_view::npos;
  if ((colon == std::string::npos && !empty_field) || !is_token(name) || bad_value)
    throw UsageError("-H: invalid header '" + text + "' (use 'Name: value', 'Name:' to remove, 'Name;' for empty)");
  if (colon != std::string::npos && value.empty()) {
    req.omit.push_back(name);
    return;
  }
  req.headers.add(name, value);
}

bool omitted(const http::ClientRequest& req, std::string_view name) {
  return std::any_of(req.omit.begin(), req.omit.end(), [name](const std::string& o) { return ev::ascii_iequals(o, name); });
}

// Everything on stdin, for a body that mixes it with other pieces.
std::string slurp_stdin() {
  std::string all;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw SetupError(std::string("reading stdin: ") + std::strerror(errno));
    if (n == 0) return all;
    all.append(buf, static_cast<std::size_t>(n));
  }
}

// curl's -d @FILE reads the file line by line and keeps each line up to
// its first CR, without the LF. Stateful across reads: `in_cr` is true
// from a CR to the end of its line. Returns the new end of buf.
char* strip_line_ends(char* buf, char* end, bool& in_cr) {
  char* out = buf;
  for (char* p = buf; p != end; ++p) {
    if (*p == '\n') in_cr = false;
    else if (*p == '\r') in_cr = true;
    else if (!in_cr) *out++ = *p;
  }
  return out;
}

// An unlinked temporary file holding what `in` has left, each line cut as
// strip_line_ends() does, positioned at its start; -1 with errno set.
int stripped_copy(int in) {
  const char* dir = std::getenv("TMPDIR");
  int out = ::open(dir && *dir ? dir : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (out < 0) return -1;
  char buf[64 * 1024];
  bool in_cr = false;
  for (;;) {
    ssize_t n = ::read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) break;
    char* end = n > 0 ? strip_line_ends(buf, buf + n, in_cr) : nullptr;
    if (n < 0 || !write_all(out, buf, static_cast<std::size_t>(end - buf))) {
      int err = errno;
      ::close(out);
      errno = err;
      return -1;
    }
  }
  if (::lseek(out, 0, SEEK_SET) != 0) {
    ::close(out);
    return -1;
  }
  return out;
}

// True if the regular file fd has a CR or LF from its current offset on.
bool has_line_breaks(int fd) {
  char buf[64 * 1024];
  off_t at = ::lseek(fd, 0, SEEK_CUR);
  for (off_t pos = at < 0 ? 0 : at;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, pos);
    if (n <= 0) return n < 0;  // an error: let the copy report it
    if (std::memchr(buf, '\r', static_cast<std::size_t>(n)) || std::memchr(buf, '\n', static_cast<std::size_t>(n)))
      return true;
    pos += n;
  }
}

// curl's -d @FILE and @-: the content without its line ends (a CR cuts
// the rest of its line). A file that has none is streamed from disk as it
// is, anything else from a stripped copy on disk, so memory stays
// constant either way.
void add_stripped(http::RequestBody& body, int fd, const std::string& name, bool regular) {
  std::string why;
  if (regular && !has_line_breaks(fd)) {
    if (!body.add_fd(fd, &why)) throw SetupError(name + ": " + why);
    return;
  }
  int copy = stripped_copy(fd);
  if (copy < 0) throw SetupError(name + ": " + std::strerror(errno));
  bool ok = body.add_fd(copy, &why);
  ::close(copy);
  if (!ok) throw SetupError(name + ": " + why);
}

// -d and --data-binary: pieces joined with '&' (curl's rule); @FILE from
// disk, @- stdin (a pipe streamed chunked when it is the only piece and
// binary). -d drops the line ends of files and stdin, as curl does.
http::RequestBody data_body(const std::vector<DataItem>& items) {
  http::RequestBody body;
  std::string why;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string& item = items[i].text;
    const bool binary = items[i].binary;
    if (i > 0) body.add_bytes("&");
    if (item == "@-") {
      struct stat st{};
      bool regular = ::fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode);
      if (!binary) add_stripped(body, STDIN_FILENO, "stdin", regular);
      else if (regular && !body.add_fd(STDIN_FILENO, &why)) throw SetupError("reading stdin: " + why);
      else if (!regular && items.size() == 1) body.set_stream(STDIN_FILENO);
      else if (!regular) body.add_bytes(slurp_stdin());
    } else if (item.starts_with("@") && !binary) {
      int fd = ::open(item.c_str() + 1, O_RDONLY | O_CLOEXEC);
      if (fd < 0) throw SetupError(item.substr(1) + ": " + std::strerror(errno));
      struct stat st{};
      bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
      try {
        add_stripped(body, fd, item.substr(1), regular);
      } catch (...) {
        ::close(fd);
        throw;
      }
      ::close(fd);
    } else if (item.starts_with("@")) {
      if (!body.add_file(item.substr(1), &why)) throw SetupError(why);
    } else {
      body.add_bytes(item);
    }
  }
  return body;
}

// The -d and --data-binary values in command-line order.
std::vector<DataItem> data_items(const ClientFlags& f, const CLI::App& cmd) {
  std::vector<DataItem> items;
  std::size_t text = 0, binary = 0;
  for (const CLI::Option* opt : cmd.parse_order()) {
    if (opt == f.data_option && text < f.data.size()) items.push_back({f.data[text++], false});
    else if (opt == f.data_binary_option && binary < f.data_binary.size())
      items.push_back({f.data_binary[binary++], true});
  }
  return items;
}

// -F name=value, name=@FILE[;type=TYPE].
http::RequestBody form_body(const std::vector<std::string>& items, http::MultipartForm& form) {
  for (const std::string& item : items) {
    std::string::size_type eq = item.find('=');
    if (eq == std::string::npos || eq == 0) throw UsageError("-F: invalid field '" + item + "' (use name=value or name=@FILE)");
    std::string name = item.substr(0, eq), value = item.substr(eq + 1);
    if (!value.starts_with("@")) {
      form.add_field(name, value);
      continue;
    }
    std::string path = value.substr(1), type;
    if (std::string::size_type semi = path.rfind(";type="); semi != std::string::npos) {
      type = path.substr(semi + 6);
      path.resize(semi);
    }
    // Without ;type=, the type http serve would give the file (curl
    // also picks one from the extension).
    if (type.empty()) type = content_type_for(path);
    std::string why;
    if (!form.add_file(name, path, &why, type)) throw SetupError(why);
  }
  return form.finish();
}

http::ClientRequest build_request(const ClientFlags& f, const std::vector<DataItem>& data) {
  http::ClientRequest req;
  req.url = parse_url(f.url);
  req.method = !f.method.empty() ? f.method : f.post ? "POST" : f.head ? "HEAD" : "GET";
  if (!f.method.empty() && !is_token(f.method)) throw UsageError("-X: invalid method '" + f.method + "'");
  for (const std::string& h : f.headers) add_header(req, h);
  if (!data.empty() && !f.form.empty())
    throw UsageError("-d/--data (or --data-binary) and -F/--form cannot be used together");
  std::string type;
  if (!f.form.empty()) {
    http::MultipartForm form;
    req.body = form_body(f.form, form);
    type = (f.content_type.empty() ? "multipart/form-data" : f.content_type) + "; boundary=" + form.boundary();
  } else if (!data.empty()) {
    req.body = data_body(data);
    type = f.content_type.empty() ? "application/x-www-form-urlencoded" : f.content_type;
  } else {
    type = f.content_type;
  }
  if (!type.empty() && !req.headers.has("Content-Type") && !omitted(req, "Content-Type"))
    req.headers.add("Content-Type", type);
  return req;
}

// The engine's resolver with the system's resolv.conf and hosts file.
// ---- presenting the response ----------------------------------------------

std::string head_text(const http::ResponseHead& head) {
  std::string out = "HTTP/" + std::to_string(head.version_major) + "." + std::to_string(head.version_minor) + " " +
                    std::to_string(head.status) + (head.reason.empty() ? "" : " " + head.reason) + "\r\n";
  for (const auto& [name, value] : head.headers) out += name + ": " + value + "\r\n";
  return out + "\r\n";
}

std::string display_url(http::Uri url) {
  url.userinfo.clear();  // never print a password
  return url.to_string();
}

// Microsecond precision: on loopback a connect takes well under a
// millisecond, and 0 must keep meaning "did not happen".
double seconds(ev::Duration d) { return static_cast<double>(d.count()) / 1e6; }

int exit_code_for(http::ClientError e) {
  switch (e) {
    case http::ClientError::kOk: return kExitOk;
    case http::ClientError::kTimeout: return kExitTimeout;
    case http::ClientError::kDns: return kExitNotFound;
    case http::ClientError::kTls: return kExitTls;
    default: return kExitFailure;
  }
}

// ---- the transfer ---------------------------------------------------------

// A progress bar on stderr when it is a terminal and the body goes
// elsewhere: to -o FILE, or to a stdout redirected to a file or a pipe
// (as curl does); never with -q, nor when --json collects the body.
bool wants_progress(const Context& ctx, const ClientFlags& f) {
  if (ctx.out.quiet() || !::isatty(STDERR_FILENO)) return false;
  bool to_stdout = f.output.empty() || f.output == "-";
  if (!to_stdout) return true;
  return !ctx.out.json() && !::isatty(STDOUT_FILENO);
}

class Transfer {
 public:
  Transfer(const Context& ctx, const ClientFlags& f, ev::EventBase& base, http::ClientOptions opts)
      : ctx_(ctx), flags_(f), base_(base), client_(base, std::move(opts)),
        sink_(base, f.output == "-" ? "" : f.output, [this](int err) { sink_done(err); }),
        collect_(ctx.out.json() && f.output.empty()),
        progress_wanted_(wants_progress(ctx, f)) {}

  int run(http::ClientRequest req) {
    StopSignals stop(base_, [this](int signum) { stop_with(signum == SIGINT ? kExitInterrupted : kExitFailure); });
    http::Client::Handlers h;
    h.on_head = [this](const http::Uri& url, const http::ResponseHead& head, bool following) {
      on_head(url, head, following);
    };
    h.on_body = [this](ev::Buffer& body) { on_body(body); };
    h.on_complete = [this](const http::ClientResult& r) { on_complete(r); };
    h.on_trace = [this](http::Client::Trace kind, std::string_view text) { on_trace(kind, text); };
    client_.start(std::move(req), std::move(h));
    base_.loop(ev::EventBase::kLoopNoExitOnEmpty);
    return status_;
  }

 private:
  void stop_with(int status) {
    status_ = status;
    client_.cancel();
    if (progress_) progress_->finish(sink_.written());
    progress_.reset();
    base_.loopbreak();
  }

  void on_trace(http::Client::Trace kind, std::string_view text) const {
    if (!ctx_.out.verbose()) return;
    std::string s(text);
    if (kind == http::Client::Trace::kInfo) ctx_.out.debug("%s", s.c_str());
    else std::fprintf(stderr, "%s %s\n", kind == http::Client::Trace::kRequestHead ? ">" : "<", s.c_str());
  }

  void on_head(const http::Uri& url, const http::ResponseHead& head, bool following) {
    if (!following) {
      head_ = head;
      url_ = url;
    }
    if (!following && flags_.fail && head.status >= 400 && !ctx_.out.json()) {
      ctx_.out.error("%s: the server returned %d %s", display_url(url).c_str(), head.status, head.reason.c_str());
      return stop_with(kExitHttpFail);
    }
    if ((flags_.include || flags_.head) && !ctx_.out.json() && !sink_.write_text(head_text(head)))
      return write_failed(sink_.error());
    if (!following && progress_wanted_) {
      std::uint64_t length = 0;
      bool known = http::parse_content_length(head.headers.get("Content-Length"), length);
      progress_.emplace(known ? std::optional<std::uint64_t>(length) : std::nullopt);
    }
  }

  void on_body(ev::Buffer& body) {
    if (collect_) {
      std::size_t old = collected_.size(), n = body.length();
      collected_.resize(old + n);
      body.remove(collected_.data() + old, n);
      return;
    }
    if (!sink_.write(body)) return write_failed(sink_.error());
    if (progress_) progress_->update(sink_.written());
  }

  void on_complete(const http::ClientResult& r) {
    result_ = r;
    complete_ = true;
    if (r.error != http::ClientError::kOk) {
      ctx_.out.error("%s", r.message.c_str());
      if (ctx_.out.json()) print_json();
      return stop_with(exit_code_for(r.error));
    }
    if (!collect_) {
      bool ok = sink_.write(client_.body()) && (flags_.output.empty() || sink_.touch());
      if (!ok) return write_failed(sink_.error());
    }
    if (sink_.idle()) finish();
  }

  void sink_done(int err) {
    if (err) return write_failed(err);
    if (progress_) progress_->update(sink_.written());
    if (complete_ && sink_.idle()) finish();
  }

  // A reader that went away (`| head`) is no news to the user: exit 1
  // (an I/O error, CLI.md) without a message, as a shell command would.
  void write_failed(int err) {
    if (err == EPIPE) ctx_.out.debug("writing to %s: %s", sink_.name().c_str(), std::strerror(err));
    else ctx_.out.error("writing to %s: %s", sink_.name().c_str(), std::strerror(err));
    stop_with(kExitFailure);
  }

  void finish() {
    if (progress_) progress_->finish(sink_.written());
    progress_.reset();
    const http::Timings& t = result_.time;
    ctx_.out.debug("%d %s, %llu bytes; dns %.3fs connect %.3fs tls %.3fs ttfb %.3fs total %.3fs", result_.status,
                   head_.reason.c_str(), static_cast<unsigned long long>(result_.body_size), seconds(t.dns),
                   seconds(t.connect), seconds(t.tls), seconds(t.ttfb), seconds(t.total));
    if (ctx_.out.json()) print_json();
    bool failed = flags_.fail && result_.status >= 400;
    if (failed && ctx_.out.json())
      ctx_.out.error("%s: the server returned %d %s", display_url(url_).c_str(), result_.status, head_.reason.c_str());
    status_ = failed ? kExitHttpFail : kExitOk;
    base_.loopbreak();
  }

  void print_json() const;

  const Context& ctx_;
  const ClientFlags& flags_;
  ev::EventBase& base_;
  http::Client client_;
  BodySink sink_;
  bool collect_;  // --json without -o: the body goes into the document
  bool progress_wanted_;
  std::optional<ProgressBar> progress_;
  std::string collected_;
  http::ResponseHead head_;
  http::Uri url_;
  http::ClientResult result_;
  bool complete_ = false;
  int status_ = kExitOk;
};

void Transfer::print_json() const {
  // A repeated field joins with ", " (RFC 9110 5.3), except Set-Cookie,
  // whose values may hold commas: an array of strings, as Node's http does.
  Json headers = Json::object();
  for (const auto& [name, value] : head_.headers) {
    auto it = headers.find(name);
    if (ev::ascii_iequals(name, "Set-Cookie")) {
      if (it == headers.end()) headers[name] = Json::array({value});
      else it->push_back(value);
    } else if (it == headers.end()) {
      headers[name] = value;
    } else {
      *it = it->get<std::string>() + ", " + value;
    }
  }
  const http::Timings& t = result_.time;
  Json doc = {{"url", display_url(result_.url)},
              {"status", result_.status},
              {"reason", result_.status ? head_.reason : ""},
              {"http_version", result_.status ? std::to_string(head_.version_major) + "." +
                                                    std::to_string(head_.version_minor)
                                              : ""},
              {"headers", headers},
              {"size", result_.body_size},
              {"time", {{"dns", seconds(t.dns)},
                        {"connect", seconds(t.connect)},
                        {"tls", seconds(t.tls)},
                        {"ttfb", seconds(t.ttfb)},
                        {"total", seconds(t.total)}}}};
  if (collect_ && result_.error == http::ClientError::kOk) {
    put_text(doc, "body", collected_);
  }
  if (result_.error != http::ClientError::kOk) {
    doc["error"] = http::client_error_name(result_.error);
    doc["message"] = result_.message;
  }
  ctx_.out.json_line(doc);
}

int run_client(const Context& ctx, const ClientFlags& f, const CLI::App& cmd) {
  http::ClientRequest req;
  try {
    req = build_request(f, data_items(f, cmd));
  } catch (const SetupError& e) {
    ctx.out.error("%s", e.what());
    return kExitFailure;
  }
  int rc = kExitOk;
  auto base = ctx.make_base(&rc);
  if (!base) return rc;
  std::unique_ptr<ev::dns::Resolver> resolver;
  if ((!ev::parse_ip(req.url.host) && f.unix_socket.empty()) || f.location) {
    std::string why;
    resolver = ev::dns::Resolver::system(*base, &why);
    if (!resolver) ctx.out.debug("resolver: %s", why.c_str());
  }
  http::ClientOptions opts;
  if (!f.connect_timeout.empty()) opts.connect_timeout = ev::parse_duration(f.connect_timeout);
  if (!f.timeout.empty()) opts.total_timeout = ev::parse_duration(f.timeout);
  opts.retries = static_cast<int>(f.retries);
  // Real sites send dozens of Set-Cookie lines: any number of fields, in
  // a head of up to 300 KiB (curl's limit).
  opts.limits.max_header_size = 300 * 1024;
  opts.limits.max_header_count = opts.limits.max_header_size / 2;
  opts.follow_redirects = f.location;
  opts.max_redirects = static_cast<int>(f.max_redirs);
  opts.resolver = resolver.get();
  if (!f.unix_socket.empty()) {
    std::string why;
    opts.unix_socket = ev::SocketAddress::unix_path(f.unix_socket, &why);
    if (!opts.unix_socket) throw UsageError("--unix-socket: " + why);
  }
  opts.user_agent = std::string("evtool/") + ev::version();
  opts.tls = make_client_tls(ctx, f.tls, TlsChoice::kScheme, {"http/1.1"}, false, &rc);
  Transfer transfer(ctx, f, *base, std::move(opts));
  return transfer.run(std::move(req));
}

// ---- flags --------------------------------------------------------------

void add_common_flags(CLI::App* cmd, ClientFlags& f) {
  cmd->add_option("URL", f.url, "http:// or https:// URL")->required();
  cmd->add_option("-H,--header", f.headers, "Add a request header 'Name: value' (repeatable)")
      ->option_text("'NAME: VALUE'")->allow_extra_args(false);
  cmd->add_option("-o,--output", f.output, "Write the body to FILE instead of stdout (may be a FIFO)")
      ->option_text("FILE");
  cmd->add_flag("-i,--include", f.include, "Write the response head before the body");
  cmd->add_option("-X,--request", f.method, "Use METHOD instead of the default")->option_text("METHOD");
  cmd->add_flag("-L,--location", f.location, "Follow redirects");
  cmd->add_option("--max-redirs", f.max_redirs, "Follow at most N redirects (default 10)")
      ->check(CLI::Range(0L, 1000000L))->option_text("N");
  cmd->add_flag("-f,--fail", f.fail, "Exit 6 without writing the body when the status is >= 400");
  cmd->add_option("--timeout", f.timeout, "Give up the whole transfer after DUR (exit 4); each retry gets DUR again")->check(kPositiveDuration);
  cmd->add_option("--connect-timeout", f.connect_timeout, "Give up connecting to an address after DUR")
      ->check(kPositiveDuration);
  cmd->add_option("--unix-socket", f.unix_socket, "Connect to the Unix domain socket PATH (the URL gives Host and path)")
      ->option_text("PATH");
  cmd->add_option("--retries", f.retries, "Retry connect failures and timeouts N times, with backoff (default 0)")
      ->check(CLI::Range(0L, 1000L))->option_text("N");
  add_client_tls_flags(cmd, f.tls, TlsChoice::kScheme);
}

}  // namespace

void add_http_client_commands(CLI::App& http, Context& ctx) {
  auto get = std::make_shared<ClientFlags>();
  CLI::App* cmd = http.add_subcommand("get", "Fetch URL and write the body to stdout (curl-like)");
  add_common_flags(cmd, *get);
  cmd->add_flag("-I,--head", get->head, "Send HEAD and write only the response head");
  ctx.add_command(cmd, [&ctx, get, cmd] { return run_client(ctx, *get, *cmd); });

  auto post = std::make_shared<ClientFlags>();
  post->post = true;
  cmd = http.add_subcommand("post", "POST a body to URL and write the response body to stdout");
  add_common_flags(cmd, *post);
  post->data_option =
      cmd->add_option("-d,--data", post->data,
                      "Body STR; @FILE reads a file, @- stdin, without line ends as curl does (repeatable: joined by &)")
          ->option_text("STR")->allow_extra_args(false);
  post->data_binary_option = cmd->add_option("--data-binary", post->data_binary, "Body STR; @FILE and @- are sent byte for byte (repeatable)")
      ->option_text("STR")->allow_extra_args(false);
  cmd->add_option("-F,--form", post->form, "multipart/form-data field name=value or name=@FILE[;type=TYPE]")
      ->option_text("NAME=VALUE")->allow_extra_args(false);
  cmd->add_option("--content-type", post->content_type,
                  "Content-Type of the body (default application/x-www-form-urlencoded for -d)")
      ->option_text("TYPE");
  ctx.add_command(cmd, [&ctx, post, cmd] { return run_client(ctx, *post, *cmd); });
}

}  // namespace evtool
