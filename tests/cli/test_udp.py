"""`evtool udp echo PORT` and `evtool udp chat HOST PORT` (CLI.md, "udp").

echo: each datagram goes back to its sender, byte for byte (binary, empty,
64 KiB), from many senders at once and with --threads; its line is
`listening on udp ADDR:PORT`. chat: each stdin line is one datagram, each
datagram from the peer is printed with a newline (--binary: raw, stdin
chunks as datagrams), datagrams from other addresses are dropped, and it
exits 0 at stdin EOF after --wait of quiet. Peers: python UDP sockets and
socat.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import unittest

import evtool_test as et
import test_tcp as tcp

LOCAL = tcp.LOCAL
IO_TIMEOUT = tcp.IO_TIMEOUT
SOCAT = shutil.which("socat")


class UdpCase(tcp.TcpCase):
    def udp_echo(self, *options) -> et.Server:
        return self.start(["udp", "echo", "0", "--bind", LOCAL, *options])

    def client(self, family=socket.AF_INET, host=LOCAL) -> socket.socket:
        sock = socket.socket(family, socket.SOCK_DGRAM)
        self.addCleanup(sock.close)
        sock.settimeout(IO_TIMEOUT)
        sock.bind((host, 0))
        return sock


class Echo(UdpCase):
    def test_listening_line(self):
        server = self.udp_echo()
        self.assertEqual(server.sockets[0][:2], ("udp", LOCAL))
        self.assertNotEqual(server.port, 0)

    def test_json_listening_line(self):
        server = self.start(["--json", "udp", "echo", "0", "--bind", LOCAL])
        self.assertEqual(server.sockets[0][:2], ("udp", LOCAL))

    def test_datagrams_come_back_to_their_sender(self):
        server = self.udp_echo()
        sock = self.client()
        for payload in [b"ping", bytes(range(256)), b"", b"\x00" * 1500, bytes(65507 - 7) + b"the end"]:
            with self.subTest(size=len(payload)):
                sock.sendto(payload, (LOCAL, server.port))
                data, peer = sock.recvfrom(65536)
                self.assertEqual((data, peer), (payload, (LOCAL, server.port)))

    def test_many_senders_each_get_their_own(self):
        server = self.udp_echo()
        socks = [self.client() for _ in range(20)]
        for i, sock in enumerate(socks):
            for j in range(5):
                sock.sendto(f"{i}.{j}".encode(), (LOCAL, server.port))
        for i, sock in enumerate(socks):
            got = sorted(sock.recv(100).decode() for _ in range(5))
            self.assertEqual(got, sorted(f"{i}.{j}" for j in range(5)))

    def test_threads_share_the_port(self):
        server = self.udp_echo("--threads", "3")
        for i in range(30):
            sock = self.client()
            sock.sendto(b"t%d" % i, (LOCAL, server.port))
            self.assertEqual(sock.recv(100), b"t%d" % i)

    @unittest.skipUnless(et.have_ipv6(socket.SOCK_DGRAM), "no IPv6 loopback")
    def test_ipv6(self):
        server = self.start(["udp", "echo", "0", "--bind", "::1"])
        sock = self.client(socket.AF_INET6, "::1")
        sock.sendto(b"six", ("::1", server.port))
        self.assertEqual(sock.recv(100), b"six")

    @unittest.skipUnless(SOCAT, "socat is not installed")
    def test_socat_client(self):
        server = self.udp_echo()
        result = subprocess.run([SOCAT, "-t", "2", "-T", "2", "-", f"UDP:{LOCAL}:{server.port}"],
                                input=b"via socat\n", capture_output=True, timeout=30)
        self.assertEqual(result.stdout, b"via socat\n")

    def test_sigterm_exits_0(self):
        server = self.udp_echo()
        self.assertEqual(server.stop(), 0)

    def test_usage_errors(self):
        for args, word in [(["udp", "echo"], "PORT"), (["udp", "echo", "70000"], "PORT"),
                           (["udp", "echo", "0", "--threads", "0"], "--threads"),
                           (["udp", "echo", "0", "--bind", "nope"], "--bind")]:
            with self.subTest(args=args):
                result = tcp.evtool(args)
                self.assertExit(result, 2)
                self.assertIn(word, result.stderr)

    def test_port_in_use_is_a_runtime_failure(self):
        taken = self.client()
        result = tcp.evtool(["udp", "echo", str(taken.getsockname()[1]), "--bind", LOCAL])
        self.assertExit(result, 1)


class PeerServer:
    """A python UDP peer: records what it receives, answers with `reply`
    (a function of each datagram and its sender), in a thread."""

    def __init__(self, test: unittest.TestCase, reply):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        test.addCleanup(self.sock.close)
        self.sock.bind((LOCAL, 0))
        self.sock.settimeout(IO_TIMEOUT)
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self.reply = reply
        self.expected = 0
        self.done = threading.Event()
        self.thread = None

    def serve(self, count: int) -> None:
        def run():
            try:
                while len(self.received) < count:
                    data, peer = self.sock.recvfrom(65536)
                    self.received.append(data)
                    for answer in self.reply(data, peer):
                        self.sock.sendto(answer, peer)
            except OSError:
                pass
            self.done.set()
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def finish(self) -> None:
        self.done.wait(IO_TIMEOUT)
        self.thread.join(IO_TIMEOUT)


class Chat(UdpCase):
    def chat(self, port: int, stdin: bytes, *options) -> subprocess.CompletedProcess:
        return tcp.run_bytes(["udp", "chat", LOCAL, str(port), "--wait", "300ms", *options], stdin=stdin)

    def test_lines_become_datagrams_and_datagrams_lines(self):
        peer = PeerServer(self, lambda d, _: [d.upper()])
        peer.serve(3)
        result = self.chat(peer.port, b"one\n\nthree")
        peer.finish()
        self.assertEqual(peer.received, [b"one", b"", b"three"])  # a last line without newline too
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, b"ONE\n\nTHREE\n")

    def test_binary_chunks_and_raw_output(self):
        peer = PeerServer(self, lambda d, _: [d[::-1]])
        peer.serve(1)
        data = bytes(range(256)) + b"\n\x00"
        result = self.chat(peer.port, data, "--binary")
        peer.finish()
        self.assertEqual(peer.received, [data])
        self.assertEqual(result.stdout, data[::-1])

    def test_datagrams_from_other_addresses_are_dropped(self):
        intruder = self.client()

        def reply(data, chat_address):
            intruder.sendto(b"from an intruder", chat_address)  # first, so it would be printed first
            return [b"from the peer"]
        peer = PeerServer(self, reply)
        peer.serve(1)
        result = self.chat(peer.port, b"hello\n")
        peer.finish()
        self.assertEqual(result.stdout, b"from the peer\n")

    def test_waits_for_late_answers_after_eof(self):
        peer = PeerServer(self, lambda d, _: [b"first", b"second"])
        peer.serve(1)
        result = self.chat(peer.port, b"q\n")
        peer.finish()
        self.assertEqual(result.stdout, b"first\nsecond\n")

    def test_json(self):
        peer = PeerServer(self, lambda d, _: [d, b"\xff"])
        peer.serve(1)
        result = tcp.run_bytes(["--json", "udp", "chat", LOCAL, str(peer.port), "--wait", "300ms"], stdin=b"hi\n")
        peer.finish()
        events = [json.loads(line) for line in result.stdout.splitlines()]
        self.assertEqual(events[0], {"event": "datagram", "peer": f"{LOCAL}:{peer.port}", "data": "hi"})
        self.assertEqual(events[1]["data_base64"], "/w==")

    def test_against_udp_echo(self):
        server = self.udp_echo()
        result = self.chat(server.port, b"round\ntrip\n")
        self.assertEqual(result.stdout, b"round\ntrip\n")

    def test_usage_errors(self):
        for args, word in [(["udp", "chat", LOCAL], "PORT"), (["udp", "chat", LOCAL, "1", "--wait", "0"], "--wait")]:
            with self.subTest(args=args):
                result = tcp.evtool(args)
                self.assertExit(result, 2)
                self.assertIn(word, result.stderr)


if __name__ == "__main__":
    unittest.main()
