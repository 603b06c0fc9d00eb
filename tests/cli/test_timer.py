"""`evtool timer [--after DUR] [--every DUR] [--count N] [--exec CMD]`.

Ticks in text (`[0.100] tick 1`) and NDJSON, one-shot and periodic timers,
the first tick after --after, no drift (also after the process was stopped
for a while), malformed durations and counts (exit 2), --exec run at every
tick without blocking the loop and waited for at the end, SIGINT/SIGTERM
(exit 0, children left running) and line-buffered stdout on a pipe.

Timing bounds are generous (tens of milliseconds, often more) so that only a
wrong implementation misses them, not a loaded machine. Every process a test
starts, and everything those start, is killed when the test ends.
"""

from __future__ import annotations

import json
import re
import signal
import tempfile
import time
import unittest
from pathlib import Path

import evtool_test as et

TICK_LINE = re.compile(r"^\[(\d+\.\d{3})\] tick (\d+)$")
CLEAN_ENV = {"EVENT_NOEPOLL": None, "EVENT_NOPOLL": None, "EVENT_NOSELECT": None,
             "EVENT_SHOW_METHOD": None}
# Lateness allowed for a tick (CLI.md: within 10 ms on an idle machine).
LATE = 0.040
# A tick may be reported this much before its nominal time (rounding).
EARLY = 0.001


def evtool(args, env=None, timeout=20):
    return et.run(args, env=dict(CLEAN_ENV, **(env or {})), timeout=timeout)


class TimerCase(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory(prefix="evtool-timer-")
        self.addCleanup(tmp.cleanup)
        self.tmp = Path(tmp.name)

    def assertExit(self, result, code):
        self.assertEqual(result.returncode, code,
                         f"$ {' '.join(result.args)}\nstdout: {result.stdout!r}\nstderr: {result.stderr!r}")

    def start(self, args, env=None) -> et.Server:
        """A running `evtool ARGS` whose stdout lines readline() returns; it
        and everything it started are killed when the test ends."""
        server = et.Server(args, env=dict(CLEAN_ENV, **(env or {})), sockets=0)
        server.start()
        self.addCleanup(server.kill)
        return server

    def rest(self, server: et.Server, timeout: float = 10) -> list[str]:
        """The remaining stdout lines, up to end of output."""
        lines = []
        deadline = time.monotonic() + timeout
        while (line := server.readline(max(0.1, deadline - time.monotonic()))) is not None:
            lines.append(line)
        return lines

    def text_ticks(self, stdout: str) -> list[float]:
        """The elapsed times of `[0.100] tick N` lines; they must be all of
        stdout, numbered 1, 2, 3..."""
        elapsed = []
        for n, line in enumerate(stdout.splitlines(), 1):
            match = TICK_LINE.match(line)
            self.assertIsNotNone(match, f"not a tick line: {line!r} in {stdout!r}")
            self.assertEqual(int(match[2]), n, stdout)
            elapsed.append(float(match[1]))
        return elapsed

    def json_ticks(self, lines) -> list[dict]:
        """The tick objects of NDJSON output, checked for shape and order."""
        if isinstance(lines, str):
            lines = lines.splitlines()
        ticks = []
        for n, line in enumerate(lines, 1):
            try:
                tick = json.loads(line)
            except ValueError:
                self.fail(f"not one JSON object per line: {line!r}")
            self.assertEqual(list(tick), ["event", "tick", "elapsed", "since_start"], line)
            self.assertEqual(tick["event"], "tick")
            self.assertEqual(tick["tick"], n)
            self.assertIsInstance(tick["tick"], int)
            for key in ("elapsed", "since_start"):
                self.assertIsInstance(tick[key], (int, float), line)
                self.assertGreaterEqual(tick[key], 0, line)
            previous = ticks[-1]["since_start"] if ticks else 0
            self.assertGreaterEqual(tick["since_start"], previous, "ticks come in order")
            # Both are rounded to milliseconds, independently.
            self.assertAlmostEqual(tick["elapsed"], tick["since_start"] - previous, delta=0.0025, msg=line)
            ticks.append(tick)
        return ticks

    def assertOnSchedule(self, ticks, nominal):
        """Tick N (1-based) fires at nominal(N) seconds, never before it and
        at most LATE after it."""
        for tick in ticks:
            due = nominal(tick["tick"])
            self.assertGreaterEqual(tick["since_start"], due - EARLY, f"tick early: {tick}, due {due:.3f}")
            self.assertLessEqual(tick["since_start"], due + LATE, f"tick late (drift?): {tick}, due {due:.3f}")

    def assertInPhase(self, tick, offset, period):
        """`tick` fires at offset + k*period for some k (never before, at
        most LATE after)."""
        phase = (tick["since_start"] - offset + EARLY) % period
        self.assertLessEqual(phase, LATE + EARLY,
                             f"{tick} is out of phase with {offset:.3f}s + k*{period:.3f}s")


class Ticks(TimerCase):
    def test_every_with_count(self):
        start = time.monotonic()
        result = evtool(["timer", "--every", "100ms", "--count", "3"])
        runtime = time.monotonic() - start
        self.assertExit(result, 0)
        elapsed = self.text_ticks(result.stdout)
        self.assertEqual(len(elapsed), 3)
        for e in elapsed:
            self.assertGreaterEqual(e, 0.08)
            self.assertLess(e, 5)
        self.assertGreaterEqual(runtime, 0.3 - EARLY)
        self.assertEqual(result.stderr, "")

    def test_after_alone_is_one_shot(self):
        start = time.monotonic()
        result = evtool(["timer", "--after", "100ms"])
        runtime = time.monotonic() - start
        self.assertExit(result, 0)
        elapsed = self.text_ticks(result.stdout)
        self.assertEqual(len(elapsed), 1)
        self.assertGreaterEqual(elapsed[0], 0.1 - EARLY)
        self.assertGreaterEqual(runtime, 0.1 - EARLY)

    def test_count_one(self):
        result = evtool(["timer", "--every", "50ms", "--count", "1"])
        self.assertExit(result, 0)
        self.assertEqual(len(self.text_ticks(result.stdout)), 1)
        result = evtool(["timer", "--after", "50ms", "--count", "1", "--json"])
        self.assertExit(result, 0)
        self.assertEqual(len(self.json_ticks(result.stdout)), 1)

    def test_json_is_ndjson(self):
        for args in (["timer", "--every", "100ms", "--count", "3", "--json"],
                     ["--json", "timer", "--every", "100ms", "--count", "3"]):
            with self.subTest(args=args):
                result = evtool(args)
                self.assertExit(result, 0)
                self.assertTrue(result.stdout.endswith("\n"))
                ticks = self.json_ticks(result.stdout)
                self.assertEqual([t["tick"] for t in ticks], [1, 2, 3])
                self.assertEqual(ticks[0]["elapsed"], ticks[0]["since_start"])
                for t in ticks:
                    self.assertGreaterEqual(t["elapsed"], 0.08)
                self.assertEqual(result.stderr, "")

    def test_first_tick_defaults_to_one_period(self):
        result = evtool(["timer", "--every", "200ms", "--count", "1", "--json"])
        self.assertExit(result, 0)
        (tick,) = self.json_ticks(result.stdout)
        self.assertGreaterEqual(tick["since_start"], 0.2 - EARLY)

    def test_after_then_every(self):
        result = evtool(["timer", "--after", "300ms", "--every", "100ms", "--count", "4", "--json"])
        self.assertExit(result, 0)
        ticks = self.json_ticks(result.stdout)
        self.assertEqual([t["tick"] for t in ticks], [1, 2, 3, 4])
        self.assertGreaterEqual(ticks[0]["since_start"], 0.3 - EARLY, "first tick after --after")
        for t in ticks[1:]:
            self.assertGreaterEqual(t["elapsed"], 0.8 * 0.1, f"then every period: {t}")

    def test_short_after_then_long_every(self):
        result = evtool(["timer", "--after", "50ms", "--every", "400ms", "--count", "2", "--json"])
        self.assertExit(result, 0)
        first, second = self.json_ticks(result.stdout)
        self.assertGreaterEqual(first["since_start"], 0.05 - EARLY)
        self.assertLess(first["since_start"], 0.35, "the first tick does not wait a whole period")
        self.assertGreaterEqual(second["elapsed"], 0.8 * 0.4)

    def test_after_then_every_text(self):
        result = evtool(["timer", "--after", "200ms", "--every", "100ms", "--count", "3"])
        self.assertExit(result, 0)
        elapsed = self.text_ticks(result.stdout)
        self.assertEqual(len(elapsed), 3)
        self.assertGreaterEqual(elapsed[0], 0.2 - EARLY)
        for e in elapsed[1:]:
            self.assertGreaterEqual(e, 0.08)

    def test_every_does_not_drift(self):
        result = evtool(["timer", "--every", "50ms", "--count", "20", "--json"])
        self.assertExit(result, 0)
        ticks = self.json_ticks(result.stdout)
        self.assertEqual(len(ticks), 20)
        self.assertOnSchedule(ticks, lambda n: n * 0.05)

    def test_after_then_every_does_not_drift(self):
        result = evtool(["timer", "--after", "200ms", "--every", "50ms", "--count", "12", "--json"])
        self.assertExit(result, 0)
        ticks = self.json_ticks(result.stdout)
        self.assertEqual(len(ticks), 12)
        self.assertOnSchedule(ticks, lambda n: 0.2 + (n - 1) * 0.05)

    def stall(self, args, before: float, length: float) -> list[dict]:
        """Runs `evtool ARGS`, stops it (SIGSTOP) `before` seconds after it
        started for `length` seconds, and returns its ticks; skips the test
        if the stall did not delay the first tick."""
        server = self.start(args)
        time.sleep(before)
        server.send_signal(signal.SIGSTOP)
        try:
            time.sleep(length)
        finally:
            server.send_signal(signal.SIGCONT)
        self.assertEqual(server.wait(10), 0, server.stderr)
        return self.json_ticks(self.rest(server))

    def test_every_keeps_phase_after_a_stall(self):
        # Stopped from ~0.03s to ~0.45s: ticks at 0.2 (and maybe 0.4) are
        # missed. Skipped or run late, the later ticks keep the schedule.
        ticks = self.stall(["timer", "--every", "200ms", "--count", "5", "--json"], 0.03, 0.42)
        if ticks[0]["since_start"] < 0.2 + 0.1:
            self.skipTest(f"the stall came too late to delay the first tick: {ticks[0]}")
        for tick in ticks[-2:]:
            self.assertInPhase(tick, 0, 0.2)

    def test_after_then_every_keeps_phase_after_a_stall(self):
        # Nominal ticks at 0.1 + k*0.2. The first is delayed to ~0.4 by the
        # stall; scheduling the rest from that late tick would put them near
        # 0.6, 0.8, ... instead of 0.5, 0.7, ...
        ticks = self.stall(["timer", "--after", "100ms", "--every", "200ms", "--count", "5", "--json"],
                           0.03, 0.37)
        if ticks[0]["since_start"] < 0.1 + 0.1:
            self.skipTest(f"the stall came too late to delay the first tick: {ticks[0]}")
        for tick in ticks[-2:]:
            self.assertInPhase(tick, 0.1, 0.2)


class Durations(TimerCase):
    def test_duration_forms(self):
        for value, seconds in (("500us", 0.0005), ("50ms", 0.05), ("0.05s", 0.05), ("0.05", 0.05),
                               ("0.1s", 0.1), (".05s", 0.05)):
            with self.subTest(after=value):
                start = time.monotonic()
                result = evtool(["timer", "--after", value, "--json"])
                runtime = time.monotonic() - start
                self.assertExit(result, 0)
                (tick,) = self.json_ticks(result.stdout)
                self.assertGreaterEqual(tick["since_start"], seconds - EARLY)
                self.assertGreaterEqual(runtime, seconds - EARLY)
                self.assertLess(tick["since_start"], seconds + 2)

    def test_bare_number_is_seconds(self):
        result = evtool(["timer", "--every", "0.1", "--count", "2", "--json"])
        self.assertExit(result, 0)
        for tick in self.json_ticks(result.stdout):
            self.assertGreaterEqual(tick["elapsed"], 0.08)
            self.assertLess(tick["elapsed"], 5, "0.1 is seconds, not minutes")

    def test_long_durations_are_accepted(self):
        for args in (["timer", "--every", "2m"], ["timer", "--after", "1h"],
                     ["timer", "--after", "1.5s", "--every", "2m"]):
            with self.subTest(args=args):
                server = self.start(args)
                time.sleep(0.3)
                self.assertIsNone(server.returncode, f"exited early: {server.stderr!r}")
                self.assertEqual(server.stop(signal.SIGTERM), 0)
                self.assertEqual(self.rest(server), [], "no tick yet")

    def test_malformed_durations(self):
        for option, value in (("--every", "1x"), ("--every", "-1s"), ("--after", "abc"), ("--every", ""),
                              ("--after", ""), ("--every", "1.2.3s"), ("--after", "ms"),
                              ("--every", "10 ms"), ("--after", "-5")):
            with self.subTest(option=option, value=value):
                forms = [["timer", option, value]]
                if value:  # CLI11 reads `--every=` as a missing value
                    forms.append(["timer", "--count", "2", f"{option}={value}"])
                for args in forms:
                    result = evtool(args)
                    self.assertExit(result, 2)
                    self.assertEqual(result.stdout, "")
                    self.assertIn(f"'{value}'" if value else "''", result.stderr,
                                  "the message names the bad value")
                    self.assertIn(option, result.stderr)

    def test_zero_period_is_usage_error(self):
        result = evtool(["timer", "--every", "0"])
        self.assertExit(result, 2)
        self.assertIn("--every", result.stderr)

    def test_neither_after_nor_every(self):
        for args in (["timer"], ["timer", "--count", "3"], ["timer", "--exec", "true"], ["--json", "timer"]):
            with self.subTest(args=args):
                result = evtool(args)
                self.assertExit(result, 2)
                self.assertEqual(result.stdout, "")
                self.assertIn("--every", result.stderr)

    def test_bad_count(self):
        for value in ("0", "x", "-1", "1.5", ""):
            with self.subTest(count=value):
                result = evtool(["timer", "--every", "10ms", f"--count={value}"])
                self.assertExit(result, 2)
                self.assertEqual(result.stdout, "")
                self.assertIn("--count", result.stderr)
                if value:
                    self.assertIn(value, result.stderr)

    def test_option_needs_value(self):
        result = evtool(["timer", "--every"])
        self.assertExit(result, 2)
        self.assertIn("--every", result.stderr)


class Exec(TimerCase):
    def test_runs_at_every_tick(self):
        out = self.tmp / "runs"
        server = self.start(["timer", "--every", "100ms", "--count", "3",
                             "--exec", f"echo \"run $((1 + 1))\" >> '{out}'"])
        self.assertEqual(server.wait(10), 0, server.stderr)
        # It waited for the commands, so all of them have run by now.
        self.assertEqual(out.read_text().splitlines(), ["run 2"] * 3)
        self.assertEqual(len(self.text_ticks("\n".join(self.rest(server)))), 3)

    def test_command_output_shares_stdout(self):
        result = evtool(["timer", "--every", "100ms", "--count", "2", "--exec", "echo hello"])
        self.assertExit(result, 0)
        lines = result.stdout.splitlines()
        self.assertEqual(lines.count("hello"), 2, lines)
        self.assertRegex(lines[0], TICK_LINE, "a tick is printed before its command starts")
        self.assertEqual(len([l for l in lines if TICK_LINE.match(l)]), 2)

    def test_ticks_do_not_wait_for_commands(self):
        start = time.monotonic()
        server = self.start(["timer", "--every", "100ms", "--count", "3", "--exec", "sleep 1", "--json"])
        ticks = self.json_ticks([server.readline(5) for _ in range(3)])
        for tick in ticks:
            self.assertLess(tick["since_start"], 0.9, f"ticks waited for the command: {tick}")
        self.assertEqual(server.wait(10), 0, server.stderr)
        runtime = time.monotonic() - start
        self.assertGreaterEqual(runtime, 1.0, "it exits only after the commands finished")
        events = [json.loads(line) for line in self.rest(server)]
        self.assertEqual([e["event"] for e in events], ["exec"] * 3, "3 ticks, then their 3 commands")

    def test_waits_for_commands_after_last_tick(self):
        done = self.tmp / "done"
        server = self.start(["timer", "--after", "50ms", "--exec", f"sleep 0.5; touch '{done}'"])
        self.assertEqual(server.wait(10), 0, server.stderr)
        self.assertTrue(done.exists(), "exited before its command finished")

    def test_signal_stops_waiting_and_leaves_commands_running(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            with self.subTest(signal=sig.name):
                done = self.tmp / f"done-{sig.name}"
                server = self.start(["timer", "--after", "50ms", "--exec",
                                     f"exec >/dev/null 2>&1; sleep 1.5; touch '{done}'"])
                self.assertRegex(server.readline(5), TICK_LINE)
                time.sleep(0.1)  # the command is running
                server.send_signal(sig)
                self.assertEqual(server.wait(5), 0, server.stderr)
                self.assertFalse(done.exists(), "the command should still be running when timer exits")
                deadline = time.monotonic() + 10
                while not done.exists() and time.monotonic() < deadline:
                    time.sleep(0.05)
                self.assertTrue(done.exists(), "the command was killed with timer")
                server.kill()

    def test_command_gets_default_signal_dispositions(self):
        # A command run at a tick behaves as from a shell: evtool ignores
        # SIGPIPE for itself, but its children must not inherit that.
        status = self.tmp / "status"
        server = self.start(["timer", "--after", "10ms", "--exec", f"grep '^Sig' /proc/self/status > '{status}'"])
        self.assertEqual(server.wait(10), 0, server.stderr)
        fields = dict(line.split(":\t") for line in status.read_text().splitlines())
        ignored = int(fields["SigIgn"], 16)
        blocked = int(fields["SigBlk"], 16)
        for sig in (signal.SIGPIPE, signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
            self.assertFalse(ignored & (1 << (sig - 1)), f"{sig.name} ignored in the command")
            self.assertFalse(blocked & (1 << (sig - 1)), f"{sig.name} blocked in the command")

    def test_quiet_keeps_command_output_and_ticks(self):
        result = evtool(["-q", "timer", "--after", "10ms", "--exec", "echo hi"])
        self.assertExit(result, 0)
        self.assertEqual(result.stdout.splitlines()[1:], ["hi"])
        self.assertEqual(result.stderr, "")


class ExecJson(TimerCase):
    """With --json the stream stays NDJSON: a command's stdout is captured
    and reported in an `exec` event with its exit status."""

    def events(self, stdout: str) -> list[dict]:
        events = []
        for line in stdout.splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                self.fail(f"not one JSON object per line: {line!r} in {stdout!r}")
            self.assertIn("event", events[-1])
        return events

    def test_command_output_is_captured(self):
        result = evtool(["--json", "timer", "--every", "100ms", "--count", "2",
                         "--exec", "echo hi; echo 'to stderr' >&2; exit 3"])
        self.assertExit(result, 0)
        events = self.events(result.stdout)
        self.json_ticks([json.dumps(e) for e in events if e["event"] == "tick"])
        execs = [e for e in events if e["event"] == "exec"]
        self.assertEqual(len(execs), 2, events)
        self.assertEqual(sorted(e["tick"] for e in execs), [1, 2])
        for e in execs:
            self.assertEqual((e["status"], e["stdout"]), (3, "hi\n"), e)
            self.assertIsInstance(e["pid"], int)
            self.assertNotIn("signal", e)
        # The stream only has the events; stderr stays the command's.
        self.assertEqual(len(events), 4)
        self.assertEqual(result.stderr.count("to stderr"), 2)

    def test_exec_event_follows_its_tick(self):
        result = evtool(["--json", "timer", "--after", "10ms", "--exec", "sleep 0.2; echo late"])
        self.assertExit(result, 0)
        events = self.events(result.stdout)
        self.assertEqual([e["event"] for e in events], ["tick", "exec"])
        self.assertEqual(events[1]["stdout"], "late\n")

    def test_binary_output_is_base64(self):
        result = evtool(["--json", "timer", "--after", "10ms", "--exec", r"printf 'a\377b'"])
        self.assertExit(result, 0)
        exec_event = self.events(result.stdout)[1]
        self.assertNotIn("stdout", exec_event)
        self.assertEqual(exec_event["stdout_base64"], "Yf9i")

    def test_no_output_is_an_empty_string(self):
        result = evtool(["--json", "timer", "--after", "10ms", "--exec", "true"])
        self.assertExit(result, 0)
        self.assertEqual(self.events(result.stdout)[1]["stdout"], "")

    def test_killed_command_reports_its_signal(self):
        result = evtool(["--json", "timer", "--after", "10ms", "--exec", "echo before; kill -9 $$"])
        self.assertExit(result, 0)
        exec_event = self.events(result.stdout)[1]
        self.assertEqual((exec_event["status"], exec_event["signal"]), (137, 9), exec_event)
        self.assertEqual(exec_event["stdout"], "before\n")

    def test_large_output_does_not_block_the_command(self):
        # More than a pipe holds: it is read as it comes, capped at 64 KiB.
        result = evtool(["--json", "timer", "--after", "10ms", "--exec", "head -c 1000000 /dev/zero | tr '\\0' x"])
        self.assertExit(result, 0)
        exec_event = self.events(result.stdout)[1]
        self.assertEqual(exec_event["stdout"], "x" * 65536)
        self.assertIs(exec_event["stdout_truncated"], True)


class Signals(TimerCase):
    def test_sigint_and_sigterm_exit_0(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            for args in (["timer", "--every", "100ms"], ["timer", "--every", "100ms", "--json"]):
                with self.subTest(signal=sig.name, args=args):
                    server = self.start(args)
                    server.readline(5)
                    server.send_signal(sig)
                    self.assertEqual(server.wait(5), 0, server.stderr)

    def test_signal_before_first_tick(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            with self.subTest(signal=sig.name):
                server = self.start(["timer", "--after", "1h"])
                time.sleep(0.2)
                server.send_signal(sig)
                self.assertEqual(server.wait(5), 0, server.stderr)
                self.assertEqual(self.rest(server), [])


class Pipe(TimerCase):
    def test_stdout_is_line_buffered(self):
        for args in (["timer", "--every", "200ms"], ["--json", "timer", "--every", "200ms"]):
            with self.subTest(args=args):
                server = self.start(args)
                first = server.readline(5)
                self.assertIsNone(server.returncode, "the line arrived while the timer runs")
                if "--json" in args:
                    self.assertEqual(self.json_ticks([first])[0]["tick"], 1)
                else:
                    self.assertRegex(first, TICK_LINE)
                second = server.readline(5)
                self.assertIsNone(server.returncode)
                self.assertIn("2", second)
                self.assertEqual(server.stop(signal.SIGTERM), 0)


if __name__ == "__main__":
    unittest.main()
