"""`evtool tcp echo | serve | chat` with real peers (python sockets, socat).

echo: the listening line (text, JSON, -q, port 0, IPv6), binary-safe
echoing, a 5 MiB random file back byte-exact through `tcp chat` and through
socat, half-close (what is owed is sent, then the connection closes),
back-pressure (a client that sends 50 MiB and reads nothing keeps the
server's RSS under 64 MiB), --threads, --rate and --group-rate (lower bounds
on the time only), --max-conns, --idle-timeout and SIGINT/SIGTERM.
serve: `PEER: line` and its JSON form (`data_base64` for a line that is not
UTF-8), relaying to every other client byte for byte (CRLF kept, a last line
without newline at EOF is a line), stdin to all clients, --max-line (a long
line and a long partial line).
chat: stdin to the server and the server to stdout byte for byte, EOF on
stdin half-closes, exit 0 when the server closes, 1 when refused, 4 on
--connect-timeout, 2 for a bad port, 130 on SIGINT, `localhost`.

Everything stays on loopback. Every socket and subprocess call has a
timeout; every process a test starts, and everything it started, is killed
when the test ends.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest
from pathlib import Path
from typing import Callable, Optional

import evtool_test as et

CLEAN_ENV = {"EVENT_NOEPOLL": None, "EVENT_NOPOLL": None, "EVENT_NOSELECT": None,
             "EVENT_SHOW_METHOD": None}
LOCAL = "127.0.0.1"
MiB = 1024 * 1024
# How long a socket call may block before the test fails.
IO_TIMEOUT = 10


def evtool(args, timeout=30, input=None):
    return et.run(args, env=CLEAN_ENV, timeout=timeout, input=input)


def run_bytes(args, stdin=b"", timeout=60) -> subprocess.CompletedProcess:
    return et.run_bytes(args, stdin=stdin, timeout=timeout, env=CLEAN_ENV)


class Peer(et.BufferedSocket):
    """A client socket with a receive buffer, for line and byte reads that
    each fail (AssertionError) after a timeout instead of hanging."""

    @property
    def name(self) -> str:
        """`127.0.0.1:PORT` as the server sees this client."""
        host, port = self.sock.getsockname()[:2]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def send(self, data: bytes) -> None:
        self.sock.settimeout(IO_TIMEOUT)
        self.sock.sendall(data)

    def readline(self, timeout: float = IO_TIMEOUT) -> bytes:
        """The next line, with its newline."""
        return self._read_until(b"\n", time.monotonic() + timeout, "line")

    def read_exactly(self, n: int, timeout: float = IO_TIMEOUT) -> bytes:
        return self._read_exactly(n, time.monotonic() + timeout)

    def quiet_for(self, seconds: float) -> bool:
        """True if nothing (neither data nor EOF) arrives for `seconds`."""
        if self.buf:
            return False
        self.sock.settimeout(seconds)
        try:
            data = self.sock.recv(4096, socket.MSG_PEEK)
        except socket.timeout:
            return True
        except ConnectionResetError:
            return False
        return False


class ThreadedPeerServer:
    """A python TCP server on loopback that runs `handler(conn)` for the
    first connection in a thread; `accepted` is set once it has one."""

    def __init__(self, handler: Callable[[socket.socket], None], family=socket.AF_INET, host=LOCAL):
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.bind((host, 0))
        self.listener.listen(8)
        self.listener.settimeout(IO_TIMEOUT)
        self.port = self.listener.getsockname()[1]
        self.handler = handler
        self.accepted = threading.Event()
        self.error: Optional[BaseException] = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.listener.accept()
            with conn:
                conn.settimeout(IO_TIMEOUT)
                self.accepted.set()
                self.handler(conn)
        except BaseException as e:  # reported by finish()
            self.error = e

    def finish(self, timeout: float = IO_TIMEOUT) -> None:
        """Waits for the handler; re-raises what it raised."""
        self.thread.join(timeout)
        self.listener.close()
        if self.thread.is_alive():
            raise AssertionError("the peer server's handler did not finish")
        if self.error:
            raise self.error

    def close(self) -> None:
        self.listener.close()
        self.thread.join(IO_TIMEOUT)


def unanswering_listener(test: unittest.TestCase) -> socket.socket:
    """A listening socket whose accept queue is full: the kernel drops new
    SYNs, so connecting to it hangs until the connector's timeout."""
    listener = socket.socket()
    test.addCleanup(listener.close)
    listener.bind((LOCAL, 0))
    listener.listen(0)
    for _ in range(4):
        filler = socket.socket()
        test.addCleanup(filler.close)
        filler.setblocking(False)
        filler.connect_ex(listener.getsockname())
    return listener


class TcpCase(unittest.TestCase):
    def assertExit(self, result, code):
        self.assertEqual(result.returncode, code,
                         f"$ {' '.join(map(str, result.args))}\nstdout: {result.stdout[:500]!r}\n"
                         f"stderr: {result.stderr[:2000]!r}")

    def start(self, args, sockets: int = 1) -> et.Server:
        """A running `evtool ARGS`, past its listening line(s) when
        sockets > 0; killed (with all it started) when the test ends."""
        server = et.Server(args, env=CLEAN_ENV, sockets=sockets)
        server.start()
        self.addCleanup(server.kill)
        return server

    def echo(self, *options) -> et.Server:
        return self.start(["tcp", "echo", "0", "--bind", LOCAL, *options])

    def serve(self, *options) -> et.Server:
        return self.start(["tcp", "serve", "0", "--bind", LOCAL, *options])

    def connect(self, port: int, host: str = LOCAL) -> Peer:
        sock = socket.create_connection((host, port), timeout=IO_TIMEOUT)
        self.addCleanup(sock.close)
        return Peer(sock)

    def roundtrip(self, peer: Peer, data: bytes) -> None:
        """Sends `data` to an echo server and checks it comes back."""
        peer.send(data)
        self.assertEqual(peer.read_exactly(len(data)), data)

    def transfer(self, port: int, data: bytes, timeout: float = 60) -> bytes:
        """Sends `data` to an echo server from a thread while reading the
        echo; half-closes after the last byte and returns all that came
        back up to the server's close."""
        peer = self.connect(port)
        failure: list[BaseException] = []

        def sender():
            try:
                peer.sock.sendall(data)
                peer.sock.shutdown(socket.SHUT_WR)
            except BaseException as e:
                failure.append(e)

        peer.sock.settimeout(timeout)
        thread = threading.Thread(target=sender, daemon=True)
        thread.start()
        back = peer.read_to_eof(timeout)
        thread.join(IO_TIMEOUT)
        self.assertFalse(failure, f"sending failed: {failure}")
        return back

    def assertDisconnected(self, peer: Peer, timeout: float = 5) -> bytes:
        """The server closes `peer` within `timeout` seconds; returns what
        arrived before the close."""
        return peer.read_to_eof(timeout)


# ---- listening line -------------------------------------------------------

class Listening(TcpCase):
    def first_line(self, args) -> str:
        server = self.start(args, sockets=0)
        return server.readline(10)

    def test_text_line_shows_the_real_port(self):
        for command in ("echo", "serve"):
            with self.subTest(command=command):
                line = self.first_line(["tcp", command, "0", "--bind", LOCAL])
                self.assertRegex(line, r"^listening on 127\.0\.0\.1:\d+$")
                port = int(line.rsplit(":", 1)[1])
                self.assertNotEqual(port, 0, "port 0 shows the port actually bound")
                # And it is the port the server answers on.
                socket.create_connection((LOCAL, port), timeout=IO_TIMEOUT).close()

    def test_json_line(self):
        for args in (["--json", "tcp", "echo", "0", "--bind", LOCAL],
                     ["tcp", "echo", "0", "--bind", LOCAL, "--json"],
                     ["--json", "tcp", "serve", "0", "--bind", LOCAL]):
            with self.subTest(args=args):
                line = self.first_line(args)
                port = et.check_listening_event(self, json.loads(line), line)
                socket.create_connection((LOCAL, port), timeout=IO_TIMEOUT).close()

    def test_printed_even_with_quiet(self):
        for args in (["-q", "tcp", "echo", "0", "--bind", LOCAL],
                     ["tcp", "serve", "0", "--bind", LOCAL, "--quiet"],
                     ["-q", "--json", "tcp", "echo", "0", "--bind", LOCAL]):
            with self.subTest(args=args):
                line = self.first_line(args)
                self.assertIsNotNone(et.parse_listening(line), line)

    @unittest.skipUnless(et.have_ipv6(), "no IPv6 loopback here")
    def test_ipv6_bind(self):
        line = self.first_line(["tcp", "echo", "0", "--bind", "::1"])
        self.assertRegex(line, r"^listening on \[::1\]:\d+$")
        port = int(line.rsplit(":", 1)[1])
        peer = self.connect(port, "::1")
        self.roundtrip(peer, b"over ipv6\n")

    @unittest.skipUnless(et.have_ipv6(), "no IPv6 loopback here")
    def test_ipv6_json(self):
        event = json.loads(self.first_line(["--json", "tcp", "echo", "0", "--bind", "::1"]))
        self.assertEqual(event["address"], "::1")
        self.assertEqual(event["proto"], "tcp")

    def test_bad_port_and_bind_are_usage_errors(self):
        for args, bad in ((["tcp", "echo", "70000"], "70000"), (["tcp", "serve", "abc"], "abc"),
                          (["tcp", "echo", "-1"], "-1"),
                          (["tcp", "echo", "0", "--bind", "not-an-ip"], "not-an-ip"),
                          (["tcp", "echo", "0", "--rate", "fast"], "fast"),
                          (["tcp", "echo", "0", "--idle-timeout", "soon"], "soon"),
                          (["tcp", "serve", "0", "--max-line", "long"], "long")):
            with self.subTest(args=args):
                result = evtool(args, timeout=10)
                self.assertExit(result, 2)
                self.assertIn(bad, result.stderr)
                self.assertEqual(result.stdout, "")

    def test_zero_limits_are_usage_errors(self):
        for args in (["tcp", "echo", "0", "--idle-timeout", "0"], ["tcp", "serve", "0", "--idle-timeout", "0s"],
                     ["tcp", "echo", "0", "--rate", "0"], ["tcp", "echo", "0", "--group-rate", "0"],
                     ["tcp", "echo", "0", "--max-conns", "0"], ["tcp", "serve", "0", "--max-line", "0"],
                     ["tcp", "chat", LOCAL, "1", "--connect-timeout", "0"]):
            with self.subTest(args=args):
                result = evtool(args, timeout=10)
                self.assertExit(result, 2)
                self.assertIn(args[-2], result.stderr, "the message names the option")
                self.assertEqual(result.stdout, "")

    def test_port_in_use_is_a_runtime_failure(self):
        with socket.socket() as taken:
            taken.bind((LOCAL, 0))
            taken.listen(1)
            result = evtool(["tcp", "echo", str(taken.getsockname()[1]), "--bind", LOCAL], timeout=10)
        self.assertExit(result, 1)
        self.assertNotIn("listening on", result.stdout)


# ---- echo -----------------------------------------------------------------

class Echo(TcpCase):
    def test_survives_running_out_of_descriptors(self):
        """Hardening, finding 3: with RLIMIT_NOFILE at 64 and 200 clients at
        once, the listener pauses and retries instead of failing, says so at
        most once a second, and serves again once clients leave."""
        if not shutil.which("prlimit"):
            self.skipTest("prlimit (util-linux) is not installed")
        server = self.echo()
        subprocess.run(["prlimit", f"--pid={server.proc.pid}", "--nofile=64:64"], check=True)
        start = time.monotonic()
        clients = []
        for _ in range(200):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex((LOCAL, server.port))
            clients.append(sock)
        deadline = time.monotonic() + 10
        while "pausing accepts" not in server.stderr and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn("pausing accepts", server.stderr, "running out of descriptors is said on stderr")
        self.assertIsNone(server.returncode, f"the server died: {server.stderr}")
        for sock in clients:
            sock.close()
        # Once descriptors are free again, a new client is served.
        peer = None
        deadline = time.monotonic() + 10
        while peer is None and time.monotonic() < deadline:
            try:
                candidate = self.connect(server.port)
                candidate.send(b"ping")
                if candidate.read_exactly(4, 2) == b"ping":
                    peer = candidate
            except (AssertionError, OSError):
                time.sleep(0.1)
        self.assertIsNotNone(peer, f"not served again after the clients left: {server.stderr}")
        pauses = server.stderr.count("pausing accepts")
        self.assertLessEqual(pauses, int(time.monotonic() - start) + 2, "logged at most once a second")

    def test_all_byte_values(self):
        server = self.echo()
        peer = self.connect(server.port)
        data = bytes(range(256)) * 16 + b"\r\n\0\r" + bytes(reversed(range(256)))
        self.roundtrip(peer, data)
        self.roundtrip(peer, b"\0")  # and a lone NUL

    def test_many_small_writes(self):
        server = self.echo()
        peer = self.connect(server.port)
        for i in range(50):
            self.roundtrip(peer, f"line {i}\n".encode())

    def test_half_close_small(self):
        server = self.echo()
        peer = self.connect(server.port)
        peer.send(b"owed bytes\n")
        peer.sock.shutdown(socket.SHUT_WR)
        self.assertEqual(peer.read_to_eof(), b"owed bytes\n",
                         "after FIN echo sends what it owes, then closes")

    def test_half_close_with_megabytes_in_flight(self):
        # The FIN arrives while much of the echo is still owed (the server
        # has stopped reading for back-pressure): all of it still comes back.
        server = self.echo()
        data = os.urandom(3 * MiB)
        back = self.transfer(server.port, data)
        self.assertEqual(len(back), len(data))
        self.assertTrue(back == data, "the echo is byte-exact")

    def test_close_without_half_close_is_fine(self):
        server = self.echo()
        for _ in range(3):
            peer = self.connect(server.port)
            peer.send(b"x" * 1000)
            peer.sock.close()
        peer = self.connect(server.port)
        self.roundtrip(peer, b"still serving\n")

    def test_five_mib_through_tcp_chat(self):
        server = self.echo()
        data = os.urandom(5 * MiB)
        with tempfile.TemporaryDirectory(prefix="evtool-tcp-") as tmp:
            path = Path(tmp) / "random.bin"
            path.write_bytes(data)
            with self.subTest(stdin="regular file"), path.open("rb") as f:
                result = run_bytes(["tcp", "chat", LOCAL, server.port], stdin=f)
                self.assertExit(result, 0)
                self.assertEqual(len(result.stdout), len(data))
                self.assertTrue(result.stdout == data, "5 MiB back byte-exact")
        with self.subTest(stdin="pipe"):
            result = run_bytes(["tcp", "chat", LOCAL, server.port], stdin=data)
            self.assertExit(result, 0)
            self.assertEqual(len(result.stdout), len(data))
            self.assertTrue(result.stdout == data, "5 MiB back byte-exact")

    @unittest.skipUnless(shutil.which("socat"), "socat is not installed")
    def test_five_mib_through_socat(self):
        server = self.echo()
        data = os.urandom(5 * MiB)
        with tempfile.TemporaryDirectory(prefix="evtool-tcp-") as tmp:
            path = Path(tmp) / "random.bin"
            path.write_bytes(data)
            # -t: after stdin's EOF socat half-closes and keeps reading this
            # long (the default, 0.5 s, could cut the echo short).
            with path.open("rb") as f:
                proc = subprocess.run(["socat", "-t", "30", "-", f"TCP:{LOCAL}:{server.port}"],
                                      stdin=f, capture_output=True, timeout=60, start_new_session=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(len(proc.stdout), len(data))
        self.assertTrue(proc.stdout == data, "5 MiB back byte-exact")

    def test_sender_that_never_reads_has_bounded_memory(self):
        server = self.echo()
        pid = server.proc.pid
        total = 50 * MiB
        chunk = os.urandom(MiB)
        peer = self.connect(server.port)
        sock = peer.sock
        sock.setblocking(False)
        sent = 0
        baseline = max_rss = et.vm_kib(pid, "VmRSS")
        deadline = time.monotonic() + 15
        last_progress = time.monotonic()
        # Phase 1: send as much as the server lets us while reading nothing,
        # until 50 MiB are out or no byte has gone for a second.
        while sent < total and time.monotonic() < deadline:
            try:
                off = sent % len(chunk)
                n = sock.send(chunk[off:off + min(len(chunk) - off, total - sent)])
            except BlockingIOError:
                if time.monotonic() - last_progress > 1.0:
                    break
                time.sleep(0.01)
                max_rss = max(max_rss, et.vm_kib(pid, "VmRSS"))
                continue
            sent += n
            last_progress = time.monotonic()
            max_rss = max(max_rss, et.vm_kib(pid, "VmRSS"))
        max_rss = max(max_rss, et.vm_kib(pid, "VmRSS"))
        self.assertLess(max_rss, 64 * 1024, f"VmRSS reached {max_rss} KiB after {sent} bytes sent unread")
        self.assertLess(et.vm_kib(pid, "VmHWM"), 64 * 1024, "peak RSS")
        # 50 MiB held without back-pressure would still fit under 64 MiB:
        # the growth shows whether the server stopped reading. It holds
        # about 1 MiB of output; 16 MiB is generous.
        self.assertLess(max_rss - baseline, 16 * 1024,
                        f"VmRSS grew from {baseline} to {max_rss} KiB after {sent} bytes sent unread")
        self.assertIsNone(server.returncode, "the server is still running")

        # Phase 2: read the echo while sending the rest: all 50 MiB come back.
        sock.setblocking(True)
        failure: list[BaseException] = []

        def send_rest():
            try:
                pos = sent
                while pos < total:
                    off = pos % len(chunk)
                    piece = chunk[off:off + min(len(chunk) - off, total - pos)]
                    sock.sendall(piece)
                    pos += len(piece)
                sock.shutdown(socket.SHUT_WR)
            except BaseException as e:
                failure.append(e)

        sock.settimeout(30)
        thread = threading.Thread(target=send_rest, daemon=True)
        thread.start()
        digest = hashlib.sha256()
        received = 0
        end = time.monotonic() + 60
        while time.monotonic() < end:
            try:
                data = sock.recv(MiB)
            except ConnectionResetError:
                break
            if not data:
                break
            digest.update(data)
            received += len(data)
            if received % (8 * MiB) < len(data):
                max_rss = max(max_rss, et.vm_kib(pid, "VmRSS"))
        thread.join(IO_TIMEOUT)
        self.assertFalse(failure, f"sending failed: {failure}")
        expected = hashlib.sha256()
        for _ in range(total // len(chunk)):
            expected.update(chunk)
        self.assertEqual(received, total)
        self.assertEqual(digest.hexdigest(), expected.hexdigest(), "all 50 MiB came back byte-exact")
        self.assertLess(max(max_rss, et.vm_kib(pid, "VmHWM")), 64 * 1024, "peak RSS while draining")

    def test_threads(self):
        server = self.echo("--threads", "2")
        results: dict[int, bool] = {}

        def client(i: int):
            data = os.urandom(256 * 1024) + f"client {i}".encode()
            with socket.create_connection((LOCAL, server.port), timeout=IO_TIMEOUT) as s:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                results[i] = et.recv_to_eof(s) == data

        errors = et.in_threads(client, 8)
        self.assertFalse(errors, errors)
        self.assertEqual(results, {i: True for i in range(8)})
        self.assertEqual(server.stop(signal.SIGTERM), 0, server.stderr)

    def test_rate_per_connection(self):
        server = self.echo("--rate", "1M")
        data = os.urandom(3 * MiB)
        start = time.monotonic()
        back = self.transfer(server.port, data)
        elapsed = time.monotonic() - start
        self.assertTrue(back == data, "the echo is byte-exact")
        self.assertGreaterEqual(elapsed, 2.5, "3 MiB at 1 MiB/s take about 3 s")

    def test_rate_is_per_connection(self):
        # Lower bound only: each of two connections is held to the rate.
        server = self.echo("--rate", "512k")
        times: list[float] = []
        errors: list[BaseException] = []

        def client():
            try:
                start = time.monotonic()
                back = self.transfer(server.port, os.urandom(MiB), timeout=30)
                times.append(time.monotonic() - start)
                if len(back) != MiB:
                    raise AssertionError(f"{len(back)} bytes came back")
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=client, daemon=True) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(40)
        self.assertFalse(errors, errors)
        self.assertEqual(len(times), 2)
        for t in times:
            self.assertGreaterEqual(t, 1.5, "1 MiB at 512 KiB/s takes about 2 s")

    def test_group_rate_limits_the_sum(self):
        server = self.echo("--group-rate", "1M")
        data = [os.urandom(MiB), os.urandom(MiB)]
        back: dict[int, bytes] = {}
        errors: list[BaseException] = []

        def client(i: int):
            try:
                back[i] = self.transfer(server.port, data[i], timeout=30)
            except BaseException as e:
                errors.append(e)

        start = time.monotonic()
        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(40)
        elapsed = time.monotonic() - start
        self.assertFalse(errors, errors)
        self.assertTrue(back.get(0) == data[0] and back.get(1) == data[1], "both echoes byte-exact")
        self.assertGreaterEqual(elapsed, 1.5, "2 MiB through a 1 MiB/s group take about 2 s")

    def test_max_conns(self):
        server = self.echo("--max-conns", "1")
        first = self.connect(server.port)
        self.roundtrip(first, b"first\n")
        second = self.connect(server.port)
        self.assertEqual(self.assertDisconnected(second), b"", "the second client is closed at once")
        self.roundtrip(first, b"first still works\n")
        # Once the first leaves, its slot is free again.
        first.sock.close()
        deadline = time.monotonic() + 5
        while True:
            third = self.connect(server.port)
            try:
                self.roundtrip(third, b"third\n")
                break
            except (AssertionError, OSError):  # closed: the slot is not free yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def test_idle_timeout(self):
        server = self.echo("--idle-timeout", "300ms")
        start = time.monotonic()
        idle = self.connect(server.port)
        active = self.connect(server.port)
        # The active client talks every 50 ms for 1.5 s (5 timeouts long).
        while time.monotonic() - start < 1.5:
            self.roundtrip(active, b"ping\n")
            time.sleep(0.05)
        self.assertEqual(self.assertDisconnected(idle, timeout=5), b"", "the idle client got EOF")
        self.roundtrip(active, b"still here\n")
        # An idle client is not closed long before its timeout.
        late = self.connect(server.port)
        t0 = time.monotonic()
        self.assertEqual(self.assertDisconnected(late, timeout=5), b"")
        self.assertGreaterEqual(time.monotonic() - t0, 0.25)

    def test_signals_stop_cleanly(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            with self.subTest(signal=sig.name):
                server = self.echo()
                peer = self.connect(server.port)
                self.roundtrip(peer, b"hello\n")
                self.assertEqual(server.stop(sig), 0, server.stderr)


# ---- serve ----------------------------------------------------------------

class Serve(TcpCase):
    def join(self, server: et.Server, count: int, json_mode: bool = False, threads: bool = False) -> list[Peer]:
        """`count` clients, connected one at a time; each says hello and the
        server's stdout shows it before the next connects, so all are known
        to the server. Earlier clients receive the later hellos (checked).

        threads: with several loops a hello still on its way to another
        loop may reach a client that joined there just after it was sent;
        client k may then see `hello from j` (j < k) late, and skips it."""
        peers: list[Peer] = []
        for i in range(count):
            peer = self.connect(server.port)
            hello = f"hello from {i}"
            peer.send(hello.encode() + b"\n")
            self.assertEqual(self.next_message(server, json_mode), (peer.name, hello))
            for k, earlier in enumerate(peers):
                line = earlier.readline()
                while threads and self.is_late_hello(line, k):
                    line = earlier.readline()
                self.assertEqual(line, hello.encode() + b"\n", "relayed to the others")
            peers.append(peer)
        return peers

    @staticmethod
    def is_late_hello(line: bytes, k: int) -> bool:
        """`hello from j` with j < k: sent before client k joined."""
        words = line.split()
        return len(words) == 3 and line.startswith(b"hello from ") and int(words[2]) < k

    def next_message(self, server: et.Server, json_mode: bool = False, timeout: float = 5) -> tuple[str, str]:
        """(peer, data) of the next message the server prints."""
        deadline = time.monotonic() + timeout
        while True:
            line = server.readline(max(0.1, deadline - time.monotonic()))
            self.assertIsNotNone(line, f"the server's output ended: {server.stderr}")
            if not json_mode:
                peer, sep, data = line.partition(": ")
                self.assertTrue(sep, f"not a `PEER: line` line: {line!r}")
                return peer, data
            event = json.loads(line)
            self.assertIn("event", event, line)
            if event["event"] == "message":
                self.assertEqual(list(event), ["event", "peer", "data"], line)
                return event["peer"], event["data"]

    def test_fan_out_to_slow_readers_stays_bounded(self):
        """Hardening, finding 3: clients that never read are dropped once
        --max-queue waits for them; the server's memory stays bounded and
        everyone else goes on."""
        server = self.serve("-q", "--json", "--max-queue", "64k")
        pid = server.proc.pid
        stalled = []
        for _ in range(40):
            sock = socket.socket()
            self.addCleanup(sock.close)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect((LOCAL, server.port))
            stalled.append(sock)
        sender = self.connect(server.port)
        line = b"x" * 1023 + b"\n"
        total = 8 * MiB
        sender.sock.settimeout(30)
        sender.sock.sendall(line * (total // len(line)))
        dropped, relayed = set(), 0
        deadline = time.monotonic() + 30
        while (len(dropped) < len(stalled) or relayed < total // len(line)) and time.monotonic() < deadline:
            out = server.readline(max(0.1, deadline - time.monotonic()))
            if out is None:
                break
            event = json.loads(out)
            relayed += event.get("event") == "message"
            if event.get("event") == "dropped":
                self.assertEqual(event["reason"], "slow reader")
                dropped.add(event["peer"])
        self.assertEqual(relayed, total // len(line), "every line was relayed")
        self.assertEqual(len(dropped), len(stalled), "every client that never reads is dropped")
        self.assertLess(et.vm_kib(pid, "VmHWM"), 96 * 1024, "peak RSS with 40 stalled receivers")
        # The server still relays to a client that reads.
        a = self.connect(server.port)
        b = self.connect(server.port)
        joins = 0
        while joins < 2:
            out = server.readline(5)
            self.assertIsNotNone(out, "the server's output ended")
            joins += json.loads(out).get("event") == "join"
        a.send(b"still here\n")
        self.assertEqual(b.readline(), b"still here\n")

    def test_two_clients_chat(self):
        server = self.serve()
        a, b = self.join(server, 2)
        a.send(b"hi b\n")
        self.assertEqual(b.readline(), b"hi b\n")
        self.assertEqual(self.next_message(server), (a.name, "hi b"))
        b.send(b"hi a\n")
        # a's next line is b's: its own line was not sent back to it.
        self.assertEqual(a.readline(), b"hi a\n")
        self.assertEqual(self.next_message(server), (b.name, "hi a"))
        self.assertTrue(b.quiet_for(0.3), "nothing echoed back to the sender")

    def test_relayed_to_every_other_client(self):
        server = self.serve()
        a, b, c = self.join(server, 3)
        b.send(b"from b\n")
        self.assertEqual(a.readline(), b"from b\n")
        self.assertEqual(c.readline(), b"from b\n")
        c.send(b"from c\n")
        self.assertEqual(a.readline(), b"from c\n")
        self.assertEqual(b.readline(), b"from c\n", "b did not get its own line back")
        # A line split over several writes is relayed whole, CRLF as sent.
        a.send(b"par")
        time.sleep(0.1)
        a.send(b"tial\r\n")
        self.assertEqual(b.readline(), b"partial\r\n")
        self.assertEqual(c.readline(), b"partial\r\n")

    def test_relays_bytes_exactly(self):
        server = self.serve()
        a, b = self.join(server, 2)
        lines = [b"crlf\r\n", b"\r\n", b"\n"]
        a.send(b"".join(lines))
        for line in lines:
            self.assertEqual(b.readline(), line)
        # What the server prints is the line without its CRLF or LF.
        self.assertEqual([self.next_message(server) for _ in lines], [(a.name, "crlf"), (a.name, ""), (a.name, "")])
        lines = [b"lone \r inside\n", b"\x00\xff\xfe binary\r\r\n"]
        a.send(b"".join(lines))
        for line in lines:
            self.assertEqual(b.readline(), line)

    def test_last_line_without_newline_at_eof(self):
        server = self.serve()
        a, b = self.join(server, 2)
        a.send(b"complete\nno newline")
        a.sock.shutdown(socket.SHUT_WR)
        self.assertEqual(b.readline(), b"complete\n")
        self.assertEqual(b.readline(), b"no newline\n", "the final partial line is a line")
        self.assertEqual(self.next_message(server), (a.name, "complete"))
        self.assertEqual(self.next_message(server), (a.name, "no newline"))

    def test_stdin_last_line_without_newline(self):
        server = self.serve()
        (a,) = self.join(server, 1)
        server.write("typed\r\nand no newline")
        server.close_stdin()
        self.assertEqual(a.readline(), b"typed\r\n")
        self.assertEqual(a.readline(), b"and no newline\n")

    def test_peer_line_format(self):
        server = self.serve()
        (a,) = self.join(server, 1)
        a.send(b"two words: and a colon\n")
        self.assertEqual(self.next_message(server), (a.name, "two words: and a colon"))
        self.assertRegex(a.name, r"^127\.0\.0\.1:\d+$")

    def test_json_messages(self):
        server = self.start(["--json", "tcp", "serve", "0", "--bind", LOCAL])
        a, b = self.join(server, 2, json_mode=True)
        a.send('quote " backslash \\ tab \t é\n'.encode())
        self.assertEqual(b.readline(), 'quote " backslash \\ tab \t é\n'.encode())
        self.assertEqual(self.next_message(server, json_mode=True), (a.name, 'quote " backslash \\ tab \t é'))

    def test_json_invalid_utf8_is_data_base64(self):
        server = self.start(["--json", "tcp", "serve", "0", "--bind", LOCAL])
        a, b = self.join(server, 2, json_mode=True)
        a.send(b"bad \xff\xfe bytes\r\n")
        self.assertEqual(b.readline(), b"bad \xff\xfe bytes\r\n", "relayed byte for byte")
        event = json.loads(server.readline(5))
        self.assertEqual(list(event), ["event", "peer", "data_base64"], event)
        self.assertEqual(event["peer"], a.name)
        self.assertEqual(base64.b64decode(event["data_base64"]), b"bad \xff\xfe bytes")
        b.send(b"still alive\n")
        self.assertEqual(a.readline(), b"still alive\n")

    def test_threads_relay_between_loops(self):
        server = self.serve("--threads", "2")
        peers = self.join(server, 6, threads=True)
        count = 300
        got: dict[int, list[bytes]] = {}
        errors: list[BaseException] = []

        def reader(i: int, peer: Peer):
            try:
                lines = []
                while len(lines) < count * (len(peers) - 1):
                    line = peer.readline(20)
                    if not self.is_late_hello(line, i):
                        lines.append(line)
                got[i] = lines
            except BaseException as e:
                errors.append(e)

        def writer(i: int, peer: Peer):
            try:
                peer.sock.sendall(b"".join(f"client {i} line {j}\n".encode() for j in range(count)))
            except BaseException as e:
                errors.append(e)

        readers = [threading.Thread(target=reader, args=(i, p), daemon=True) for i, p in enumerate(peers)]
        writers = [threading.Thread(target=writer, args=(i, p), daemon=True) for i, p in enumerate(peers)]
        for t in readers + writers:
            t.start()
        for t in readers + writers:
            t.join(30)
        self.assertFalse(errors, errors)
        for i, lines in got.items():
            senders = {int(line.split()[1]) for line in lines}
            self.assertEqual(senders, set(range(len(peers))) - {i}, "every other client's lines, not its own")
            for k in senders:  # each sender's lines arrive whole and in order
                self.assertEqual([ln for ln in lines if ln.startswith(f"client {k} ".encode())],
                                 [f"client {k} line {j}\n".encode() for j in range(count)])
        # Every stdout line is one whole `PEER: line` (loops print concurrently).
        names = {p.name for p in peers}
        for _ in range(count * len(peers)):
            peer, data = self.next_message(server, timeout=10)
            self.assertIn(peer, names, f"a mangled line: {peer!r}: {data!r}")
            self.assertRegex(data, r"^client \d+ line \d+$")
        self.assertEqual(server.stop(signal.SIGTERM), 0, server.stderr)

    def test_stdin_goes_to_all_clients(self):
        server = self.serve()
        a, b, c = self.join(server, 3)
        server.write("typed on the server\n")
        for peer in (a, b, c):
            self.assertEqual(peer.readline(), b"typed on the server\n")
        server.write("second\nthird\n")
        for peer in (a, b, c):
            self.assertEqual(peer.readline(), b"second\n")
            self.assertEqual(peer.readline(), b"third\n")

    def test_stdin_eof_keeps_serving(self):
        server = self.serve()
        server.close_stdin()
        a, b = self.join(server, 2)
        a.send(b"after eof\n")
        self.assertEqual(b.readline(), b"after eof\n")

    def test_max_line_disconnects_only_that_client(self):
        server = self.serve("--max-line", "16")
        a, b, c = self.join(server, 3)
        a.send(b"x" * 16 + b"\n")  # exactly the limit: fine
        self.assertEqual(b.readline(), b"x" * 16 + b"\n")
        self.assertEqual(c.readline(), b"x" * 16 + b"\n")
        a.send(b"y" * 40 + b"\n")
        self.assertEqual(self.assertDisconnected(a), b"", "the long line's sender is disconnected")
        c.send(b"after\n")
        self.assertEqual(b.readline(), b"after\n", "the long line was not relayed; b is still served")
        b.send(b"ok\n")
        self.assertEqual(c.readline(), b"ok\n")

    def test_partial_line_past_max_line_disconnects(self):
        server = self.serve("--max-line", "16")
        a, b = self.join(server, 2)
        a.send(b"z" * 40)  # no newline
        self.assertEqual(self.assertDisconnected(a), b"")
        c = self.connect(server.port)
        c.send(b"new client\n")
        self.assertEqual(b.readline(), b"new client\n")

    def test_partial_line_growing_past_max_line(self):
        server = self.serve("--max-line", "16")
        a, b = self.join(server, 2)
        for _ in range(3):
            a.send(b"abcdef")  # 18 bytes in three writes, no newline
            time.sleep(0.05)
        self.assertEqual(self.assertDisconnected(a), b"")
        self.assertTrue(b.quiet_for(0.2))

    def test_default_max_line_is_64k(self):
        server = self.serve()
        a, b = self.join(server, 2)
        line = b"L" * 60000 + b"\n"
        a.send(line)
        self.assertEqual(b.readline(), line, "a 60 kB line is relayed")
        a.send(b"M" * (70 * 1024))
        self.assertEqual(self.assertDisconnected(a), b"", "a 70 KiB partial line disconnects")
        c = self.connect(server.port)
        c.send(b"b still served\n")
        self.assertEqual(b.readline(), b"b still served\n")

    def test_leaving_client_does_not_disturb_others(self):
        server = self.serve()
        a, b, c = self.join(server, 3)
        a.sock.close()
        b.send(b"a left\n")
        self.assertEqual(c.readline(), b"a left\n")

    def test_signals_stop_cleanly(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            with self.subTest(signal=sig.name):
                server = self.serve()
                self.join(server, 2)
                self.assertEqual(server.stop(sig), 0, server.stderr)


# ---- chat -----------------------------------------------------------------

class Chat(TcpCase):
    def peer_server(self, handler, **kwargs) -> ThreadedPeerServer:
        server = ThreadedPeerServer(handler, **kwargs)
        self.addCleanup(server.close)
        return server

    def test_stdin_half_close_then_reply(self):
        reply = b"\0reply\xff\r\n" * 1000
        for sent in (bytes(range(256)) * 64 + b"last line\n", b""):
            with self.subTest(stdin_bytes=len(sent)):
                seen: list[bytes] = []

                def handler(conn):
                    seen.append(et.recv_to_eof(conn))  # chat's stdin EOF is our EOF
                    time.sleep(0.2)  # chat keeps reading after its half-close
                    conn.sendall(reply)

                peer = self.peer_server(handler)
                result = run_bytes(["tcp", "chat", LOCAL, peer.port], stdin=sent, timeout=30)
                peer.finish()
                self.assertExit(result, 0)
                self.assertEqual(seen, [sent], "stdin reached the server byte for byte")
                self.assertEqual(result.stdout, reply, "the server's bytes on stdout, unchanged")

    def test_exits_0_when_the_server_closes(self):
        def handler(conn):
            conn.sendall(b"bye\n")

        peer = self.peer_server(handler)
        # stdin stays open: the server's close alone ends chat.
        chat = self.start(["tcp", "chat", LOCAL, peer.port], sockets=0)
        self.assertEqual(chat.readline(10), "bye")
        self.assertEqual(chat.wait(10), 0, chat.stderr)
        peer.finish()

    def test_echo_through_chat_line_by_line(self):
        server = self.echo()
        chat = self.start(["tcp", "chat", LOCAL, server.port], sockets=0)
        for i in range(5):
            chat.write(f"line {i}\n")
            self.assertEqual(chat.readline(10), f"line {i}")
        chat.close_stdin()
        self.assertIsNone(chat.readline(10), "echo closes after the half-close; chat ends")
        self.assertEqual(chat.wait(10), 0, chat.stderr)

    def test_connection_refused(self):
        result = run_bytes(["tcp", "chat", LOCAL, et.free_port()], timeout=20)
        self.assertExit(result, 1)
        self.assertNotEqual(result.stderr, b"", "a message says why")
        self.assertEqual(result.stdout, b"")

    def test_connection_reset_exits_1(self):
        def handler(conn):
            conn.sendall(b"partial")
            time.sleep(0.2)
            # SO_LINGER 0: close() sends RST instead of FIN.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

        peer = self.peer_server(handler)
        chat = self.start(["tcp", "chat", LOCAL, peer.port], sockets=0)
        self.assertEqual(chat.wait(10), 1, chat.stderr)
        peer.finish()

    def test_localhost_refused(self):
        port = et.free_port()
        result = run_bytes(["tcp", "chat", "localhost", port], timeout=20)
        self.assertExit(result, 1)

    def test_connect_timeout(self):
        listener = socket.socket()
        self.addCleanup(listener.close)
        listener.bind((LOCAL, 0))
        listener.listen(0)
        addr = listener.getsockname()
        # Fill the accept queue (never accepted): further SYNs are dropped.
        for _ in range(4):
            filler = socket.socket()
            self.addCleanup(filler.close)
            filler.setblocking(False)
            filler.connect_ex(addr)
        time.sleep(0.1)
        with socket.socket() as probe:
            probe.settimeout(0.3)
            try:
                probe.connect(addr)
            except (socket.timeout, BlockingIOError):
                pass
            else:
                self.skipTest("the full backlog did not make connect() hang here")
        start = time.monotonic()
        result = run_bytes(["tcp", "chat", "--connect-timeout", "500ms", LOCAL, addr[1]], timeout=20)
        elapsed = time.monotonic() - start
        self.assertExit(result, 4)
        self.assertGreaterEqual(elapsed, 0.45, "not before the timeout")
        self.assertLess(elapsed, 8, "--connect-timeout 500ms, not the 10 s default")
        self.assertIn(b"timed out", result.stderr)

    def test_bad_port_is_a_usage_error(self):
        for port in ("70000", "abc", "-5", ""):
            with self.subTest(port=port):
                result = evtool(["tcp", "chat", LOCAL, port], timeout=10)
                self.assertExit(result, 2)
                if port:
                    self.assertIn(port, result.stderr)
        result = evtool(["tcp", "chat", LOCAL, "80", "--connect-timeout", "soon"], timeout=10)
        self.assertExit(result, 2)
        self.assertIn("soon", result.stderr)
        self.assertExit(evtool(["tcp", "chat", LOCAL], timeout=10), 2)

    def test_sigint_exits_130(self):
        done = threading.Event()

        def handler(conn):
            done.wait(IO_TIMEOUT)  # hold the connection open

        peer = self.peer_server(handler)
        self.addCleanup(done.set)
        chat = self.start(["tcp", "chat", LOCAL, peer.port], sockets=0)
        self.assertTrue(peer.accepted.wait(IO_TIMEOUT), "chat connected")
        time.sleep(0.2)
        chat.send_signal(signal.SIGINT)
        self.assertEqual(chat.wait(10), 130, chat.stderr)
        done.set()

    def test_sigint_while_connecting_exits_130(self):
        listener = unanswering_listener(self)
        chat = self.start(["tcp", "chat", LOCAL, listener.getsockname()[1]], sockets=0)
        time.sleep(0.3)
        chat.send_signal(signal.SIGINT)
        self.assertEqual(chat.wait(10), 130, chat.stderr)

    def test_localhost(self):
        server = self.echo()
        result = run_bytes(["tcp", "chat", "localhost", server.port], stdin=b"via localhost\n", timeout=20)
        self.assertExit(result, 0)
        self.assertEqual(result.stdout, b"via localhost\n")

    @unittest.skipUnless(et.have_ipv6(), "no IPv6 loopback here")
    def test_localhost_tries_every_address(self):
        # Only ::1 listens: the IPv4 address is refused, the next one works.
        # That needs a localhost with both addresses (the hosts file says).
        try:
            found = {info[4][0] for info in socket.getaddrinfo("localhost", 0, type=socket.SOCK_STREAM)}
        except OSError:
            found = set()
        if not {LOCAL, "::1"} <= found:
            self.skipTest(f"localhost is only {sorted(found)} here")
        server = self.start(["tcp", "echo", "0", "--bind", "::1"])
        with socket.socket() as probe:
            try:
                probe.bind((LOCAL, server.port))
            except OSError:
                self.skipTest("the port is taken on IPv4")
        result = run_bytes(["tcp", "chat", "localhost", server.port], stdin=b"v6\n", timeout=20)
        self.assertExit(result, 0)
        self.assertEqual(result.stdout, b"v6\n")

    @unittest.skipUnless(et.have_ipv6(), "no IPv6 loopback here")
    def test_ipv6_literal(self):
        seen: list[bytes] = []

        def handler(conn):
            seen.append(et.recv_to_eof(conn))
            conn.sendall(b"v6 reply")

        peer = self.peer_server(handler, family=socket.AF_INET6, host="::1")
        result = run_bytes(["tcp", "chat", "::1", peer.port], stdin=b"v6 hello", timeout=20)
        peer.finish()
        self.assertExit(result, 0)
        self.assertEqual(seen, [b"v6 hello"])
        self.assertEqual(result.stdout, b"v6 reply")


if __name__ == "__main__":
    unittest.main()
