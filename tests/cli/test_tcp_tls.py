"""`evtool tcp echo | serve | chat` with --tls, against real TLS peers.

echo --tls: the ephemeral certificate's fingerprint on stderr is the one
`openssl s_client` is shown, --cert/--key are served and verify, openssl
s_client echoes, a 50 MiB random transfer comes back byte-exact and ends
with the server's close_notify after the client's (half-close), a client
that never reads holds bounded memory, peers that vanish without
close_notify (or before any byte, or mid-transfer) leave the server
serving, garbage instead of a ClientHello is logged (peer and reason) and
the next TLS client is served, --threads, usage errors.
serve --tls: lines relayed between python ssl clients, stdin to all.
chat --tls: against `openssl s_server` and python ssl servers: verification
on by default (self-signed without --cacert: exit 5), --cacert (IP and DNS
names, SNI), -k, --servername (SNI, and a wrong one: exit 5), an expired
certificate (exit 5), a plain-TCP server (handshake failure: exit 5), EOF on
stdin as close_notify (a file through `tcp echo --tls` byte-exact).

Certificates are made with the openssl command line (an expired one with
`openssl ca -startdate/-enddate`). Everything stays on 127.0.0.1; every
socket and subprocess call has a timeout, every process is killed when its
test ends.
"""

from __future__ import annotations

import hashlib
import os
import re
import select
import shutil
import socket
import ssl
import subprocess
import threading
import time
import unittest
from pathlib import Path
from typing import Optional

import evtool_test as et
import test_tcp as tcp

LOCAL = tcp.LOCAL
MiB = tcp.MiB
IO_TIMEOUT = tcp.IO_TIMEOUT
OPENSSL = shutil.which("openssl")
FINGERPRINT = re.compile(r"fingerprint ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})")

requires_openssl = unittest.skipUnless(OPENSSL, "the openssl command is not installed")


# ---- certificates -----------------------------------------------------------

def openssl(*args, input: Optional[bytes] = b"", timeout: float = 30) -> subprocess.CompletedProcess:
    """Runs `openssl ARGS`; AssertionError unless it exits 0."""
    result = subprocess.run([OPENSSL, *map(str, args)], input=input, capture_output=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"openssl {' '.join(map(str, args))}: {result.stderr.decode(errors='replace')}")
    return result


def make_cert(directory: Path, name: str = "server") -> tuple[Path, Path]:
    """A self-signed P-256 certificate for localhost and 127.0.0.1, valid
    two days, and its key: (cert, key)."""
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-days", "2", "-keyout", key, "-out", cert)
    return cert, key


def make_expired_cert(directory: Path) -> tuple[Path, Path]:
    """Like make_cert, but valid only on 1 January 2020: `openssl req`
    cannot backdate, `openssl ca -selfsign -startdate -enddate` can."""
    ca = directory / "ca"
    ca.mkdir()
    (ca / "index.txt").write_text("")
    (ca / "serial").write_text("01\n")
    (ca / "ca.cnf").write_text(
        "[ca]\ndefault_ca = dflt\n"
        f"[dflt]\ndatabase = {ca / 'index.txt'}\nnew_certs_dir = {ca}\nserial = {ca / 'serial'}\n"
        "default_md = sha256\npolicy = anything\ncopy_extensions = copy\nunique_subject = no\n"
        "[anything]\ncommonName = supplied\n")
    cert, key, request = directory / "expired.pem", directory / "expired.key", ca / "request.pem"
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", key, "-out", request)
    openssl("ca", "-batch", "-config", ca / "ca.cnf", "-selfsign", "-keyfile", key, "-in", request,
            "-out", cert, "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-notext")
    return cert, key


def sha256_fingerprint(pem: bytes) -> str:
    """`AB:CD:...` of a PEM certificate, as openssl x509 computes it."""
    out = openssl("x509", "-noout", "-fingerprint", "-sha256", input=pem).stdout.decode()
    return out.strip().split("=", 1)[1].upper()  # "sha256 Fingerprint=AB:..." (case varies by version)


def presented_cert(port: int) -> bytes:
    """The leaf certificate a TLS server on 127.0.0.1:PORT presents (PEM)."""
    out = openssl("s_client", "-connect", f"{LOCAL}:{port}", "-showcerts", input=b"").stdout
    match = re.search(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n", out, re.S)
    assert match, f"s_client showed no certificate: {out[:500]!r}"
    return match[0]


def client_context(cafile: Optional[Path] = None) -> ssl.SSLContext:
    """Python's TLS client: verifying against cafile, or not at all."""
    ctx = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    if not cafile:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


# ---- TLS peers ----------------------------------------------------------------

def memory_bio_exchange(port: int, data: bytes, ctx: ssl.SSLContext, timeout: float = 120) -> tuple[int, str, str]:
    """Sends `data` over TLS, then close_notify (a TLS half-close), reading
    all the while; returns (bytes received, their SHA-256, how it ended:
    "close_notify", "eof" without one, or an error). A memory BIO and one
    thread: the close_notify leaves only after the last record, and reading
    goes on after it, which SSLSocket.unwrap() cannot do."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    sock = socket.create_connection((LOCAL, port), timeout=IO_TIMEOUT)
    sock.setblocking(False)
    digest, received, sent, wire = hashlib.sha256(), 0, 0, b""
    shut = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                if not tls.version():
                    tls.do_handshake()
                while chunk := tls.read(256 * 1024):
                    digest.update(chunk)
                    received += len(chunk)
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLZeroReturnError:
                return received, digest.hexdigest(), "close_notify"
            except ssl.SSLError as error:
                return received, digest.hexdigest(), f"TLS error: {error}"
            if tls.version():
                while sent < len(data) and outgoing.pending < MiB:
                    sent += tls.write(data[sent:sent + 64 * 1024])
                # Only with nothing unread: unwrap() also tries to read, and
                # application data then is an error for OpenSSL.
                if sent == len(data) and not shut and incoming.pending == 0:
                    shut = True
                    try:
                        tls.unwrap()
                    except ssl.SSLWantReadError:
                        pass
            wire += outgoing.read()
            readable, writable, _ = select.select([sock], [sock] if wire else [], [], 1)
            if writable:
                wire = wire[sock.send(wire):]
            if readable:
                chunk = sock.recv(MiB)
                if not chunk:
                    incoming.write_eof()
                    try:
                        while chunk := tls.read(256 * 1024):
                            digest.update(chunk)
                            received += len(chunk)
                    except ssl.SSLZeroReturnError:
                        return received, digest.hexdigest(), "close_notify"
                    except ssl.SSLError:
                        pass
                    return received, digest.hexdigest(), "eof"
                incoming.write(chunk)
        return received, digest.hexdigest(), f"timeout after {timeout}s ({sent} of {len(data)} sent)"
    finally:
        sock.close()


class SServer:
    """`openssl s_server -accept 127.0.0.1:PORT -cert C -key K -naccept 1`,
    started once it prints ACCEPT; its stdout (where the client's bytes
    land) is collected in a thread."""

    def __init__(self, cert: Path, key: Path):
        for _ in range(3):  # free_port() may lose a race
            self.port = et.free_port()
            self.proc = subprocess.Popen(
                [OPENSSL, "s_server", "-accept", f"{LOCAL}:{self.port}", "-cert", str(cert), "-key", str(key),
                 "-naccept", "1"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
            self.output = b""
            self._reader = threading.Thread(target=self._read, daemon=True)
            self._reader.start()
            deadline = time.monotonic() + 10
            while b"ACCEPT" not in self.output and self.proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            if b"ACCEPT" in self.output:
                return
            self.kill()
        raise AssertionError(f"openssl s_server did not start: {self.output[-500:]!r}")

    def _read(self) -> None:
        assert self.proc.stdout
        while chunk := self.proc.stdout.read1(65536):
            self.output += chunk

    def wait_for(self, data: bytes, timeout: float = IO_TIMEOUT) -> bool:
        deadline = time.monotonic() + timeout
        while data not in self.output and time.monotonic() < deadline:
            time.sleep(0.02)
        return data in self.output

    def kill(self) -> None:
        et._kill_group(self.proc)
        self.proc.wait()
        self._reader.join(5)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream:
                stream.close()


class PythonTlsServer(tcp.ThreadedPeerServer):
    """A python TLS server for one connection: reads until the client's
    close_notify, answers `got N bytes: FIRST LINE`, then close_notify. `sni`
    is the server name the client sent (None: none)."""

    def __init__(self, cert: Path, key: Path):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(str(cert), str(key))
        self.sni: Optional[str] = None
        self.received = b""

        def remember_sni(_sock, name, _ctx):
            self.sni = name
        self.ctx.sni_callback = remember_sni
        super().__init__(self.answer)

    def answer(self, conn: socket.socket) -> None:
        with self.ctx.wrap_socket(conn, server_side=True) as tls:
            while chunk := tls.recv(65536):
                self.received += chunk
            first = self.received.split(b"\n", 1)[0]
            tls.sendall(b"got %d bytes: %s\n" % (len(self.received), first))
            tls.unwrap()


class TlsCase(tcp.TcpCase):
    def setUp(self) -> None:
        self.tmp = et.temp_dir(self.addCleanup, "evtool-tls-")

    @property
    def cert_files(self) -> tuple[Path, Path]:
        if not hasattr(self, "_cert_files"):
            self._cert_files = make_cert(self.tmp)
        return self._cert_files

    def tls_connect(self, port: int, cafile: Optional[Path] = None) -> tcp.Peer:
        ctx = client_context(cafile)
        sock = ctx.wrap_socket(socket.create_connection((LOCAL, port), timeout=IO_TIMEOUT),
                               server_hostname="localhost")
        self.addCleanup(sock.close)
        return tcp.Peer(sock)

    def wait_stderr(self, server: et.Server, pattern: str, timeout: float = 5) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if match := re.search(pattern, server.stderr):
                return match
            time.sleep(0.02)
        raise AssertionError(f"stderr never matched {pattern!r}: {server.stderr!r}")

    def assertServing(self, server: et.Server, cafile: Optional[Path] = None) -> None:
        self.assertIsNone(server.returncode, f"the server exited: {server.stderr}")
        peer = self.tls_connect(server.port, cafile)
        self.roundtrip(peer, b"still serving\n")


# ---- echo -------------------------------------------------------------------------

@requires_openssl
class TlsEcho(TlsCase):
    def test_ephemeral_fingerprint_is_the_presented_certificate(self):
        server = self.echo("--tls")
        printed = self.wait_stderr(server, FINGERPRINT.pattern)[1]
        self.assertEqual(sha256_fingerprint(presented_cert(server.port)), printed)
        # Each start makes a new one.
        other = self.echo("--tls")
        self.assertNotEqual(self.wait_stderr(other, FINGERPRINT.pattern)[1], printed)

    def test_openssl_s_client_echo(self):
        server = self.echo("--tls")
        proc = subprocess.Popen([OPENSSL, "s_client", "-connect", f"{LOCAL}:{server.port}", "-quiet"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                start_new_session=True)

        def stop() -> None:
            et._kill_group(proc)
            proc.wait()
            proc.stdin.close()
            proc.stdout.close()
        self.addCleanup(stop)
        data = b"over TLS\n" + bytes(range(256)) + b"\n"
        proc.stdin.write(data)
        proc.stdin.flush()
        got = b""
        deadline = time.monotonic() + IO_TIMEOUT
        while len(got) < len(data) and time.monotonic() < deadline:
            if select.select([proc.stdout], [], [], 0.5)[0]:
                chunk = proc.stdout.read1(65536)
                if not chunk:
                    break
                got += chunk
        self.assertEqual(got, data)

    def test_cert_and_key_files(self):
        cert, key = self.cert_files
        server = self.echo("--tls", "--cert", cert, "--key", key)
        self.assertEqual(sha256_fingerprint(presented_cert(server.port)), sha256_fingerprint(cert.read_bytes()))
        self.assertNotIn("ephemeral", server.stderr)
        # A verifying client (chain and name) talks to it.
        peer = self.tls_connect(server.port, cafile=cert)
        self.roundtrip(peer, b"verified\n")
        result = openssl("s_client", "-connect", f"{LOCAL}:{server.port}", "-CAfile", cert,
                         "-verify_return_error", "-verify_hostname", "localhost", input=b"")
        self.assertIn(b"Verify return code: 0 (ok)", result.stdout)

    def test_fifty_mib_byte_exact_then_close_notify(self):
        cert, key = self.cert_files
        server = self.echo("--tls", "--cert", cert, "--key", key)
        data = os.urandom(50 * MiB)
        received, digest, end = memory_bio_exchange(server.port, data, client_context(cert))
        self.assertEqual(received, len(data), end)
        self.assertEqual(digest, hashlib.sha256(data).hexdigest(), "50 MiB back byte-exact")
        self.assertEqual(end, "close_notify", "after the client's close_notify, echo sends what it owes, "
                                              "then its own close_notify")

    def test_half_close_small(self):
        server = self.echo("--tls")
        for data in (b"", b"owed bytes\n"):
            with self.subTest(data=data):
                self.assertEqual(memory_bio_exchange(server.port, data, client_context(), timeout=IO_TIMEOUT),
                                 (len(data), hashlib.sha256(data).hexdigest(), "close_notify"))

    def test_sender_that_never_reads_has_bounded_memory(self):
        server = self.echo("--tls")
        peer = self.tls_connect(server.port)
        peer.sock.setblocking(False)
        chunk = os.urandom(MiB)
        sent, last_progress = 0, time.monotonic()
        deadline = time.monotonic() + 15
        while sent < 50 * MiB and time.monotonic() < deadline and time.monotonic() - last_progress < 1:
            try:
                sent += peer.sock.send(chunk)
                last_progress = time.monotonic()
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                time.sleep(0.01)
        self.assertLess(sent, 50 * MiB, "the server stopped reading")
        self.assertLess(et.vm_kib(server.proc.pid, "VmHWM"), 64 * 1024, "RSS stays under 64 MiB")
        peer.sock.close()
        self.assertServing(server)

    def test_peers_without_close_notify(self):
        server = self.echo("--tls")
        # After an exchange: FIN, no close_notify (SSLSocket.shutdown skips it).
        peer = self.tls_connect(server.port)
        self.roundtrip(peer, b"then gone\n")
        peer.sock.shutdown(socket.SHUT_RDWR)
        peer.sock.close()
        # Mid-transfer, with data unread on both sides (a reset).
        peer = self.tls_connect(server.port)
        peer.send(os.urandom(4 * MiB))
        peer.sock.close()
        # Before sending a single byte.
        socket.create_connection((LOCAL, server.port), timeout=IO_TIMEOUT).close()
        self.assertServing(server)
        self.assertServing(server)

    def test_garbage_instead_of_client_hello(self):
        server = self.echo("--tls")
        for garbage in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"\x16\x03\x01\x00\x05hello" + os.urandom(64)):
            with self.subTest(garbage=garbage[:16]):
                peer = self.connect(server.port)
                name = peer.name
                peer.send(garbage)
                peer.read_to_eof()  # an alert at most, then the close
                self.wait_stderr(server, re.escape(name) + r": TLS handshake failed: \S")
                self.assertServing(server)

    def test_threads(self):
        server = self.echo("--tls", "--threads", "2")
        for i in range(6):
            peer = self.tls_connect(server.port)
            self.roundtrip(peer, f"client {i}\n".encode())

    def test_usage_errors_and_bad_certificates(self):
        cert, key = self.cert_files
        for args in (["--cert", cert, "--key", key], ["--tls", "--cert", cert], ["--tls", "--key", key],
                     ["--tls", "--cert", self.tmp / "missing.pem", "--key", key]):
            with self.subTest(args=args):
                self.assertExit(tcp.evtool(["tcp", "echo", "0", "--bind", LOCAL, *args], timeout=10), 2)
        junk = self.tmp / "junk.pem"
        junk.write_text("not a certificate\n")
        for command in ("echo", "serve"):
            with self.subTest(command=command, cert="junk"):
                result = tcp.evtool(["tcp", command, "0", "--bind", LOCAL, "--tls", "--cert", junk, "--key", key],
                                    timeout=10)
                self.assertExit(result, 5)
                self.assertNotIn("listening on", result.stdout)
                self.assertIn("evtool: error:", result.stderr)

    def test_certificate_files_are_read_with_a_bound(self):
        """Hardening, finding 5: a certificate or key that is not a regular
        file (/dev/zero would never end) or passes 1 MiB is refused at once."""
        cert, key = self.cert_files
        huge = self.tmp / "huge.pem"
        huge.write_bytes(Path(cert).read_bytes() + b"#" * (1024 * 1024))
        for args, why in ((["--cert", "/dev/zero", "--key", key], "not a regular file"),
                          (["--cert", cert, "--key", "/dev/zero"], "not a regular file"),
                          (["--cert", huge, "--key", key], "larger than 1 MiB")):
            with self.subTest(args=args):
                result = tcp.evtool(["tcp", "echo", "0", "--bind", LOCAL, "--tls", *args], timeout=10)
                self.assertExit(result, 5)
                self.assertIn(why, result.stderr)
                self.assertNotIn("listening on", result.stdout)
        result = tcp.evtool(["tcp", "chat", LOCAL, "1", "--tls", "--cacert", "/dev/zero"], timeout=10)
        self.assertExit(result, 5)
        self.assertIn("not a regular file", result.stderr)


# ---- serve --------------------------------------------------------------------------

@requires_openssl
class TlsServe(TlsCase):
    def next_message(self, server: et.Server) -> tuple[str, str]:
        line = server.readline(5)
        self.assertIsNotNone(line, f"the server's output ended: {server.stderr}")
        peer, sep, data = line.partition(": ")
        self.assertTrue(sep, f"not a `PEER: line` line: {line!r}")
        return peer, data

    def test_relays_lines_between_tls_clients(self):
        cert, key = self.cert_files
        server = self.serve("--tls", "--cert", cert, "--key", key)
        a = self.tls_connect(server.port, cafile=cert)
        a.send(b"hello from a\n")
        self.assertEqual(self.next_message(server), (a.name, "hello from a"))
        b = self.tls_connect(server.port, cafile=cert)
        b.send(b"hello from b\n")
        self.assertEqual(self.next_message(server), (b.name, "hello from b"))
        self.assertEqual(a.readline(), b"hello from b\n")
        a.send(b"hi b\n")
        self.assertEqual(b.readline(), b"hi b\n")
        self.assertEqual(self.next_message(server), (a.name, "hi b"))
        server.write("from stdin\n")
        self.assertEqual(a.readline(), b"from stdin\n")
        self.assertEqual(b.readline(), b"from stdin\n")

    def test_garbage_client_is_logged_and_others_keep_chatting(self):
        server = self.serve("--tls")
        a = self.tls_connect(server.port)
        a.send(b"first\n")
        self.assertEqual(self.next_message(server), (a.name, "first"))
        raw = self.connect(server.port)
        name = raw.name
        raw.send(b"plain text, no TLS\n")
        raw.read_to_eof()
        self.wait_stderr(server, re.escape(name) + r": TLS handshake failed")
        b = self.tls_connect(server.port)
        b.send(b"second\n")
        self.assertEqual(self.next_message(server), (b.name, "second"))
        self.assertEqual(a.readline(), b"second\n")


# ---- chat ------------------------------------------------------------------------------

@requires_openssl
class TlsChat(TlsCase):
    def chat(self, port: int, *options, host: str = LOCAL, stdin: bytes = b"hello\n", timeout: float = 30):
        return tcp.run_bytes(["tcp", "chat", "--tls", *options, host, port], stdin=stdin, timeout=timeout)

    def assertTlsFailure(self, result, reason: str) -> None:
        self.assertExit(result, 5)
        self.assertIn(reason, result.stderr.decode(errors="replace"))
        self.assertEqual(result.stdout, b"")

    def test_verification_is_on_by_default(self):
        cert, key = self.cert_files
        server = SServer(cert, key)
        self.addCleanup(server.kill)
        self.assertTlsFailure(self.chat(server.port), "certificate verify failed: self-signed certificate")

    def test_insecure_skips_verification(self):
        cert, key = self.cert_files
        for flag in ("-k", "--insecure"):
            with self.subTest(flag=flag):
                server = SServer(cert, key)
                self.addCleanup(server.kill)
                result = self.chat(server.port, flag, stdin=f"ping {flag}\n".encode())
                self.assertExit(result, 0)
                self.assertTrue(server.wait_for(f"ping {flag}\n".encode()), server.output[-500:])

    def test_cacert_with_ip_and_name_and_sni(self):
        cert, key = self.cert_files
        for host, servername, sni in ((LOCAL, None, None), ("localhost", None, "localhost"),
                                      (LOCAL, "localhost", "localhost")):
            with self.subTest(host=host, servername=servername):
                server = PythonTlsServer(cert, key)
                self.addCleanup(server.close)
                options = ["--cacert", cert] + (["--servername", servername] if servername else [])
                result = self.chat(server.port, *options, host=host, stdin=b"line one\nline two\n")
                self.assertExit(result, 0)
                server.finish()
                # EOF on stdin was a close_notify: the server read to it, then answered.
                self.assertEqual(result.stdout, b"got 18 bytes: line one\n")
                self.assertEqual(server.sni, sni)

    def test_cacert_against_openssl_s_server(self):
        cert, key = self.cert_files
        server = SServer(cert, key)
        self.addCleanup(server.kill)
        self.assertExit(self.chat(server.port, "--cacert", cert, stdin=b"verified ping\n"), 0)
        self.assertTrue(server.wait_for(b"verified ping\n"), server.output[-500:])

    def test_wrong_servername(self):
        cert, key = self.cert_files
        server = SServer(cert, key)
        self.addCleanup(server.kill)
        self.assertTlsFailure(self.chat(server.port, "--cacert", cert, "--servername", "wrong.example"),
                              "hostname mismatch")

    def test_expired_certificate(self):
        cert, key = make_expired_cert(self.tmp)
        server = SServer(cert, key)
        self.addCleanup(server.kill)
        self.assertTlsFailure(self.chat(server.port, "--cacert", cert), "certificate has expired")

    def test_plain_tcp_server_is_a_handshake_failure(self):
        def plain(conn: socket.socket) -> None:
            conn.sendall(b"SSH-2.0-not-tls\r\n" * 100)
            et.recv_to_eof(conn)
        server = tcp.ThreadedPeerServer(plain)
        self.addCleanup(server.close)
        self.assertTlsFailure(self.chat(server.port, "-k"), "TLS handshake failed")

    def test_file_through_tls_echo_byte_exact(self):
        cert, key = self.cert_files
        echo = self.echo("--tls", "--cert", cert, "--key", key)
        data = os.urandom(5 * MiB)
        path = self.tmp / "random.bin"
        path.write_bytes(data)
        with path.open("rb") as f:
            result = tcp.run_bytes(["tcp", "chat", "--tls", "--cacert", cert, LOCAL, echo.port], stdin=f)
        self.assertExit(result, 0)
        self.assertEqual(len(result.stdout), len(data))
        self.assertTrue(result.stdout == data, "5 MiB back byte-exact")

    def test_usage_errors(self):
        cert, _ = self.cert_files
        for args in (["-k", LOCAL, "1"], ["--cacert", cert, LOCAL, "1"], ["--servername", "x", LOCAL, "1"],
                     ["--tls", "--cacert", self.tmp / "missing.pem", LOCAL, "1"]):
            with self.subTest(args=args):
                result = tcp.evtool(["tcp", "chat", *args], timeout=10)
                self.assertExit(result, 2)


if __name__ == "__main__":
    unittest.main()
