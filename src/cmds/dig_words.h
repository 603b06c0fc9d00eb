// dig's habits on the `dns resolve` command line. Among the positional
// words: `@SERVER` (an IP, optionally with :PORT, as --server), a record
// type (`MX`, `aaaa`: as -t) or the class `IN`, and `+options`: +short,
// +tcp/+vc, +notcp/+novc, +search/+nosearch, +time=SECONDS, +tries=N,
// +retry=N, +noall and +answer (the answer section is all we print:
// +noall alone prints nothing), and the display toggles that only hide
// sections we never print (+nocmd, +nocomments, +nostats, +noquestion,
// +noauthority, +noadditional). A word starting with `+` or `@` that is
// not understood is a usage error, never a name.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace evtool {

struct DigWords {
  std::vector<std::string> names;    // the words left: names to look up
  std::vector<std::string> servers;  // @SERVER, in order
  std::string type;                  // the last type word
  bool short_output = false;
  bool print_answers = true;  // false after +noall until +answer
  std::optional<bool> tcp, search;
  std::optional<long> timeout_seconds, tries;
};

// Sorts `words` into names and dig's forms; throws UsageError for a
// malformed or unknown `+option` or `@SERVER`, or a class other than IN.
DigWords parse_dig_words(const std::vector<std::string>& words);

}  // namespace evtool
