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

// A field value without leading and trailing spaces and tabs (OWS).
std::string_view trim_ows(std::string_view s);

// Calls fn(item) for each non-empty item of a comma-separated field value
// (Connection, Transfer-Encoding, If-None-Match), trimmed; stops as soon
// as fn returns true, and says whether it did.
template <typename Fn>
bool for_each_list_item(std::string_view list, Fn fn) {
  while (true) {
    std::size_t comma = list.find(',');
    std::string_view item = trim_ows(list.substr(0, comma));
    if (!item.empty() && fn(item)) return true;
    if (comma == std::string_view::npos) return false;
    list.remove_prefix(comma + 1);
  }
}

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
