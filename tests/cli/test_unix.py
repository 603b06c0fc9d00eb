"""Unix domain sockets on every server and client (CLI.md, "Unix domain
sockets").

Servers (tcp echo/serve/forward, http serve, dns serve) take `--unix PATH` instead of a port and print `listening on
unix:PATH` (JSON proto "unix"); a stale socket file is replaced, a live one
(or a file that is not a socket) refused with exit 1; the file goes when the
server stops. Clients: `tcp chat --unix`, `http get|post --unix-socket`
(curl's name: the URL still gives Host and path). Peers: socat, curl
--unix-socket, openssl s_client -unix, python AF_UNIX sockets.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
import unittest
from pathlib import Path

import evtool_test as et
import test_tcp as tcp
import test_tcp_tls as tls

IO_TIMEOUT = tcp.IO_TIMEOUT
SOCAT = shutil.which("socat")


class UnixCase(tcp.TcpCase):
    def setUp(self) -> None:
        self.dir = et.temp_dir(self.addCleanup, "evtool-unix-")
        self.path = self.dir / "s.sock"

    def server(self, *args) -> et.Server:
        return self.start([*args, "--unix", self.path])

    def connect_unix(self, path: Path = None) -> tcp.Peer:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(sock.close)
        sock.settimeout(IO_TIMEOUT)
        sock.connect(str(path or self.path))
        return tcp.Peer(sock)


class Listening(UnixCase):
    def test_text_line(self):
        server = self.server("tcp", "echo")
        self.assertEqual(server.sockets, [("unix", str(self.path), 0)])
        self.assertTrue(self.path.is_socket())

    def test_json_line(self):
        server = self.start(["--json", "tcp", "echo", "--unix", self.path])
        self.assertEqual(server.sockets, [("unix", str(self.path), 0)])

    def test_json_event_fields(self):
        proc = subprocess.Popen([et.EVTOOL, "--json", "tcp", "echo", "--unix", str(self.path)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        self.addCleanup(lambda: (et._kill_group(proc), proc.wait(), proc.stdout.close(), proc.stderr.close()))
        event = json.loads(proc.stdout.readline())
        self.assertEqual(event, {"event": "listening", "proto": "unix", "address": str(self.path)})

    def test_stale_socket_file_is_replaced(self):
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(str(self.path))
        stale.close()  # the file stays, nobody listens
        self.assertTrue(self.path.is_socket())
        server = self.server("tcp", "echo")
        self.roundtrip(self.connect_unix(), b"replaced")
        self.assertIsNone(server.returncode)

    def test_live_socket_is_refused(self):
        live = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(live.close)
        live.bind(str(self.path))
        live.listen(1)
        result = tcp.evtool(["tcp", "echo", "--unix", self.path])
        self.assertExit(result, 1)
        self.assertIn(str(self.path), result.stderr)
        self.assertIn("listening", result.stderr)
        self.assertTrue(self.path.is_socket())  # left alone

    def test_running_evtool_is_refused(self):
        self.server("tcp", "echo")
        result = tcp.evtool(["http", "serve", str(self.dir), "--unix", self.path])
        self.assertExit(result, 1)
        self.roundtrip(self.connect_unix(), b"the first server goes on")

    def test_regular_file_is_refused(self):
        self.path.write_text("precious")
        result = tcp.evtool(["tcp", "echo", "--unix", self.path])
        self.assertExit(result, 1)
        self.assertIn("not a socket", result.stderr)
        self.assertEqual(self.path.read_text(), "precious")

    def test_file_removed_when_the_server_stops(self):
        server = self.server("tcp", "echo")
        self.assertEqual(server.stop(), 0)
        self.assertFalse(self.path.exists())

    def test_usage_errors(self):
        too_long = "/tmp/" + "x" * 120
        for args, word in [(["tcp", "echo"], "PORT"),
                           (["tcp", "echo", "--unix", too_long], "--unix"),
                           (["tcp", "echo", "0", "--unix", "x.sock"], "--unix"),
                           (["tcp", "chat"], "HOST"),
                           (["http", "get", "--unix-socket", too_long, "http://x/"], "--unix-socket")]:
            with self.subTest(args=args):
                result = tcp.evtool(args)
                self.assertExit(result, 2)
                self.assertIn(word, result.stderr)


class Servers(UnixCase):
    @unittest.skipUnless(SOCAT, "socat is not installed")
    def test_tcp_echo_with_socat(self):
        self.server("tcp", "echo")
        result = subprocess.run([SOCAT, "-t", "5", "-", f"UNIX-CONNECT:{self.path}"], input=b"unix echo\n",
                                capture_output=True, timeout=30)
        self.assertEqual(result.stdout, b"unix echo\n")

    def test_tcp_echo_threads_share_the_socket(self):
        self.server("tcp", "echo", "--threads", "3")
        for i in range(9):
            self.roundtrip(self.connect_unix(), f"client {i}".encode())

    def test_tcp_serve_relays_between_unix_clients(self):
        server = self.server("tcp", "serve")
        a, b = self.connect_unix(), self.connect_unix()
        a.send(b"hello b\n")
        self.assertEqual(b.readline(), b"hello b\n")
        self.assertEqual(server.readline(), f"unix:{self.path}: hello b")

    def test_http_serve_with_curl_unix_socket(self):
        (self.dir / "hello.txt").write_text("hello over unix\n")
        server = self.start(["http", "serve", self.dir, "--unix", self.path])
        result = et.curl("--unix-socket", self.path, "http://localhost/hello.txt")
        self.assertEqual(result.stdout, b"hello over unix\n")
        self.assertIn('"GET /hello.txt HTTP/1.1" 200', server.readline())

    def test_http_get_and_post_unix_socket(self):
        (self.dir / "a.txt").write_text("A\n")
        self.start(["http", "serve", self.dir, "--unix", self.path, "--echo", "/echo"])
        got = tcp.evtool(["http", "get", "--unix-socket", self.path, "http://example.test/a.txt"])
        self.assertExit(got, 0)
        self.assertEqual(got.stdout, "A\n")
        posted = tcp.evtool(["http", "post", "--unix-socket", self.path, "http://example.test:81/echo?q=1", "-d", "x=y"])
        self.assertExit(posted, 0)
        echo = json.loads(posted.stdout)
        self.assertEqual(echo["headers"]["Host"], "example.test:81")  # the URL gives the Host header
        self.assertEqual((echo["path"], echo["body"]), ("/echo", "x=y"))

    def test_http_get_unix_socket_refused(self):
        result = tcp.evtool(["http", "get", "--unix-socket", self.path, "http://localhost/"])
        self.assertExit(result, 1)

    def test_forward_on_a_unix_socket_to_a_unix_target(self):
        target = self.dir / "echo.sock"
        self.start(["tcp", "echo", "--unix", target])
        fwd = self.start(["tcp", "forward", "--unix", self.path, f"unix:{target}"])
        peer = self.connect_unix()
        self.roundtrip(peer, b"unix to unix")
        peer.sock.shutdown(socket.SHUT_WR)
        self.assertEqual(peer.read_to_eof(), b"")
        self.assertEqual(fwd.readline(), f"unix:{self.path} -> unix:{target}: 12 bytes up, 12 bytes down")

    @tls.requires_openssl
    def test_tls_echo_with_openssl_s_client_unix(self):
        self.server("tcp", "echo", "--tls")
        proc = subprocess.Popen([tls.OPENSSL, "s_client", "-unix", str(self.path), "-quiet"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        self.addCleanup(lambda: (et._kill_group(proc), proc.wait(), proc.stdin.close(), proc.stdout.close()))
        proc.stdin.write(b"tls over unix\n")
        proc.stdin.flush()
        self.assertEqual(proc.stdout.readline(), b"tls over unix\n")


class Dns(UnixCase):
    @staticmethod
    def query(name: str, qtype: int = 1, ident: int = 0x1234) -> bytes:
        labels = b"".join(bytes([len(part)]) + part.encode() for part in name.split(".")) + b"\0"
        return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + labels + struct.pack("!HH", qtype, 1)

    def test_dns_serve_answers_over_a_unix_stream_socket(self):
        server = self.start(["dns", "serve", "--unix", self.path, "--record", "www.example.test. 60 IN A 192.0.2.7"])
        self.assertEqual(server.sockets, [("unix", str(self.path), 0)])
        peer = self.connect_unix()
        for ident in (1, 2):  # two queries on one connection, TCP's framing
            q = self.query("www.example.test", ident=ident)
            peer.send(struct.pack("!H", len(q)) + q)
            (length,) = struct.unpack("!H", peer.read_exactly(2))
            answer = peer.read_exactly(length)
            self.assertEqual(struct.unpack("!H", answer[:2])[0], ident)
            self.assertEqual(struct.unpack("!H", answer[6:8])[0], 1)  # one answer record
            self.assertTrue(answer.endswith(bytes([192, 0, 2, 7])))
        self.assertIn("www.example.test", server.readline())  # the query log line


class Chat(UnixCase):
    def test_chat_to_a_unix_echo(self):
        self.server("tcp", "echo")
        result = tcp.run_bytes(["tcp", "chat", "--unix", self.path], stdin=b"line one\nline two\n")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, b"line one\nline two\n")

    def test_chat_to_a_python_unix_server(self):
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(listener.close)
        listener.bind(str(self.path))
        listener.listen(1)
        proc = subprocess.Popen([et.EVTOOL, "tcp", "chat", "--unix", str(self.path)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        self.addCleanup(lambda: (et._kill_group(proc), proc.wait(), proc.stdout.close(), proc.stderr.close()))
        listener.settimeout(IO_TIMEOUT)
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"welcome\n")
            proc.stdin.write(b"from chat\n")
            proc.stdin.close()
            self.assertEqual(et.recv_to_eof(conn), b"from chat\n")  # stdin EOF half-closes
        self.assertEqual(proc.stdout.read(), b"welcome\n")
        self.assertEqual(proc.wait(IO_TIMEOUT), 0)

    @tls.requires_openssl
    def test_chat_tls_over_unix(self):
        self.server("tcp", "echo", "--tls")
        result = tcp.run_bytes(["tcp", "chat", "--unix", self.path, "--tls", "-k"], stdin=b"secret\n")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, b"secret\n")

    def test_chat_refused(self):
        result = tcp.evtool(["tcp", "chat", "--unix", self.path])
        self.assertExit(result, 1)


if __name__ == "__main__":
    unittest.main()
