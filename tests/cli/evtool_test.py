"""Helpers shared by the CLI tests (tests/cli/test_*.py).

    EVTOOL       path of the binary under test: $EVTOOL, else build/evtool
    SOURCE_DIR   the source tree: $EVTOOL_SOURCE_DIR, else two levels up
    run(args)    runs evtool once, returns its CompletedProcess (text output)
    run_bytes(args)  the same with binary stdio
    Server(args) runs a long-lived evtool for the length of a `with` block
                 (sockets=0: any long-running command, e.g. timer)
    BufferedSocket, free_port(), have_ipv6(), recv_to_eof(), vm_kib(),
    curl(), temp_dir(): for the tests that talk to evtool over sockets

ctest sets EVTOOL and EVTOOL_SOURCE_DIR; by hand, from tests/cli:
    EVTOOL=../../build/evtool python3 -m unittest -v test_docs
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import weakref
from pathlib import Path
from typing import Callable, Mapping, NoReturn, Optional, Sequence, Union

SOURCE_DIR = Path(os.environ.get("EVTOOL_SOURCE_DIR")
                  or Path(__file__).resolve().parents[2])
EVTOOL = os.environ.get("EVTOOL") or str(SOURCE_DIR / "build" / "evtool")
LOCAL = "127.0.0.1"
# How long a socket read may wait by default before the test fails.
IO_TIMEOUT = 10
CURL = shutil.which("curl")

Args = Union[str, Sequence[object]]


def _argv(args: Args) -> list[str]:
    """A command line as a list; a string is split as sh would."""
    if isinstance(args, str):
        args = shlex.split(args)
    return [EVTOOL] + [str(a) for a in args]


def environment(env: Optional[Mapping[str, Optional[str]]] = None) -> dict[str, str]:
    """os.environ with `env` applied on top; a value of None removes the name."""
    result = dict(os.environ)
    for name, value in (env or {}).items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = value
    return result


def _kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Signals the process group that `proc` leads (it and its children)."""
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def run(args: Args, env: Optional[Mapping[str, Optional[str]]] = None,
        timeout: float = 30, input: Optional[str] = None,
        cwd: Optional[Union[str, Path]] = None) -> subprocess.CompletedProcess:
    """Runs `evtool ARGS` to completion and returns the CompletedProcess with
    stdout and stderr as text. stdin is `input`, or empty. On timeout the
    process and everything it started are killed and TimeoutExpired raised."""
    proc = subprocess.Popen(
        _argv(args), env=environment(env), cwd=cwd, text=True,
        encoding="utf-8", errors="replace",
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True)
    try:
        stdout, stderr = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def run_bytes(args: Args, stdin=b"", timeout: float = 60,
              env: Optional[Mapping[str, Optional[str]]] = None,
              text_stderr: bool = False) -> subprocess.CompletedProcess:
    """Runs `evtool ARGS` with binary stdio (stderr decoded with
    `text_stderr`). `stdin` is bytes (fed through a pipe), an open file or
    subprocess.DEVNULL. On timeout everything it started is killed and
    TimeoutExpired raised."""
    piped = isinstance(stdin, (bytes, bytearray))
    proc = subprocess.Popen(
        _argv(args), env=environment(env),
        stdin=subprocess.PIPE if piped else stdin, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(stdin if piped else None, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out,
                                       err.decode("utf-8", "replace") if text_stderr else err)


def curl(*args: object, max_time: float = 10, timeout: float = 30,
         text: bool = False) -> subprocess.CompletedProcess:
    """`curl -s -S --max-time MAX_TIME ARGS` (CURL, which must be there)
    with an empty stdin; its output as bytes, or as str with `text`."""
    assert CURL, "curl is not installed"
    return subprocess.run([CURL, "-s", "-S", "--max-time", str(max_time), *map(str, args)],
                          capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL, text=text)


def temp_dir(add_cleanup: Callable, prefix: str) -> Path:
    """A new temporary directory, removed by the cleanup that `add_cleanup`
    registers (a test's addCleanup, or a class's addClassCleanup)."""
    tmp = tempfile.TemporaryDirectory(prefix=prefix)
    add_cleanup(tmp.cleanup)
    return Path(tmp.name)


def vm_kib(pid: int, field: str) -> int:
    """A `VmRSS:` / `VmHWM:` line of /proc/PID/status, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


# ---- sockets ------------------------------------------------------------------

def have_ipv6(kind: int = socket.SOCK_STREAM) -> bool:
    """Whether a socket of `kind` can bind ::1."""
    try:
        with socket.socket(socket.AF_INET6, kind) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def free_port() -> int:
    """A loopback TCP port that nothing listens on (it was free a moment
    ago): one to listen on, or one that refuses connections."""
    with socket.socket() as s:
        s.bind((LOCAL, 0))
        return s.getsockname()[1]


def recv_to_eof(sock: socket.socket) -> bytes:
    """All that `sock` receives until the peer closes (its own timeout
    applies to each recv)."""
    chunks = []
    while data := sock.recv(256 * 1024):
        chunks.append(data)
    return b"".join(chunks)


class BufferedSocket:
    """A connected socket with a receive buffer. Each read fails with an
    AssertionError after its deadline or timeout instead of hanging."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = b""

    def _fill(self, deadline: float) -> bytes:
        """One recv; b"" at EOF (a reset counts as EOF here: the peer closed
        with our bytes unread, after its answer)."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout()
        self.sock.settimeout(remaining)
        try:
            return self.sock.recv(256 * 1024)
        except ConnectionResetError:
            return b""

    def _fill_until(self, enough: Callable[[], bool], deadline: float, wanted: Callable[[], str]) -> None:
        """Receives into the buffer until enough(); AssertionError, saying
        wanted(), at the deadline or at EOF."""
        while not enough():
            try:
                data = self._fill(deadline)
            except socket.timeout:
                raise AssertionError(f"{wanted()}: not in time") from None
            if not data:
                raise AssertionError(f"{wanted()}: EOF first")
            self.buf += data

    def _read_until(self, marker: bytes, deadline: float, what: str) -> bytes:
        """Up to and with the next `marker`; `what` names it in failures."""
        self._fill_until(lambda: marker in self.buf, deadline, lambda: f"no {what}; have {self.buf[:300]!r}")
        data, _, self.buf = self.buf.partition(marker)
        return data + marker

    def _read_exactly(self, n: int, deadline: float) -> bytes:
        self._fill_until(lambda: len(self.buf) >= n, deadline, lambda: f"only {len(self.buf)} of {n} bytes")
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_to_eof(self, timeout: float = IO_TIMEOUT) -> bytes:
        """All that arrives until the peer closes; AssertionError if it does
        not close within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        chunks = [self.buf]
        self.buf = b""
        while True:
            try:
                data = self._fill(deadline)
            except socket.timeout:
                got = b"".join(chunks)
                raise AssertionError(f"not closed within {timeout}s; got {len(got)} bytes: {got[:300]!r}") from None
            if not data:
                return b"".join(chunks)
            chunks.append(data)


def in_threads(client: Callable[[int], None], n: int, timeout: float = 30) -> list[BaseException]:
    """Runs client(0) .. client(n - 1) at once, each in a thread, waits for
    them (up to `timeout` seconds each) and returns what they raised."""
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            client(i)
        except BaseException as e:
            errors.append(e)
    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return errors


def check_listening_event(test: unittest.TestCase, event: dict, line: str) -> int:
    """Asserts that `event`, parsed from the JSON line `line`, says a TCP
    socket listens on LOCAL at a real port; returns the port."""
    test.assertIsInstance(event.get("port"), int, line)
    test.assertNotEqual(event["port"], 0)
    test.assertEqual(event, {"event": "listening", "proto": "tcp", "address": LOCAL, "port": event["port"]})
    return event["port"]


# "listening on 127.0.0.1:8080", "listening on [::1]:8080",
# "listening on udp 127.0.0.1:5353" (CLI.md, Output).
_LISTENING = re.compile(
    r"^listening on (?:(?P<proto>tcp|udp) )?"
    r"(?:\[(?P<ipv6>[^\]]*)\]|(?P<host>[^\s\[\]]+)):(?P<port>\d+)\s*$")


def parse_listening(line: str) -> Optional[tuple[str, str, int]]:
    """(proto, address, port) from a `listening on ...` line, text or JSON;
    a Unix socket ("listening on unix:PATH") is ("unix", PATH, 0). None for
    any other line."""
    line = line.strip()
    if line.startswith("{"):
        try:
            event = json.loads(line)
        except ValueError:
            return None
        if isinstance(event, dict) and event.get("event") == "listening":
            return (event.get("proto", "tcp"), event["address"], int(event.get("port", 0)))
        return None
    if line.startswith("listening on unix:"):
        return ("unix", line[len("listening on unix:"):], 0)
    match = _LISTENING.match(line)
    if not match:
        return None
    address = match["ipv6"] if match["ipv6"] is not None else match["host"]
    return (match["proto"] or "tcp", address, int(match["port"]))


_live_servers: "weakref.WeakSet[Server]" = weakref.WeakSet()


@atexit.register
def _kill_live_servers() -> None:
    # A safety net for servers not used in a `with` block.
    for server in list(_live_servers):
        server.kill()


class Server:
    """A long-lived evtool, such as a server, for the length of a `with` block.

        with Server(["tcp", "echo", "0"]) as server:
            socket.create_connection(("127.0.0.1", server.port))

    Entering starts `evtool ARGS` and reads its stdout until `sockets`
    listening lines have appeared (text or JSON); the lines before them are in
    `.preamble`. `.port` is the first socket's port and `.sockets` holds
    (proto, address, port) for each. Leaving the block stops the process
    (SIGTERM, then SIGKILL) and kills anything it started, whatever happened
    inside the block. stdin stays open (a pipe) until close_stdin() or exit.
    """

    def __init__(self, args: Args, env: Optional[Mapping[str, Optional[str]]] = None,
                 sockets: int = 1, startup_timeout: float = 10,
                 cwd: Optional[Union[str, Path]] = None):
        self.argv = _argv(args)
        self.env = environment(env)
        self.cwd = cwd
        self.expected_sockets = sockets
        self.startup_timeout = startup_timeout
        self.proc: Optional[subprocess.Popen] = None
        self._killed = False
        self.preamble: list[str] = []
        self.sockets: list[tuple[str, str, int]] = []
        self._lines: "queue.Queue[Optional[str]]" = queue.Queue()
        self._stderr: list[str] = []
        self._threads: list[threading.Thread] = []

    # -- lifetime ---------------------------------------------------------

    def __enter__(self) -> "Server":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self._killed = False
        self.proc = subprocess.Popen(
            self.argv, env=self.env, cwd=self.cwd, text=True, bufsize=1,
            encoding="utf-8", errors="replace",
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True)
        _live_servers.add(self)
        self._pump(self.proc.stdout, self._lines.put, end=lambda: self._lines.put(None))
        self._pump(self.proc.stderr, self._stderr.append)
        deadline = time.monotonic() + self.startup_timeout
        try:
            while len(self.sockets) < self.expected_sockets:
                try:
                    line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    self._fail(f"printed no listening line within {self.startup_timeout}s")
                if line is None:
                    self._fail("exited before printing a listening line")
                socket = parse_listening(line)
                if socket:
                    self.sockets.append(socket)
                else:
                    self.preamble.append(line)
        except BaseException:
            self.kill()
            raise

    def _fail(self, what: str) -> NoReturn:
        self.kill()  # first, so that all of stderr has been read
        raise AssertionError(self._describe(what))

    def _pump(self, stream, put, end=None) -> None:
        def pump() -> None:
            for line in stream:
                put(line.rstrip("\n"))
            if end:
                end()
        thread = threading.Thread(target=pump, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> Optional[int]:
        """Sends `sig`, waits up to `timeout` seconds for the exit (then
        kills), kills whatever the process left behind, and returns the exit
        status (negative: killed by that signal)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        return self.proc.returncode

    def send_signal(self, sig: int) -> None:
        """Sends `sig` to the process only (not to what it started)."""
        assert self.proc
        try:
            self.proc.send_signal(sig)
        except ProcessLookupError:
            pass

    def wait(self, timeout: float = 10) -> int:
        """Waits for the process to exit and returns its status (negative:
        killed by that signal); unlike stop(), what it started is left
        alone. AssertionError if it is still running after `timeout`."""
        assert self.proc
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(self._describe(f"still running after {timeout}s")) from None

    def kill(self) -> None:
        """Kills the process and everything it started, at once. Only the
        first call signals: after it the group is gone and its id may be
        reused."""
        if self.proc is None or self._killed:
            return
        self._killed = True
        _kill_group(self.proc)
        self.proc.wait()
        if self.proc.stdin and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        for thread in self._threads:
            thread.join(timeout=5)
        if not any(thread.is_alive() for thread in self._threads):
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream and not stream.closed:
                    stream.close()
        _live_servers.discard(self)

    # -- talking to it ----------------------------------------------------

    @property
    def port(self) -> int:
        return self.sockets[0][2]

    @property
    def returncode(self) -> Optional[int]:
        return self.proc.poll() if self.proc else None

    @property
    def stderr(self) -> str:
        """What the process has written on stderr so far."""
        return "\n".join(self._stderr)

    def readline(self, timeout: float = 5) -> Optional[str]:
        """The next stdout line (without newline), None at end of output.
        AssertionError if none comes within `timeout` seconds."""
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(self._describe(f"printed no line within {timeout}s")) from None

    def drain(self, quiet: float = 0.0) -> list[str]:
        """The stdout lines printed so far that readline() has not returned,
        then any more that come until none has come for `quiet` seconds
        (0: only those already printed). Stops at end of output, which a
        later readline() still reports."""
        lines: list[str] = []
        while True:
            try:
                line = self._lines.get(timeout=quiet) if quiet > 0 else self._lines.get_nowait()
            except queue.Empty:
                return lines
            if line is None:
                self._lines.put(None)
                return lines
            lines.append(line)

    def write(self, text: str) -> None:
        """Writes `text` to the process's stdin."""
        assert self.proc and self.proc.stdin
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def close_stdin(self) -> None:
        assert self.proc and self.proc.stdin
        self.proc.stdin.close()

    def _describe(self, what: str) -> str:
        return (f"{shlex.join(self.argv)} {what}; "
                f"stdout so far: {self.preamble!r}; stderr: {self.stderr!r}")
