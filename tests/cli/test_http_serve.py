"""`evtool http serve [DIR]` against real peers: curl and python sockets.

The listening line (text, JSON, -q, port 0, IPv6, options before DIR, DIR
defaulting to `.`), index.html and --index, directory listings (names
HTML-escaped, sizes, times, every link followed back to its file),
--no-listing, `/dir` -> 301 `/dir/`, GET and HEAD (same headers, no body),
405 with Allow for other methods on files, Content-Type for every extension
of CLI.md and application/octet-stream otherwise, Range (a-b, a-, -n, 416),
Last-Modified/If-Modified-Since and ETag/If-None-Match (304), If-Range
(strong ETag or the exact Last-Modified: 206, else 200, as nginx), HTTP/1.0
(close) and 1.1 keep-alive (curl reuses the connection), pipelining
(responses in order, including 206/304/404/405 and bodies), chunked request
bodies, `Expect: 100-continue`, Date and Server, a 1 GiB sparse file sent in
bounded memory (with a reader that reads nothing), bad input (400, 414 and
431 with --max-header 1k, 413 with --max-body, 408 with --timeout, and the
server answering normally after each), traversal (`..`, `%2e%2e`, encoded
slashes, NUL bytes, symlinks out of DIR: 403 or 404, and the outside file's
content never in any answer), --echo (every method, query and headers maps
with the last repeated name winning, body), the access log (Common Log
Format, NDJSON with --json, nothing with -q), --max-conns (503), --threads,
--tls (ephemeral certificate and its fingerprint, --cert/--key),
SIGINT/SIGTERM (exit 0, stop accepting, an in-flight 50 MiB response
finishes), usage errors (exit 2 naming the bad value) and a missing DIR.

Everything stays on loopback. Every socket and subprocess call has a
timeout; every process a test starts is killed when the test ends.
"""

from __future__ import annotations

import email.utils
import hashlib
import html
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union
from urllib.parse import quote, unquote, urljoin, urlsplit

import evtool_test as et

CLEAN_ENV = {"EVENT_NOEPOLL": None, "EVENT_NOPOLL": None, "EVENT_NOSELECT": None,
             "EVENT_SHOW_METHOD": None}
LOCAL = "127.0.0.1"
KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
# How long one socket exchange may take before the test fails.
IO_TIMEOUT = 10
OPENSSL = shutil.which("openssl")

# The content of a file next to (outside) every served root. No answer may
# ever contain it.
SECRET = ("evtool-outside-secret-" + os.urandom(8).hex()).encode()

HELLO = b"Hello, evtool!\n"
INDEX = b"<!doctype html><title>root</title><p>ROOT-INDEX-PAGE</p>\n"
RANGE_DATA = bytes((i * 7 + i // 256) % 256 for i in range(10000))
# Modification times set on files, whole seconds (HTTP dates have no more).
COND_MTIME = int(datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone.utc).timestamp())
LISTING_MTIME = int(datetime(2001, 6, 15, 12, 0, 0, tzinfo=timezone.utc).timestamp())
SIZED_BYTES = 12345

# Extension -> the media types accepted for it (CLI.md lists the extensions;
# where usage differs, each common registration is accepted).
CONTENT_TYPES = {
    "html": {"text/html"},
    "css": {"text/css"},
    "js": {"text/javascript", "application/javascript"},
    "mjs": {"text/javascript", "application/javascript"},
    "json": {"application/json"},
    "txt": {"text/plain"},
    "md": {"text/markdown", "text/x-markdown"},
    "svg": {"image/svg+xml"},
    "png": {"image/png"},
    "jpg": {"image/jpeg"},
    "gif": {"image/gif"},
    "webp": {"image/webp"},
    "ico": {"image/x-icon", "image/vnd.microsoft.icon"},
    "pdf": {"application/pdf"},
    "wasm": {"application/wasm"},
    "xml": {"application/xml", "text/xml"},
    "csv": {"text/csv"},
    "zip": {"application/zip"},
    "gz": {"application/gzip", "application/x-gzip"},
    "tar": {"application/x-tar"},
    "mp4": {"video/mp4"},
    "webm": {"video/webm"},
    "mp3": {"audio/mpeg"},
    "woff": {"font/woff", "application/font-woff"},
    "woff2": {"font/woff2"},
}

# Names in the listed directory `sub/`, some needing HTML or URL escaping.
LISTED_FILES = {
    "<b>&x.txt": b"escaped name\n",
    "a b.txt": b"a space in the name\n",
    "q\"uote's.txt": b"quotes in the name\n",
    "caf\u00e9.txt": b"utf-8 in the name\n",
    "plain.txt": b"plain\n",
    "sized.dat": b"s" * SIZED_BYTES,
}

IMF_DATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} "
                      r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
                      r"\d{2}:\d{2}:\d{2} GMT$")
# Common Log Format: host ident authuser [date] "request" status bytes.
CLF = re.compile(r'^(?P<host>\S+) (?P<ident>\S+) (?P<user>\S+) '
                 r'\[(?P<time>\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\] '
                 r'"(?P<request>[^"]*)" (?P<status>\d{3}) (?P<size>\d+|-)$')


def http_date(timestamp: float) -> str:
    return email.utils.formatdate(timestamp, usegmt=True)


def media_type(content_type: Optional[str]) -> str:
    """`text/html; charset=utf-8` -> `text/html`."""
    return (content_type or "").split(";")[0].strip().lower()


# ---- a raw HTTP/1.x client ----------------------------------------------------

Headers = Union[Sequence[tuple[str, str]], dict]


def build_request(method: str, target: str, headers: Headers = (), body: bytes = b"",
                  version: str = "HTTP/1.1") -> bytes:
    """A request as bytes. HTTP/1.1 gets `Host` unless `headers` has one; a
    body gets Content-Length unless `headers` frames it already."""
    items = list(headers.items()) if isinstance(headers, dict) else list(headers)
    names = {name.lower() for name, _ in items}
    if version == "HTTP/1.1" and "host" not in names:
        items.insert(0, ("Host", LOCAL))
    if body and not names & {"content-length", "transfer-encoding"}:
        items.append(("Content-Length", str(len(body))))
    head = f"{method} {target} {version}\r\n" + "".join(f"{n}: {v}\r\n" for n, v in items) + "\r\n"
    return head.encode("utf-8") + body


def chunked(pieces: Iterable[bytes]) -> bytes:
    """`pieces` in the chunked transfer coding, with the last chunk."""
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces if p) + b"0\r\n\r\n"


@dataclass
class Response:
    version: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    raw: bytes  # the status line, the header block and the body as received

    def all(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def header(self, name: str) -> Optional[str]:
        values = self.all(name)
        return values[-1] if values else None

    def tokens(self, name: str) -> set[str]:
        """The comma-separated tokens of every `name` field, lower-cased."""
        return {t.strip().lower() for v in self.all(name) for t in v.split(",") if t.strip()}

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise AssertionError(f"not JSON: {self.body[:300]!r}") from None

    def __repr__(self) -> str:
        return f"<{self.version} {self.status} {self.reason} {self.headers} body {self.body[:200]!r}>"


class HttpConn(et.BufferedSocket):
    """A client connection with a receive buffer. Every read fails with an
    AssertionError after its timeout instead of hanging."""

    def __init__(self, port: int, host: str = LOCAL):
        super().__init__(socket.create_connection((host, port), timeout=IO_TIMEOUT))

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        """Sends all of `data`. A server that answers and closes before
        reading everything (413, 414, 431) may reset the connection; its
        answer is still readable, so that is not an error here."""
        self.sock.settimeout(IO_TIMEOUT)
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def send_in_background(self, data: bytes) -> threading.Thread:
        """Sends `data` from a thread (for bodies the server may refuse
        before reading them), so the answer can be read meanwhile."""
        thread = threading.Thread(target=self.send, args=(data,), daemon=True)
        thread.start()
        return thread

    def read_response(self, head: bool = False, timeout: float = IO_TIMEOUT) -> Response:
        """One response, framed as RFC 9112 says: no body for HEAD, 1xx, 204
        and 304; else chunked, Content-Length, or up to the close."""
        deadline = time.monotonic() + timeout
        block = self._read_until(b"\r\n\r\n", deadline, "complete response head")
        lines = block[:-4].split(b"\r\n")
        match = re.match(rb"^(HTTP/\d\.\d) (\d{3})(?: (.*))?$", lines[0])
        if not match:
            raise AssertionError(f"bad status line {lines[0]!r}")
        headers = []
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or name != name.strip():
                raise AssertionError(f"bad header line {line!r} in {block!r}")
            headers.append((name.decode("latin-1"), value.strip().decode("latin-1")))
        response = Response(match[1].decode(), int(match[2]), (match[3] or b"").decode("latin-1"),
                            headers, b"", b"")
        status = response.status
        if head or 100 <= status < 200 or status in (204, 304):
            body = b""
        elif "chunked" in response.tokens("transfer-encoding"):
            body = self._read_chunked(deadline)
        elif response.header("content-length") is not None:
            length = response.header("content-length")
            if not length.isdigit():
                raise AssertionError(f"bad Content-Length {length!r}")
            body = self._read_exactly(int(length), deadline)
        else:
            body = self.read_to_eof(max(0.0, deadline - time.monotonic()))
        response.body = body
        response.raw = block + body
        return response

    def _read_chunked(self, deadline: float) -> bytes:
        body = []
        while True:
            size_line = self._read_until(b"\r\n", deadline, "chunk size")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                while self._read_until(b"\r\n", deadline, "trailer") != b"\r\n":
                    pass
                return b"".join(body)
            body.append(self._read_exactly(size, deadline))
            if self._read_exactly(2, deadline) != b"\r\n":
                raise AssertionError("chunk not followed by CRLF")

    def request(self, method: str, target: str, headers: Headers = (), body: bytes = b"",
                version: str = "HTTP/1.1") -> Response:
        self.send(build_request(method, target, headers, body, version))
        return self.read_response(head=method == "HEAD")

    def closed_within(self, timeout: float) -> bytes:
        """Asserts the server closes within `timeout` s; returns what came."""
        return self.read_to_eof(timeout)


@dataclass
class CurlResult:
    returncode: int
    status: int
    headers: list[tuple[str, str]]  # of the last response
    body: bytes
    stderr: str

    def header(self, name: str) -> Optional[str]:
        values = [v for n, v in self.headers if n.lower() == name.lower()]
        return values[-1] if values else None


# ---- the served tree ------------------------------------------------------------

def make_site(base: Path) -> Path:
    """base/secret.txt (outside) and base/root (served); returns the root."""
    (base / "secret.txt").write_bytes(SECRET)
    (base / "secret-dir").mkdir()
    (base / "secret-dir" / "inside.txt").write_bytes(SECRET)
    root = base / "root"
    root.mkdir()
    (root / "index.html").write_bytes(INDEX)
    (root / "hello.txt").write_bytes(HELLO)
    for name in ("a", "b", "c"):
        (root / f"{name}.txt").write_bytes(f"file {name} {name * 20}\n".encode())
    for ext in CONTENT_TYPES:
        (root / f"file.{ext}").write_bytes(f"content of file.{ext}\n".encode())
    (root / "noext").write_bytes(b"no extension\n")
    (root / "unknown.xyzzy").write_bytes(b"unknown extension\n")
    (root / "range.bin").write_bytes(RANGE_DATA)
    (root / "cond.txt").write_bytes(b"conditional requests\n")
    os.utime(root / "cond.txt", (COND_MTIME, COND_MTIME))

    sub = root / "sub"
    sub.mkdir()
    for name, data in LISTED_FILES.items():
        (sub / name).write_bytes(data)
    (sub / "inner").mkdir()
    (sub / "inner" / "deep.txt").write_bytes(b"deep\n")
    os.utime(sub / "sized.dat", (LISTING_MTIME, LISTING_MTIME))

    (root / "withindex").mkdir()
    (root / "withindex" / "index.html").write_bytes(b"<p>WITHINDEX-INDEX</p>\n")
    (root / "custom").mkdir()
    (root / "custom" / "index.html").write_bytes(b"<p>CUSTOM-INDEX-HTML</p>\n")
    (root / "custom" / "home.htm").write_bytes(b"<p>CUSTOM-HOME-HTM</p>\n")
    (root / "<script>").mkdir()
    (root / "<script>" / "evil.txt").write_bytes(b"evil\n")

    # Symlinks leading out of the root.
    (root / "link-abs.txt").symlink_to(base / "secret.txt")
    (root / "link-rel.txt").symlink_to(Path("..") / "secret.txt")
    (root / "dir-out").symlink_to(base)
    (root / "sub" / "link-up").symlink_to(Path("..") / ".." / "secret-dir")
    return root


class HttpCase(unittest.TestCase):
    """Each class serves its own copy of the site from a temporary directory."""

    base: Path
    root: Path

    @classmethod
    def setUpClass(cls) -> None:
        cls.base = et.temp_dir(cls.addClassCleanup, "evtool-http-")
        cls.root = make_site(cls.base)

    # -- servers ------------------------------------------------------------

    def start(self, args, sockets: int = 1, cwd=None) -> et.Server:
        """A running `evtool ARGS`, past its listening line(s) when
        sockets > 0; killed (with all it started) when the test ends."""
        server = et.Server(args, env=CLEAN_ENV, sockets=sockets, cwd=cwd)
        server.start()
        self.addCleanup(server.kill)
        return server

    def serve(self, *options, root: Optional[Path] = None, pre: Sequence[str] = (),
              sockets: int = 1) -> et.Server:
        """`evtool [PRE] http serve ROOT --port 0 --bind 127.0.0.1 OPTIONS`."""
        return self.start([*pre, "http", "serve", str(root or self.root), "--port", "0",
                           "--bind", LOCAL, *options], sockets=sockets)

    # -- clients ------------------------------------------------------------

    def connect(self, port: int, host: str = LOCAL) -> HttpConn:
        conn = HttpConn(port, host)
        self.addCleanup(conn.close)
        return conn

    def fetch(self, port: int, target: str, method: str = "GET", *, headers: Headers = (),
              body: bytes = b"", version: str = "HTTP/1.1") -> Response:
        """One request on a new connection."""
        conn = self.connect(port)
        try:
            return conn.request(method, target, headers, body, version)
        finally:
            conn.close()

    def exchange(self, port: int, raw: bytes, head: bool = False) -> Response:
        """Raw bytes on a new connection; the one response."""
        conn = self.connect(port)
        try:
            conn.send(raw)
            return conn.read_response(head=head)
        finally:
            conn.close()

    def assertCurlUploads(self, port: int, payload: bytes, *options: str) -> None:
        """curl (with OPTIONS) posts `payload`, from a file, to the --echo
        path /echo, which answers 200 with all of it."""
        with tempfile.NamedTemporaryFile(prefix="evtool-upload-") as upload:
            upload.write(payload)
            upload.flush()
            result = self.curl(*options, "--data-binary", "@" + upload.name, self.url(port, "/echo"))
        self.assertEqual((result.returncode, result.status), (0, 200), result.stderr)
        echo = json.loads(result.body)
        self.assertEqual(echo["body_length"], len(payload))
        self.assertEqual(echo["body"], payload.decode())

    def upload_refused(self, port: int, head: bytes, body: bytes) -> Response:
        """Sends `head` on a new connection and `body` from a thread (the
        server may answer before reading it); the answer."""
        conn = self.connect(port)
        conn.send(head)
        sender = conn.send_in_background(body)
        response = conn.read_response()
        sender.join(IO_TIMEOUT)
        conn.close()
        return response

    def curl(self, *args: str, timeout: float = 30) -> CurlResult:
        if not et.CURL:
            self.skipTest("curl is not installed")
        with tempfile.TemporaryDirectory(prefix="evtool-curl-") as tmp:
            head_file, body_file = Path(tmp, "head"), Path(tmp, "body")
            result = et.curl("-D", head_file, "-o", body_file, "-w", "%{http_code}", *args, timeout=timeout)
            text = head_file.read_text("latin-1") if head_file.exists() else ""
            body = body_file.read_bytes() if body_file.exists() else b""
        blocks = [b for b in re.split(r"\r?\n\r?\n", text) if b.startswith("HTTP/")]
        headers = []
        for line in (blocks[-1].splitlines()[1:] if blocks else []):
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        status = int(result.stdout.decode()[-3:]) if result.stdout[-3:].isdigit() else 0
        return CurlResult(result.returncode, status, headers, body, result.stderr.decode("utf-8", "replace"))

    def url(self, port: int, path: str = "/") -> str:
        return f"http://{LOCAL}:{port}{path}"

    # -- checks ---------------------------------------------------------------

    def assertStatus(self, response, *codes: int) -> None:
        self.assertIn(response.status, codes, f"expected {codes}: {response!r}")

    def assertServes(self, port: int) -> None:
        """The server still answers a normal GET on a new connection."""
        response = self.fetch(port, "/hello.txt")
        self.assertStatus(response, 200)
        self.assertEqual(response.body, HELLO)

    def assertNoSecret(self, data: bytes, what: str) -> None:
        self.assertNotIn(SECRET, data, f"{what}: the content of a file outside DIR was served")

    def json_line(self, line: Optional[str]) -> dict:
        self.assertIsNotNone(line, "the server's output ended")
        try:
            event = json.loads(line)
        except ValueError:
            self.fail(f"not a JSON line: {line!r}")
        self.assertIsInstance(event, dict, line)
        return event

    def clf(self, line: Optional[str]) -> re.Match:
        self.assertIsNotNone(line, "the server's output ended")
        match = CLF.match(line)
        self.assertIsNotNone(match, f"not Common Log Format: {line!r}")
        return match


# ---- listening line, DIR, usage errors ------------------------------------------------

class Startup(HttpCase):
    def first_line(self, args, cwd=None) -> str:
        server = self.start(args, sockets=0, cwd=cwd)
        line = server.readline(10)
        self.assertIsNotNone(line, f"exited without a listening line: {server.stderr!r}")
        return line

    def test_text_line_shows_the_real_port(self):
        line = self.first_line(["http", "serve", str(self.root), "--port", "0", "--bind", LOCAL])
        self.assertRegex(line, r"^listening on 127\.0\.0\.1:\d+$")
        port = int(line.rsplit(":", 1)[1])
        self.assertNotEqual(port, 0, "port 0 shows the port actually bound")
        self.assertServes(port)

    def test_json_line(self):
        for args in (["--json", "http", "serve", str(self.root), "--port", "0", "--bind", LOCAL],
                     ["http", "serve", str(self.root), "--port", "0", "--bind", LOCAL, "--json"]):
            with self.subTest(args=args):
                line = self.first_line(args)
                self.assertServes(et.check_listening_event(self, self.json_line(line), line))

    def test_printed_even_with_quiet(self):
        for args in (["-q", "http", "serve", str(self.root), "--port", "0", "--bind", LOCAL],
                     ["http", "serve", str(self.root), "--port", "0", "--bind", LOCAL, "--quiet"],
                     ["-q", "--json", "http", "serve", str(self.root), "--port", "0", "--bind", LOCAL]):
            with self.subTest(args=args):
                parsed = et.parse_listening(self.first_line(args))
                self.assertIsNotNone(parsed)
                self.assertServes(parsed[2])

    def test_options_before_dir(self):
        line = self.first_line(["http", "serve", "--port", "0", "--bind", LOCAL, str(self.root)])
        self.assertServes(et.parse_listening(line)[2])

    def test_dir_defaults_to_the_current_directory(self):
        server = self.start(["http", "serve", "--port", "0", "--bind", LOCAL], cwd=self.root)
        self.assertServes(server.port)
        self.assertEqual(self.fetch(server.port, "/").body, INDEX)

    @unittest.skipUnless(et.have_ipv6(), "no IPv6 loopback here")
    def test_ipv6(self):
        line = self.first_line(["http", "serve", str(self.root), "--port", "0", "--bind", "::1"])
        self.assertRegex(line, r"^listening on \[::1\]:\d+$")
        port = int(line.rsplit(":", 1)[1])
        conn = self.connect(port, "::1")
        response = conn.request("GET", "/hello.txt", {"Host": f"[::1]:{port}"})
        self.assertStatus(response, 200)
        self.assertEqual(response.body, HELLO)
        result = self.curl("-g", f"http://[::1]:{port}/hello.txt")
        self.assertEqual((result.returncode, result.status, result.body), (0, 200, HELLO), result.stderr)

    def test_bad_values_are_usage_errors(self):
        root = str(self.root)
        for args, bad in ((["--port", "70000"], "70000"),
                          (["--port", "abc"], "abc"),
                          (["--port", "0", "--bind", "not-an-ip"], "not-an-ip"),
                          (["--port", "0", "--timeout", "soon"], "soon"),
                          (["--port", "0", "--max-header", "big"], "big"),
                          (["--port", "0", "--max-body", "huge"], "huge")):
            with self.subTest(args=args):
                result = et.run(["http", "serve", root, *args], env=CLEAN_ENV, timeout=10)
                self.assertEqual(result.returncode, 2, f"{args}: {result.stderr!r}")
                self.assertIn(bad, result.stderr, "the message names the bad argument")
                self.assertNotIn("listening on", result.stdout)

    def test_zero_limits_are_usage_errors(self):
        root = str(self.root)
        for args in (["--timeout", "0"], ["--timeout", "0ms"], ["--max-header", "0"], ["--max-conns", "0"],
                     ["--threads", "0"]):
            with self.subTest(args=args):
                result = et.run(["http", "serve", root, "--port", "0", *args], env=CLEAN_ENV, timeout=10)
                self.assertEqual(result.returncode, 2, f"{args}: {result.stderr!r}")
                self.assertIn(args[0], result.stderr, "the message names the option")
                self.assertNotIn("listening on", result.stdout)

    def test_missing_dir_fails_with_a_message(self):
        missing = self.base / "no-such-dir"
        try:
            result = et.run(["http", "serve", str(missing), "--port", "0", "--bind", LOCAL],
                            env=CLEAN_ENV, timeout=10)
        except subprocess.TimeoutExpired:
            self.fail("`http serve` of a missing directory kept running")
        self.assertIn(result.returncode, (1, 2), result.stderr)
        self.assertIn("no-such-dir", result.stderr, "the message names the directory")
        self.assertNotIn("listening on", result.stdout)

    def test_file_as_dir_fails(self):
        try:
            result = et.run(["http", "serve", str(self.root / "hello.txt"), "--port", "0",
                             "--bind", LOCAL], env=CLEAN_ENV, timeout=10)
        except subprocess.TimeoutExpired:
            self.fail("`http serve FILE` kept running")
        self.assertIn(result.returncode, (1, 2), result.stderr)
        self.assertIn("hello.txt", result.stderr)

    def test_port_in_use_is_a_runtime_failure(self):
        with socket.socket() as taken:
            taken.bind((LOCAL, 0))
            taken.listen(1)
            result = et.run(["http", "serve", str(self.root), "--port", str(taken.getsockname()[1]),
                             "--bind", LOCAL], env=CLEAN_ENV, timeout=10)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertNotIn("listening on", result.stdout)


# ---- files, indexes, listings ---------------------------------------------------------

class Files(HttpCase):
    def test_a_file_named_as_a_directory_is_404(self):
        """Hardening, finding 8: "/hello.txt/" names a directory that is not
        there (nginx: 404), whether the file is cached or not."""
        server = self.serve()
        for _ in range(2):
            self.assertStatus(self.fetch(server.port, "/hello.txt/"), 404)
            self.assertEqual(self.fetch(server.port, "/hello.txt").body, HELLO)

    def test_get_a_file(self):
        server = self.serve()
        response = self.fetch(server.port, "/hello.txt")
        self.assertStatus(response, 200)
        self.assertEqual(response.body, HELLO)
        self.assertEqual(response.header("content-length"), str(len(HELLO)))
        result = self.curl(self.url(server.port, "/hello.txt"))
        self.assertEqual((result.returncode, result.status, result.body), (0, 200, HELLO), result.stderr)

    def test_repeated_slashes_are_merged(self):
        # As nginx (merge_slashes) and python's http.server do.
        server = self.serve()
        for target in ("//hello.txt", "///hello.txt", "/sub//plain.txt",
                       "//withindex//"):
            with self.subTest(target=target):
                response = self.fetch(server.port, target)
                self.assertStatus(response, 200)
        self.assertEqual(self.fetch(server.port, "//hello.txt").body, HELLO)
        # A directory's redirect never starts with "//" (another host).
        response = self.fetch(server.port, "//withindex")
        self.assertStatus(response, 301)
        self.assertEqual(response.header("location"), "/withindex/")

    def test_repeated_slashes_as_nginx(self):
        nginx = Nginx(self, self.root)
        server = self.serve()
        for target in ("//hello.txt", "///range.bin", "/sub//sized.dat"):
            with self.subTest(target=target):
                ours, theirs = self.fetch(server.port, target), self.fetch(nginx.port, target)
                self.assertEqual((ours.status, ours.body), (theirs.status, theirs.body))

    def test_missing_file_is_404(self):
        server = self.serve()
        self.assertStatus(self.fetch(server.port, "/no-such-file.txt"), 404)
        self.assertStatus(self.fetch(server.port, "/sub/no-such-dir/x"), 404)

    def test_percent_encoded_path_and_query(self):
        server = self.serve()
        response = self.fetch(server.port, "/sub/a%20b.txt")
        self.assertStatus(response, 200)
        self.assertEqual(response.body, LISTED_FILES["a b.txt"])
        response = self.fetch(server.port, "/hello.txt?v=1&x=%2F")
        self.assertStatus(response, 200)
        self.assertEqual(response.body, HELLO, "the query string does not change the file")
        response = self.fetch(server.port, "/sub/caf%C3%A9.txt")
        self.assertStatus(response, 200)
        self.assertEqual(response.body, LISTED_FILES["caf\u00e9.txt"])

    def test_index_html(self):
        server = self.serve()
        for target, body in (("/", INDEX), ("/withindex/", b"<p>WITHINDEX-INDEX</p>\n"),
                             ("/custom/", b"<p>CUSTOM-INDEX-HTML</p>\n")):
            with self.subTest(target=target):
                response = self.fetch(server.port, target)
                self.assertStatus(response, 200)
                self.assertEqual(response.body, body)
                self.assertEqual(media_type(response.header("content-type")), "text/html")

    def test_index_option(self):
        server = self.serve("--index", "home.htm")
        response = self.fetch(server.port, "/custom/")
        self.assertStatus(response, 200)
        self.assertEqual(response.body, b"<p>CUSTOM-HOME-HTM</p>\n", "--index NAME is the index file")
        # A directory with only index.html is now listed.
        response = self.fetch(server.port, "/withindex/")
        self.assertStatus(response, 200)
        self.assertNotIn(b"WITHINDEX-INDEX", response.body)
        self.assertIn(b"index.html", response.body)

    def listing(self, port: int, target: str = "/sub/") -> tuple[Response, str]:
        response = self.fetch(port, target)
        self.assertStatus(response, 200)
        self.assertEqual(media_type(response.header("content-type")), "text/html")
        return response, response.body.decode("utf-8")

    def test_listing_escapes_names(self):
        server = self.serve()
        response, page = self.listing(server.port)
        self.assertNotIn(b"<b>&x.txt", response.body, "a file name reached the HTML unescaped")
        self.assertIn("&lt;b&gt;&amp;x.txt", page)
        texts = [html.unescape(t) for t in re.findall(r">([^<]+)<", page)]
        for name in LISTED_FILES:
            with self.subTest(name=name):
                self.assertTrue(any(name in t for t in texts), f"{name!r} is not shown in {page!r}")
        self.assertTrue(any("inner" in t for t in texts), "subdirectories are listed")

    def test_listing_of_a_directory_whose_name_needs_escaping(self):
        server = self.serve()
        response, page = self.listing(server.port, "/%3Cscript%3E/")
        self.assertNotIn(b"<script>", response.body, "the directory name reached the HTML unescaped")
        self.assertIn("evil.txt", page)

    def test_listing_shows_sizes_and_times(self):
        server = self.serve()
        _, page = self.listing(server.port)
        self.assertRegex(page, r"12345|12(\.\d+)?\s?(K|KB|KiB|kB|k)\b",
                         "the size of sized.dat (12345 bytes)")
        self.assertIn("2001", page, "the modification time of sized.dat (2001-06-15)")

    def test_listing_is_one_styled_self_contained_page(self):
        """Issue 14, item 14: human sizes (bytes in a tooltip), a parent link,
        CSS inline for light and dark, nothing else to fetch."""
        server = self.serve()
        _, page = self.listing(server.port)
        self.assertIn('title="12345 bytes">12.1 KiB<', page)
        self.assertIn('href="../"', page)
        self.assertIn("prefers-color-scheme:dark", page)
        self.assertNotRegex(page, r"<(link|script|img)\b", "one request: nothing else to load")
        self.assertNotIn('href="../"', self.listing(server.port, "/")[1], "the root has no parent")

    def test_listing_columns_sort(self):
        server = self.serve()
        names = lambda page: [html.unescape(n) for n in re.findall(r'<td><a href="[^"]*">([^<]+)</a>', page)
                              if n != "../"]
        by_name = names(self.listing(server.port)[1])
        files = [n for n in by_name if not n.endswith("/")]
        self.assertEqual(files, sorted(files))
        self.assertTrue(by_name[0].endswith("/"), "directories first")
        by_size = [n for n in names(self.listing(server.port, "/sub/?sort=size&order=desc")[1]) if not n.endswith("/")]
        self.assertEqual(by_size[0], "sized.dat", "the largest first")
        by_time = [n for n in names(self.listing(server.port, "/sub/?sort=time")[1]) if not n.endswith("/")]
        self.assertEqual(by_time[0], "sized.dat", "the oldest first (2001)")
        page = self.listing(server.port, "/sub/?sort=size")[1]
        self.assertIn('href="?sort=size&amp;order=desc"', page, "the current column's link reverses it")

    def test_listing_links_lead_to_the_files(self):
        server = self.serve()
        _, page = self.listing(server.port)
        links = {}
        for match in re.finditer(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)')""", page):
            href = html.unescape(match[1] if match[1] is not None else match[2])
            path = urlsplit(urljoin("/sub/", href)).path
            links[unquote(path)] = path
        for name, data in LISTED_FILES.items():
            with self.subTest(name=name):
                self.assertIn("/sub/" + name, links, f"no link to {name!r}; links: {sorted(links)}")
                # Follow it as a browser would (characters a URL cannot hold escaped).
                target = quote(links["/sub/" + name], safe="/%:@!$&'()*+,;=-._~")
                response = self.fetch(server.port, target)
                self.assertStatus(response, 200)
                self.assertEqual(response.body, data)
        self.assertTrue({"/sub/inner/", "/sub/inner"} & set(links), f"no link to inner/: {sorted(links)}")
        response = self.fetch(server.port, "/sub/inner/")
        self.assertStatus(response, 200)
        self.assertIn(b"deep.txt", response.body)

    def test_no_listing(self):
        server = self.serve("--no-listing")
        for target in ("/sub/", "/sub/inner/", "/%3Cscript%3E/"):
            with self.subTest(target=target):
                response = self.fetch(server.port, target)
                self.assertStatus(response, 403, 404)
                self.assertNotIn(b"plain.txt", response.body)
        # Files and index pages are still served.
        self.assertEqual(self.fetch(server.port, "/withindex/").body, b"<p>WITHINDEX-INDEX</p>\n")
        self.assertEqual(self.fetch(server.port, "/sub/plain.txt").body, b"plain\n")

    def test_directory_without_slash_redirects(self):
        server = self.serve()
        for target, path in (("/sub", "/sub/"), ("/sub/inner", "/sub/inner/"),
                             ("/withindex", "/withindex/"), ("/%3Cscript%3E", "/<script>/")):
            with self.subTest(target=target):
                response = self.fetch(server.port, target)
                self.assertStatus(response, 301)
                location = response.header("location")
                self.assertIsNotNone(location, "a 301 has a Location")
                self.assertEqual(unquote(urlsplit(location).path), path)
                self.assertNotIn("<", location, "Location is a URI, its characters escaped")
        result = self.curl("-L", self.url(server.port, "/withindex"))
        self.assertEqual((result.returncode, result.status, result.body),
                         (0, 200, b"<p>WITHINDEX-INDEX</p>\n"), result.stderr)

    def test_content_types(self):
        server = self.serve()
        for ext, accepted in CONTENT_TYPES.items():
            with self.subTest(ext=ext):
                response = self.fetch(server.port, f"/file.{ext}")
                self.assertStatus(response, 200)
                self.assertIn(media_type(response.header("content-type")), accepted,
                              f"Content-Type of .{ext}: {response.header('content-type')!r}")
        for name in ("noext", "unknown.xyzzy", "range.bin"):
            with self.subTest(name=name):
                response = self.fetch(server.port, "/" + name)
                self.assertStatus(response, 200)
                self.assertEqual(media_type(response.header("content-type")), "application/octet-stream")

    def test_date_and_server_headers(self):
        server = self.serve()
        for target, status in (("/hello.txt", 200), ("/missing", 404), ("/sub/", 200), ("/sub", 301)):
            with self.subTest(target=target):
                response = self.fetch(server.port, target)
                self.assertStatus(response, status)
                date = response.header("date")
                self.assertIsNotNone(date, "Date")
                self.assertRegex(date, IMF_DATE)
                when = email.utils.parsedate_to_datetime(date)
                self.assertLess(abs((datetime.now(timezone.utc) - when).total_seconds()), 120)
                self.assertTrue(response.header("server"), "a non-empty Server header")


# ---- methods ----------------------------------------------------------------------

class Methods(HttpCase):
    def test_head_has_the_headers_of_get_and_no_body(self):
        server = self.serve()
        for target in ("/hello.txt", "/range.bin", "/", "/sub/"):
            with self.subTest(target=target):
                conn = self.connect(server.port)
                # HEAD then GET on one connection: a body after HEAD would be
                # read as the second response's status line.
                conn.send(build_request("HEAD", target) + build_request("GET", target))
                head = conn.read_response(head=True)
                get = conn.read_response()
                self.assertStatus(head, 200)
                self.assertStatus(get, 200)
                for name in ("content-length", "content-type", "etag", "last-modified"):
                    self.assertEqual(head.header(name), get.header(name), name)
                self.assertEqual(head.header("content-length"), str(len(get.body)))
                conn.close()
        result = self.curl("-I", self.url(server.port, "/hello.txt"))  # -I writes the head to -o
        self.assertEqual((result.returncode, result.status), (0, 200), result.stderr)
        self.assertEqual(result.header("content-length"), str(len(HELLO)))

    def test_other_methods_on_files_get_405_with_allow(self):
        server = self.serve()
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            with self.subTest(method=method):
                conn = self.connect(server.port)
                body = b"x=1" if method in ("POST", "PUT", "PATCH") else b""
                response = conn.request(method, "/hello.txt", body=body)
                self.assertStatus(response, 405)
                allow = response.tokens("allow")
                self.assertTrue({"get", "head"} <= allow, f"Allow: {response.all('allow')}")
                # The request and its body were consumed: the connection
                # carries on unless the server said it closes.
                if "close" not in response.tokens("connection"):
                    after = conn.request("GET", "/hello.txt")
                    self.assertEqual(after.body, HELLO)
                conn.close()
        self.assertEqual((self.root / "hello.txt").read_bytes(), HELLO, "PUT/DELETE left the file alone")
        result = self.curl("-X", "DELETE", self.url(server.port, "/hello.txt"))
        self.assertEqual(result.status, 405)
        self.assertTrue((self.root / "hello.txt").exists())


# ---- ranges and conditional requests ---------------------------------------------

class Ranges(HttpCase):
    SIZE = len(RANGE_DATA)

    def ranged(self, port: int, spec: str) -> Response:
        return self.fetch(port, "/range.bin", headers={"Range": spec})

    def test_satisfiable_ranges(self):
        server = self.serve()
        size = self.SIZE
        for spec, first, last in (("bytes=0-99", 0, 99), ("bytes=100-100", 100, 100),
                                  ("bytes=9990-", 9990, size - 1), ("bytes=0-", 0, size - 1),
                                  ("bytes=-10", size - 10, size - 1),
                                  ("bytes=5000-999999", 5000, size - 1),
                                  ("bytes=-20000", 0, size - 1)):
            with self.subTest(range=spec):
                response = self.ranged(server.port, spec)
                self.assertStatus(response, 206)
                self.assertEqual(response.header("content-range"), f"bytes {first}-{last}/{size}")
                self.assertEqual(response.body, RANGE_DATA[first:last + 1])
                self.assertEqual(response.header("content-length"), str(last + 1 - first))

    def test_unsatisfiable_ranges(self):
        server = self.serve()
        for spec in ("bytes=10000-", f"bytes={self.SIZE}-{self.SIZE + 5}", "bytes=20000-30000"):
            with self.subTest(range=spec):
                response = self.ranged(server.port, spec)
                self.assertStatus(response, 416)
                self.assertEqual(response.header("content-range"), f"bytes */{self.SIZE}")
                self.assertNotIn(RANGE_DATA[:64], response.body)

    def test_curl_range(self):
        server = self.serve()
        result = self.curl("-r", "10-19", self.url(server.port, "/range.bin"))
        self.assertEqual((result.returncode, result.status), (0, 206), result.stderr)
        self.assertEqual(result.body, RANGE_DATA[10:20])


class MultipleRanges(HttpCase):
    """Hardening, finding 8: several ranges get 206 multipart/byteranges;
    more than 16, or overlapping ones, get the whole file with 200."""

    def parts(self, response: Response, size: int) -> list:
        """(first, last, body) of each part, checking each part's headers."""
        content_type = response.header("content-type") or ""
        match = re.fullmatch(r"multipart/byteranges; boundary=(\S+)", content_type)
        self.assertIsNotNone(match, content_type)
        delimiter = b"\r\n--" + match.group(1).encode()
        body = response.body
        self.assertEqual(response.header("content-length"), str(len(body)))
        self.assertTrue(body.startswith(delimiter), body[:80])
        self.assertTrue(body.endswith(delimiter + b"--\r\n"), body[-80:])
        out = []
        for chunk in body[:-len(delimiter + b"--\r\n")].split(delimiter)[1:]:
            head, _, data = chunk.partition(b"\r\n\r\n")
            fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
            self.assertIn(b"Content-Type", fields)
            first, last, total = re.fullmatch(rb"bytes (\d+)-(\d+)/(\d+)", fields[b"Content-Range"]).groups()
            self.assertEqual(int(total), size)
            out.append((int(first), int(last), data))
        return out

    def test_two_ranges_are_multipart(self):
        server = self.serve()
        # The three ways a file goes out: cached (10 kB), read in (40 kB), sendfile (300 kB).
        for name, size in (("range.bin", len(RANGE_DATA)), ("mid.bin", 40_000), ("large.bin", 300_000)):
            data = (RANGE_DATA * (size // len(RANGE_DATA) + 1))[:size]
            if name != "range.bin":
                (self.root / name).write_bytes(data)
            for spec, want in (("bytes=0-9,20-29", [(0, 9), (20, 29)]),
                               ("bytes=-10, 0-4", [(size - 10, size - 1), (0, 4)]),
                               (f"bytes=100-199,{size - 50}-", [(100, 199), (size - 50, size - 1)]),
                               ("bytes=0-0,2-2,4-4", [(0, 0), (2, 2), (4, 4)])):
                with self.subTest(file=name, range=spec):
                    response = self.fetch(server.port, "/" + name, headers={"Range": spec})
                    self.assertStatus(response, 206)
                    self.assertIsNone(response.header("content-range"))
                    got = self.parts(response, size)
                    self.assertEqual([(f, l) for f, l, _ in got], want)
                    for first, last, body in got:
                        self.assertEqual(body, data[first:last + 1])
                    head = self.fetch(server.port, "/" + name, "HEAD", headers={"Range": spec})
                    self.assertStatus(head, 206)
                    self.assertEqual(int(head.header("content-length")), len(response.body))

    def test_curl_ranges(self):
        server = self.serve()
        result = self.curl("-r", "0-9,20-29", self.url(server.port, "/range.bin"))
        self.assertEqual((result.returncode, result.status), (0, 206), result.stderr)
        self.assertIn(RANGE_DATA[0:10], result.body)
        self.assertIn(RANGE_DATA[20:30], result.body)

    def test_unsatisfiable_ranges_are_dropped(self):
        server = self.serve()
        size = len(RANGE_DATA)
        response = self.fetch(server.port, "/range.bin", headers={"Range": "bytes=0-4,20000-30000"})
        self.assertStatus(response, 206)
        self.assertEqual(response.header("content-range"), f"bytes 0-4/{size}")
        self.assertEqual(response.body, RANGE_DATA[:5])
        response = self.fetch(server.port, "/range.bin", headers={"Range": "bytes=20000-,30000-30001"})
        self.assertStatus(response, 416)

    def test_abusive_ranges_get_the_whole_file(self):
        server = self.serve()
        many = "bytes=" + ",".join(f"{i * 10}-{i * 10 + 4}" for i in range(17))
        sixteen = "bytes=" + ",".join(f"{i * 10}-{i * 10 + 4}" for i in range(16))
        for spec, status in ((many, 200), (sixteen, 206), ("bytes=0-99,50-149", 200), ("bytes=0-99,-9990", 200),
                             ("bytes=0-9,10-19", 206), ("bytes=0-9,x-19", 200)):
            with self.subTest(range=spec[:40]):
                response = self.fetch(server.port, "/range.bin", headers={"Range": spec})
                self.assertStatus(response, status)
                if status == 200:
                    self.assertEqual(response.body, RANGE_DATA)


class Conditional(HttpCase):
    def first(self, port: int, target: str = "/cond.txt") -> Response:
        response = self.fetch(port, target)
        self.assertStatus(response, 200)
        return response

    def test_last_modified_is_the_file_time(self):
        server = self.serve()
        last_modified = self.first(server.port).header("last-modified")
        self.assertIsNotNone(last_modified)
        self.assertRegex(last_modified, IMF_DATE)
        self.assertEqual(email.utils.parsedate_to_datetime(last_modified).timestamp(), COND_MTIME)

    def test_if_modified_since(self):
        server = self.serve()
        body = self.first(server.port).body
        for since, status in ((http_date(COND_MTIME), 304), (http_date(COND_MTIME + 86400), 304),
                              (http_date(COND_MTIME - 86400), 200), ("not a date", 200)):
            with self.subTest(since=since):
                response = self.fetch(server.port, "/cond.txt", headers={"If-Modified-Since": since})
                self.assertStatus(response, status)
                self.assertEqual(response.body, body if status == 200 else b"")

    def test_etag_and_if_none_match(self):
        server = self.serve()
        first = self.first(server.port)
        etag = first.header("etag")
        self.assertIsNotNone(etag, "ETag")
        self.assertRegex(etag, r'^(W/)?"[^"]*"$', "an ETag is a quoted string")
        self.assertEqual(self.first(server.port).header("etag"), etag, "stable while the file is")
        for match, status in ((etag, 304), ("*", 304), ('"something-else"', 200),
                              ('"something-else", ' + etag, 304)):
            with self.subTest(if_none_match=match):
                response = self.fetch(server.port, "/cond.txt", headers={"If-None-Match": match})
                self.assertStatus(response, status)
                self.assertEqual(response.body, first.body if status == 200 else b"")
        # If-None-Match wins over If-Modified-Since (RFC 9110, 13.2.2).
        response = self.fetch(server.port, "/cond.txt",
                              headers={"If-None-Match": '"something-else"',
                                       "If-Modified-Since": http_date(COND_MTIME)})
        self.assertStatus(response, 200)

    def test_etag_changes_with_the_file(self):
        server = self.serve()
        path = self.root / "changing.txt"
        path.write_bytes(b"version one\n")
        os.utime(path, (COND_MTIME, COND_MTIME))
        old = self.first(server.port, "/changing.txt").header("etag")
        path.write_bytes(b"version two, longer\n")
        os.utime(path, (COND_MTIME + 60, COND_MTIME + 60))
        response = self.fetch(server.port, "/changing.txt", headers={"If-None-Match": old})
        self.assertStatus(response, 200)
        self.assertEqual(response.body, b"version two, longer\n")
        self.assertNotEqual(response.header("etag"), old)


class Nginx:
    """nginx serving `root` on a free loopback port, for side-by-side
    checks (skipped when nginx is not installed)."""

    def __init__(self, test: unittest.TestCase, root: Path):
        binary = shutil.which("nginx") or next(
            (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)
        if not binary:
            test.skipTest("nginx is not installed")
        prefix = et.temp_dir(test.addCleanup, "evtool-nginx-")
        self.port = et.free_port()
        user = "user root;" if os.geteuid() == 0 else ""
        (prefix / "nginx.conf").write_text(f"""{user}
worker_processes 1;
error_log {prefix}/error.log;
pid {prefix}/nginx.pid;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
  server {{ listen {LOCAL}:{self.port}; root {root}; }}
}}
""")
        self.proc = subprocess.Popen([binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
                                      "-g", "daemon off;"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True)
        test.addCleanup(self.stop)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection((LOCAL, self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    test.fail(f"nginx did not start: {self.proc.stderr.read().decode(errors='replace')}")
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc.stderr.close()


class IfRange(HttpCase):
    """If-Range (RFC 9110 13.1.5): the Range counts when the validator is
    the current strong ETag or exactly the Last-Modified date; otherwise
    the whole file with 200. Side by side with nginx."""

    def answers(self, port: int, validator) -> tuple[int, bytes]:
        """(status, body) of `Range: bytes=10-19` with If-Range set to what
        validator(first response) gives."""
        first = self.fetch(port, "/cond.txt")
        self.assertStatus(first, 200)
        response = self.fetch(port, "/cond.txt", headers={"Range": "bytes=10-19", "If-Range": validator(first)})
        return response.status, response.body

    CASES = {
        "current etag": (lambda r: r.header("etag"), 206),
        "weak form of the etag": (lambda r: "W/" + r.header("etag"), 200),
        "another etag": (lambda r: '"not-the-tag"', 200),
        "last-modified": (lambda r: r.header("last-modified"), 206),
        "a second later": (lambda r: http_date(COND_MTIME + 1), 200),
        "a day earlier": (lambda r: http_date(COND_MTIME - 86400), 200),
        "not a date": (lambda r: "yesterday", 200),
    }

    def test_if_range(self):
        server = self.serve()
        whole = (self.root / "cond.txt").read_bytes()
        for name, (validator, status) in self.CASES.items():
            with self.subTest(name):
                got = self.answers(server.port, validator)
                self.assertEqual(got, (status, whole[10:20] if status == 206 else whole))

    def test_same_answers_as_nginx(self):
        nginx = Nginx(self, self.root)
        server = self.serve()
        for name, (validator, _) in self.CASES.items():
            with self.subTest(name):
                self.assertEqual(self.answers(server.port, validator), self.answers(nginx.port, validator))

    def test_resumed_download_with_curl(self):
        # A resume with the validator of the first download: only the rest.
        server = self.serve()
        etag = self.fetch(server.port, "/range.bin").header("etag")
        result = self.curl("-H", f"If-Range: {etag}", "-r", "100-", self.url(server.port, "/range.bin"))
        self.assertEqual((result.returncode, result.status), (0, 206), result.stderr)
        self.assertEqual(result.body, RANGE_DATA[100:])


# ---- connections: versions, keep-alive, pipelining, bodies -------------------------------

class Connections(HttpCase):
    def test_http10_closes_after_the_response(self):
        server = self.serve()
        conn = self.connect(server.port)
        response = conn.request("GET", "/hello.txt", version="HTTP/1.0")
        self.assertStatus(response, 200)
        self.assertEqual(response.body, HELLO)
        self.assertEqual(conn.closed_within(5), b"", "HTTP/1.0 without keep-alive: the server closes")

    def test_http10_keep_alive_when_asked(self):
        server = self.serve()
        conn = self.connect(server.port)
        response = conn.request("GET", "/hello.txt", {"Connection": "keep-alive"}, version="HTTP/1.0")
        self.assertStatus(response, 200)
        self.assertEqual(response.body, HELLO)
        if "keep-alive" in response.tokens("connection"):
            again = conn.request("GET", "/a.txt", {"Connection": "keep-alive"}, version="HTTP/1.0")
            self.assertStatus(again, 200)
        else:
            self.assertEqual(conn.closed_within(5), b"")

    def test_http11_keep_alive(self):
        server = self.serve()
        conn = self.connect(server.port)
        for i in range(5):
            response = conn.request("GET", "/hello.txt")
            self.assertStatus(response, 200)
            self.assertEqual(response.body, HELLO, f"request {i + 1} on one connection")
            self.assertNotIn("close", response.tokens("connection"))

    def test_http11_connection_close(self):
        server = self.serve()
        conn = self.connect(server.port)
        response = conn.request("GET", "/hello.txt", {"Connection": "close"})
        self.assertEqual(response.body, HELLO)
        self.assertEqual(conn.closed_within(5), b"")

    def test_curl_reuses_the_connection(self):
        if not et.CURL:
            self.skipTest("curl is not installed")
        server = self.serve()
        result = et.curl("-v", "-o", "/dev/null", "-o", "/dev/null",
                         self.url(server.port, "/hello.txt"), self.url(server.port, "/a.txt"), text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stderr, r"Re-using existing connection")

    def test_pipelining_answers_in_order(self):
        server = self.serve("--echo", "/echo")
        cond_etag = self.fetch(server.port, "/cond.txt").header("etag")
        conn = self.connect(server.port)
        requests = [
            ("GET", "/a.txt", {}, b""),
            ("HEAD", "/b.txt", {}, b""),
            ("GET", "/range.bin", {"Range": "bytes=0-9"}, b""),
            ("GET", "/cond.txt", {"If-None-Match": cond_etag}, b""),
            ("GET", "/missing.txt", {}, b""),
            ("POST", "/echo", {}, b"pipelined body"),
            ("GET", "/c.txt", {}, b""),
            ("POST", "/c.txt", {}, b"refused body"),  # last: a server may close after a 405
        ]
        conn.send(b"".join(build_request(m, t, h, b) for m, t, h, b in requests))  # one sendall
        responses = [conn.read_response(head=m == "HEAD") for m, *_ in requests]
        statuses = [r.status for r in responses]
        self.assertEqual(statuses, [200, 200, 206, 304, 404, 200, 200, 405])
        self.assertEqual(responses[0].body, (self.root / "a.txt").read_bytes())
        self.assertEqual(responses[1].header("content-length"), str((self.root / "b.txt").stat().st_size))
        self.assertEqual(responses[2].body, RANGE_DATA[:10])
        self.assertEqual(responses[5].json()["body"], "pipelined body")
        self.assertEqual(responses[6].body, (self.root / "c.txt").read_bytes())

    def test_many_pipelined_requests(self):
        server = self.serve()
        names = ["a", "b", "c"] * 20
        conn = self.connect(server.port)
        conn.send(b"".join(build_request("GET", f"/{n}.txt") for n in names))
        for i, name in enumerate(names):
            response = conn.read_response()
            self.assertEqual(response.body, (self.root / f"{name}.txt").read_bytes(), f"response {i}")

    def test_chunked_request_body(self):
        server = self.serve("--echo", "/echo")
        conn = self.connect(server.port)
        raw = (build_request("POST", "/echo", {"Transfer-Encoding": "chunked"})
               + b"5\r\nhello\r\n"
               + b"A;name=value\r\n0123456789\r\n"   # upper-case hex, a chunk extension
               + b"1\r\n!\r\n0\r\nX-Trailer: yes\r\n\r\n")  # a trailer field
        conn.send(raw)
        echo = conn.read_response().json()
        self.assertEqual(echo["body"], "hello0123456789!")
        self.assertEqual(echo["body_length"], 16)
        # The framing held: the connection carries on.
        self.assertEqual(conn.request("GET", "/hello.txt").body, HELLO)

    def test_chunked_upload_with_curl(self):
        server = self.serve("--echo", "/echo")
        payload = ("".join(f"line {i} of a chunked upload\n" for i in range(4000))).encode()
        self.assertCurlUploads(server.port, payload, "-H", "Transfer-Encoding: chunked")

    def test_expect_100_continue(self):
        server = self.serve("--echo", "/echo")
        conn = self.connect(server.port)
        conn.send(build_request("POST", "/echo", {"Content-Length": "11", "Expect": "100-continue"}))
        interim = conn.read_response(timeout=5)
        self.assertEqual(interim.status, 100, "the server asks for the body before it comes")
        conn.send(b"hello there")
        final = conn.read_response()
        self.assertStatus(final, 200)
        self.assertEqual(final.json()["body"], "hello there")


# ---- the 1 GiB file --------------------------------------------------------------------

class LargeFile(HttpCase):
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        with open(cls.root / "big.bin", "wb") as f:
            f.truncate(GiB)  # sparse: no disk space, reads as zeros

    def test_one_gib_in_bounded_memory(self):
        if not et.CURL:
            self.skipTest("curl is not installed")
        server = self.serve()
        pid = server.proc.pid
        # A client that asks for the whole file and reads nothing: the
        # server must not buffer the file for it.
        stalled = self.connect(server.port)
        stalled.send(build_request("GET", "/big.bin"))
        stalled.sock.settimeout(IO_TIMEOUT)
        self.assertTrue(stalled.sock.recv(64 * KiB).startswith(b"HTTP/1."))
        time.sleep(1.0)
        self.assertLess(et.vm_kib(pid, "VmRSS"), 64 * 1024, "RSS with a stalled 1 GiB response")
        # A full download alongside it.
        start = time.monotonic()
        result = et.curl("-o", "/dev/null", "-w", "%{http_code} %{size_download}", self.url(server.port, "/big.bin"),
                         max_time=60, timeout=90, text=True)
        elapsed = time.monotonic() - start
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.split(), ["200", str(GiB)])
        self.assertIsNone(server.returncode, f"the server died (status {server.returncode}) "
                                             f"serving 1 GiB; stderr: {server.stderr!r}")
        self.assertLess(et.vm_kib(pid, "VmHWM"), 64 * 1024,
                        f"peak RSS serving 1 GiB (in {elapsed:.1f}s) must stay bounded")
        # A range in the middle of it.
        response = self.fetch(server.port, "/big.bin", headers={"Range": f"bytes={GiB // 2}-{GiB // 2 + 9}"})
        self.assertStatus(response, 206)
        self.assertEqual(response.header("content-range"), f"bytes {GiB // 2}-{GiB // 2 + 9}/{GiB}")
        self.assertEqual(response.body, bytes(10))


class SlowReader(HttpCase):
    """Hardening, finding 1: --timeout measures lack of progress, so a
    download that keeps moving is never cut, however long it takes."""

    def test_slow_steady_download_outlives_the_timeout(self):
        size = 6 * MiB
        with open(self.root / "slow.bin", "wb") as f:
            f.write(os.urandom(size))
        server = self.serve("--timeout", "1")
        sock = socket.socket()
        self.addCleanup(sock.close)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * KiB)  # the kernel must not absorb it all
        sock.connect((LOCAL, server.port))
        sock.sendall(build_request("GET", "/slow.bin"))
        sock.settimeout(IO_TIMEOUT)
        received = bytearray()
        start = time.monotonic()
        while True:
            chunk = sock.recv(64 * KiB)
            if not chunk:
                break
            received += chunk
            time.sleep(0.02)  # about 2-3 MiB/s: the transfer lasts several timeouts
        elapsed = time.monotonic() - start
        head, _, body = bytes(received).partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head[:80])
        self.assertEqual(len(body), size, f"cut after {elapsed:.1f}s")
        self.assertEqual(body, (self.root / "slow.bin").read_bytes())
        self.assertGreater(elapsed, 1.0, "the transfer must outlast --timeout for this test to mean anything")


class SlowBody(HttpCase):
    """Hardening, finding 8: a body trickling in below --min-rate is cut
    with 408 once --timeout of grace is over; a steady one is not."""

    def test_trickling_body_gets_408(self):
        server = self.serve("--echo", "/echo", "--timeout", "1", "--min-rate", "1000")
        conn = self.connect(server.port)
        conn.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        start = time.monotonic()
        response = None
        while time.monotonic() - start < 8:
            try:
                conn.send(b"x")  # 10 bytes/s: far below 1000
            except OSError:
                break
            readable, _, _ = select.select([conn.sock], [], [], 0.1)
            if readable:
                response = conn.read_response()
                break
        self.assertIsNotNone(response, "the server never answered the trickling body")
        self.assertStatus(response, 408)
        self.assertLess(time.monotonic() - start, 6)

    def test_steady_body_passes(self):
        server = self.serve("--echo", "/echo", "--timeout", "1", "--min-rate", "1000")
        conn = self.connect(server.port)
        size = 40 * 4000
        conn.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size)
        for _ in range(40):  # 4000 bytes every 50 ms: about 80 KB/s, over 2 s
            conn.send(b"y" * 4000)
            time.sleep(0.05)
        response = conn.read_response()
        self.assertStatus(response, 200)
        self.assertEqual(response.json()["body_length"], size)


# ---- bad input ------------------------------------------------------------------------

class BadInput(HttpCase):
    def test_malformed_requests_get_400(self):
        server = self.serve("--echo", "/echo")
        for raw in (b"GARBAGE\r\n\r\n",
                    b"GET\r\n\r\n",
                    b"GET /hello.txt\r\n\r\n",
                    b"GET /hello.txt HTTP/1.1 extra\r\nHost: x\r\n\r\n",
                    b"GET /hello.txt NOTHTTP/1.1\r\nHost: x\r\n\r\n",
                    b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
                    b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n",
                    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
                    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                    b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
                    b"\x00\x01\x02\x03\xff\xfe\r\n\r\n"):
            with self.subTest(raw=raw):
                self.assertStatus(self.exchange(server.port, raw), 400)
                self.assertServes(server.port)

    def test_request_line_beyond_max_header_is_414(self):
        server = self.serve("--max-header", "1k")
        response = self.exchange(server.port, build_request("GET", "/" + "a" * 2000))
        self.assertStatus(response, 414)
        self.assertServes(server.port)

    def test_request_line_of_exactly_max_header_is_accepted(self):
        server = self.serve("--max-header", "1k")
        for length, status in ((1024, 200), (1025, 414)):
            target = "/hello.txt?" + "q" * (length - len("GET /hello.txt? HTTP/1.1"))
            line = f"GET {target} HTTP/1.1"
            self.assertEqual(len(line), length)
            with self.subTest(length=length):
                self.assertStatus(self.exchange(server.port, build_request("GET", target)), status)
        self.assertServes(server.port)

    def test_header_fields_beyond_max_header_are_431(self):
        server = self.serve("--max-header", "1k")
        many = [(f"X-Fill-{i:02d}", "b" * 60) for i in range(30)]
        self.assertStatus(self.exchange(server.port, build_request("GET", "/hello.txt", many)), 431)
        self.assertServes(server.port)
        self.assertStatus(self.exchange(server.port, build_request("GET", "/hello.txt",
                                                                   {"X-Long": "c" * 3000})), 431)
        self.assertServes(server.port)
        # Under the limit is fine.
        fits = [(f"X-Fit-{i}", "d" * 40) for i in range(8)]
        response = self.fetch(server.port, "/hello.txt", headers=fits)
        self.assertStatus(response, 200)

    def test_body_beyond_max_body_is_413(self):
        server = self.serve("--echo", "/echo", "--max-body", "1k")
        # Within the limit.
        echo = self.fetch(server.port, "/echo", "POST", body=b"e" * 1000).json()
        self.assertEqual(echo["body_length"], 1000)
        conn = self.connect(server.port)
        conn.send(build_request("POST", "/echo", {"Transfer-Encoding": "chunked"}) + chunked([b"f" * 300] * 3))
        self.assertEqual(conn.read_response().json()["body_length"], 900)
        conn.close()
        # Announced with Content-Length.
        response = self.upload_refused(server.port, build_request("POST", "/echo", {"Content-Length": "5000"}),
                                       b"g" * 5000)
        self.assertStatus(response, 413)
        self.assertServes(server.port)
        # Chunked, growing past the limit.
        response = self.upload_refused(server.port, build_request("POST", "/echo", {"Transfer-Encoding": "chunked"}),
                                       chunked([b"h" * 1000] * 5))
        self.assertStatus(response, 413)
        self.assertServes(server.port)

    def test_default_max_body(self):
        server = self.serve("--echo", "/echo")
        response = self.upload_refused(server.port, build_request("POST", "/echo", {"Content-Length": str(2 * MiB)}),
                                       b"i" * (2 * MiB))
        self.assertStatus(response, 413)
        self.assertServes(server.port)

    def test_header_timeout_is_408(self):
        server = self.serve("--timeout", "1s")
        conn = self.connect(server.port)
        start = time.monotonic()
        conn.send(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n")  # never finished
        response = conn.read_response(timeout=6)
        elapsed = time.monotonic() - start
        self.assertStatus(response, 408)
        self.assertGreater(elapsed, 0.5, "not long before --timeout")
        conn.closed_within(5)
        self.assertServes(server.port)

    def test_header_timeout_is_not_reset_by_each_byte(self):
        # A client trickling its header a byte at a time (slowloris) is cut
        # off by the header-read timeout.
        server = self.serve("--timeout", "1s")
        conn = self.connect(server.port)
        conn.send(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        start = time.monotonic()
        answered = False
        while time.monotonic() - start < 6:
            readable, _, _ = select.select([conn.sock], [], [], 0.2)
            if readable:
                answered = True
                break
            try:
                conn.sock.send(b"a")
            except OSError:
                answered = True
                break
        elapsed = time.monotonic() - start
        self.assertTrue(answered, "a trickled header kept the connection open for 6 s with --timeout 1s")
        self.assertLess(elapsed, 4)
        data = conn.read_to_eof(5)
        if data:
            self.assertRegex(data, rb"^HTTP/1\.[01] 408 ")
        self.assertServes(server.port)

    def test_idle_connections_are_closed(self):
        server = self.serve("--timeout", "1s")
        idle = self.connect(server.port)  # never sends a byte
        kept = self.connect(server.port)
        self.assertEqual(kept.request("GET", "/hello.txt").body, HELLO)
        start = time.monotonic()
        data = idle.closed_within(5)
        if data:
            self.assertRegex(data, rb"^HTTP/1\.[01] 408 ")
        self.assertEqual(kept.closed_within(5), b"", "an idle keep-alive connection is closed")
        self.assertGreater(time.monotonic() - start, 0.3)
        self.assertServes(server.port)


class Traversal(HttpCase):
    # Targets leading out of DIR; each gets 403 or 404.
    TARGETS = [
        "/../secret.txt",
        "/../../../../../../../../etc/passwd",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/%2e./secret.txt",
        "/..%2fsecret.txt",
        "/..%2Fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/sub/../../secret.txt",
        "/sub/%2e%2e/%2e%2e/secret.txt",
        "/sub%2f..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/%2e%2e%5csecret.txt",
        "/hello.txt%00",
        "/hello.txt%00.html",
        "/a%00b",
        "/sub/plain.txt%00/../../secret.txt",
        "/link-abs.txt",
        "/link-rel.txt",
        "/dir-out/secret.txt",
        "/dir-out/",
        "/dir-out",
        "/dir-out/root/../secret.txt",
        "/sub/link-up/inside.txt",
        "/sub/link-up/",
    ]
    # Malformed on the way (a raw NUL, no leading slash): 400 is fine too.
    MALFORMED = [
        "/a\x00b",
        "../secret.txt",
        "..",
        "http://127.0.0.1/../secret.txt",
    ]

    def test_nothing_outside_dir_is_reachable(self):
        server = self.serve()
        for target in self.TARGETS + self.MALFORMED:
            with self.subTest(target=target):
                raw = f"GET {target} HTTP/1.1\r\nHost: {LOCAL}\r\n\r\n".encode("latin-1")
                conn = self.connect(server.port)
                conn.send(raw)
                response = conn.read_response()
                conn.close()
                allowed = (403, 404) if target in self.TARGETS else (400, 403, 404)
                self.assertStatus(response, *allowed)
                self.assertNoSecret(response.raw, target)
                self.assertNotIn(b"root:x:0:0", response.raw)
                self.assertNotIn(b"inside.txt", response.body, "no listing of a directory outside DIR")
        self.assertServes(server.port)

    def test_curl_path_as_is(self):
        server = self.serve()
        for target in ("/../secret.txt", "/%2e%2e/secret.txt", "/sub/../../secret.txt", "/link-rel.txt"):
            with self.subTest(target=target):
                result = self.curl("--path-as-is", self.url(server.port, target))
                self.assertIn(result.status, (403, 404), result.stderr)
                self.assertNoSecret(result.body, target)

    def test_listing_shows_nothing_from_outside(self):
        # sub/ holds a symlink to a directory outside DIR: its listing may
        # name the link, never what lies behind it.
        server = self.serve()
        response = self.fetch(server.port, "/sub/")
        self.assertStatus(response, 200)
        self.assertNoSecret(response.raw, "/sub/")
        self.assertNotIn(b"inside.txt", response.body)


# ---- --echo ------------------------------------------------------------------------

class Echo(HttpCase):
    def test_every_method(self):
        server = self.serve("--echo", "/echo")
        target = "/echo?a=1&b=x%20y&a=3&empty="
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            with self.subTest(method=method):
                body = f"body for {method}".encode() if method in ("POST", "PUT", "PATCH") else b""
                response = self.fetch(server.port, target, method, headers={"X-Test": "v"}, body=body)
                self.assertStatus(response, 200)
                self.assertEqual(media_type(response.header("content-type")), "application/json")
                echo = response.json()
                self.assertTrue({"method", "uri", "path", "query", "headers", "body_length", "body"}
                                <= set(echo), echo)
                self.assertEqual(echo["method"], method)
                self.assertEqual(echo["uri"], target)
                self.assertEqual(echo["path"], "/echo")
                self.assertEqual(echo["query"], {"a": "3", "b": "x y", "empty": ""})
                headers = {k.lower(): v for k, v in echo["headers"].items()}
                self.assertEqual(headers.get("x-test"), "v")
                self.assertEqual(headers.get("host"), LOCAL)
                self.assertEqual(echo["body_length"], len(body))
                self.assertEqual(echo["body"], body.decode())

    def test_with_curl(self):
        server = self.serve("--echo", "/echo")
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH"):
            with self.subTest(method=method):
                args = ["-X", method, "-H", "X-Curl: yes"]
                if method in ("POST", "PUT", "PATCH"):
                    args += ["--data-binary", "from curl"]
                result = self.curl(*args, self.url(server.port, "/echo?q=%C3%A9t%C3%A9"))
                self.assertEqual((result.returncode, result.status), (0, 200), result.stderr)
                echo = json.loads(result.body)
                self.assertEqual(echo["method"], method)
                self.assertEqual(echo["query"], {"q": "\u00e9t\u00e9"})
                self.assertEqual({k.lower(): v for k, v in echo["headers"].items()}.get("x-curl"), "yes")
                if method in ("POST", "PUT", "PATCH"):
                    self.assertEqual((echo["body"], echo["body_length"]), ("from curl", 9))

    def test_repeated_header_last_wins(self):
        server = self.serve("--echo", "/echo")
        echo = self.fetch(server.port, "/echo", headers=[("X-Dup", "one"), ("X-Dup", "two")]).json()
        self.assertEqual({k.lower(): v for k, v in echo["headers"].items()}.get("x-dup"), "two")
        self.assertTrue(all(isinstance(v, str) for v in echo["headers"].values()))

    def test_body_with_json_specials(self):
        server = self.serve("--echo", "/echo")
        body = 'quote " backslash \\ newline \n tab \t control \x01 unicode \u00e9\u4e2d'.encode()
        echo = self.fetch(server.port, "/echo", "POST", body=body).json()
        self.assertEqual(echo["body"], body.decode())
        self.assertEqual(echo["body_length"], len(body))

    def test_large_body(self):
        server = self.serve("--echo", "/echo")
        payload = (b"0123456789abcdef" * (32 * KiB))  # 512 KiB, under the 1M default
        self.assertCurlUploads(server.port, payload)

    def test_files_are_still_served(self):
        server = self.serve("--echo", "/echo")
        self.assertServes(server.port)


# ---- the access log --------------------------------------------------------------------

class AccessLog(HttpCase):
    def test_common_log_format(self):
        server = self.serve("--echo", "/echo")
        before = datetime.now(timezone.utc) - timedelta(seconds=2)
        self.assertEqual(self.fetch(server.port, "/hello.txt").body, HELLO)
        match = self.clf(server.readline(5))
        self.assertEqual((match["host"], match["ident"], match["user"]), (LOCAL, "-", "-"))
        self.assertEqual(match["request"], "GET /hello.txt HTTP/1.1")
        self.assertEqual(match["status"], "200")
        self.assertEqual(match["size"], str(len(HELLO)))
        when = datetime.strptime(match["time"], "%d/%b/%Y:%H:%M:%S %z")
        self.assertLess(abs((when - before).total_seconds()), 60)

        self.assertStatus(self.fetch(server.port, "/missing.txt"), 404)
        match = self.clf(server.readline(5))
        self.assertEqual((match["request"], match["status"]), ("GET /missing.txt HTTP/1.1", "404"))
        self.assertStatus(self.fetch(server.port, "/hello.txt", "DELETE"), 405)
        match = self.clf(server.readline(5))
        self.assertEqual((match["request"], match["status"]), ("DELETE /hello.txt HTTP/1.1", "405"))

    def test_an_aborted_download_logs_the_bytes_sent(self):
        """Issue 14, item 5: the size logged is what went out of the body (as
        nginx's $body_bytes_sent), not the file's size, and the line is written
        when the reply has left, or its connection ended."""
        size = 40 * MiB
        with open(self.root / "aborted.bin", "wb") as f:
            f.truncate(size)
        self.addCleanup((self.root / "aborted.bin").unlink)
        for json_log in (False, True):
            with self.subTest(json=json_log):
                server = self.serve(*(["--json"] if json_log else []))
                sock = socket.create_connection((LOCAL, server.port), timeout=IO_TIMEOUT)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * KiB)
                sock.sendall(build_request("GET", "/aborted.bin"))
                got = 0
                while got < 256 * KiB:
                    got += len(sock.recv(65536))
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()  # a reset: the rest never goes out
                line = server.readline(10)
                if json_log:
                    event = json.loads(line)
                    sent, complete = event["size"], event.get("complete", True)
                    self.assertEqual(event["status"], 200)
                    self.assertRegex(event["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")
                else:
                    match = self.clf(line)
                    self.assertEqual(match["status"], "200")
                    sent, complete = int(match["size"]), False
                self.assertFalse(complete)
                self.assertGreaterEqual(sent, got - 1024)  # the head is not body
                self.assertLess(sent, size // 2, line)
                # A whole one logs the whole size.
                response = self.fetch(server.port, "/hello.txt")
                self.assertEqual(response.body, HELLO)
                line = server.readline(5)
                self.assertIn(str(len(HELLO)), line)

    def test_request_line_is_escaped_as_nginx_does(self):
        """Hardening, finding 8: a quote, a backslash or a control byte from
        the client cannot forge a field of the log line."""
        server = self.serve()
        conn = self.connect(server.port)
        conn.send(b'GET /x"y\\z HTTP/1.1\r\nHost: h\r\n\r\n')
        conn.read_response()
        line = server.readline(5)
        self.assertIn('"GET /x\\x22y\\x5Cz HTTP/1.1" 404', line)

    def test_413_after_expect_100_continue_logs_the_request_line(self):
        # nginx logs the request line it read; only a head that could not
        # be parsed is "-".
        server = self.serve("--echo", "/echo", "--max-body", "1k")
        conn = self.connect(server.port)
        conn.send(build_request("POST", "/echo?big=1", {"Content-Length": "5000", "Expect": "100-continue"}))
        self.assertStatus(conn.read_response(timeout=5), 413)
        conn.close()
        match = self.clf(server.readline(5))
        self.assertEqual((match["request"], match["status"]), ("POST /echo?big=1 HTTP/1.1", "413"))
        # A malformed head still logs "-".
        conn = self.connect(server.port)
        conn.send(b"NOT A REQUEST\r\n\r\n")
        self.assertStatus(conn.read_response(), 400)
        conn.close()
        self.assertEqual(self.clf(server.readline(5))["request"], "-")

    def test_one_line_per_request(self):
        server = self.serve()
        conn = self.connect(server.port)
        conn.send(b"".join(build_request("GET", f"/{n}.txt") for n in "abc"))
        for _ in range(3):
            conn.read_response()
        conn.close()
        requests = [self.clf(server.readline(5))["request"] for _ in range(3)]
        self.assertEqual(requests, [f"GET /{n}.txt HTTP/1.1" for n in "abc"])
        self.assertEqual(server.drain(quiet=0.5), [], "one line per request, no more")

    def test_json_lines(self):
        server = self.serve(pre=["--json"])
        self.assertEqual(self.fetch(server.port, "/hello.txt").body, HELLO)
        line = server.readline(5)
        event = self.json_line(line)
        self.assertIn("event", event)

        def values(x):
            if isinstance(x, dict):
                for v in x.values():
                    yield from values(v)
            elif isinstance(x, list):
                for v in x:
                    yield from values(v)
            else:
                yield x

        found = list(values(event))
        self.assertTrue(200 in found or "200" in found, f"the status is in {line}")
        self.assertTrue(any(isinstance(v, str) and "/hello.txt" in v for v in found), line)
        self.assertTrue(any(v == "GET" or (isinstance(v, str) and v.startswith("GET ")) for v in found), line)

    def test_quiet_prints_no_log(self):
        server = self.serve(pre=["-q"])  # the listening line came: Server waited for it
        for _ in range(3):
            self.assertServes(server.port)
        self.assertStatus(self.fetch(server.port, "/missing"), 404)
        self.assertEqual(server.drain(quiet=1.0), [], "-q: no access log")


# ---- limits, threads, TLS, signals ------------------------------------------------------

class Limits(HttpCase):
    def test_max_conns(self):
        server = self.serve("--max-conns", "1")
        first = self.connect(server.port)
        self.assertEqual(first.request("GET", "/hello.txt").body, HELLO)
        second = self.connect(server.port)
        second.send(build_request("GET", "/hello.txt"))
        self.assertStatus(second.read_response(), 503)
        second.close()
        self.assertEqual(first.request("GET", "/a.txt").body, (self.root / "a.txt").read_bytes(),
                         "the first connection still works")
        first.close()
        deadline = time.monotonic() + 5
        while True:  # its slot frees once the server sees the close
            response = self.fetch(server.port, "/hello.txt")
            if response.status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertStatus(response, 200)

    def test_threads(self):
        server = self.serve("--threads", "2")
        done: list[int] = []

        def client(i: int) -> None:
            conn = HttpConn(server.port)
            try:
                for name in ("a", "b", "c", "hello"):
                    response = conn.request("GET", f"/{name}.txt")
                    if response.body != (self.root / f"{name}.txt").read_bytes():
                        raise AssertionError(f"client {i}: wrong body for {name}.txt")
            finally:
                conn.close()
            done.append(i)

        errors = et.in_threads(client, 16)
        self.assertFalse(errors, errors)
        self.assertEqual(sorted(done), list(range(16)))
        self.assertEqual(server.stop(signal.SIGTERM), 0, server.stderr)


@unittest.skipUnless("--tls" in subprocess.run([et.EVTOOL, "http", "serve", "--help"], capture_output=True,
                                               text=True).stdout, "http serve --tls arrives with the TLS work")
class Tls(HttpCase):
    def test_ephemeral_certificate(self):
        server = self.serve("--tls")
        result = self.curl("-k", f"https://{LOCAL}:{server.port}/hello.txt")
        self.assertEqual((result.returncode, result.status, result.body), (0, 200, HELLO), result.stderr)
        pem = ssl.get_server_certificate((LOCAL, server.port), timeout=IO_TIMEOUT)
        digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest().upper()
        fingerprint = ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))
        deadline = time.monotonic() + 5
        while fingerprint not in server.stderr.upper() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertIn(fingerprint, server.stderr.upper(), "the SHA-256 fingerprint is printed on stderr")

    @unittest.skipUnless(OPENSSL, "openssl is not installed")
    def test_cert_and_key(self):
        cert, key = self.base / "cert.pem", self.base / "key.pem"
        made = subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                               "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                               "-keyout", str(key), "-out", str(cert)],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(made.returncode, 0, made.stderr)
        server = self.serve("--tls", "--cert", str(cert), "--key", str(key))
        result = self.curl("--cacert", str(cert), f"https://{LOCAL}:{server.port}/hello.txt")
        self.assertEqual((result.returncode, result.status, result.body), (0, 200, HELLO), result.stderr)


class Signals(HttpCase):
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.payload = os.urandom(50 * MiB)
        (cls.root / "fifty.bin").write_bytes(cls.payload)

    def test_sigint_and_sigterm_exit_0(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            with self.subTest(signal=sig.name):
                server = self.serve()
                self.assertServes(server.port)
                idle = self.connect(server.port)  # a kept-alive connection does not hold it up
                self.assertEqual(idle.request("GET", "/hello.txt").body, HELLO)
                self.assertEqual(server.stop(sig, timeout=10), 0, server.stderr)

    def test_sigterm_finishes_the_response_in_flight(self):
        if not et.CURL:
            self.skipTest("curl is not installed")
        server = self.serve()
        out = self.base / "fifty.download"
        curl = subprocess.Popen([et.CURL, "-s", "-S", "--max-time", "30", "--limit-rate", "20M",
                                 "-o", str(out), "-w", "%{http_code} %{size_download}",
                                 self.url(server.port, "/fifty.bin")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        self.addCleanup(lambda: curl.poll() is None and curl.kill())
        time.sleep(0.5)
        self.assertIsNone(curl.poll(), "50 MiB at 20 MiB/s take longer than 0.5 s")
        server.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        # It stops accepting: a new connection is refused, or never answered.
        try:
            late = HttpConn(server.port)
        except ConnectionRefusedError:
            pass
        else:
            try:
                late.send(build_request("GET", "/hello.txt"))
                try:
                    data = late.read_to_eof(20)
                except AssertionError:
                    data = b""
                self.assertNotIn(HELLO, data, "a connection made after SIGTERM was served")
            finally:
                late.close()
        stdout, stderr = curl.communicate(timeout=40)
        self.assertEqual(curl.returncode, 0, stderr)
        self.assertEqual(stdout.split(), ["200", str(len(self.payload))])
        self.assertTrue(out.read_bytes() == self.payload, "the in-flight response is complete and exact")
        self.assertEqual(server.wait(15), 0, server.stderr)


    def stalled_download(self, server: et.Server) -> socket.socket:
        """A client that asks for the 50 MiB file and reads nothing."""
        sock = socket.socket()
        self.addCleanup(sock.close)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((LOCAL, server.port))
        sock.sendall(build_request("GET", "/fifty.bin"))
        sock.settimeout(IO_TIMEOUT)
        self.assertTrue(sock.recv(4096).startswith(b"HTTP/1.1 200"))
        return sock

    def test_drain_timeout_bounds_the_wait_for_in_flight_work(self):
        server = self.serve("--drain-timeout", "1s")
        self.stalled_download(server)
        start = time.monotonic()
        server.send_signal(signal.SIGTERM)
        self.assertEqual(server.wait(10), 0, server.stderr)
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, 0.8, "the stalled download had its drain time")
        self.assertLess(elapsed, 5, "and no more")

    def test_second_signal_stops_at_once(self):
        server = self.serve("--drain-timeout", "60s")
        self.stalled_download(server)
        server.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        self.assertIsNone(server.returncode, "still draining after the first signal")
        start = time.monotonic()
        server.send_signal(signal.SIGINT)
        self.assertEqual(server.wait(10), 0, server.stderr)
        self.assertLess(time.monotonic() - start, 3)

if __name__ == "__main__":
    unittest.main()
