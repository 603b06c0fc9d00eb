"""Every example in README.md and man/evtool.1 runs as shown.

The examples are the `$ ` lines of README.md's ```console blocks and of the
man page's .nf/.fi blocks; the lines after a command, up to the next `$ `,
are what it prints. Each block is one test: its commands run in order, each
in `bash -c`, in a temporary directory holding a copy of examples/ (so that
`-o logo.svg` or `cert.pem` land there) with `evtool` on PATH.

- A server (`tcp echo|serve`, `http serve`, `dns serve`), whether shown with
  `&` or in the foreground, runs in the background in its own process group
  until the block ends; the block goes on once it has printed its
  `listening on` lines. A port it was given as 0 is random: the port the
  example shows (`listening on 127.0.0.1:40311`) is replaced by the real one
  in the block's later commands. At the end of the block each server gets
  SIGTERM and must exit 0 (README: Exit codes), so the next block can use
  the same fixed ports (8080, 5353, ...).
- Any other command must exit 0 (or the status in EXIT_STATUS) within
  CLIENT_TIMEOUT. The lines shown after it must appear in what the terminal
  would show meanwhile: its stdout and stderr, and what the block's servers
  printed since it started (their log lines). Variable parts (dates, times,
  ports, ETags, fingerprints) are normalised on both sides, runs of blanks
  count as one, and `...` in a shown line matches anything (a line of just
  `...` or `^C` shows nothing to check).
- A command that runs until interrupted (RUNS_UNTIL_INTERRUPTED) must print
  its shown lines (or, if none are shown, some line) and still be running;
  then it gets SIGINT, as from Ctrl-C, and must exit 0.
- A command naming a peer (dig, curl, openssl, socat) that is not installed
  is skipped with the rest of its block, which may need what it made.
- Stdin is empty unless the example pipes or redirects something in.

The fixed ports of the examples are below the ephemeral range, so the other
suites (which listen on port 0) do not take them; they must be free.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
import unittest
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import evtool_test as et

README = et.SOURCE_DIR / "README.md"
MAN_PAGE = et.SOURCE_DIR / "man" / "evtool.1"

# Generous, for the ASan build: each only bounds a failure.
CLIENT_TIMEOUT = 60
STARTUP_TIMEOUT = 30
OUTPUT_TIMEOUT = 30
STOP_TIMEOUT = 30

# Servers and how many `listening on` lines each prints.
SERVERS = {("tcp", "echo"): 1, ("tcp", "serve"): 1, ("tcp", "forward"): 1, ("tcp", "proxy"): 1,
           ("udp", "echo"): 1, ("http", "serve"): 1, ("dns", "serve"): 2}

# Commands whose documented point is a failure: (pattern, status, why).
EXIT_STATUS = [
    (r"^evtool http get https://127\.0\.0\.1:8443/notes\.md$", 5,
     "shows verification failing against the ephemeral self-signed certificate"),
    (r"^evtool dns resolve -f examples/dns/names\.txt ", 3,
     "the bundled list has names without an answer on purpose, to show them"),
]

# Commands that run until Ctrl-C by design.
RUNS_UNTIL_INTERRUPTED = [r"\btimer\b.*--exec\b"]

PEERS = ["dig", "curl", "openssl", "socat"]


# -- reading the examples ---------------------------------------------------------

@dataclass
class Command:
    line: int          # in the source file
    text: str          # the shell command, without `$ `
    shown: list[str] = field(default_factory=list)  # the output lines shown after it


@dataclass
class Block:
    source: str        # "README.md", "evtool.1"
    line: int
    commands: list[Command]


def _commands(lines: list[tuple[int, str]]) -> list[Command]:
    """The `$ ` commands of one block (a line ending in `\\` continues on the
    next) with the lines after each."""
    commands: list[Command] = []
    continued = False
    for number, text in lines:
        if continued:
            commands[-1].text = commands[-1].text[:-1].rstrip() + " " + text.strip()
        elif text.startswith("$ "):
            commands.append(Command(number, text[2:]))
        else:
            if commands:
                commands[-1].shown.append(text)
            continue
        continued = commands[-1].text.endswith("\\")
    return commands


def _blocks(source: str, text: str, opening: str, closing: str, unescape=lambda line: line) -> list[Block]:
    """The blocks of `text` between an `opening` and a `closing` line that
    hold examples; `unescape` turns a line into what the reader sees."""
    blocks = []
    body: Optional[list[tuple[int, str]]] = None
    for number, line in enumerate(text.splitlines(), 1):
        if body is None:
            if line.strip() == opening:
                start, body = number, []
        elif line.strip() == closing:
            if any(line.startswith("$ ") for _, line in body):
                blocks.append(Block(source, start, _commands([(n, unescape(l)) for n, l in body])))
            body = None
        else:
            body.append((number, line))
    return blocks


def readme_blocks(text: str) -> list[Block]:
    return _blocks("README.md", text, "```console", "```")


_ROFF_ESCAPES = {"\\-": "-", "\\(aq": "'", "\\e": "\\", "\\~": " ", "\\&": ""}


def unroff(line: str) -> str:
    """A line of an .nf block as the reader sees it; AssertionError on an
    escape this test does not know (add it above)."""
    def replace(match: re.Match) -> str:
        return _ROFF_ESCAPES[match.group(0)]
    out = re.sub(r"\\\(aq|\\[-e~&]", replace, line)
    leftover = re.sub(r"\\\(aq|\\[-e~&]", "", line)
    if "\\" in leftover:
        raise AssertionError(f"man/evtool.1: unknown roff escape in example line {line!r}")
    return out


def man_blocks(text: str) -> list[Block]:
    return _blocks("evtool.1", text, ".nf", ".fi", unroff)


# -- comparing output -------------------------------------------------------------

_NORMALISE = [
    # dates: Common Log Format, HTTP, date(1)
    (r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}", "DATE"),
    (r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT", "DATE"),
    (r"[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d [A-Z]+ \d{4}", "DATE"),
    (r'"[0-9a-f]+-[0-9a-f]+"', '"ETAG"'),                        # ETags
    (r"\b[0-9A-F]{2}(?::[0-9A-F]{2}){31}\b", "FINGERPRINT"),      # SHA-256
    (r"\b[0-9A-F]{2}(?::[0-9A-F]{2})*:\.\.\.(?::[0-9A-F]{2})*", "FINGERPRINT"),  # shortened
    (r"(\b\d+\.\d+\.\d+\.\d+|\]):\d+\b", r"\1:PORT"),             # addresses
    (r"(?<![\d.])\d+\.\d+(?![\d.])", "T"),                        # times
    (r"(\"pid\":)\d+", r"\1PID"),
    (r"\s+", " "),
]


def normalise(line: str) -> str:
    for pattern, replacement in _NORMALISE:
        line = re.sub(pattern, replacement, line)
    return line.strip()


def shown_pattern(line: str) -> Optional[re.Pattern]:
    """What a shown line must match (a whole output line), or None if it
    shows nothing to check."""
    text = normalise(line)
    if text in ("", "...", "^C"):
        return None
    return re.compile(".*".join(re.escape(part) for part in text.split("...")))


def missing_lines(shown: list[str], output: str) -> list[str]:
    lines = [normalise(line) for line in output.splitlines()]
    missing = []
    for line in shown:
        pattern = shown_pattern(line)
        if pattern and not any(pattern.fullmatch(out) for out in lines):
            missing.append(line)
    return missing


# -- running ----------------------------------------------------------------------

class Process:
    """A command run in the background in its own process group; its stdout
    and stderr are collected, in order of arrival, into `.output`."""

    def __init__(self, command: str, cwd: Path, env: dict[str, str]):
        self.command = command
        self.proc = subprocess.Popen(
            ["bash", "-c", command], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        self._lock = threading.Lock()
        self._output: list[str] = []
        self._threads = [threading.Thread(target=self._pump, args=(s,), daemon=True)
                         for s in (self.proc.stdout, self.proc.stderr)]
        for thread in self._threads:
            thread.start()

    def _pump(self, stream) -> None:
        for raw in stream:
            with self._lock:
                self._output.append(raw.decode("utf-8", "replace"))

    @property
    def length(self) -> int:
        with self._lock:
            return len(self._output)

    def output(self, since: int = 0) -> str:
        with self._lock:
            return "".join(self._output[since:])

    def signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self, sig: int = signal.SIGTERM) -> Optional[int]:
        """Signals the group, waits for the exit (then kills the group) and
        returns the status; None if it had to be killed."""
        self.signal_group(sig)
        try:
            status: Optional[int] = self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            status = None
        self.signal_group(signal.SIGKILL)
        self.proc.wait()
        for thread in self._threads:
            thread.join(5)
        for stream in (self.proc.stdout, self.proc.stderr):
            stream.close()
        return status


def server_kind(command: str) -> Optional[tuple[str, str]]:
    """(command, subcommand) if `command` starts an evtool server."""
    words = command.rstrip("&").split()
    if "evtool" not in words:
        return None
    after = [w for w in words[words.index("evtool") + 1:] if not w.startswith("-")]
    kind = tuple(after[:2])
    return kind if kind in SERVERS else None


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def expected_status(command: str) -> int:
    for pattern, status, _ in EXIT_STATUS:
        if re.search(pattern, command):
            return status
    return 0


class BlockRun:
    """Runs one block's commands in order; servers live until close()."""

    def __init__(self, test: unittest.TestCase, block: Block):
        self.test = test
        self.block = block
        self.dir = et.temp_dir(test.addCleanup, "evtool-examples-")
        shutil.copytree(et.SOURCE_DIR / "examples", self.dir / "examples")
        bin_dir = self.dir / ".bin"
        bin_dir.mkdir()
        (bin_dir / "evtool").symlink_to(Path(et.EVTOOL).resolve())
        self.env = et.environment({"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
                                   "TZ": "UTC", "LC_ALL": "C"})
        self.servers: list[Process] = []
        self.ports: dict[str, str] = {}  # shown port -> real port
        test.addCleanup(self.close)

    def where(self, command: Command) -> str:
        return f"{self.block.source}:{command.line}: `$ {command.text}`"

    def substitute(self, text: str) -> str:
        for shown, real in self.ports.items():
            text = re.sub(rf"\b{shown}\b", real, text)
        return text

    def server_output(self, marks: list[int]) -> str:
        return "".join(s.output(mark) for s, mark in zip(self.servers, marks))

    def run(self) -> None:
        for command in self.block.commands:
            peers = [p for p in PEERS if re.search(rf"(^|[|;&(]\s*){p}\b", command.text)]
            if any(not shutil.which(p) for p in peers):
                self.test.skipTest(f"{self.where(command)} needs {', '.join(peers)} (not installed)")
            text = self.substitute(command.text)
            if server_kind(text):
                self.start_server(command, text)
            elif any(re.search(p, text) for p in RUNS_UNTIL_INTERRUPTED):
                self.run_until_interrupted(command, text)
            else:
                self.run_client(command, text)

    def start_server(self, command: Command, text: str) -> None:
        text = text.rstrip().rstrip("&").rstrip()
        server = Process(text, self.dir, self.env)
        self.servers.append(server)
        wanted = SERVERS[server_kind(text)]
        listening = lambda: [et.parse_listening(l) for l in server.output().splitlines()
                             if et.parse_listening(l)]
        if not wait_for(lambda: len(listening()) >= wanted or server.proc.poll() is not None,
                        STARTUP_TIMEOUT) or len(listening()) < wanted:
            self.test.fail(f"{self.where(command)}: no `listening on` line; "
                           f"exit {server.proc.poll()}, output: {server.output()!r}")
        # Port 0: the port the example shows is the one the server printed.
        if re.search(r"(^|\s)0(\s|$)", text):
            shown = [et.parse_listening(l) for l in command.shown if et.parse_listening(l)]
            for (_, _, shown_port), (_, _, real_port) in zip(shown, listening()):
                self.ports[str(shown_port)] = str(real_port)
        self.check_shown(command, lambda: server.output())

    def check_shown(self, command: Command, output) -> None:
        """Waits until every shown line is in output() (a function: what the
        terminal has shown since the command started)."""
        if wait_for(lambda: not missing_lines(command.shown, output()), OUTPUT_TIMEOUT):
            return
        missing = missing_lines(command.shown, output())
        self.test.fail(f"{self.where(command)} does not print what the example shows.\n"
                       f"missing: {missing!r}\n(normalised: {[normalise(l) for l in missing]!r})\n"
                       f"output:\n{output()}")

    def run_client(self, command: Command, text: str) -> None:
        marks = [s.length for s in self.servers]
        proc = subprocess.Popen(["bash", "-c", text], cwd=self.dir, env=self.env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=CLIENT_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            self.test.fail(f"{self.where(command)} did not finish within {CLIENT_TIMEOUT}s; "
                           f"stdout {out[-500:]!r}, stderr {err[-500:]!r}")
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # anything it left behind
            except ProcessLookupError:
                pass
        stdout = out.decode("utf-8", "replace")
        stderr = err.decode("utf-8", "replace")
        want = expected_status(text)
        self.test.assertEqual(proc.returncode, want,
                              f"{self.where(command)} exited {proc.returncode}, not {want}; "
                              f"stdout {stdout[-1000:]!r}, stderr {stderr[-1000:]!r}")
        self.check_shown(command, lambda: stdout + stderr + self.server_output(marks))

    def run_until_interrupted(self, command: Command, text: str) -> None:
        proc = Process(text, self.dir, self.env)
        try:
            shown = [l for l in command.shown if shown_pattern(l)]
            if shown:
                self.check_shown(command, proc.output)
            elif not wait_for(lambda: proc.output().strip() or proc.proc.poll() is not None,
                              OUTPUT_TIMEOUT) or not proc.output().strip():
                self.test.fail(f"{self.where(command)} printed nothing; exit {proc.proc.poll()}")
            self.test.assertIsNone(proc.proc.poll(),
                                   f"{self.where(command)} should run until interrupted; "
                                   f"output {proc.output()!r}")
        finally:
            status = proc.stop(signal.SIGINT)
        self.test.assertEqual(status, 0, f"{self.where(command)}: Ctrl-C should exit 0; "
                                         f"output {proc.output()!r}")

    def close(self) -> None:
        """Stops the servers (SIGTERM, as README's exit codes promise a clean
        exit 0) before the next block reuses their ports."""
        servers, self.servers = self.servers, []
        failures = []
        for server in servers:
            status = server.stop(signal.SIGTERM)
            if status != 0:
                failures.append(f"`{server.command}` exited {status} on SIGTERM; "
                                f"output {server.output()[-1000:]!r}")
        if failures:
            raise AssertionError("\n".join(failures))


# -- one test per block -----------------------------------------------------------

def _all_blocks() -> list[Block]:
    return (readme_blocks(README.read_text(encoding="utf-8"))
            + man_blocks(MAN_PAGE.read_text(encoding="utf-8")))


class Examples(unittest.TestCase):
    """test_<file>_<line>: the example block starting at that line."""

    def test_every_block_is_found(self) -> None:
        blocks = _all_blocks()
        self.assertTrue(any(b.source == "README.md" for b in blocks), "README.md: no examples found")
        self.assertTrue(any(b.source == "evtool.1" for b in blocks), "man/evtool.1: no examples found")
        # A continued man page line joins the next, not a new command.
        for block in blocks:
            for command in block.commands:
                self.assertFalse(command.text.endswith("\\"), f"{block.source}:{command.line}")


def _make_test(block: Block):
    def test(self: unittest.TestCase) -> None:
        if not os.access(et.EVTOOL, os.X_OK):
            self.fail(f"no evtool binary at {et.EVTOOL} (set EVTOOL or build first)")
        BlockRun(self, block).run()
    test.__doc__ = f"{block.source}:{block.line}: " + "; ".join(c.text for c in block.commands)
    return test


for _block in _all_blocks():
    _name = f"test_{_block.source.replace('.', '_').lower()}_{_block.line:04d}"
    setattr(Examples, _name, _make_test(_block))


if __name__ == "__main__":
    unittest.main()
