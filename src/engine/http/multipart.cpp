#include "engine/http/multipart.h"

#include <cstdint>

#include "engine/util/random.h"

namespace ev::http {
namespace {

// A quoted-string parameter as HTML's form encoding writes it: quote, CR
// and LF percent-encoded, everything else as is.
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += "%22";
    else if (c == '\r') out += "%0D";
    else if (c == '\n') out += "%0A";
    else out += c;
  }
  return out + '"';
}

}  // namespace

MultipartForm::MultipartForm() {
  static const char kHex[] = "0123456789abcdef";
  std::uint8_t bytes[16];
  secure_random(bytes, sizeof bytes);
  boundary_ = "------------------------evtool";
  for (std::uint8_t b : bytes) {
    boundary_ += kHex[b >> 4];
    boundary_ += kHex[b & 15];
  }
}

void MultipartForm::part_header(std::string_view name, const std::string* filename, std::string_view content_type) {
  std::string h = "--" + boundary_ + "\r\nContent-Disposition: form-data; name=" + quote(name);
  if (filename) h += "; filename=" + quote(*filename);
  h += "\r\n";
  if (!content_type.empty()) h += "Content-Type: " + std::string(content_type) + "\r\n";
  h += "\r\n";
  body_.add_bytes(h);
}

void MultipartForm::add_field(std::string_view name, std::string_view value) {
  part_header(name, nullptr, {});
  body_.add_bytes(value);
  body_.add_bytes("\r\n");
}

bool MultipartForm::add_file(std::string_view name, const std::string& path, std::string* why,
                             std::string_view content_type) {
  RequestBody file;
  if (!file.add_file(path, why)) return false;
  std::string::size_type slash = path.find_last_of('/');
  std::string filename = slash == std::string::npos ? path : path.substr(slash + 1);
  part_header(name, &filename, content_type.empty() ? "application/octet-stream" : content_type);
  body_.append(std::move(file));
  body_.add_bytes("\r\n");
  return true;
}

std::string MultipartForm::content_type() const { return "multipart/form-data; boundary=" + boundary_; }

RequestBody MultipartForm::finish() {
  body_.add_bytes("--" + boundary_ + "--\r\n");
  return std::move(body_);
}

}  // namespace ev::http
