// Zone (master) files, RFC 1035 section 5.1: physical lines are joined
// into logical ones (parentheses), then each is a directive or a record.
#include "engine/dns/zone_file.h"

#include <algorithm>

#include "engine/dns/detail/config_text.h"

namespace ev::dns {
namespace {

using detail::is_space;
using detail::next_word;
using detail::quoted;

// Reads physical lines, joins those inside parentheses into one logical
// line with comments removed, and turns each logical line into a record
// or a directive.
class ZoneParser {
 public:
  ZoneParser(std::string_view origin, std::uint32_t default_ttl, std::string_view file,
             std::vector<std::string>& errors, const RecordSink& sink)
      : origin_(qualify_name(origin.empty() ? "." : origin, "").value_or("")), ttl_(default_ttl), file_(file),
        errors_(errors), sink_(sink) {}
  void physical_line(std::string_view text, int number);
  void finish();

 private:
  void scan(std::string_view text);
  void logical_line();
  void directive(std::string_view rest);
  void record(std::string_view rest, bool blank_owner);
  void error(const std::string& what) { error_at(start_line_, what); }
  void error_at(int line, const std::string& what) {
    errors_.push_back(file_.empty() ? what : std::string(file_) + ":" + std::to_string(line) + ": " + what);
  }

  std::string origin_;
  std::uint32_t ttl_;
  std::string_view file_;
  std::vector<std::string>& errors_;
  const RecordSink& sink_;
  std::optional<std::string> owner_;  // the previous owner, for lines starting with white space
  std::string logical_;
  int start_line_ = 0, line_ = 0, depth_ = 0;
  bool bad_ = false;  // the logical line already has an error
};

void ZoneParser::physical_line(std::string_view text, int number) {
  line_ = number;
  if (depth_ == 0) {
    logical_.clear();
    start_line_ = number;
    bad_ = false;
  } else {
    logical_ += ' ';
  }
  scan(text);
  if (depth_ == 0) logical_line();
}

// Appends `text` to the logical line without its comment, parentheses
// turned into spaces; quotes and escapes protect ';' and parentheses.
void ZoneParser::scan(std::string_view text) {
  // Most lines have nothing to remove: copied whole (a plain loop, as
  // find_first_of calls memchr once per byte).
  auto special = [](char c) { return c == '\\' || c == '"' || c == ';' || c == '(' || c == ')'; };
  if (std::none_of(text.begin(), text.end(), special)) {
    logical_ += text;
    return;
  }
  bool in_quote = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\' && i + 1 < text.size()) {
      logical_ += c;
      logical_ += text[++i];
    } else if (in_quote || (c != ';' && c != '(' && c != ')')) {
      if (c == '"') in_quote = !in_quote;
      logical_ += c;
    } else if (c == ';') {
      break;
    } else if (c == '(') {
      ++depth_;
      logical_ += ' ';
    } else if (depth_ == 0) {
      if (!bad_) error_at(line_, "unbalanced ')'");
      bad_ = true;
    } else {
      --depth_;
      logical_ += ' ';
    }
  }
  if (in_quote && !bad_) error_at(line_, "unterminated quoted string");
  bad_ = bad_ || in_quote;
}

void ZoneParser::finish() {
  if (depth_ == 0) return;
  if (!bad_) error("unbalanced '(' (missing ')')");
  depth_ = 0;
}

void ZoneParser::logical_line() {
  std::string_view rest = logical_;
  bool blank_owner = !rest.empty() && is_space(rest[0]);
  std::string_view probe = rest;
  if (bad_ || next_word(probe).empty()) return;
  if (!blank_owner && rest[0] == '$')
    directive(rest);
  else
    record(rest, blank_owner);
}

void ZoneParser::directive(std::string_view rest) {
  std::string_view name = next_word(rest), value = next_word(rest);
  if (name == "$ORIGIN") {
    auto origin = value.empty() ? std::nullopt : qualify_name(value, origin_);
    if (!origin) return error("bad $ORIGIN " + quoted(value));
    origin_ = std::move(*origin);
  } else if (name == "$TTL") {
    auto ttl = parse_ttl(value);
    if (!ttl) return error("bad $TTL " + quoted(value));
    ttl_ = *ttl;
  } else {
    error("unsupported directive " + quoted(name));
  }
}

void ZoneParser::record(std::string_view rest, bool blank_owner) {
  if (!blank_owner) {
    std::string_view word = next_word(rest);
    owner_ = qualify_name(word, origin_);
    if (!owner_) return error("bad owner name " + quoted(word));
  } else if (!owner_) {
    return error("no previous owner for a line starting with white space");
  }
  std::optional<std::uint32_t> ttl;
  std::optional<std::uint16_t> cls;
  std::string_view word = next_word(rest);
  for (int i = 0; i < 2 && !word.empty(); ++i) {  // [TTL] [CLASS] in either order
    if (!ttl && (ttl = parse_ttl(word))) word = next_word(rest);
    else if (!cls && (cls = class_from_name(word))) word = next_word(rest);
  }
  if (cls && (*cls == kClassANY || *cls == 254)) return error("class " + class_name(*cls) + " is for queries only");
  auto type = word.empty() ? std::nullopt : type_from_name(word);
  if (!type) return error(word.empty() ? "missing type" : "unknown type " + quoted(word));
  std::string why;
  auto rr = make_record(*owner_ + ".", *type, ttl.value_or(ttl_), rest, origin_, &why);
  if (!rr) return error(why);
  rr->rclass = cls.value_or(kClassIN);
  sink_(*rr);
}

}  // namespace

std::vector<std::string> parse_zone(std::string_view text, std::string_view origin, std::uint32_t default_ttl,
                                    std::string_view file_name, const RecordSink& sink) {
  std::vector<std::string> errors;
  if (!valid_name(origin)) errors.push_back(std::string(file_name) + ": bad origin " + quoted(origin));
  ZoneParser parser(origin, default_ttl, file_name, errors, sink);
  detail::for_each_line(text, [&](std::string_view line, int number) { parser.physical_line(line, number); });
  parser.finish();
  return errors;
}

ZoneParseResult parse_zone(std::string_view text, std::string_view origin, std::uint32_t default_ttl,
                           std::string_view file_name) {
  ZoneParseResult result;
  result.errors = parse_zone(text, origin, default_ttl, file_name,
                             [&](ResourceRecord& rr) { result.records.push_back(std::move(rr)); });
  return result;
}

std::optional<std::vector<std::string>> load_zone(const std::string& path, std::string_view origin,
                                                  std::uint32_t default_ttl, const RecordSink& sink, std::string* why) {
  auto text = detail::read_file(path, kMaxZoneFile, why);
  if (!text) return std::nullopt;
  return parse_zone(*text, origin, default_ttl, path, sink);
}

std::optional<ZoneParseResult> load_zone(const std::string& path, std::string_view origin, std::uint32_t default_ttl,
                                         std::string* why) {
  ZoneParseResult result;
  auto errors = load_zone(path, origin, default_ttl, [&](ResourceRecord& rr) { result.records.push_back(std::move(rr)); }, why);
  if (!errors) return std::nullopt;
  result.errors = std::move(*errors);
  return result;
}

std::optional<ResourceRecord> parse_record_line(std::string_view line, std::uint32_t default_ttl, std::string* why) {
  while (!line.empty() && is_space(line.front())) line.remove_prefix(1);
  std::vector<std::string> errors;
  std::vector<ResourceRecord> records;
  RecordSink keep = [&](ResourceRecord& rr) { records.push_back(std::move(rr)); };
  ZoneParser parser("", default_ttl, "", errors, keep);
  parser.physical_line(line, 1);
  parser.finish();
  std::string problem = !errors.empty()        ? errors.front()
                        : records.size() != 1 ? "expected 'NAME [TTL] [IN] TYPE DATA'"
                                              : "";
  if (problem.empty()) return std::move(records.front());
  if (why) *why = std::move(problem);
  return std::nullopt;
}

}  // namespace ev::dns
