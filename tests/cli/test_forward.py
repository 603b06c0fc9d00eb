"""`evtool tcp forward PORT HOST:PORT` (alias `proxy`), against real peers.

CLI.md, "tcp forward": every accepted connection is joined to a new one to
the target (names resolved, every address tried), bytes relayed both ways
with back-pressure, half-close passed through, each side closed when the
other is done; --tls terminates TLS, --to-tls (-k, --cacert, --servername)
speaks TLS to the target; one log line per connection (text and JSON); a
target that refuses closes that client only. Peers: socat, openssl
s_client, python sockets and ssl, `tcp echo` and `http serve` as targets.
Also: a 100 MiB download from `http serve` through the forwarder to a slow
reader, byte-exact with the forwarder's memory bounded, and 1,000
connections through it at once.
"""

from __future__ import annotations

import hashlib
import json
import re
import resource
import shutil
import socket
import ssl
import subprocess
import threading
import time
import unittest

import evtool_test as et
import test_tcp as tcp
import test_tcp_tls as tls

LOCAL = tcp.LOCAL
MiB = tcp.MiB
IO_TIMEOUT = tcp.IO_TIMEOUT
SOCAT = shutil.which("socat")
LOG = re.compile(r"^(\S+) -> (\S+): (\d+) bytes up, (\d+) bytes down$")


class ForwardCase(tcp.TcpCase):
    # What the server printed on stderr arrives through a reader thread.
    wait_stderr = tls.TlsCase.wait_stderr

    def forward(self, target: str, *options) -> et.Server:
        return self.start(["tcp", "forward", "0", target, "--bind", LOCAL, *options])

    def echo_and_forward(self, *options) -> tuple[et.Server, et.Server]:
        echo = self.echo()
        return echo, self.forward(f"{LOCAL}:{echo.port}", *options)

    def log_line(self, server: et.Server, timeout: float = IO_TIMEOUT) -> re.Match:
        line = server.readline(timeout)
        match = LOG.match(line or "")
        self.assertTrue(match, f"not a forward log line: {line!r}")
        return match


class Relaying(ForwardCase):
    @unittest.skipUnless(SOCAT, "socat is not installed")
    def test_socat_through_the_forwarder(self):
        _, fwd = self.echo_and_forward()
        result = subprocess.run([SOCAT, "-t", "5", "-", f"TCP:{LOCAL}:{fwd.port}"], input=b"hello forward\n",
                                capture_output=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, b"hello forward\n")

    def test_all_byte_values_both_ways_byte_exact(self):
        _, fwd = self.echo_and_forward()
        data = bytes(range(256)) * 4096 + hashlib.sha256(b"x").digest() * 10000  # 1.3 MiB
        self.assertEqual(self.transfer(fwd.port, data), data)

    def test_log_line_counts_bytes_each_way(self):
        echo, fwd = self.echo_and_forward()
        peer = self.connect(fwd.port)
        self.roundtrip(peer, b"12345")
        peer.sock.shutdown(socket.SHUT_WR)
        self.assertEqual(peer.read_to_eof(), b"")
        match = self.log_line(fwd)
        self.assertEqual(match.groups(), (peer.name, f"{LOCAL}:{echo.port}", "5", "5"))

    def test_json_log_line(self):
        echo = self.echo()
        fwd = self.start(["--json", "tcp", "forward", "0", f"{LOCAL}:{echo.port}", "--bind", LOCAL])
        peer = self.connect(fwd.port)
        self.roundtrip(peer, b"abc")
        peer.sock.close()
        event = json.loads(fwd.readline())
        self.assertEqual(event, {"event": "closed", "peer": event["peer"], "target": f"{LOCAL}:{echo.port}",
                                 "bytes_up": 3, "bytes_down": 3})

    def test_quiet_prints_no_log_line(self):
        echo = self.echo()
        fwd = self.start(["-q", "tcp", "forward", "0", f"{LOCAL}:{echo.port}", "--bind", LOCAL])
        peer = self.connect(fwd.port)
        self.roundtrip(peer, b"abc")
        peer.sock.shutdown(socket.SHUT_WR)
        peer.read_to_eof()
        # The next connection's refusal would be logged before a late line: stop and read all.
        self.assertEqual(fwd.stop(), 0)
        self.assertEqual(fwd.drain(), [])

    def test_proxy_alias(self):
        echo = self.echo()
        fwd = self.start(["tcp", "proxy", "0", f"{LOCAL}:{echo.port}", "--bind", LOCAL])
        self.roundtrip(self.connect(fwd.port), b"via the alias")

    def test_target_name_is_resolved(self):
        echo = self.echo()
        fwd = self.forward(f"localhost:{echo.port}")
        self.roundtrip(self.connect(fwd.port), b"by name")

    @unittest.skipUnless(et.have_ipv6(), "no IPv6 loopback")
    def test_ipv6_target(self):
        echo = self.start(["tcp", "echo", "0", "--bind", "::1"])
        fwd = self.forward(f"[::1]:{echo.port}")
        self.roundtrip(self.connect(fwd.port), b"to ::1")

    def test_rate_limited_relay_is_byte_exact(self):
        _, fwd = self.echo_and_forward("--rate", "4M", "--group-rate", "8M")
        data = bytes(range(256)) * 2048  # 512 KiB each way
        self.assertEqual(self.transfer(fwd.port, data), data)

    def test_threads(self):
        _, fwd = self.echo_and_forward("--threads", "3")
        for i in range(12):
            self.roundtrip(self.connect(fwd.port), f"conn {i}".encode())


class HalfClose(ForwardCase):
    def test_client_fin_reaches_the_target_which_still_answers(self):
        def target(conn: socket.socket) -> None:
            got = et.recv_to_eof(conn)           # the client's FIN arrives as EOF
            conn.sendall(b"got " + got)          # and the target can still answer
        peer_server = tcp.ThreadedPeerServer(target)
        self.addCleanup(peer_server.close)
        fwd = self.forward(f"{LOCAL}:{peer_server.port}")
        peer = self.connect(fwd.port)
        peer.send(b"question")
        peer.sock.shutdown(socket.SHUT_WR)
        self.assertEqual(peer.read_to_eof(), b"got question")
        peer_server.finish()
        self.assertEqual(self.log_line(fwd).groups()[2:], ("8", "12"))

    def test_target_fin_reaches_the_client_which_still_sends(self):
        def target(conn: socket.socket) -> None:
            conn.sendall(b"banner\n")
            conn.shutdown(socket.SHUT_WR)
            self.assertEqual(et.recv_to_eof(conn), b"late upload")
        peer_server = tcp.ThreadedPeerServer(target)
        self.addCleanup(peer_server.close)
        fwd = self.forward(f"{LOCAL}:{peer_server.port}")
        peer = self.connect(fwd.port)
        self.assertEqual(peer.read_to_eof(), b"banner\n")  # EOF: the target's FIN passed through
        peer.send(b"late upload")
        peer.sock.shutdown(socket.SHUT_WR)
        peer_server.finish()
        self.assertEqual(self.log_line(fwd).groups()[2:], ("11", "7"))

    def test_megabytes_in_flight_at_half_close(self):
        _, fwd = self.echo_and_forward()
        data = bytes(range(251)) * (8 * MiB // 251)
        self.assertEqual(self.transfer(fwd.port, data), data)


class Failures(ForwardCase):
    def test_refused_target_closes_that_client_only(self):
        dead = socket.socket()
        dead.bind((LOCAL, 0))
        port = dead.getsockname()[1]
        dead.close()  # nothing listens there now
        fwd = self.forward(f"{LOCAL}:{port}")
        for _ in range(2):  # the forwarder keeps serving
            peer = self.connect(fwd.port)
            self.assertEqual(peer.read_to_eof(), b"")
            self.assertEqual(self.log_line(fwd).groups()[2:], ("0", "0"))
        self.assertIsNone(fwd.returncode)
        self.wait_stderr(fwd, "Connection refused")

    def test_target_that_does_not_answer_times_out(self):
        full = tcp.unanswering_listener(self)
        fwd = self.forward(f"{LOCAL}:{full.getsockname()[1]}", "--connect-timeout", "300ms")
        peer = self.connect(fwd.port)
        self.assertEqual(peer.read_to_eof(), b"")
        self.assertEqual(self.log_line(fwd).groups()[2:], ("0", "0"))
        self.wait_stderr(fwd, "timed out")

    def test_target_reset_closes_the_client(self):
        def target(conn: socket.socket) -> None:
            conn.recv(100)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        peer_server = tcp.ThreadedPeerServer(target)
        self.addCleanup(peer_server.close)
        fwd = self.forward(f"{LOCAL}:{peer_server.port}")
        peer = self.connect(fwd.port)
        peer.send(b"x")
        peer_server.finish()
        try:
            peer.read_to_eof()
        except ConnectionResetError:
            pass
        self.log_line(fwd)

    def test_usage_errors(self):
        for args, word in [(["tcp", "forward", "0"], "HOST:PORT"),
                           (["tcp", "forward", "0", "nohostport"], "HOST:PORT"),
                           (["tcp", "forward", "0", "::1:80"], "HOST:PORT"),
                           (["tcp", "forward", "0", "127.0.0.1:99999"], "HOST:PORT"),
                           (["tcp", "forward", "x", "127.0.0.1:80"], "PORT"),
                           (["tcp", "forward", "0", "127.0.0.1:80", "--idle-timeout", "0"], "--idle-timeout"),
                           (["tcp", "forward", "0", "127.0.0.1:80", "--connect-timeout", "0"], "--connect-timeout"),
                           (["tcp", "forward", "0", "127.0.0.1:80", "-k"], "--to-tls"),
                           (["tcp", "forward", "0", "127.0.0.1:80", "--unix", "x.sock"], "--unix")]:
            with self.subTest(args=args):
                result = tcp.evtool(args)
                self.assertExit(result, 2)
                self.assertIn(word, result.stderr)

    def test_sigterm_drains_then_exits_0(self):
        _, fwd = self.echo_and_forward("--drain-timeout", "1s")
        open_peer = self.connect(fwd.port)
        self.roundtrip(open_peer, b"x")  # still open at SIGTERM: cut after --drain-timeout
        self.assertEqual(fwd.stop(), 0)

    def test_sigterm_exits_at_once_without_relays(self):
        _, fwd = self.echo_and_forward()
        peer = self.connect(fwd.port)
        self.roundtrip(peer, b"x")
        peer.sock.close()
        self.log_line(fwd)
        fwd.send_signal(15)
        self.assertEqual(fwd.wait(5), 0)


@tls.requires_openssl
class Tls(ForwardCase):
    def test_tls_termination_with_openssl_s_client(self):
        _, fwd = self.echo_and_forward("--tls")
        proc = subprocess.Popen([tls.OPENSSL, "s_client", "-connect", f"{LOCAL}:{fwd.port}", "-quiet"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        self.addCleanup(lambda: (et._kill_group(proc), proc.wait(), proc.stdin.close(), proc.stdout.close()))
        proc.stdin.write(b"through TLS\n")
        proc.stdin.flush()
        self.assertEqual(proc.stdout.readline(), b"through TLS\n")

    def test_tls_termination_python_half_close(self):
        _, fwd = self.echo_and_forward("--tls")
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with socket.create_connection((LOCAL, fwd.port), timeout=IO_TIMEOUT) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                data = bytes(range(256)) * 1000
                s.sendall(data)
                got = b""
                while len(got) < len(data):
                    got += s.recv(65536)
                self.assertEqual(got, data)
        self.log_line(fwd)

    def test_to_tls_with_cacert(self):
        directory = et.temp_dir(self.addCleanup, "evtool-forward-")
        cert, key = tls.make_cert(directory)
        echo = self.echo("--tls", "--cert", cert, "--key", key)
        fwd = self.forward(f"{LOCAL}:{echo.port}", "--to-tls", "--cacert", cert)
        self.roundtrip(self.connect(fwd.port), b"plain in, TLS out")
        named = self.forward(f"{LOCAL}:{echo.port}", "--to-tls", "--cacert", cert, "--servername", "localhost")
        self.roundtrip(self.connect(named.port), b"with SNI")

    def test_to_tls_verification_failure_closes_the_client(self):
        echo = self.echo("--tls")  # ephemeral, self-signed: not trusted
        fwd = self.forward(f"{LOCAL}:{echo.port}", "--to-tls")
        peer = self.connect(fwd.port)
        self.assertEqual(peer.read_to_eof(), b"")
        self.log_line(fwd)
        self.wait_stderr(fwd, "certificate verify failed")
        insecure = self.forward(f"{LOCAL}:{echo.port}", "--to-tls", "-k")
        self.roundtrip(self.connect(insecure.port), b"-k")

    def test_tls_both_sides(self):
        echo = self.echo("--tls")
        fwd = self.forward(f"{LOCAL}:{echo.port}", "--tls", "--to-tls", "-k")
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with socket.create_connection((LOCAL, fwd.port), timeout=IO_TIMEOUT) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(b"double TLS")
                self.assertEqual(s.recv(100), b"double TLS")


class Load(ForwardCase):
    def test_hundred_mib_download_to_a_slow_reader_in_bounded_memory(self):
        root = et.temp_dir(self.addCleanup, "evtool-forward-www-")
        size = 100 * MiB
        block = hashlib.sha256(b"block").digest() * 2048  # 64 KiB
        with open(root / "big.bin", "wb") as f:
            for _ in range(size // len(block)):
                f.write(block)
        web = self.start(["http", "serve", str(root), "--port", "0", "--bind", LOCAL])
        fwd = self.forward(f"{LOCAL}:{web.port}")
        peer = self.connect(fwd.port)
        peer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        peer.send(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        digest, got = hashlib.sha256(), 0
        head = peer._read_until(b"\r\n\r\n", time.monotonic() + IO_TIMEOUT, "head")
        self.assertIn(b" 200 ", head)
        peer.sock.settimeout(IO_TIMEOUT)
        digest.update(peer.buf)
        got += len(peer.buf)
        while True:
            chunk = peer.sock.recv(64 * 1024)
            if not chunk:
                break
            digest.update(chunk)
            got += len(chunk)
            if got < 20 * MiB:
                time.sleep(0.002)  # a slow reader for the first 20 MiB: the forwarder must hold back
        self.assertEqual(got, size)
        expected = hashlib.sha256()
        for _ in range(size // len(block)):
            expected.update(block)
        self.assertEqual(digest.hexdigest(), expected.hexdigest())
        self.assertLess(et.vm_kib(fwd.proc.pid, "VmHWM"), 64 * 1024, "the forwarder's peak RSS")

    def test_thousand_connections_at_once(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard < 4200:
            self.skipTest(f"RLIMIT_NOFILE hard limit {hard} is below 4,200")
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 4200), hard))
        self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
        _, fwd = self.echo_and_forward()
        peers = []
        for i in range(1000):
            sock = socket.create_connection((LOCAL, fwd.port), timeout=IO_TIMEOUT)
            peers.append(tcp.Peer(sock))
            self.addCleanup(sock.close)
        for i, peer in enumerate(peers):
            peer.send(f"{i}\n".encode())
        for i, peer in enumerate(peers):  # all 1,000 relays are open at once
            self.assertEqual(peer.readline(), f"{i}\n".encode())
        for peer in peers:
            peer.sock.shutdown(socket.SHUT_WR)
        for peer in peers:
            self.assertEqual(peer.read_to_eof(), b"")
        lines = [fwd.readline() for _ in peers]
        self.assertTrue(all(LOG.match(line) for line in lines))


if __name__ == "__main__":
    unittest.main()
