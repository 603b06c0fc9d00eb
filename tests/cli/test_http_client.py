"""`evtool http get | post` against an origin server the test runs itself.

The origin is Python's threaded http.server on loopback (port 0), speaking
HTTP/1.1 with keep-alive, plus raw responses for the odd cases (an HTTP/1.0
close-delimited body, chunked encoding written by hand) and a listening
socket that never answers. Covered: byte-exact bodies (5 MiB of random
bytes) to stdout, to -o and to a FIFO; -i and -I; -L with relative Locations,
303 after POST, 307 keeping the body, --max-redirs; --fail and its absence;
chunked and close-delimited responses; -d STR, @FILE, @- (pipe and file);
-F fields and files; -H (overriding Content-Type); Basic auth from the URL;
IPv6 literals; --timeout, refused connections, --retries, malformed URLs;
--json (every key, body and body_base64); SIGINT; one TCP connection for a
same-origin redirect (keep-alive reuse).

Everything stays on loopback and uses IP literals (no resolver). Every
process a test starts is killed when the test ends.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import json
import os
import pty
import random
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Optional
from urllib.parse import parse_qs, urlsplit

import evtool_test as et

CLEAN_ENV = {"EVENT_NOEPOLL": None, "EVENT_NOPOLL": None, "EVENT_NOSELECT": None,
             "EVENT_SHOW_METHOD": None}
MiB = 1024 * 1024
JSON_KEYS = {"url", "status", "reason", "http_version", "headers", "size", "time"}
TIME_KEYS = {"dns", "connect", "tls", "ttfb", "total"}


def payload(n: int) -> bytes:
    """n random bytes, the same for the same n."""
    return random.Random(n).randbytes(n)


# -- the origin server ------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    origin: "Origin"

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self.route()

    do_POST = do_PUT = do_DELETE = do_GET

    def do_HEAD(self) -> None:
        self.route()

    # -- helpers

    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status: int, body: bytes = b"", headers: Optional[dict] = None,
              content_type: str = "application/octet-stream") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def raw(self, data: bytes) -> None:
        """Writes a whole response by hand and closes the connection."""
        self.wfile.write(data)
        self.wfile.flush()
        self.close_connection = True

    # -- routes

    def route(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        body = self.read_body()
        self.origin.requests.append({"method": self.command, "path": self.path,
                                     "headers": dict(self.headers.items()), "body": body})
        path = url.path
        if path == "/text":
            self.reply(200, b"hello, world\n", content_type="text/plain; charset=utf-8")
        elif path == "/bytes":
            self.reply(200, payload(int(query["n"])))
        elif path == "/echo":
            doc = {"method": self.command, "path": self.path,
                   "headers": {k.lower(): v for k, v in self.headers.items()},
                   "body_base64": base64.b64encode(body).decode()}
            self.reply(200, json.dumps(doc).encode(), content_type="application/json")
        elif path.startswith("/status/"):
            code = int(path.split("/")[2])
            self.reply(code, f"status {code}\n".encode(), content_type="text/plain")
        elif path == "/redirect":
            self.reply(int(query.get("code", "302")), b"moving\n", {"Location": query["to"]})
        elif path.startswith("/chain/"):
            n = int(path.split("/")[2])
            if n == 0:
                self.reply(200, b"end of chain\n", content_type="text/plain")
            else:
                self.reply(302, b"", {"Location": f"/chain/{n - 1}"})
        elif path == "/a/b/relative":
            self.reply(302, b"", {"Location": "../c/target?x=1"})
        elif path.endswith("/target"):
            self.reply(200, self.path.encode(), content_type="text/plain")
        elif path == "/chunked":
            data = payload(int(query.get("n", "100000")))
            out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            for i in range(0, len(data), 7919):
                piece = data[i:i + 7919]
                out += b"%x\r\n" % len(piece) + piece + b"\r\n"
            self.raw(out + b"0\r\n\r\n")
        elif path == "/cookies":
            n, size = int(query.get("n", "150")), int(query.get("size", "40"))
            head = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n"
            for i in range(n):
                head += b"Set-Cookie: c%d=%s\r\n" % (i, b"v" * size)
            self.raw(head + b"\r\nok\n")
        elif path == "/repeated":
            self.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n"
                     b"Set-Cookie: a=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT\r\n"
                     b"X-Multi: one\r\nSet-Cookie: b=2; Path=/\r\nX-Multi: two\r\n\r\nok\n")
        elif path == "/one-cookie":
            self.reply(200, b"ok\n", {"Set-Cookie": "only=1"})
        elif path == "/close":
            data = payload(int(query.get("n", "300000")))
            self.raw(b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n" + data)
        else:
            self.reply(404, b"no such thing\n", content_type="text/plain")


class Origin:
    """The threaded origin on loopback port 0; counts TCP connections."""

    def __init__(self, family: int = socket.AF_INET):
        origin = self

        class Server(ThreadingHTTPServer):
            address_family = family
            daemon_threads = True

            def process_request(self, request, client_address):
                origin.connections += 1
                super().process_request(request, client_address)

        handler = type("BoundHandler", (Handler,), {"origin": self})
        self.connections = 0
        self.requests: list[dict] = []
        self.server = Server(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0), handler)
        self.port = self.server.server_address[1]
        self.host = "[::1]" if family == socket.AF_INET6 else "127.0.0.1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class HttpClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.origin = Origin()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.origin.close()

    def setUp(self) -> None:
        self.origin.requests.clear()
        self.origin.connections = 0
        self.tmp = tempfile.TemporaryDirectory(prefix="evtool-http-")
        self.addCleanup(self.tmp.cleanup)

    def url(self, path: str) -> str:
        return self.origin.url(path)

    def evtool(self, args, stdin=b"", timeout=60, expect=0) -> subprocess.CompletedProcess:
        # Binary stdio (stderr as text); stdin is bytes (a pipe) or a file.
        result = et.run_bytes(args, stdin=stdin, timeout=timeout, env=CLEAN_ENV, text_stderr=True)
        if expect is not None:
            self.assertEqual(result.returncode, expect,
                             f"evtool {' '.join(map(str, args))}: stderr {result.stderr!r}")
        return result

    def echo(self, args, stdin=b"") -> dict:
        """Runs a request to /echo and returns what the origin saw."""
        doc = json.loads(self.evtool(args, stdin=stdin).stdout)
        doc["body"] = base64.b64decode(doc.pop("body_base64"))
        return doc

    # -- bodies --------------------------------------------------------------

    def test_text_body_to_stdout(self) -> None:
        self.assertEqual(self.evtool(["http", "get", self.url("/text")]).stdout, b"hello, world\n")

    def test_many_header_fields_up_to_300_kib(self) -> None:
        """Hardening, finding 8: 150 Set-Cookie lines are common; the bound
        is the head's size (300 KiB, as curl), not a small count."""
        result = self.evtool(["http", "get", "-i", self.url("/cookies?n=150")])
        self.assertEqual(result.stdout.count(b"Set-Cookie: "), 150)
        self.assertTrue(result.stdout.endswith(b"\r\n\r\nok\n"))
        # About 290 KiB of fields still pass; 400 KiB do not.
        self.evtool(["http", "get", "-o", os.devnull, self.url("/cookies?n=290&size=1000")])
        result = self.evtool(["http", "get", "-o", os.devnull, self.url("/cookies?n=400&size=1000")], expect=1)
        self.assertIn("too large", result.stderr)

    def test_binary_5mib_to_stdout_byte_exact(self) -> None:
        n = 5 * MiB
        out = self.evtool(["http", "get", self.url(f"/bytes?n={n}")]).stdout
        self.assertEqual(len(out), n)
        self.assertEqual(hashlib.sha256(out).digest(), hashlib.sha256(payload(n)).digest())

    def test_binary_5mib_to_file(self) -> None:
        n = 5 * MiB
        target = Path(self.tmp.name, "out.bin")
        result = self.evtool(["http", "get", "-o", target, self.url(f"/bytes?n={n}")])
        self.assertEqual(result.stdout, b"")
        self.assertEqual(target.read_bytes(), payload(n))

    def test_output_to_a_fifo(self) -> None:
        n = 3 * MiB
        fifo = Path(self.tmp.name, "fifo")
        os.mkfifo(fifo)
        received = bytearray()

        def reader() -> None:  # a slow reader: the download must wait for it
            with open(fifo, "rb") as f:
                while chunk := f.read(64 * 1024):
                    received.extend(chunk)
                    time.sleep(0.002)

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        self.evtool(["http", "get", "-o", fifo, self.url(f"/bytes?n={n}")], timeout=60)
        thread.join(10)
        self.assertEqual(bytes(received), payload(n))

    def test_chunked_response(self) -> None:
        out = self.evtool(["http", "get", self.url("/chunked?n=100000")]).stdout
        self.assertEqual(out, payload(100000))

    def test_close_delimited_response(self) -> None:
        out = self.evtool(["http", "get", self.url("/close?n=300000")]).stdout
        self.assertEqual(out, payload(300000))

    # -- heads ---------------------------------------------------------------

    def test_include_writes_the_head_first(self) -> None:
        out = self.evtool(["http", "get", "-i", self.url("/text")]).stdout
        head, _, body = out.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200 OK\r\n"), head)
        self.assertIn(b"Content-Length: 13", head)
        self.assertEqual(body, b"hello, world\n")

    def test_head_request(self) -> None:
        out = self.evtool(["http", "get", "-I", self.url("/text")]).stdout
        self.assertTrue(out.startswith(b"HTTP/1.1 200 OK\r\n"), out)
        self.assertTrue(out.endswith(b"\r\n\r\n"), out)
        self.assertNotIn(b"hello", out)
        self.assertEqual(self.origin.requests[-1]["method"], "HEAD")

    # -- redirects -----------------------------------------------------------

    def test_redirect_not_followed_without_location_flag(self) -> None:
        out = self.evtool(["http", "get", self.url("/redirect?to=/text")]).stdout
        self.assertEqual(out, b"moving\n")

    def test_follows_redirects(self) -> None:
        out = self.evtool(["http", "get", "-L", self.url("/chain/3")]).stdout
        self.assertEqual(out, b"end of chain\n")

    def test_max_redirs_exceeded(self) -> None:
        result = self.evtool(["http", "get", "-L", "--max-redirs", "2", self.url("/chain/5")], expect=1)
        self.assertIn("redirect", result.stderr)
        self.assertEqual(len(self.origin.requests), 3)

    def test_relative_location(self) -> None:
        out = self.evtool(["http", "get", "-L", self.url("/a/b/relative")]).stdout
        self.assertEqual(out, b"/a/c/target?x=1")

    def test_include_with_location_shows_every_head(self) -> None:
        out = self.evtool(["http", "get", "-iL", self.url("/chain/1")]).stdout
        self.assertEqual(out.count(b"HTTP/1.1 "), 2, out)
        self.assertTrue(out.endswith(b"end of chain\n"))

    def test_303_after_post_becomes_get(self) -> None:
        seen = self.echo(["http", "post", "-L", "-d", "a=1", self.url("/redirect?code=303&to=/echo")])
        self.assertEqual(seen["method"], "GET")
        self.assertEqual(seen["body"], b"")
        self.assertNotIn("content-type", seen["headers"])
        self.assertEqual(self.origin.requests[0]["body"], b"a=1")

    def test_307_keeps_method_and_body(self) -> None:
        seen = self.echo(["http", "post", "-L", "-d", "a=1", self.url("/redirect?code=307&to=/echo")])
        self.assertEqual((seen["method"], seen["body"]), ("POST", b"a=1"))

    def test_same_origin_redirect_reuses_the_connection(self) -> None:
        out = self.evtool(["http", "get", "-L", self.url("/redirect?to=/text")]).stdout
        self.assertEqual(out, b"hello, world\n")
        self.assertEqual(len(self.origin.requests), 2)
        self.assertEqual(self.origin.connections, 1)

    # -- status codes ----------------------------------------------------------

    def test_404_without_fail_exits_0(self) -> None:
        self.assertEqual(self.evtool(["http", "get", self.url("/status/404")]).stdout, b"status 404\n")

    def test_fail_exits_6(self) -> None:
        result = self.evtool(["http", "get", "--fail", self.url("/status/404")], expect=6)
        self.assertEqual(result.stdout, b"")
        self.assertIn("404", result.stderr)
        self.evtool(["http", "get", "-f", self.url("/text")], expect=0)

    def test_closed_stdout_pipe_is_quiet(self) -> None:
        # `evtool http get URL | head`: the reader leaves early. No "Broken
        # pipe" on stderr; exit 1 (an I/O error in CLI.md's table; curl: 23).
        for args in (["http", "get", self.url("/bytes?n=5000000")],
                     ["http", "get", "-i", self.url("/bytes?n=5000000")]):
            with self.subTest(args=args):
                evtool = subprocess.Popen([et.EVTOOL, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          env=et.environment(CLEAN_ENV))
                head = subprocess.run(["head", "-c", "10"], stdin=evtool.stdout, capture_output=True, timeout=30)
                evtool.stdout.close()
                try:
                    _, stderr = evtool.communicate(timeout=30)
                finally:
                    evtool.kill()
                self.assertEqual(len(head.stdout), 10)
                self.assertEqual(stderr.decode(), "")
                self.assertEqual(evtool.returncode, 1)

    # -- request bodies and headers ----------------------------------------------

    def test_data_string(self) -> None:
        seen = self.echo(["http", "post", "-d", "name=evtool&x=1", self.url("/echo")])
        self.assertEqual(seen["method"], "POST")
        self.assertEqual(seen["body"], b"name=evtool&x=1")
        self.assertEqual(seen["headers"]["content-type"], "application/x-www-form-urlencoded")
        self.assertEqual(seen["headers"]["content-length"], "15")

    def test_data_binary_from_file_byte_exact(self) -> None:
        data = payload(2 * MiB + 3)
        path = Path(self.tmp.name, "upload.bin")
        path.write_bytes(data)
        seen = self.echo(["http", "post", "--data-binary", f"@{path}", self.url("/echo")])
        self.assertEqual(seen["headers"]["content-length"], str(len(data)))
        self.assertEqual(seen["body"], data)

    def test_data_binary_from_stdin_pipe(self) -> None:
        data = payload(300000)
        seen = self.echo(["http", "post", "--data-binary", "@-", "--content-type", "application/octet-stream",
                          self.url("/echo")], stdin=data)
        self.assertEqual(seen["body"], data)
        self.assertEqual(seen["headers"]["content-type"], "application/octet-stream")

    def test_data_binary_from_stdin_file(self) -> None:
        data = payload(100001)
        path = Path(self.tmp.name, "stdin.bin")
        path.write_bytes(data)
        with open(path, "rb") as stdin:
            seen = self.echo(["http", "post", "--data-binary", "@-", self.url("/echo")], stdin=stdin)
        self.assertEqual(seen["body"], data)
        self.assertEqual(seen["headers"]["content-length"], str(len(data)))

    def curl_sent(self, *args: str) -> dict:
        """What the origin saw from `curl ARGS /echo`."""
        if not et.CURL:
            self.skipTest("curl is not installed")
        self.origin.requests.clear()
        result = et.curl(*args, self.url("/echo"))
        self.assertEqual(result.returncode, 0, result.stderr)
        seen = self.origin.requests[-1]
        return {"headers": {k.lower(): v for k, v in seen["headers"].items()}, "body": seen["body"]}

    def test_data_file_drops_cr_and_lf_as_curl_does(self) -> None:
        path = Path(self.tmp.name, "form.txt")
        # curl keeps each line up to its first CR, without its LF.
        path.write_bytes(b"a=1\r\n&b=two words\n\n&c=3\rgone\rgone\n&d=4")
        seen = self.echo(["http", "post", "-d", f"@{path}", self.url("/echo")])
        self.assertEqual(seen["body"], b"a=1&b=two words&c=3&d=4")
        self.assertEqual(seen["headers"]["content-length"], str(len(seen["body"])))
        self.assertEqual(seen["body"], self.curl_sent("-d", f"@{path}")["body"])

    def test_data_file_without_line_breaks_is_unchanged(self) -> None:
        data = bytes(b for b in payload(1 * MiB) if b not in b"\r\n")
        path = Path(self.tmp.name, "flat.bin")
        path.write_bytes(data)
        seen = self.echo(["http", "post", "-d", f"@{path}", self.url("/echo")])
        self.assertEqual(seen["body"], data)

    def test_data_stdin_drops_cr_and_lf_as_curl_does(self) -> None:
        text = b"line one\r\nline two\nend"
        seen = self.echo(["http", "post", "-d", "@-", self.url("/echo")], stdin=text)
        self.assertEqual(seen["body"], b"line oneline twoend")
        self.assertEqual(seen["headers"]["content-length"], "19")
        path = Path(self.tmp.name, "stdin.txt")
        path.write_bytes(text)
        with open(path, "rb") as stdin:
            seen = self.echo(["http", "post", "-d", "@-", self.url("/echo")], stdin=stdin)
        self.assertEqual(seen["body"], b"line oneline twoend")

    def test_data_string_keeps_its_newlines(self) -> None:
        seen = self.echo(["http", "post", "-d", "a\nb", self.url("/echo")])
        self.assertEqual(seen["body"], b"a\nb")

    def test_data_and_data_binary_join_in_order(self) -> None:
        path = Path(self.tmp.name, "lines.txt")
        path.write_bytes(b"x\ny\n")
        args = ["-d", "a=1", "--data-binary", f"@{path}", "-d", f"@{path}", "--data-binary", "z"]
        seen = self.echo(["http", "post", *args, self.url("/echo")])
        self.assertEqual(seen["body"], b"a=1&x\ny\n&xy&z")
        self.assertEqual(seen["body"], self.curl_sent(*args)["body"])

    def test_empty_header_value_removes_the_header(self) -> None:
        # curl: -H 'Name:' removes a field it would add itself, 'Name;'
        # sends it empty.
        args = ["-H", "Accept:", "-H", "User-Agent:", "-H", "X-Empty;", "-H", "X-Given: 1", "-H", "X-Given:"]
        seen = self.echo(["http", "get", *args, self.url("/echo")])
        for name in ("accept", "user-agent"):
            self.assertNotIn(name, seen["headers"])
        self.assertEqual(seen["headers"]["x-given"], "1", "only fields evtool adds itself are dropped")
        self.assertEqual(seen["headers"]["x-empty"], "")
        theirs = {k.lower() for k in self.curl_sent(*args)["headers"]}
        self.assertEqual(set(seen["headers"]), theirs)

    def test_empty_content_type_removes_the_default(self) -> None:
        seen = self.echo(["http", "post", "-H", "Content-Type:", "-d", "x=1", self.url("/echo")])
        self.assertNotIn("content-type", seen["headers"])
        self.assertEqual(seen["body"], b"x=1")

    def test_missing_upload_file_is_an_error(self) -> None:
        result = self.evtool(["http", "post", "-d", "@/nonexistent/file", self.url("/echo")], expect=1)
        self.assertIn("/nonexistent/file", result.stderr)
        self.assertEqual(self.origin.requests, [])

    def test_multipart_form(self) -> None:
        data = payload(50000)
        path = Path(self.tmp.name, "photo.bin")
        path.write_bytes(data)
        seen = self.echo(["http", "post", "-F", "title=hello world", "-F", f"file=@{path}",
                          self.url("/echo")])
        content_type = seen["headers"]["content-type"]
        self.assertTrue(content_type.startswith("multipart/form-data; boundary="), content_type)
        message = email.message_from_bytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + seen["body"], policy=email.policy.HTTP)
        parts = {p.get_param("name", header="content-disposition"): p for p in message.iter_parts()}
        self.assertEqual(parts["title"].get_payload(decode=True), b"hello world")
        self.assertEqual(parts["file"].get_filename(), "photo.bin")
        self.assertEqual(parts["file"].get_payload(decode=True), data)

    def test_form_file_type_from_extension(self) -> None:
        files = {}
        for name in ("notes.txt", "photo.png", "page.html", "data.json", "blob.xyzzy"):
            files[name] = Path(self.tmp.name, name)
            files[name].write_bytes(b"content of " + name.encode())
        args = [arg for name, path in files.items() for arg in ("-F", f"{name.split('.')[0]}=@{path}")]
        args += ["-F", f"forced=@{files['notes.txt']};type=application/x-custom"]

        def part_types(seen: dict) -> dict:
            content_type = seen["headers"]["content-type"]
            message = email.message_from_bytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + seen["body"], policy=email.policy.HTTP)
            return {p.get_param("name", header="content-disposition"): p.get_content_type()
                    for p in message.iter_parts()}

        ours = part_types(self.echo(["http", "post", *args, self.url("/echo")]))
        self.assertEqual(ours, {"notes": "text/plain", "photo": "image/png", "page": "text/html",
                                "data": "application/json", "blob": "application/octet-stream",
                                "forced": "application/x-custom"})
        theirs = part_types(self.curl_sent(*args))
        del ours["data"], theirs["data"]  # curl's table has no .json
        self.assertEqual(ours, theirs, "the types curl picks")

    def test_custom_headers_and_content_type_override(self) -> None:
        seen = self.echo(["http", "post", "-H", "X-Test: yes", "-H", "Content-Type: text/plain",
                          "-d", "hi", self.url("/echo")])
        self.assertEqual(seen["headers"]["x-test"], "yes")
        self.assertEqual(seen["headers"]["content-type"], "text/plain")

    def test_request_method(self) -> None:
        self.assertEqual(self.echo(["http", "get", "-X", "DELETE", self.url("/echo")])["method"], "DELETE")

    def test_basic_auth_from_url(self) -> None:
        url = self.url("/echo").replace("http://", "http://alice:p%40ss@")
        seen = self.echo(["http", "get", url])
        expected = "Basic " + base64.b64encode(b"alice:p@ss").decode()
        self.assertEqual(seen["headers"]["authorization"], expected)

    @unittest.skipUnless(et.have_ipv6(), "no IPv6 loopback")
    def test_ipv6_literal(self) -> None:
        origin = Origin(socket.AF_INET6)
        self.addCleanup(origin.close)
        out = self.evtool(["http", "get", origin.url("/text")]).stdout
        self.assertEqual(out, b"hello, world\n")
        self.assertEqual(origin.requests[0]["headers"]["Host"], f"[::1]:{origin.port}")

    def test_localhost(self) -> None:
        # The hosts file (or the built-in loopbacks) answers; every address
        # is tried in turn, so a ::1 listed first and refused does not matter.
        out = self.evtool(["http", "get", f"http://localhost:{self.origin.port}/text"], timeout=20).stdout
        self.assertEqual(out, b"hello, world\n")

    # -- failures --------------------------------------------------------------

    def test_timeout_on_a_silent_server(self) -> None:
        with socket.socket() as silent:  # accepts (the kernel does) and never answers
            silent.bind(("127.0.0.1", 0))
            silent.listen(8)
            start = time.monotonic()
            result = self.evtool(["http", "get", "--timeout", "1s",
                                  f"http://127.0.0.1:{silent.getsockname()[1]}/"], timeout=20, expect=4)
            self.assertLess(time.monotonic() - start, 5)
            self.assertIn("timed out", result.stderr)

    def test_connection_refused(self) -> None:
        result = self.evtool(["http", "get", f"http://127.0.0.1:{et.free_port()}/"], expect=1)
        self.assertIn("refused", result.stderr.lower())

    def test_retries_against_a_refused_port(self) -> None:
        result = self.evtool(["-v", "http", "get", "--retries", "2",
                              f"http://127.0.0.1:{et.free_port()}/"], expect=1)
        self.assertIn("retry 1 of 2", result.stderr)
        self.assertIn("retry 2 of 2", result.stderr)

    def test_retries_cover_a_transfer_timeout(self) -> None:
        """Issue 14, item 8: --retries retries a timeout too; each attempt has
        the whole --timeout. The first connection is never answered, the
        second is."""
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(8)
            held = []

            def serve() -> None:
                first, _ = listener.accept()
                held.append(first)  # silent
                second, _ = listener.accept()
                second.recv(65536)
                second.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
                second.close()

            thread = threading.Thread(target=serve, daemon=True)
            thread.start()
            result = self.evtool(["-v", "http", "get", "--timeout", "500ms", "--retries", "1",
                                  f"http://127.0.0.1:{listener.getsockname()[1]}/"], timeout=20)
            thread.join(5)
            for conn in held:
                conn.close()
        self.assertEqual(result.stdout, b"ok\n")
        self.assertIn("timed out after", result.stderr)
        self.assertIn("retry 1 of 1", result.stderr)

    def test_a_timeout_in_the_body_is_not_retried(self) -> None:
        """Once body bytes went out to stdout, a retry would repeat them: the
        timeout ends the run (exit 4) with what came."""
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(8)
            accepted = []

            def serve() -> None:
                conn, _ = listener.accept()
                accepted.append(conn)
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")

            thread = threading.Thread(target=serve, daemon=True)
            thread.start()
            result = self.evtool(["-v", "http", "get", "--timeout", "500ms", "--retries", "2",
                                  f"http://127.0.0.1:{listener.getsockname()[1]}/"], timeout=20, expect=4)
            thread.join(5)
            for conn in accepted:
                conn.close()
        self.assertEqual(result.stdout, b"partial")
        self.assertNotIn("retry 1", result.stderr)
        self.assertEqual(len(accepted), 1)

    def stderr_on_a_terminal(self, args: list, stdout) -> str:
        """Runs evtool with stderr on a pseudo-terminal; what it wrote there."""
        master, slave = pty.openpty()
        proc = subprocess.Popen([et.EVTOOL, *args], stdin=subprocess.DEVNULL, stdout=stdout, stderr=slave,
                                env=et.environment(CLEAN_ENV))
        os.close(slave)
        chunks = []
        try:
            while True:
                try:
                    data = os.read(master, 4096)
                except OSError:  # EIO: the child closed its end
                    break
                if not data:
                    break
                chunks.append(data)
        finally:
            os.close(master)
            self.assertEqual(proc.wait(30), 0)
        return b"".join(chunks).decode("utf-8", "replace")

    def test_progress_bar_on_a_terminal(self) -> None:
        """CLI.md: on a TTY, a transfer to -o FILE shows a progress bar on
        stderr; issue 14 item 14: so does one to a redirected stdout, as curl
        does. Never with -q, nor when stderr is not a terminal."""
        out = os.path.join(self.tmp.name, "out")
        bar = re.compile(r"\[#+ *\] +100\.0%")
        self.assertRegex(self.stderr_on_a_terminal(["http", "get", "-o", out, self.url("/text")], None), bar)
        with open(out, "wb") as redirected:
            self.assertRegex(self.stderr_on_a_terminal(["http", "get", self.url("/text")], redirected), bar)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), b"hello, world\n")
        with open(out, "wb") as redirected:
            self.assertEqual(self.stderr_on_a_terminal(["-q", "http", "get", self.url("/text")], redirected), "")
        result = self.evtool(["http", "get", "-o", out, self.url("/text")])  # stderr is a pipe here
        self.assertEqual(result.stderr, "")

    def test_malformed_urls(self) -> None:
        for url in ["http://[::1/", "http://host:99999/", "ftp://example/", "not a url"]:
            with self.subTest(url=url):
                result = self.evtool(["http", "get", url], expect=2)
                self.assertIn(url, result.stderr)

    def test_https_connection_refused(self) -> None:
        result = self.evtool(["http", "get", f"https://127.0.0.1:{et.free_port()}/"], expect=1)
        self.assertIn("refused", result.stderr)

    def test_sigint_exits_130(self) -> None:
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(8)
            proc = subprocess.Popen([et.EVTOOL, "http", "get", f"http://127.0.0.1:{silent.getsockname()[1]}/"],
                                    env=et.environment(CLEAN_ENV), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
            try:
                time.sleep(0.5)
                proc.send_signal(signal.SIGINT)
                self.assertEqual(proc.wait(10), 130)
            finally:
                et._kill_group(proc)
                proc.wait()

    # -- JSON ------------------------------------------------------------------

    def test_json_text_body(self) -> None:
        doc = json.loads(self.evtool(["--json", "http", "get", self.url("/text")]).stdout)
        self.assertEqual(set(doc), JSON_KEYS | {"body"})
        self.assertEqual(set(doc["time"]), TIME_KEYS)
        self.assertEqual((doc["status"], doc["reason"], doc["http_version"]), (200, "OK", "1.1"))
        self.assertEqual(doc["url"], self.url("/text"))
        self.assertEqual(doc["body"], "hello, world\n")
        self.assertEqual(doc["size"], 13)
        self.assertEqual(doc["headers"]["Content-Length"], "13")
        for key, value in doc["time"].items():
            self.assertIsInstance(value, (int, float), key)
            self.assertGreaterEqual(value, 0, key)
        self.assertEqual(doc["time"]["tls"], 0)
        self.assertGreaterEqual(doc["time"]["total"], doc["time"]["ttfb"])

    def test_json_binary_body(self) -> None:
        doc = json.loads(self.evtool(["--json", "http", "get", self.url("/bytes?n=1000")]).stdout)
        self.assertEqual(set(doc), JSON_KEYS | {"body_base64"})
        self.assertEqual(base64.b64decode(doc["body_base64"]), payload(1000))

    def test_json_with_output_file_has_no_body(self) -> None:
        target = Path(self.tmp.name, "out.bin")
        doc = json.loads(self.evtool(["--json", "http", "get", "-o", target, self.url("/bytes?n=5000")]).stdout)
        self.assertEqual(set(doc), JSON_KEYS)
        self.assertEqual(doc["size"], 5000)
        self.assertEqual(target.read_bytes(), payload(5000))

    def test_json_set_cookie_is_an_array(self) -> None:
        # Set-Cookie values hold commas (Expires), so they cannot be joined:
        # an array of strings, as Node's http gives; other fields join with ", ".
        doc = json.loads(self.evtool(["--json", "http", "get", self.url("/repeated")]).stdout)
        self.assertEqual(doc["headers"]["Set-Cookie"],
                         ["a=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT", "b=2; Path=/"])
        self.assertEqual(doc["headers"]["X-Multi"], "one, two")
        doc = json.loads(self.evtool(["--json", "http", "get", self.url("/one-cookie")]).stdout)
        self.assertEqual(doc["headers"]["Set-Cookie"], ["only=1"])

    def test_json_redirect_url_is_the_final_one(self) -> None:
        url = self.url("/chain/2").replace("http://", "http://u:secret@")
        doc = json.loads(self.evtool(["--json", "http", "get", "-L", url]).stdout)
        self.assertEqual(doc["url"], self.url("/chain/0"))
        self.assertNotIn("secret", json.dumps(doc))


if __name__ == "__main__":
    unittest.main()
