"""HTTPS end to end: `evtool http serve --tls` and `evtool http get https://`.

Certificates are made by the test with the openssl command: self-signed
EC P-256 ones (CN=localhost, SAN DNS:localhost + IP:127.0.0.1, and one only
for DNS:other.example), and a small CA (`openssl ca` with a minimal config)
issuing a current and an expired leaf.

The server (--tls --cert/--key) against curl --cacert: byte-exact files
(small, 1 MiB, 50 MiB), the host name and the IP SAN, keep-alive reuse over
TLS (curl and python's http.client), `openssl s_client -alpn http/1.1`
showing ALPN http/1.1, a client speaking plain HTTP (logged on stderr, the
server keeps serving). The client against `openssl s_server -www`:
verification on by default (self-signed without --cacert: exit 5), -k and
--cacert (exit 0), a certificate for another name (exit 5), an expired
certificate (exit 5); against the evtool server: 1 MiB and 50 MiB byte-exact,
-L from http:// (a python http.server redirect) to https:// with --cacert,
and --json with a "tls" time > 0.

Everything stays on loopback. Every process a test starts is killed when
the test ends.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Optional, Sequence

import evtool_test as et

CLEAN_ENV = {"EVENT_NOEPOLL": None, "EVENT_NOPOLL": None, "EVENT_NOSELECT": None,
             "EVENT_SHOW_METHOD": None}
LOCAL = "127.0.0.1"
KiB = 1024
MiB = 1024 * KiB
IO_TIMEOUT = 10
OPENSSL = shutil.which("openssl")
EXIT_TLS = 5

HELLO = b"Hello over TLS!\n"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def openssl(*args: object, cwd: Path, input: Optional[str] = None) -> subprocess.CompletedProcess:
    """Runs the openssl command; AssertionError with its stderr if it fails."""
    result = subprocess.run([OPENSSL, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                            timeout=60, input=input, stdin=None if input is not None else subprocess.DEVNULL)
    if result.returncode != 0:
        raise AssertionError(f"openssl {' '.join(map(str, args))} failed: {result.stderr}")
    return result


class Pki:
    """The certificates the tests use, made once in `dir`."""

    def __init__(self, dir: Path):
        self.dir = dir
        # Self-signed, as the brief's command line makes them.
        self.cert, self.key = self.self_signed("localhost", "DNS:localhost,IP:127.0.0.1")
        self.other_cert, self.other_key = self.self_signed("other.example", "DNS:other.example")
        # A CA, and leaves it issues with chosen validity periods.
        self.ca_cert, self.ca_key = self.self_signed("evtool test CA", None, ca=True)
        self.valid_cert, self.valid_key = self.issue("valid", None, None)
        self.expired_cert, self.expired_key = self.issue("expired", "20200101000000Z", "20200201000000Z")

    def self_signed(self, cn: str, san: Optional[str], ca: bool = False) -> tuple[Path, Path]:
        stem = re.sub(r"\W", "_", cn)
        cert, key = self.dir / f"{stem}.crt", self.dir / f"{stem}.key"
        args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-subj", f"/CN={cn}", "-days", "2", "-keyout", key, "-out", cert]
        if san:
            args += ["-addext", f"subjectAltName={san}"]
        if ca:
            args += ["-addext", "basicConstraints=critical,CA:TRUE",
                     "-addext", "keyUsage=critical,keyCertSign,cRLSign"]
        openssl(*args, cwd=self.dir)
        return cert, key

    def issue(self, name: str, start: Optional[str], end: Optional[str]) -> tuple[Path, Path]:
        """A leaf for localhost/127.0.0.1 signed by the CA with `openssl ca`
        (which, unlike OpenSSL 3.0's x509, takes -startdate/-enddate)."""
        ca_dir = self.dir / f"ca-{name}"
        (ca_dir / "new").mkdir(parents=True)
        (ca_dir / "index.txt").write_text("")
        (ca_dir / "serial").write_text(os.urandom(8).hex().upper() + "\n")
        config = ca_dir / "ca.cnf"
        config.write_text(
            "[ ca ]\ndefault_ca = test_ca\n"
            "[ test_ca ]\n"
            f"database = {ca_dir / 'index.txt'}\n"
            f"new_certs_dir = {ca_dir / 'new'}\n"
            f"serial = {ca_dir / 'serial'}\n"
            "default_md = sha256\ndefault_days = 2\npolicy = any_policy\n"
            "unique_subject = no\nx509_extensions = leaf_ext\n"
            "[ any_policy ]\ncommonName = supplied\n"
            "[ leaf_ext ]\nbasicConstraints = CA:FALSE\n"
            "subjectAltName = DNS:localhost,IP:127.0.0.1\n"
            "extendedKeyUsage = serverAuth\n")
        key, csr, cert = self.dir / f"{name}.key", self.dir / f"{name}.csr", self.dir / f"{name}.crt"
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-subj", "/CN=localhost", "-keyout", key, "-out", csr, cwd=self.dir)
        args = ["ca", "-batch", "-config", config, "-cert", self.ca_cert, "-keyfile", self.ca_key,
                "-in", csr, "-out", cert, "-notext"]
        if start:
            args += ["-startdate", start]
        if end:
            args += ["-enddate", end]
        openssl(*args, cwd=self.dir)
        return cert, key


@unittest.skipUnless(OPENSSL, "openssl is not installed")
class HttpsCase(unittest.TestCase):
    base: Path
    root: Path
    pki: Pki
    one_mib: bytes
    fifty_mib: bytes

    @classmethod
    def setUpClass(cls) -> None:
        cls.base = et.temp_dir(cls.addClassCleanup, "evtool-https-")
        (cls.base / "pki").mkdir()
        cls.pki = Pki(cls.base / "pki")
        cls.root = cls.base / "root"
        cls.root.mkdir()
        (cls.root / "hello.txt").write_bytes(HELLO)
        cls.one_mib = os.urandom(MiB)
        (cls.root / "one.bin").write_bytes(cls.one_mib)
        cls.fifty_mib = os.urandom(50 * MiB)
        (cls.root / "fifty.bin").write_bytes(cls.fifty_mib)

    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="t-", dir=self.base))

    # -- processes ------------------------------------------------------------

    def serve(self, *options: object, cert: Optional[Path] = None, key: Optional[Path] = None) -> et.Server:
        """`evtool http serve ROOT --port 0 --bind 127.0.0.1 --tls --cert C --key K`."""
        server = et.Server(["http", "serve", self.root, "--port", "0", "--bind", LOCAL, "--tls",
                            "--cert", cert or self.pki.cert, "--key", key or self.pki.key, *options],
                           env=CLEAN_ENV)
        server.start()
        self.addCleanup(server.stop)
        return server

    def s_server(self, cert: Path, key: Path) -> int:
        """`openssl s_server -www` on a free loopback port; returns the port."""
        proc = subprocess.Popen([OPENSSL, "s_server", "-www", "-accept", f"{LOCAL}:0",
                                 "-cert", str(cert), "-key", str(key)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)

        def stop() -> None:
            et._kill_group(proc)
            proc.wait()
            if proc.stdout:
                proc.stdout.close()
        self.addCleanup(stop)
        found: list[int] = []

        def read() -> None:
            assert proc.stdout
            for line in proc.stdout:
                m = re.match(r"ACCEPT .*:(\d+)\s*$", line)
                if m and not found:
                    found.append(int(m.group(1)))
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        deadline = time.monotonic() + IO_TIMEOUT
        while not found and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        if not found:
            self.fail("openssl s_server printed no ACCEPT line")
        return found[0]

    def evtool(self, args: Sequence[object], expect: Optional[int] = 0, timeout: float = 120,
               ) -> subprocess.CompletedProcess:
        """`evtool ARGS` with binary stdout; asserts the exit status."""
        proc = et.run_bytes(args, stdin=subprocess.DEVNULL, timeout=timeout, env=CLEAN_ENV)
        if expect is not None:
            self.assertEqual(proc.returncode, expect,
                             f"evtool {' '.join(map(str, args))}: stderr {proc.stderr!r}")
        return proc

    def curl(self, *args: object, timeout: float = 120) -> subprocess.CompletedProcess:
        if not et.CURL:
            self.skipTest("curl is not installed")
        return et.curl(*args, max_time=60, timeout=timeout)

    def wait_for_stderr(self, server: et.Server, pattern: str, timeout: float = 5) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, server.stderr)
            if m:
                return m.group(0)
            time.sleep(0.05)
        self.fail(f"{pattern!r} not on stderr: {server.stderr!r}")


class Serve(HttpsCase):
    """`http serve --tls --cert --key` against curl, python and s_client."""

    def test_curl_cacert_byte_exact(self) -> None:
        server = self.serve()
        for name, data in (("hello.txt", HELLO), ("one.bin", self.one_mib), ("fifty.bin", self.fifty_mib)):
            for host in (LOCAL, "localhost"):
                with self.subTest(file=name, host=host):
                    out = self.tmp / f"{name}.{host}"
                    # localhost resolves to the bound address only (the DNS SAN is checked).
                    result = self.curl("--cacert", self.pki.cert, "--resolve", f"localhost:{server.port}:{LOCAL}",
                                       "-o", out, "-w", "%{http_code}", f"https://{host}:{server.port}/{name}")
                    self.assertEqual(result.returncode, 0, result.stderr)
                    self.assertEqual(result.stdout, b"200")
                    got = out.read_bytes()
                    self.assertEqual(len(got), len(data))
                    self.assertEqual(sha256(got), sha256(data))

    def test_curl_verifies_the_server(self) -> None:
        server = self.serve()
        result = self.curl("-o", os.devnull, f"https://{LOCAL}:{server.port}/hello.txt")
        self.assertEqual(result.returncode, 60, result.stderr)  # the self-signed certificate is not trusted
        result = self.curl("--cacert", self.pki.other_cert, "-o", os.devnull,
                           f"https://{LOCAL}:{server.port}/hello.txt")
        self.assertNotEqual(result.returncode, 0)

    def test_curl_keep_alive_reuses_the_tls_connection(self) -> None:
        server = self.serve()
        url = f"https://{LOCAL}:{server.port}"
        outs = [self.tmp / f"r{i}" for i in range(3)]
        result = self.curl("--cacert", self.pki.cert, "-w", "%{num_connects}\n",
                           "-o", outs[0], f"{url}/hello.txt", "-o", outs[1], f"{url}/one.bin",
                           "-o", outs[2], f"{url}/hello.txt")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.split(), [b"1", b"0", b"0"], "one TLS connection for three requests")
        self.assertEqual(outs[0].read_bytes(), HELLO)
        self.assertEqual(sha256(outs[1].read_bytes()), sha256(self.one_mib))
        self.assertEqual(outs[2].read_bytes(), HELLO)

    def test_python_keep_alive_over_tls(self) -> None:
        server = self.serve()
        context = ssl.create_default_context(cafile=str(self.pki.cert))
        conn = http.client.HTTPSConnection(LOCAL, server.port, context=context, timeout=IO_TIMEOUT)
        self.addCleanup(conn.close)
        sock = None
        for name, data in (("hello.txt", HELLO), ("one.bin", self.one_mib), ("hello.txt", HELLO)):
            conn.request("GET", f"/{name}")
            response = conn.getresponse()
            self.assertEqual(response.status, 200)
            self.assertEqual(response.read(), data)
            self.assertIsNotNone(conn.sock, "the server kept the connection open")
            if sock is None:
                sock = conn.sock
                self.assertIn(sock.version(), ("TLSv1.2", "TLSv1.3"))
                self.assertEqual(sock.selected_alpn_protocol(), None)  # python offered none
            self.assertIs(conn.sock, sock, "the same TLS connection")

    def test_s_client_alpn(self) -> None:
        server = self.serve()
        result = openssl("s_client", "-connect", f"{LOCAL}:{server.port}", "-alpn", "http/1.1",
                         "-CAfile", self.pki.cert, "-servername", "localhost", cwd=self.tmp, input="")
        self.assertIn("ALPN protocol: http/1.1", result.stdout)
        self.assertIn("Verify return code: 0 (ok)", result.stdout)
        # A protocol the server does not speak: no ALPN, still a handshake.
        result = openssl("s_client", "-connect", f"{LOCAL}:{server.port}", "-alpn", "h2",
                         "-CAfile", self.pki.cert, cwd=self.tmp, input="")
        self.assertIn("No ALPN negotiated", result.stdout)
        # python's ssl offering http/1.1 hears it back too.
        context = ssl.create_default_context(cafile=str(self.pki.cert))
        context.set_alpn_protocols(["h2", "http/1.1"])
        with socket.create_connection((LOCAL, server.port), timeout=IO_TIMEOUT) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                self.assertEqual(tls.selected_alpn_protocol(), "http/1.1")

    def test_plain_http_client_is_logged_and_the_server_keeps_serving(self) -> None:
        server = self.serve()
        for request in (b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", b"\x00" * 64):
            with socket.create_connection((LOCAL, server.port), timeout=IO_TIMEOUT) as s:
                s.sendall(request)
                got = et.recv_to_eof(s)  # the server closes; what it sent is no HTTP answer
                self.assertNotIn(b"HTTP/1.1", got)
                self.assertNotIn(HELLO, got)
        line = self.wait_for_stderr(server, r".*127\.0\.0\.1:\d+.*http request.*")
        self.assertIn("TLS", line)
        self.wait_for_stderr(server, r".*127\.0\.0\.1:\d+.*wrong version number.*")
        # One that connects and leaves during the handshake, too.
        socket.create_connection((LOCAL, server.port), timeout=IO_TIMEOUT).close()
        self.assertIsNone(server.returncode)
        result = self.curl("--cacert", self.pki.cert, f"https://{LOCAL}:{server.port}/hello.txt")
        self.assertEqual((result.returncode, result.stdout), (0, HELLO), result.stderr)
        self.assertEqual(self.evtool(["http", "get", "--cacert", self.pki.cert,
                                      f"https://{LOCAL}:{server.port}/hello.txt"]).stdout, HELLO)


class Get(HttpsCase):
    """`http get https://` against openssl s_server and the evtool server."""

    def test_verification_is_on_by_default(self) -> None:
        port = self.s_server(self.pki.cert, self.pki.key)
        url = f"https://{LOCAL}:{port}/"
        result = self.evtool(["http", "get", url], expect=EXIT_TLS)
        self.assertIn(b"certificate verify failed", result.stderr)
        self.assertEqual(result.stdout, b"")
        result = self.evtool(["http", "get", "-k", url])
        self.assertIn(b"s_server", result.stdout)  # -www describes the session
        result = self.evtool(["http", "get", "--cacert", self.pki.cert, url])
        self.assertIn(b"s_server", result.stdout)
        result = self.evtool(["http", "get", "--cacert", self.pki.cert, f"https://localhost:{port}/"], expect=None)
        self.assertIn(result.returncode, (0, 1), result.stderr)  # 1 only if localhost is not 127.0.0.1 here
        result = self.evtool(["http", "get", "--cacert", self.pki.other_cert, url], expect=EXIT_TLS)
        self.assertIn(b"certificate verify failed", result.stderr)

    def test_wrong_host_name(self) -> None:
        port = self.s_server(self.pki.other_cert, self.pki.other_key)
        url = f"https://{LOCAL}:{port}/"
        result = self.evtool(["http", "get", "--cacert", self.pki.other_cert, url], expect=EXIT_TLS)
        self.assertIn(b"mismatch", result.stderr)
        self.evtool(["http", "get", "-k", url])  # the same server is fine without verification

    def test_expired_certificate(self) -> None:
        expired = subprocess.run([OPENSSL, "x509", "-in", str(self.pki.expired_cert), "-noout", "-enddate"],
                                 capture_output=True, text=True, timeout=30)
        self.assertIn("2020", expired.stdout)
        port = self.s_server(self.pki.expired_cert, self.pki.expired_key)
        result = self.evtool(["http", "get", "--cacert", self.pki.ca_cert, f"https://{LOCAL}:{port}/"],
                             expect=EXIT_TLS)
        self.assertIn(b"expired", result.stderr)
        # The same CA's current certificate is accepted: the date is what failed.
        port = self.s_server(self.pki.valid_cert, self.pki.valid_key)
        self.evtool(["http", "get", "--cacert", self.pki.ca_cert, f"https://{LOCAL}:{port}/"])

    def test_large_files_byte_exact(self) -> None:
        server = self.serve()
        for name, data in (("one.bin", self.one_mib), ("fifty.bin", self.fifty_mib)):
            with self.subTest(file=name):
                out = self.tmp / name
                self.evtool(["http", "get", "--cacert", self.pki.cert, "-o", out,
                             f"https://{LOCAL}:{server.port}/{name}"])
                got = out.read_bytes()
                self.assertEqual(len(got), len(data))
                self.assertEqual(sha256(got), sha256(data))
        # To stdout as well.
        result = self.evtool(["http", "get", "--cacert", self.pki.cert, f"https://{LOCAL}:{server.port}/one.bin"])
        self.assertEqual(sha256(result.stdout), sha256(self.one_mib))

    def test_post_over_tls(self) -> None:
        server = self.serve("--echo", "/echo")
        body = os.urandom(300 * KiB).hex().encode()  # text: the echo returns it in a JSON string
        source = self.tmp / "body.txt"
        source.write_bytes(body)
        result = self.evtool(["http", "post", "--cacert", self.pki.cert, "-d", f"@{source}",
                              f"https://{LOCAL}:{server.port}/echo"])
        doc = json.loads(result.stdout)
        self.assertEqual(doc["method"], "POST")
        self.assertEqual(doc["body_length"], len(body))
        self.assertEqual(doc["body"].encode(), body)

    def test_redirect_from_http_to_https(self) -> None:
        server = self.serve()
        target = f"https://{LOCAL}:{server.port}/hello.txt"

        class Redirect(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                self.send_response(302)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        origin = ThreadingHTTPServer((LOCAL, 0), Redirect)
        origin.daemon_threads = True
        thread = threading.Thread(target=origin.serve_forever, daemon=True)
        thread.start()

        def stop() -> None:
            origin.shutdown()
            origin.server_close()
        self.addCleanup(stop)
        start = f"http://{LOCAL}:{origin.server_address[1]}/start"
        result = self.evtool(["http", "get", "-L", "--cacert", self.pki.cert, start])
        self.assertEqual(result.stdout, HELLO)
        # Verification applies after the redirect too.
        result = self.evtool(["http", "get", "-L", start], expect=EXIT_TLS)
        self.assertIn(b"certificate verify failed", result.stderr)
        # Without -L, the redirect itself is the answer.
        result = self.evtool(["http", "get", start])
        self.assertEqual(result.stdout, b"")
        doc = json.loads(self.evtool(["--json", "http", "get", "-L", "--cacert", self.pki.cert, start]).stdout)
        self.assertEqual(doc["url"], target)
        self.assertEqual(doc["status"], 200)
        self.assertGreater(doc["time"]["tls"], 0)

    def test_json_has_a_tls_time(self) -> None:
        server = self.serve()
        doc = json.loads(self.evtool(["--json", "http", "get", "--cacert", self.pki.cert,
                                      f"https://{LOCAL}:{server.port}/hello.txt"]).stdout)
        self.assertEqual(doc["status"], 200)
        self.assertEqual(doc["body"], HELLO.decode())
        self.assertIsInstance(doc["time"]["tls"], (int, float))
        self.assertGreater(doc["time"]["tls"], 0)
        self.assertGreaterEqual(doc["time"]["total"], doc["time"]["tls"])
        port = self.s_server(self.pki.cert, self.pki.key)
        doc = json.loads(self.evtool(["--json", "http", "get", "-k", f"https://{LOCAL}:{port}/"]).stdout)
        self.assertGreater(doc["time"]["tls"], 0)


if __name__ == "__main__":
    unittest.main()
