// libFuzzer target for Buffer: the input is a little program of buffer
// operations on two buffers, each checked against a std::string model
// (content, length, lines, search results). Operations add data in ways
// that make many segment boundaries, so lines and matches straddle them.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "engine/io/buffer.h"

namespace {

constexpr int kOps = 20;
constexpr int kSwap = kOps - 1;

// Reads the program: each call takes bytes off the front, 0 once it ends.
struct Input {
  const uint8_t* p;
  std::size_t n;
  uint8_t byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  std::size_t size() { return static_cast<std::size_t>(byte()) | static_cast<std::size_t>(byte()) << 8; }
  std::string_view bytes(std::size_t len) {
    len = std::min(len, n);
    std::string_view out(reinterpret_cast<const char*>(p), len);
    p += len;
    n -= len;
    return out;
  }
};

void check(bool ok) {
  if (!ok) std::abort();
}

struct Side {
  ev::Buffer buf;
  std::string model;
};

// What readln must return for `style`, and how much it consumes.
bool model_line(const std::string& s, ev::EolStyle style, std::string& line, std::size_t& used) {
  std::size_t pos = std::string::npos;
  std::size_t eol = 1;
  switch (style) {
    case ev::EolStyle::Lf:
      pos = s.find('\n');
      break;
    case ev::EolStyle::Nul:
      pos = s.find('\0');
      break;
    case ev::EolStyle::CrlfStrict:
      pos = s.find("\r\n");
      eol = 2;
      break;
    case ev::EolStyle::Crlf:
      pos = s.find('\n');
      if (pos != std::string::npos && pos > 0 && s[pos - 1] == '\r') {
        --pos;
        eol = 2;
      }
      break;
    case ev::EolStyle::Any:
      pos = s.find_first_of("\r\n");
      if (pos != std::string::npos) {
        std::size_t end = s.find_first_not_of("\r\n", pos);
        eol = (end == std::string::npos ? s.size() : end) - pos;
      }
      break;
  }
  if (pos == std::string::npos) return false;
  line = s.substr(0, pos);
  used = pos + eol;
  return true;
}

ev::BufferPtr ptr_at(const ev::Buffer& buf, std::size_t pos) {
  ev::BufferPtr p;
  // Half the time by Set, half by Set then Add, to exercise both walks.
  if (pos % 2 == 0 || pos == 0) {
    check(buf.ptr_set(p, pos, ev::PtrHow::Set) == 0);
  } else {
    check(buf.ptr_set(p, pos / 2, ev::PtrHow::Set) == 0);
    check(buf.ptr_set(p, pos - pos / 2, ev::PtrHow::Add) == 0);
  }
  check(p.pos == static_cast<ssize_t>(pos));
  return p;
}

void run_op(Input& in, Side& a, Side& b) {
  ev::Buffer& buf = a.buf;
  std::string& m = a.model;
  switch (in.byte() % kOps) {
    case 0: {  // add
      auto data = in.bytes(in.byte());
      check(buf.add(data.data(), data.size()) == 0);
      m += data;
      break;
    }
    case 1: {  // add as a segment of its own
      auto data = in.bytes(in.byte() % 16);
      ev::Buffer one;
      one.add(data.data(), data.size());
      check(buf.add_buffer(one) == 0 && one.empty());
      m += data;
      break;
    }
    case 2: {  // add_reference (the input outlives the buffers)
      auto data = in.bytes(in.byte() % 32);
      check(buf.add_reference(data.data(), data.size(), nullptr, nullptr) == 0);
      m += data;
      break;
    }
    case 3: {  // prepend
      auto data = in.bytes(in.byte());
      check(buf.prepend(data.data(), data.size()) == 0);
      m.insert(0, data);
      break;
    }
    case 4: {  // drain
      std::size_t n = in.size();
      check(buf.drain(n) == 0);
      m.erase(0, std::min(n, m.size()));
      break;
    }
    case 5: {  // readln
      auto style = static_cast<ev::EolStyle>(in.byte() % 5);
      std::string line;
      std::size_t used = 0;
      bool expect = model_line(m, style, line, used);
      auto got = buf.readln(style);
      check(got.has_value() == expect);
      if (expect) {
        check(*got == line);
        m.erase(0, used);
      }
      break;
    }
    case 6: {  // search from a start position
      auto what = in.bytes(in.byte() % 6);
      std::size_t start = m.empty() ? 0 : in.size() % (m.size() + 1);
      ev::BufferPtr from = ptr_at(buf, start);
      ev::BufferPtr found = buf.search(what, &from);
      std::size_t want = m.find(what, start);
      check(want == std::string::npos ? !found.valid() : found.pos == static_cast<ssize_t>(want));
      break;
    }
    case 7: {  // search_range
      auto what = in.bytes(in.byte() % 4);
      std::size_t end = m.empty() ? 0 : in.size() % (m.size() + 1);
      ev::BufferPtr until = ptr_at(buf, end);
      ev::BufferPtr found = buf.search_range(what, nullptr, &until);
      std::size_t want = m.substr(0, end).find(what);
      check(want == std::string::npos ? !found.valid() : found.pos == static_cast<ssize_t>(want));
      break;
    }
    case 8: {  // pullup
      std::size_t n = in.size() % (m.size() + 2);
      unsigned char* p = buf.pullup(static_cast<ssize_t>(n));
      if (n == 0 || n > m.size()) {
        check(p == nullptr);
      } else {
        check(p && std::memcmp(p, m.data(), n) == 0);
      }
      break;
    }
    case 9: {  // remove_buffer a -> b
      std::size_t n = in.size();
      ssize_t moved = buf.remove_buffer(b.buf, n);
      check(moved == static_cast<ssize_t>(std::min(n, m.size())));
      b.model += m.substr(0, static_cast<std::size_t>(moved));
      m.erase(0, static_cast<std::size_t>(moved));
      break;
    }
    case 10: {  // add_buffer / prepend_buffer b -> a
      bool front = in.byte() & 1;
      check((front ? buf.prepend_buffer(b.buf) : buf.add_buffer(b.buf)) == 0);
      m = front ? b.model + m : m + b.model;
      b.model.clear();
      break;
    }
    case 11: {  // reserve / commit, one or two vectors
      std::size_t size = in.size() % 5000;
      iovec v[2];
      int n = buf.reserve_space(size, v, 1 + (in.byte() & 1));
      check(n >= 1 && n <= 2);
      std::size_t left = size;
      for (int i = 0; i < n; ++i) {
        auto data = in.bytes(std::min(left, v[i].iov_len));
        std::memcpy(v[i].iov_base, data.data(), data.size());
        v[i].iov_len = data.size();
        left -= data.size();
        m += data;
      }
      check(buf.commit_space(v, n) == 0);
      break;
    }
    case 12: {  // copyout_from
      std::size_t start = m.empty() ? 0 : in.size() % (m.size() + 1);
      std::size_t len = in.size();
      std::string out(std::min(len, m.size() - start), '\0');
      check(buf.copyout_from(ptr_at(buf, start), out.data(), len) == static_cast<ssize_t>(out.size()));
      check(out == m.substr(start, out.size()));
      break;
    }
    case 13: {  // search_eol
      auto style = static_cast<ev::EolStyle>(in.byte() % 5);
      std::size_t len = 0;
      ev::BufferPtr eol = buf.search_eol(nullptr, &len, style);
      std::string line;
      std::size_t used = 0;
      if (model_line(m, style, line, used)) {
        check(eol.pos == static_cast<ssize_t>(line.size()) && len == used - line.size());
      } else {
        check(!eol.valid());
      }
      break;
    }
    case 14: {  // peek: the iovecs hold the data in order
      iovec v[4];
      int n = buf.peek(-1, nullptr, v, 4);
      std::size_t at = 0;
      for (int i = 0; i < n; ++i) {
        check(v[i].iov_len > 0 && std::memcmp(v[i].iov_base, m.data() + at, v[i].iov_len) == 0);
        at += v[i].iov_len;
      }
      break;
    }
    case 15: {  // remove
      std::string out(in.size() % 300, '\0');
      ssize_t got = buf.remove(out.data(), out.size());
      check(got == static_cast<ssize_t>(std::min(out.size(), m.size())));
      check(out.compare(0, static_cast<std::size_t>(got), m, 0, static_cast<std::size_t>(got)) == 0);
      m.erase(0, static_cast<std::size_t>(got));
      break;
    }
    case 16: {  // add_printf, expand
      auto data = in.bytes(in.byte());
      check(buf.expand(in.size()) == 0);
      check(buf.add_printf("%.*s|", static_cast<int>(data.size()), data.data()) >= 0);
      m += std::string(data.data(), strnlen(data.data(), data.size()));
      m += '|';
      break;
    }
    case 17: {  // add_file (a memfd is a regular file), read back with pread
      auto data = in.bytes(in.byte());
      int fd = ::memfd_create("buffer_fuzz", MFD_CLOEXEC);
      check(fd >= 0 && ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()));
      std::size_t skip = data.empty() ? 0 : in.byte() % data.size();
      check(buf.add_file(fd, static_cast<off_t>(skip), -1) == 0);
      m += data.substr(skip);
      break;
    }
    case 18: {  // write to /dev/null: writev, or sendfile for file ranges
      static const int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
      std::size_t n = in.size();
      ssize_t done = buf.write(devnull, static_cast<ssize_t>(n));
      check(done == static_cast<ssize_t>(std::min(n, m.size())));
      m.erase(0, static_cast<std::size_t>(done));
      break;
    }
    default:  // kSwap: swapping the buffers' roles is done by the caller
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  Input in{data, size};
  Side x;
  Side y;
  Side* a = &x;
  Side* b = &y;
  while (in.n > 0) {
    if (in.p[0] % kOps == kSwap) {  // swap by pointer: Buffers do not move
      in.byte();
      std::swap(a, b);
      continue;
    }
    run_op(in, *a, *b);
    check(a->buf.length() == a->model.size() && b->buf.length() == b->model.size());
    check(a->buf.to_string() == a->model && b->buf.to_string() == b->model);
  }
  return 0;
}
