"""`evtool backends [--bench]` and the global rules of CLI.md.

Backend choice (--backend, --avoid, --require and the EVENT_* environment),
output (text table, one JSON document), exit codes (0, 1 for a backend that
is known but unusable or missing features, 2 for usage errors), global
options before or after the command, -q / -v / --version / --help, and the
dispatch benchmark with small parameters.
"""

from __future__ import annotations

import json
import re
import resource
import unittest

import evtool_test as et

METHODS = ["epoll", "poll", "select"]
FEATURES = {"epoll": {"ET", "O1"}, "poll": {"FDS"}, "select": {"FDS"}}
# No backend set in any EVENT_* variable, whatever the caller's environment.
CLEAN_ENV = {"EVENT_NOEPOLL": None, "EVENT_NOPOLL": None, "EVENT_NOSELECT": None,
             "EVENT_SHOW_METHOD": None}
NO_EPOLL = dict(CLEAN_ENV, EVENT_NOEPOLL="1")
NO_EPOLL_POLL = dict(CLEAN_ENV, EVENT_NOEPOLL="1", EVENT_NOPOLL="1")
NO_BACKEND = dict(NO_EPOLL_POLL, EVENT_NOSELECT="1")
SMALL_BENCH = ["--bench", "--fds", "50", "--active", "10", "--writes", "100", "--rounds", "3"]


def evtool(args, env=None, timeout=30):
    return et.run(args, env=dict(CLEAN_ENV, **(env or {})), timeout=timeout)


class Case(unittest.TestCase):
    def assertExit(self, result, code, msg=""):
        self.assertEqual(result.returncode, code,
                         f"{msg}\n$ {' '.join(result.args)}\nstdout: {result.stdout!r}\nstderr: {result.stderr!r}")

    def json_doc(self, result):
        """The one JSON document on stdout."""
        try:
            return json.loads(result.stdout)
        except ValueError as e:
            self.fail(f"stdout is not one JSON document ({e}): {result.stdout!r}")

    def backends_json(self, args=(), env=None, code=0):
        result = evtool(["backends", "--json", *args], env=env)
        self.assertExit(result, code)
        return self.json_doc(result)

    def assertUsageError(self, args, *names, env=None):
        """Exit 2 with a message on stderr naming each of `names`."""
        result = evtool(args, env=env)
        self.assertExit(result, 2)
        self.assertEqual(result.stdout, "", "a usage error prints no data")
        for name in names:
            self.assertIn(name, result.stderr, f"the message names {name!r}")
        return result


# -- the text table -------------------------------------------------------

def parse_table(stdout: str) -> tuple[dict[str, str], str | None]:
    """(name -> row text, the name in the `default:` line) of `backends`."""
    rows = {}
    default = None
    for line in stdout.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] in METHODS:
            if words[0] in rows:
                raise AssertionError(f"two rows for {words[0]}: {stdout!r}")
            rows[words[0]] = line
        elif words[0] == "default:":
            default = words[1] if len(words) > 1 else None
    return rows, default


class BackendsTable(Case):
    def table(self, args=(), env=None, code=0):
        result = evtool(["backends", *args], env=env)
        self.assertExit(result, code)
        rows, default = parse_table(result.stdout)
        self.assertEqual(sorted(rows), sorted(METHODS), "one row per compiled-in backend")
        return rows, default, result

    def marked(self, rows):
        """The backends whose row carries the default mark (a trailing *)."""
        return [name for name, line in rows.items() if line.rstrip().endswith("*")]

    def available(self, row: str) -> str:
        return row.split()[1]

    def test_one_row_per_backend_with_features_and_default(self):
        rows, default, result = self.table()
        self.assertEqual(default, "epoll")
        self.assertEqual(self.marked(rows), ["epoll"])
        for name in METHODS:
            self.assertEqual(self.available(rows[name]), "yes", rows[name])
            for feature in FEATURES[name]:
                self.assertRegex(rows[name], rf"\b{feature}\b")
            for feature in {"ET", "O1", "FDS"} - FEATURES[name]:
                self.assertNotRegex(rows[name], rf"\b{feature}\b")
        self.assertEqual(result.stderr, "")

    def test_noepoll_row_says_no_and_why(self):
        rows, default, _ = self.table(env=NO_EPOLL)
        self.assertRegex(rows["epoll"], r"\bno\b.*EVENT_NOEPOLL")
        self.assertEqual(self.available(rows["poll"]), "yes")
        self.assertEqual(default, "poll")
        self.assertEqual(self.marked(rows), ["poll"])

    def test_any_value_disables(self):
        # "(any value)": even an empty one, as libevent's getenv check does.
        for value in ["", "0"]:
            rows, default, _ = self.table(env=dict(NO_EPOLL, EVENT_NOEPOLL=value))
            self.assertRegex(rows["epoll"], r"\bno\b", f"EVENT_NOEPOLL={value!r}")
            self.assertEqual(default, "poll")

    def test_avoid_row_says_why(self):
        rows, default, _ = self.table(["--avoid", "epoll"])
        self.assertRegex(rows["epoll"], r"\bno\b.*avoid")
        self.assertEqual(default, "poll")

    def test_require_marks_the_pick(self):
        rows, default, _ = self.table(["--require", "FDS"])
        self.assertEqual(default, "poll")
        self.assertEqual(self.marked(rows), ["poll"])
        self.assertEqual(self.available(rows["epoll"]), "yes", "--require only changes the pick")

    def test_no_default_when_nothing_fits(self):
        rows, default, result = self.table(["--require", "ET", "--require", "FDS"], code=1)
        self.assertIn(default, (None, "none"))
        self.assertEqual(self.marked(rows), [])
        self.assertRegex(result.stderr, r"\b(ET|FDS)\b")

    def test_unusable_backend_prints_no_table(self):
        """Issue 14, item 16: `--require ET --backend poll` fails naming the
        feature, without printing the table first."""
        result = evtool(["--require", "ET", "--backend", "poll", "backends"])
        self.assertExit(result, 1)
        self.assertEqual(result.stdout, "")
        self.assertIn("ET", result.stderr)

    def test_no_trailing_spaces(self):
        result = evtool(["backends"])
        self.assertExit(result, 0)
        for line in result.stdout.splitlines():
            self.assertEqual(line, line.rstrip(), repr(line))

    def test_quiet_keeps_data(self):
        rows, default, result = self.table(["-q"])
        self.assertEqual(default, "epoll")
        self.assertEqual(result.stderr, "")


class BackendsJson(Case):
    def test_shape(self):
        doc = self.backends_json()
        self.assertEqual(list(doc)[:3], ["version", "default", "methods"])
        self.assertIsInstance(doc["version"], str)
        self.assertRegex(doc["version"], r"^\d+\.\d+")
        self.assertEqual(doc["default"], "epoll")
        self.assertEqual([m["name"] for m in doc["methods"]], METHODS, "preference order")
        for m in doc["methods"]:
            self.assertIs(m["available"], True, m)
            self.assertIsInstance(m["features"], list)
            self.assertEqual(set(m["features"]), FEATURES[m["name"]], m)
            self.assertEqual(len(m["features"]), len(set(m["features"])))

    def test_exactly_one_document(self):
        result = evtool(["backends", "--json"])
        self.assertExit(result, 0)
        self.assertEqual(result.stdout.count("\n"), 1, "one document, one line")
        self.json_doc(result)
        self.assertEqual(result.stderr, "")

    def test_json_before_and_after_the_command(self):
        before = evtool(["--json", "backends"])
        after = evtool(["backends", "--json"])
        self.assertExit(before, 0)
        self.assertExit(after, 0)
        self.assertEqual(self.json_doc(before), self.json_doc(after))

    def test_noepoll(self):
        doc = self.backends_json(env=NO_EPOLL)
        self.assertEqual(doc["default"], "poll")
        methods = {m["name"]: m for m in doc["methods"]}
        self.assertIs(methods["epoll"]["available"], False)
        self.assertIs(methods["poll"]["available"], True)
        self.assertIs(methods["select"]["available"], True)
        self.assertEqual(set(methods["epoll"]["features"]), {"ET", "O1"},
                         "features are listed even when unavailable")

    def test_noepoll_nopoll_gives_select(self):
        doc = self.backends_json(env=NO_EPOLL_POLL)
        self.assertEqual(doc["default"], "select")
        available = {m["name"]: m["available"] for m in doc["methods"]}
        self.assertEqual(available, {"epoll": False, "poll": False, "select": True})

    def test_noselect(self):
        doc = self.backends_json(env={"EVENT_NOSELECT": "yes"})
        self.assertEqual(doc["default"], "epoll")
        available = {m["name"]: m["available"] for m in doc["methods"]}
        self.assertEqual(available, {"epoll": True, "poll": True, "select": False})

    def test_no_backend_at_all(self):
        result = evtool(["backends", "--json"], env=NO_BACKEND)
        self.assertExit(result, 1)
        self.assertIn(self.json_doc(result)["default"], (None, ""))
        self.assertNotEqual(result.stderr, "")

    def test_avoid(self):
        self.assertEqual(self.backends_json(["--avoid", "epoll"])["default"], "poll")
        self.assertEqual(self.backends_json(["--avoid", "poll"])["default"], "epoll")

    def test_avoid_is_repeatable(self):
        doc = self.backends_json(["--avoid", "epoll", "--avoid", "poll"])
        self.assertEqual(doc["default"], "select")
        available = {m["name"]: m["available"] for m in doc["methods"]}
        self.assertEqual(available, {"epoll": False, "poll": False, "select": True})

    def test_avoid_before_and_after_the_command_accumulate(self):
        result = evtool(["--avoid", "epoll", "backends", "--avoid", "poll", "--json"])
        self.assertExit(result, 0)
        self.assertEqual(self.json_doc(result)["default"], "select")

    def test_avoid_with_environment(self):
        doc = self.backends_json(["--avoid", "select"], env=NO_EPOLL)
        self.assertEqual(doc["default"], "poll")
        doc = self.backends_json(["--avoid", "poll"], env=NO_EPOLL)
        self.assertEqual(doc["default"], "select")

    def test_require(self):
        self.assertEqual(self.backends_json(["--require", "FDS"])["default"], "poll")
        self.assertEqual(self.backends_json(["--require", "ET"])["default"], "epoll")
        self.assertEqual(self.backends_json(["--require", "O1"])["default"], "epoll")
        self.assertEqual(self.backends_json(["--require", "ET", "--require", "O1"])["default"], "epoll")
        self.assertEqual(self.backends_json(["--require", "FDS", "--avoid", "poll"])["default"], "select")

    def test_require_before_the_command(self):
        result = evtool(["--require", "FDS", "--json", "backends"])
        self.assertExit(result, 0)
        self.assertEqual(self.json_doc(result)["default"], "poll")

    def test_backend_picks(self):
        for name in METHODS:
            self.assertEqual(self.backends_json(["--backend", name])["default"], name)
        result = evtool(["--backend", "select", "backends", "--json"])
        self.assertExit(result, 0)
        self.assertEqual(self.json_doc(result)["default"], "select")


class BackendChoiceErrors(Case):
    def test_require_no_backend_has_all(self):
        result = evtool(["backends", "--require", "ET", "--require", "FDS"])
        self.assertExit(result, 1)
        self.assertRegex(result.stderr, r"\b(ET|FDS)\b", "names the missing feature")

    def test_require_with_environment(self):
        result = evtool(["backends", "--require", "ET"], env=NO_EPOLL)
        self.assertExit(result, 1)
        self.assertRegex(result.stderr, r"\bET\b")

    def test_backend_lacks_required_feature(self):
        for args in (["--backend", "select", "--require", "ET", "backends"],
                     ["backends", "--backend", "select", "--require", "ET"],
                     ["--backend", "select", "backends", "--require", "ET"]):
            with self.subTest(args=args):
                result = evtool(args)
                self.assertExit(result, 1)
                self.assertRegex(result.stderr, r"\bET\b", "names the missing feature")
        result = evtool(["--backend", "epoll", "--require", "FDS", "backends"])
        self.assertExit(result, 1)
        self.assertRegex(result.stderr, r"\bFDS\b")

    def test_backend_with_its_feature(self):
        self.assertEqual(self.backends_json(["--backend", "poll", "--require", "FDS"])["default"], "poll")

    def test_unknown_backend_is_usage_error(self):
        self.assertUsageError(["--backend", "nosuch", "backends"], "nosuch")
        self.assertUsageError(["backends", "--backend", "nosuch"], "nosuch")
        self.assertUsageError(["--backend", "nosuch", "timer", "--after", "10ms"], "nosuch")

    def test_unusable_backend_exits_1(self):
        result = evtool(["--backend", "epoll", "backends"], env=NO_EPOLL)
        self.assertExit(result, 1)
        self.assertIn("epoll", result.stderr)
        result = evtool(["--backend", "epoll", "timer", "--after", "10ms"], env=NO_EPOLL)
        self.assertExit(result, 1)
        self.assertEqual(result.stdout, "", "no tick without a base")
        self.assertIn("epoll", result.stderr)

    def test_avoided_backend_exits_1(self):
        result = evtool(["--backend", "poll", "--avoid", "poll", "timer", "--after", "10ms"])
        self.assertExit(result, 1)
        self.assertIn("poll", result.stderr)

    def test_unknown_feature_is_usage_error(self):
        self.assertUsageError(["backends", "--require", "XYZ"], "XYZ")
        self.assertUsageError(["--require", "XYZ", "backends"], "XYZ")

    def test_missing_option_value_is_usage_error(self):
        self.assertUsageError(["backends", "--backend"], "--backend")
        self.assertUsageError(["backends", "--require"], "--require")

    def test_no_backend_at_all_for_a_base(self):
        result = evtool(["timer", "--after", "10ms"], env=NO_BACKEND)
        self.assertExit(result, 1)
        self.assertEqual(result.stdout, "")
        self.assertNotEqual(result.stderr, "")


class GlobalRules(Case):
    def test_show_method(self):
        for name, env in (("epoll", {}), ("poll", NO_EPOLL), ("select", NO_EPOLL_POLL)):
            with self.subTest(backend=name):
                result = evtool(["timer", "--after", "10ms"], env=dict(env, EVENT_SHOW_METHOD="1"))
                self.assertExit(result, 0)
                self.assertRegex(result.stderr, rf"\b{name}\b")
                self.assertNotIn(name, result.stdout, "diagnostics stay off stdout")
                self.assertRegex(result.stdout, r"tick 1")

    def test_show_method_follows_backend_option(self):
        result = evtool(["--backend", "select", "timer", "--after", "10ms"], env={"EVENT_SHOW_METHOD": "1"})
        self.assertExit(result, 0)
        self.assertRegex(result.stderr, r"\bselect\b")

    def test_no_diagnostics_by_default(self):
        result = evtool(["timer", "--after", "10ms"])
        self.assertExit(result, 0)
        self.assertEqual(result.stderr, "")
        self.assertRegex(result.stdout, r"^\[\d+\.\d{3}\] tick 1\n$")

    def test_verbose_prints_backend_on_stderr(self):
        for args, name in ((["-v", "timer", "--after", "10ms"], "epoll"),
                           (["timer", "--after", "10ms", "--verbose"], "epoll"),
                           (["--backend", "poll", "timer", "-v", "--after", "10ms"], "poll")):
            with self.subTest(args=args):
                result = evtool(args)
                self.assertExit(result, 0)
                self.assertRegex(result.stderr, rf"\b{name}\b")
                self.assertRegex(result.stdout, r"^\[\d+\.\d{3}\] tick 1\n$", "data unchanged")

    def test_quiet_suppresses_diagnostics_not_data(self):
        for args in (["-q", "timer", "--after", "10ms"], ["timer", "--after", "10ms", "--quiet"]):
            with self.subTest(args=args):
                result = evtool(args, env={"EVENT_SHOW_METHOD": "1"})
                self.assertExit(result, 0)
                self.assertEqual(result.stderr, "")
                self.assertRegex(result.stdout, r"^\[\d+\.\d{3}\] tick 1\n$")
        result = evtool(["-q", "backends", "--json"])
        self.assertExit(result, 0)
        self.assertEqual(self.json_doc(result)["default"], "epoll")

    def test_version(self):
        result = evtool(["--version"])
        self.assertExit(result, 0)
        self.assertIn(self.backends_json()["version"], result.stdout)
        self.assertRegex(result.stdout, r"(?m)\bevtool\b")
        self.assertRegex(result.stdout, r"\bepoll\b", "the default backend")
        self.assertRegex(result.stdout, r"OpenSSL \d+\.\d+\.\d+")
        self.assertNotRegex(result.stdout, r"\b(poll|select)\b")

    def test_version_shows_environment_default(self):
        result = evtool(["--version"], env=NO_EPOLL)
        self.assertExit(result, 0)
        self.assertRegex(result.stdout, r"\bpoll\b")
        self.assertNotRegex(result.stdout, r"\bepoll\b")

    def test_help(self):
        for args in (["--help"], ["-h"]):
            result = evtool(args)
            self.assertExit(result, 0)
            for word in ("backends", "timer", "--backend", "--avoid", "--require", "--json",
                         "--quiet", "--verbose", "--version"):
                self.assertIn(word, result.stdout)

    def test_command_help(self):
        result = evtool(["backends", "--help"])
        self.assertExit(result, 0)
        for word in ("--bench", "--fds", "--active", "--writes", "--rounds"):
            self.assertIn(word, result.stdout)
        result = evtool(["timer", "-h"])
        self.assertExit(result, 0)
        for word in ("--after", "--every", "--count", "--exec"):
            self.assertIn(word, result.stdout)

    def test_no_command(self):
        result = evtool([])
        self.assertExit(result, 2)
        self.assertNotEqual(result.stderr, "")
        self.assertEqual(result.stdout, "", "usage goes to stderr")
        result = evtool(["--json"])
        self.assertExit(result, 2)

    def test_unknown_command(self):
        self.assertUsageError(["nosuch"], "nosuch")
        self.assertUsageError(["--json", "frobnicate", "x"], "frobnicate")

    def test_unknown_option(self):
        self.assertUsageError(["backends", "--nosuch"], "--nosuch")
        self.assertUsageError(["--nosuch", "backends"], "--nosuch")


# -- the dispatch benchmark -------------------------------------------------

class Bench(Case):
    def bench_json(self, args=SMALL_BENCH, env=None):
        result = evtool(["backends", *args, "--json"], env=env, timeout=60)
        self.assertExit(result, 0)
        self.assertEqual(result.stdout.count("\n"), 1, "exactly one JSON document")
        return self.json_doc(result)

    def check_results(self, doc, methods):
        self.assertEqual([r["method"] for r in doc["results"]], methods)
        for r in doc["results"]:
            self.assertEqual(list(r), ["method", "median_us", "min_us", "max_us"])
            for key in ("median_us", "min_us", "max_us"):
                self.assertIsInstance(r[key], (int, float), r)
                self.assertGreater(r[key], 0, r)
            self.assertLessEqual(r["min_us"], r["median_us"], r)
            self.assertLessEqual(r["median_us"], r["max_us"], r)

    def test_json_shape(self):
        doc = self.bench_json()
        self.assertEqual(list(doc), ["fds", "active", "writes", "rounds", "results"])
        self.assertEqual((doc["fds"], doc["active"], doc["writes"], doc["rounds"]), (50, 10, 100, 3))
        self.check_results(doc, METHODS)

    def test_text_one_result_per_backend(self):
        result = evtool(["backends", *SMALL_BENCH], timeout=60)
        self.assertExit(result, 0)
        rows = {}
        for line in result.stdout.splitlines():
            words = line.split()
            if words and words[0] in METHODS:
                self.assertNotIn(words[0], rows, "one result per backend")
                rows[words[0]] = [float(w) for w in words[1:] if re.fullmatch(r"\d+(\.\d+)?", w)]
        self.assertEqual(sorted(rows), sorted(METHODS))
        for name, numbers in rows.items():
            self.assertTrue(numbers and all(n > 0 for n in numbers), f"{name}: {numbers}")

    def test_json_numbers_have_at_most_3_decimals(self):
        result = evtool(["backends", *SMALL_BENCH, "--json"], timeout=60)
        self.assertExit(result, 0)
        for number in re.findall(r'"(?:median|min|max)_us":([0-9.e+-]+)', result.stdout):
            self.assertRegex(number, r"^\d+(\.\d{1,3})?$")

    def test_benchmark_options_need_bench(self):
        for args in (["--fds", "10"], ["--active", "5"], ["--writes", "5"], ["--rounds", "2"]):
            with self.subTest(args=args):
                result = evtool(["backends", *args])
                self.assertExit(result, 2)
                self.assertIn("--bench", result.stderr)
                self.assertEqual(result.stdout, "")

    def test_active_capped_at_fds(self):
        doc = self.bench_json(["--bench", "--fds", "20", "--active", "100", "--writes", "50", "--rounds", "2"])
        self.assertEqual(doc["fds"], 20)
        self.assertEqual(doc["active"], 20)
        self.check_results(doc, METHODS)

    def test_noepoll_has_no_epoll_result(self):
        doc = self.bench_json(env=NO_EPOLL)
        self.check_results(doc, ["poll", "select"])
        result = evtool(["backends", *SMALL_BENCH], env=NO_EPOLL, timeout=60)
        self.assertExit(result, 0)
        self.assertNotRegex(result.stdout, r"(?m)^\s*epoll\b")
        self.assertRegex(result.stdout, r"(?m)^\s*poll\b")

    def test_avoid_and_backend(self):
        self.check_results(self.bench_json([*SMALL_BENCH, "--avoid", "select"]), ["epoll", "poll"])
        self.check_results(self.bench_json(["--backend", "poll", *SMALL_BENCH]), ["poll"])

    def test_json_before_the_command(self):
        result = evtool(["--json", "backends", *SMALL_BENCH], timeout=60)
        self.assertExit(result, 0)
        self.check_results(self.json_doc(result), METHODS)

    def test_defaults(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard < 2 * 1000 + 64:
            self.skipTest(f"1000 socketpairs need more descriptors than the limit {hard}")
        doc = self.bench_json(["--bench"])
        self.assertEqual((doc["fds"], doc["active"], doc["writes"], doc["rounds"]), (1000, 100, 1000, 25))
        self.check_results(doc, METHODS)

    def test_zero_writes(self):
        doc = self.bench_json(["--bench", "--fds", "10", "--active", "5", "--writes", "0", "--rounds", "2"])
        self.check_results(doc, METHODS)

    def test_bad_numbers_are_usage_errors(self):
        for option, value in (("--fds", "abc"), ("--fds", "0"), ("--fds", "-5"), ("--active", "x"),
                              ("--active", "0"), ("--writes", "many"), ("--writes", "-1"),
                              ("--rounds", "0"), ("--rounds", "1.5")):
            with self.subTest(option=option, value=value):
                self.assertUsageError(["backends", "--bench", f"{option}={value}"], value)


if __name__ == "__main__":
    unittest.main()
