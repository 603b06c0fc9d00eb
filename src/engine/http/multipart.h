// multipart/form-data bodies (RFC 7578), as browsers and curl -F send
// them: text fields and file fields, the files streamed from disk.
#pragma once

#include <string>
#include <string_view>

#include "engine/http/request_body.h"

namespace ev::http {

class MultipartForm {
 public:
  // A random boundary that no sane content contains.
  MultipartForm();

  void add_field(std::string_view name, std::string_view value);
  // A file part: filename is the path's last component; Content-Type is
  // `content_type`, or application/octet-stream. False with `why` when the
  // file cannot be opened.
  bool add_file(std::string_view name, const std::string& path, std::string* why,
                std::string_view content_type = {});

  // "multipart/form-data; boundary=..."
  std::string content_type() const;
  // The body: every part, then the closing delimiter. Leaves the form empty.
  RequestBody finish();

  const std::string& boundary() const { return boundary_; }

 private:
  void part_header(std::string_view name, const std::string* filename, std::string_view content_type);
  std::string boundary_;
  RequestBody body_;
};

}  // namespace ev::http
