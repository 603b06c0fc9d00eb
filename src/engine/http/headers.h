// HTTP header fields: an ordered list of (name, value) pairs with
// case-insensitive lookup, as they appear on the wire. Small on purpose: a
// request has a handful of fields and a linear scan beats hashing them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ev::http {

bool iequals(std::string_view a, std::string_view b);

class Headers {
 public:
  using Field = std::pair<std::string, std::string>;

  void add(std::string_view name, std::string_view value) { fields_.emplace_back(name, value); }
  // Replaces every field of that name with one.
  void set(std::string_view name, std::string_view value);
  void remove(std::string_view name);
  void clear() { fields_.clear(); }
  // The first value of that name, or nullptr.
  const std::string* find(std::string_view name) const;
  std::string_view get(std::string_view name, std::string_view fallback = {}) const;
  bool has(std::string_view name) const { return find(name) != nullptr; }
  // Whether a comma-separated field (Connection, Transfer-Encoding) lists
  // `token`, case-insensitively.
  bool has_token(std::string_view name, std::string_view token) const;
  std::size_t count(std::string_view name) const;

  std::size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  auto begin() const { return fields_.begin(); }
  auto end() const { return fields_.end(); }

 private:
  std::vector<Field> fields_;
};

// Text made safe inside HTML elements and quoted attributes (< > & " ').
std::string html_escape(std::string_view text);

// The standard reason phrase ("Not Found"), or "Unknown".
const char* reason_phrase(int status);

}  // namespace ev::http
