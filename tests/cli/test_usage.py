"""Usage errors and help text (issue 14, item 10): errors name the culprit
and point at the command's own --help; help names values as the man page
does; the top-level help lists the exit codes and examples."""

from __future__ import annotations

import re
import tempfile
import unittest

import evtool_test as et


class UsageErrors(unittest.TestCase):
    def assertUsage(self, args: list[str], message: str, help_path: str) -> None:
        result = et.run(args)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertEqual(result.stdout, "")
        self.assertIn(message, result.stderr)
        self.assertIn(f"Run 'evtool {help_path}--help' for usage.", result.stderr)

    def test_unknown_commands_get_a_suggestion(self):
        self.assertUsage(["htp", "get"], "unknown command 'htp'", "")
        self.assertUsage(["htp", "get"], "did you mean 'http'?", "")
        self.assertUsage(["http", "gte", "http://127.0.0.1:1/"], "did you mean 'get'?", "http ")
        self.assertUsage(["zzzzzz"], "commands: backends, timer, tcp, udp, http, dns", "")

    def test_unknown_options_are_named_not_the_url(self):
        result = et.run(["http", "get", "-A", "foo", "http://127.0.0.1:1/"])
        self.assertEqual(result.returncode, 2)
        self.assertIn("unknown option '-A' for 'evtool http get'", result.stderr)
        self.assertNotIn("http://127.0.0.1:1/", result.stderr)
        self.assertUsage(["dns", "resolve", "--bogus", "x.test"], "unknown option '--bogus'", "dns resolve ")
        self.assertUsage(["timer", "--every"], "--every needs a value", "timer ")

    def test_a_port_given_as_the_directory_gets_a_hint(self):
        with tempfile.TemporaryDirectory() as cwd:
            result = et.run(["http", "serve", "8000"], cwd=cwd)
        self.assertEqual(result.returncode, 2)
        self.assertIn("use --port 8000", result.stderr)


class HelpText(unittest.TestCase):
    def test_no_cli11_type_labels(self):
        for path in (["timer"], ["http", "serve"], ["http", "get"], ["dns", "resolve"], ["tcp", "serve"],
                     ["backends"]):
            with self.subTest(command=" ".join(path)):
                result = et.run([*path, "--help"])
                self.assertEqual(result.returncode, 0)
                self.assertNotRegex(result.stdout, r"TEXT:|INT:|INT in \[|:DURATION|\bUINT\b")

    def test_values_are_named_as_in_the_man_page(self):
        text = et.run(["http", "serve", "--help"]).stdout
        self.assertRegex(text, r"--timeout DUR\b")
        self.assertRegex(text, r"--threads N\b")
        self.assertRegex(text, r"--max-header SIZE\b")

    def test_top_level_help_lists_exit_codes_and_examples(self):
        text = et.run(["--help"]).stdout
        for code in ("0", "1", "2", "3", "4", "5", "6", "130"):
            self.assertRegex(text, rf"(?m)\b{code}  \S")
        self.assertIn("Examples:", text)
        self.assertIn("evtool dns resolve @127.0.0.1", text)
        # Subcommands do not repeat it.
        self.assertNotIn("Exit status", et.run(["http", "get", "--help"]).stdout)


if __name__ == "__main__":
    unittest.main()
