"""`evtool dns resolve` and `evtool dns serve` against real peers.

resolve: against dnsmasq started by the test on a loopback port, with
records of every type (A, AAAA, CNAME, MX, TXT, NS, SOA, SRV, PTR, CAA, and
ANY), each answer line compared with dig's answer section, --short, the
JSON document, a CNAME chain, a TXT record too big for dnsmasq's 512-byte
UDP answers (so the resolver must retry over TCP), NXDOMAIN and NODATA
(exit 3), REFUSED (exit 1), a silent UDP port (exit 4), a silent first
nameserver before one that answers, `-f FILE` with 1,000 names and `-f -`
(results in input order), --max-inflight (checked by a python nameserver
that counts the queries it holds), random IDs and source ports, spoofed
answers (wrong ID, wrong question, wrong source) ignored, --resolv-conf
with nameserver, search, domain, ndots, timeout and attempts, --no-search,
the hosts file and --no-hosts, -x, --tcp, usage errors (exit 2), `lookup`.

serve: queried with dig and with packets built in python: UDP and TCP on
one port, every type from a zone file written here ($ORIGIN, $TTL,
comments, relative names, @, parentheses, blank-owner lines), --record,
--hosts (A/AAAA and PTR), --ttl, no data at all (localhost), AA,
NXDOMAIN and NODATA with the SOA, REFUSED, --forward to a dnsmasq upstream
(and SERVFAIL when the upstream is silent), the question's case echoed,
name compression, EDNS, TC without EDNS, malformed packets (FORMERR or
dropped) followed by a normal query, the query log (-q, --json), SIGHUP
reload while queries keep coming, SIGINT/SIGTERM, the listening lines.

Everything stays on loopback. Every subprocess and socket call has a
timeout; every process a test starts is killed when the test (or, for
dnsmasq and shared servers, the class) ends.
"""

from __future__ import annotations

import datetime
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import evtool_test as et

CLEAN_ENV = {"EVENT_NOEPOLL": None, "EVENT_NOPOLL": None, "EVENT_NOSELECT": None,
             "EVENT_SHOW_METHOD": None}
LOCAL = "127.0.0.1"
DNSMASQ = shutil.which("dnsmasq") or ("/usr/sbin/dnsmasq" if os.path.exists("/usr/sbin/dnsmasq") else None)
DIG = shutil.which("dig")
# How long one socket exchange may take before the test fails.
IO_TIMEOUT = 3

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28,
         "SRV": 33, "OPT": 41, "ANY": 255, "CAA": 257}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
# `www.example.com.  300  IN  A  192.0.2.1` (CLI.md: dig's answer-section
# form), the fields separated by tabs as dig does (so `cut -f5` works).
ANSWER_LINE = re.compile(r"^(\S+)\t(\d+)\t(\S+)\t(\S+)\t(.+)$")


def evtool(args, timeout=30, input=None):
    return et.run(args, env=CLEAN_ENV, timeout=timeout, input=input)


def free_port() -> int:
    """A loopback port free for both UDP and TCP a moment ago."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind((LOCAL, 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind((LOCAL, port))
                except OSError:
                    continue
                return port
    raise AssertionError("no free port for UDP and TCP")


# ---------------------------------------------------------------- DNS wire format

def wire_name(name) -> bytes:
    """A name in uncompressed wire form; `name` is text ("a.b.") or a list
    of raw labels (bytes), which may be anything (for malformed packets)."""
    if isinstance(name, str):
        labels = [label.encode() for label in name.rstrip(".").split(".") if label]
    else:
        labels = name
    return b"".join(bytes([len(label)]) + label for label in labels) + b"\0"


def header(qid: int, flags: int = 0, qd: int = 1, an: int = 0, ns: int = 0, ar: int = 0) -> bytes:
    return struct.pack("!6H", qid, flags, qd, an, ns, ar)


def opt_record(udp_size: int) -> bytes:
    return b"\0" + struct.pack("!HHIH", TYPES["OPT"], udp_size, 0, 0)


def make_query(name, qtype="A", qid: Optional[int] = None, rd: bool = False,
               edns: Optional[int] = None) -> bytes:
    qid = random.randrange(65536) if qid is None else qid
    qt = TYPES[qtype] if isinstance(qtype, str) else qtype
    packet = header(qid, 0x0100 if rd else 0, qd=1, ar=1 if edns else 0)
    packet += wire_name(name) + struct.pack("!HH", qt, 1)
    if edns:
        packet += opt_record(edns)
    return packet


@dataclass
class Record:
    name: str
    type: int
    rclass: int
    ttl: int
    rdata: bytes
    target: Optional[str] = None  # the name in CNAME/NS/PTR/MX/SRV data, decompressed


@dataclass
class Reply:
    id: int
    flags: int
    questions: list
    answers: list
    authority: list
    additional: list
    size: int
    pointers: int = 0         # compression pointers followed
    expanded_size: int = 0    # the size with every compressed name written out
    opt_udp: Optional[int] = None

    @property
    def qr(self) -> bool: return bool(self.flags & 0x8000)
    @property
    def aa(self) -> bool: return bool(self.flags & 0x0400)
    @property
    def tc(self) -> bool: return bool(self.flags & 0x0200)
    @property
    def rcode(self) -> str: return RCODES.get(self.flags & 0xF, str(self.flags & 0xF))


class WireError(Exception):
    pass


def parse_reply(data: bytes) -> Reply:
    """A strict parser for what a server sends back; WireError if the
    packet is malformed (names must decompress without loops)."""
    if len(data) < 12:
        raise WireError(f"{len(data)}-byte packet")
    qid, flags, qd, an, ns, ar = struct.unpack("!6H", data[:12])
    reply = Reply(qid, flags, [], [], [], [], len(data), 0, len(data))

    def name_at(pos: int) -> tuple[str, int]:
        labels, end, jumps, on_wire, length = [], None, 0, 0, 0
        while True:
            if pos >= len(data):
                raise WireError("name runs past the end")
            n = data[pos]
            if n & 0xC0 == 0xC0:
                if pos + 1 >= len(data):
                    raise WireError("pointer runs past the end")
                target = struct.unpack("!H", data[pos:pos + 2])[0] & 0x3FFF
                if target >= pos:
                    raise WireError("forward or looping pointer")
                if end is None:
                    end = pos + 2
                    on_wire += 2
                jumps += 1
                reply.pointers += 1
                if jumps > 64:
                    raise WireError("pointer loop")
                pos = target
                continue
            if n > 63:
                raise WireError("bad label")
            label = data[pos + 1:pos + 1 + n]
            if len(label) != n:
                raise WireError("label runs past the end")
            length += 1 + n
            if end is None:
                on_wire += 1 + n
            pos += 1 + n
            if n == 0:
                break
            labels.append(label.decode("latin-1"))
        if length > 255:
            raise WireError("name over 255 bytes")
        reply.expanded_size += length - on_wire
        return ".".join(labels) + ".", end if end is not None else pos

    pos = 12
    for _ in range(qd):
        qname, pos = name_at(pos)
        if pos + 4 > len(data):
            raise WireError("question runs past the end")
        qtype, qclass = struct.unpack("!HH", data[pos:pos + 4])
        pos += 4
        reply.questions.append((qname, qtype, qclass))
    for count, section in ((an, reply.answers), (ns, reply.authority), (ar, reply.additional)):
        for _ in range(count):
            owner, pos = name_at(pos)
            if pos + 10 > len(data):
                raise WireError("record runs past the end")
            rtype, rclass, ttl, rdlen = struct.unpack("!HHIH", data[pos:pos + 10])
            pos += 10
            rdata = data[pos:pos + rdlen]
            if len(rdata) != rdlen:
                raise WireError("truncated RDATA")
            target = None
            if rtype in (TYPES["CNAME"], TYPES["NS"], TYPES["PTR"]):
                target, _ = name_at(pos)
            elif rtype == TYPES["MX"]:
                target, _ = name_at(pos + 2)
            elif rtype == TYPES["SRV"]:
                target, _ = name_at(pos + 6)
            elif rtype == TYPES["SOA"]:
                _, after = name_at(pos)
                name_at(after)
            pos += rdlen
            if rtype == TYPES["OPT"]:
                reply.opt_udp = rclass
                continue
            section.append(Record(owner, rtype, rclass, ttl, rdata, target))
    return reply


def udp_exchange(port: int, packet: bytes, timeout: float = IO_TIMEOUT,
                 host: str = LOCAL) -> Optional[bytes]:
    """Sends one datagram and returns the first answer, None if none came
    within `timeout` seconds."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.connect((host, port))
        s.send(packet)
        try:
            return s.recv(65536)
        except (socket.timeout, ConnectionRefusedError):
            return None


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise AssertionError(f"EOF after {len(data)} of {n} bytes")
        data += chunk
    return data


def tcp_exchange(port: int, packet: bytes, timeout: float = IO_TIMEOUT) -> bytes:
    with socket.create_connection((LOCAL, port), timeout=timeout) as s:
        s.sendall(struct.pack("!H", len(packet)) + packet)
        n = struct.unpack("!H", recv_exactly(s, 2))[0]
        return recv_exactly(s, n)


def query(port: int, name, qtype="A", **kwargs) -> Reply:
    """A UDP query to our server; the reply parsed (AssertionError if none)."""
    packet = make_query(name, qtype, **kwargs)
    data = udp_exchange(port, packet)
    if data is None:
        raise AssertionError(f"no answer to {name} {qtype} within {IO_TIMEOUT}s")
    reply = parse_reply(data)
    if reply.id != struct.unpack("!H", packet[:2])[0]:
        raise AssertionError(f"reply ID {reply.id} does not match the query's")
    return reply


# ---------------------------------------------------------------- dig

@dataclass
class Dig:
    text: str
    status: Optional[str] = None
    flags: set = field(default_factory=set)
    edns_udp: Optional[int] = None
    answer: list = field(default_factory=list)      # (name, ttl, class, type, data)
    authority: list = field(default_factory=list)
    additional: list = field(default_factory=list)
    size: Optional[int] = None
    question: list = field(default_factory=list)


def parse_dig(text: str) -> Dig:
    d = Dig(text)
    if m := re.search(r"status: (\w+)", text):
        d.status = m[1]
    if m := re.search(r";; flags: ([^;]*);", text):
        d.flags = set(m[1].split())
    if m := re.search(r"; EDNS: version: \d+, flags:[^;]*; udp: (\d+)", text):
        d.edns_udp = int(m[1])
    if m := re.search(r";; MSG SIZE\s+rcvd: (\d+)", text):
        d.size = int(m[1])
    section = None
    sections = {";; ANSWER SECTION:": d.answer, ";; AUTHORITY SECTION:": d.authority,
                ";; ADDITIONAL SECTION:": d.additional, ";; QUESTION SECTION:": d.question}
    for line in text.splitlines():
        if line in sections:
            section = sections[line]
            continue
        if not line.strip():
            section = None
            continue
        if section is None:
            continue
        if section is d.question:
            section.append(line.lstrip(";").split()[0])
            continue
        if line.startswith(";"):
            continue
        name, ttl, cls, rtype, data = re.split(r"\s+", line.strip(), maxsplit=4)
        section.append((name, int(ttl), cls, rtype, data))
    return d


def dig(port: int, *args, host: str = LOCAL) -> Dig:
    result = subprocess.run([DIG, f"@{host}", "-p", str(port), "+norec", "+time=2", "+tries=1", *map(str, args)],
                            capture_output=True, text=True, timeout=20)
    return parse_dig(result.stdout)


def answer_lines(stdout: str) -> list[tuple]:
    """evtool's answer lines as (name, ttl, class, type, data); each must
    have the documented shape."""
    rows = []
    for line in stdout.splitlines():
        m = ANSWER_LINE.match(line)
        if not m:
            raise AssertionError(f"not an answer line: {line!r} in {stdout!r}")
        rows.append((m[1], int(m[2]), m[3], m[4], m[5]))
    return rows


# ---------------------------------------------------------------- dnsmasq

class Dnsmasq:
    """dnsmasq on a free loopback port with the given options, killed by
    stop(); it answers only from its own data (no upstream, no hosts)."""

    def __init__(self, options: list[str], log: Path):
        self.options = options
        self.log_path = log
        self.proc: Optional[subprocess.Popen] = None
        self.port = 0

    def start(self) -> "Dnsmasq":
        for _ in range(5):
            self.port = free_port()
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                [DNSMASQ, "--no-daemon", "--keep-in-foreground", "--no-resolv", "--no-hosts",
                 f"--port={self.port}", f"--listen-address={LOCAL}", "--bind-interfaces",
                 "--conf-file=/dev/null", "--pid-file=", "--log-queries", "--log-facility=-",
                 *self.options],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
            log.close()
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and self.proc.poll() is None:
                if udp_exchange(self.port, make_query("ready.invalid", "A"), timeout=0.2):
                    return self
            self.stop()
        raise AssertionError(f"dnsmasq did not start: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def hex_rdata(*parts: bytes) -> str:
    return b"".join(parts).hex()


def soa_rdata(mname: str, rname: str, *numbers: int) -> bytes:
    return wire_name(mname) + wire_name(rname) + struct.pack("!5I", *numbers)


BIG_TXT = [("%d" % i) * 200 for i in range(1, 5)]  # 4 strings, ~800 bytes: over 512


@unittest.skipUnless(DNSMASQ and DIG, "needs dnsmasq and dig")
class DnsCase(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory(prefix="evtool-dns-")
        self.addCleanup(tmp.cleanup)
        self.tmp = Path(tmp.name)
        self.empty = self.tmp / "empty"
        self.empty.write_text("")

    def assertExit(self, result, code):
        self.assertEqual(result.returncode, code,
                         f"$ {' '.join(result.args)}\nstdout: {result.stdout!r}\nstderr: {result.stderr!r}")

    def assertAnswer(self, d: Dig, expected: list, status: str = "NOERROR"):
        """dig's status and answer section."""
        self.assertEqual(d.status, status, d.text)
        self.assertEqual(d.answer, expected, d.text)

    def write(self, name: str, text: str) -> Path:
        path = self.tmp / name
        path.write_text(text)
        return path

    def resolve(self, *args, port: Optional[int] = None, timeout: float = 30, input=None):
        """`evtool dns resolve ARGS --server 127.0.0.1:PORT`, isolated from
        /etc/resolv.conf and /etc/hosts unless ARGS name their own."""
        argv = ["dns", "resolve", *map(str, args)]
        if port is not None:
            argv += ["--server", f"{LOCAL}:{port}"]
        if "--resolv-conf" not in argv:
            argv += ["--resolv-conf", self.empty]
        if "--hosts" not in argv and "--no-hosts" not in argv:
            argv += ["--hosts", self.empty]
        return evtool(argv, timeout=timeout, input=input)

    def serve(self, *args, sockets: int = 2) -> et.Server:
        """A running `evtool dns serve --port 0 --bind 127.0.0.1 ARGS`,
        killed when the test ends."""
        server = et.Server(["dns", "serve", "--port", "0", "--bind", LOCAL, *map(str, args)],
                           env=CLEAN_ENV, sockets=sockets)
        server.start()
        self.addCleanup(server.kill)
        return server


# ================================================================= resolve

class Resolve(DnsCase):
    """`evtool dns resolve` against one dnsmasq for the whole class."""

    BULK = 1000

    @classmethod
    def setUpClass(cls):
        tmp = tempfile.TemporaryDirectory(prefix="evtool-dnsmasq-")
        cls.addClassCleanup(tmp.cleanup)
        cls.dir = Path(tmp.name)
        bulk = cls.dir / "bulk.hosts"
        bulk.write_text("".join(f"10.1.{i // 256}.{i % 256} n{i:04d}.bulk.test\n" for i in range(cls.BULK)))
        big = ",".join(BIG_TXT)
        cls.dnsmasq = Dnsmasq([
            "--local-ttl=300", "--edns-packet-max=512", "--domain-needed",
            "--local=/example.test/", "--local=/sub/", "--local=/bulk.test/", f"--addn-hosts={bulk}",
            "--host-record=www.example.test,192.0.2.1,2001:db8::1,600",
            "--host-record=v4only.example.test,192.0.2.2",
            "--host-record=mail.example.test,192.0.2.25",
            "--host-record=host.sub,192.0.2.201",
            "--host-record=host.sub.example.test,192.0.2.202",
            "--host-record=www.sub.example.test,192.0.2.203",
            "--cname=alias.example.test,mid.example.test",
            "--cname=mid.example.test,www.example.test",
            "--mx-host=example.test,mail.example.test,10",
            "--txt-record=txt.example.test,hello world,second",
            f"--txt-record=big.example.test,{big}",
            "--srv-host=_sip._tcp.example.test,sip.example.test,5060,1,2",
            "--ptr-record=5.2.0.192.in-addr.arpa,ptr.example.test",
            "--caa-record=example.test,0,issue,ca.example.net",
            "--dns-rr=example.test,2," + hex_rdata(wire_name("ns1.example.test")),
            "--dns-rr=example.test,6," + hex_rdata(soa_rdata("ns1.example.test", "hostmaster.example.test",
                                                             2024010101, 7200, 3600, 1209600, 300)),
        ], cls.dir / "dnsmasq.log").start()
        cls.addClassCleanup(cls.dnsmasq.stop)
        cls.port = cls.dnsmasq.port

    def lookup(self, *args, **kwargs):
        return self.resolve(*args, port=self.port, **kwargs)

    def dig_answer(self, *args) -> list[tuple]:
        d = dig(self.port, *args)
        self.assertEqual(d.status, "NOERROR", d.text)
        self.assertTrue(d.answer, d.text)
        return d.answer

    # -- every type, compared with dig ------------------------------------

    def test_every_type_matches_dig(self):
        cases = [("www.example.test", "A"), ("www.example.test", "AAAA"), ("alias.example.test", "CNAME"),
                 ("example.test", "MX"), ("txt.example.test", "TXT"), ("example.test", "NS"),
                 ("example.test", "SOA"), ("_sip._tcp.example.test", "SRV"),
                 ("5.2.0.192.in-addr.arpa", "PTR"), ("example.test", "CAA")]
        for name, rtype in cases:
            with self.subTest(type=rtype):
                expected = self.dig_answer(name, rtype)
                self.assertTrue(any(row[3] == rtype for row in expected), expected)
                result = self.lookup("-t", rtype, name)
                self.assertExit(result, 0)
                self.assertEqual(answer_lines(result.stdout), expected)
                lower = self.lookup("--type", rtype.lower(), name)
                self.assertExit(lower, 0)
                self.assertEqual(answer_lines(lower.stdout), expected)

    def test_any(self):
        expected = self.dig_answer("www.example.test", "ANY")
        result = self.lookup("-t", "ANY", "www.example.test")
        self.assertExit(result, 0)
        self.assertEqual(sorted(answer_lines(result.stdout)), sorted(expected))
        self.assertEqual({row[3] for row in expected}, {"A", "AAAA"})

    def test_default_is_a_then_aaaa(self):
        for _ in range(3):  # the two answers may arrive in either order
            result = self.lookup("www.example.test")
            self.assertExit(result, 0)
            self.assertEqual(answer_lines(result.stdout),
                             [("www.example.test.", 600, "IN", "A", "192.0.2.1"),
                              ("www.example.test.", 600, "IN", "AAAA", "2001:db8::1")])

    def test_default_with_one_family_is_success(self):
        result = self.lookup("v4only.example.test")
        self.assertExit(result, 0)
        self.assertEqual(answer_lines(result.stdout), [("v4only.example.test.", 300, "IN", "A", "192.0.2.2")])

    def test_cname_chain(self):
        expected = self.dig_answer("alias.example.test", "A")
        self.assertEqual([row[3] for row in expected], ["CNAME", "CNAME", "A"])
        result = self.lookup("-t", "A", "alias.example.test")
        self.assertExit(result, 0)
        self.assertEqual(answer_lines(result.stdout), expected)
        # A and AAAA: the chain once, then both addresses.
        result = self.lookup("alias.example.test")
        self.assertExit(result, 0)
        self.assertEqual(answer_lines(result.stdout),
                         expected + [("www.example.test.", 600, "IN", "AAAA", "2001:db8::1")])

    def test_reverse(self):
        for address, expected_name in (("192.0.2.5", "ptr.example.test."), ("192.0.2.1", "www.example.test."),
                                       ("2001:db8::1", "www.example.test.")):
            with self.subTest(address=address):
                expected = self.dig_answer("-x", address)
                self.assertEqual(expected[0][4], expected_name)
                result = self.lookup("-x", address)
                self.assertExit(result, 0)
                self.assertEqual(answer_lines(result.stdout), expected)
        result = self.lookup("--reverse", "--short", "192.0.2.5")
        self.assertExit(result, 0)
        self.assertEqual(result.stdout, "ptr.example.test.\n")

    def test_short(self):
        for name, rtype in (("www.example.test", "A"), ("txt.example.test", "TXT"),
                            ("example.test", "SOA"), ("alias.example.test", "A")):
            with self.subTest(type=rtype):
                expected = [row[4] for row in self.dig_answer(name, rtype)]
                result = self.lookup("--short", "-t", rtype, name)
                self.assertExit(result, 0)
                self.assertEqual(result.stdout.splitlines(), expected)

    def test_json_document(self):
        result = self.lookup("--json", "-t", "MX", "example.test", "nx.example.test", "www.example.test")
        self.assertExit(result, 3)
        doc = json.loads(result.stdout)  # exactly one document
        self.assertIsInstance(doc, list)
        self.assertEqual([entry["name"] for entry in doc], ["example.test", "nx.example.test", "www.example.test"])
        self.assertEqual([entry["status"] for entry in doc], ["NOERROR", "NXDOMAIN", "NOERROR"])
        for entry in doc:
            self.assertEqual(set(entry), {"name", "status", "answers"})
        self.assertEqual(doc[0]["answers"], [{"name": "example.test.", "ttl": 300, "class": "IN", "type": "MX",
                                              "data": "10 mail.example.test."}])
        self.assertIsInstance(doc[0]["answers"][0]["ttl"], int)
        self.assertEqual(doc[1]["answers"], [])
        self.assertEqual(doc[2]["answers"], [])  # NODATA: NOERROR without answers

    def test_json_data_is_digs_for_every_type(self):
        names = [("www.example.test", "AAAA"), ("txt.example.test", "TXT"), ("example.test", "SOA"),
                 ("_sip._tcp.example.test", "SRV"), ("example.test", "CAA"), ("example.test", "NS")]
        for name, rtype in names:
            with self.subTest(type=rtype):
                expected = self.dig_answer(name, rtype)
                result = self.lookup("--json", "-t", rtype, name)
                self.assertExit(result, 0)
                doc = json.loads(result.stdout)
                self.assertEqual(len(doc), 1)
                self.assertEqual([(a["name"], a["ttl"], a["class"], a["type"], a["data"]) for a in doc[0]["answers"]],
                                 expected)

    def test_large_txt_is_retried_over_tcp(self):
        # dnsmasq cuts UDP answers at 512 bytes: the UDP answer is truncated...
        udp = dig(self.port, "+ignore", "big.example.test", "TXT")
        self.assertIn("tc", udp.flags, udp.text)
        self.assertEqual(udp.answer, [], udp.text)
        # ...so the whole record can only have come over TCP.
        result = self.lookup("-t", "TXT", "big.example.test")
        self.assertExit(result, 0)
        rows = answer_lines(result.stdout)
        self.assertEqual(len(rows), 1, result.stdout)
        self.assertEqual(rows[0][4], " ".join(f'"{s}"' for s in BIG_TXT))
        self.assertEqual(rows, dig(self.port, "+tcp", "big.example.test", "TXT").answer)

    def test_tcp_flag(self):
        result = self.lookup("--tcp", "-t", "TXT", "big.example.test")
        self.assertExit(result, 0)
        self.assertEqual(answer_lines(result.stdout)[0][4], " ".join(f'"{s}"' for s in BIG_TXT))
        result = self.lookup("--tcp", "-t", "A", "www.example.test")
        self.assertExit(result, 0)
        self.assertEqual(answer_lines(result.stdout), [("www.example.test.", 600, "IN", "A", "192.0.2.1")])

    def test_nxdomain_exits_3(self):
        result = self.lookup("nx.example.test")
        self.assertExit(result, 3)
        self.assertEqual(result.stdout, "")
        self.assertIn("nx.example.test", result.stderr)
        result = self.lookup("-t", "MX", "nx.example.test", "--json")
        self.assertExit(result, 3)
        self.assertEqual(json.loads(result.stdout)[0]["status"], "NXDOMAIN")

    def test_nodata_exits_3(self):
        for args in (("-t", "MX", "www.example.test"), ("-t", "AAAA", "v4only.example.test"),
                     ("-t", "TXT", "www.example.test")):
            with self.subTest(args=args):
                result = self.lookup(*args)
                self.assertExit(result, 3)
                self.assertEqual(result.stdout, "")
                doc = json.loads(self.lookup("--json", *args).stdout)
                self.assertEqual(doc[0]["status"], "NOERROR")
                self.assertEqual(doc[0]["answers"], [])

    def test_refused_exits_1(self):
        # dnsmasq has no upstream: names outside its data are refused.
        self.assertEqual(dig(self.port, "elsewhere.org", "A").status, "REFUSED")
        result = self.lookup("elsewhere.org")
        self.assertExit(result, 1)
        result = self.lookup("--json", "-t", "A", "elsewhere.org")
        self.assertExit(result, 1)
        self.assertEqual(json.loads(result.stdout)[0]["status"], "REFUSED")

    def test_mixed_names_keep_order_and_the_worst_exit(self):
        result = self.lookup("-t", "A", "www.example.test", "nx.example.test", "mail.example.test")
        self.assertExit(result, 3)
        self.assertEqual(answer_lines(result.stdout), [("www.example.test.", 600, "IN", "A", "192.0.2.1"),
                                                       ("mail.example.test.", 300, "IN", "A", "192.0.2.25")])

    def test_lookup_alias(self):
        result = evtool(["dns", "lookup", "-t", "A", "www.example.test", "--server", f"{LOCAL}:{self.port}",
                         "--resolv-conf", self.empty, "--no-hosts"])
        self.assertExit(result, 0)
        self.assertEqual(answer_lines(result.stdout), [("www.example.test.", 600, "IN", "A", "192.0.2.1")])

    def test_options_before_and_after_names(self):
        result = evtool(["dns", "resolve", "--server", f"{LOCAL}:{self.port}", "www.example.test",
                         "--resolv-conf", self.empty, "--no-hosts", "-t", "A"])
        self.assertExit(result, 0)
        self.assertEqual(answer_lines(result.stdout), [("www.example.test.", 600, "IN", "A", "192.0.2.1")])

    # -- timeouts and nameserver failover ----------------------------------

    def silent_udp(self) -> int:
        """A UDP port on which nobody ever answers."""
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((LOCAL, 0))
        self.addCleanup(s.close)
        return s.getsockname()[1]

    def test_silent_server_times_out_exit_4(self):
        silent = self.silent_udp()
        start = time.monotonic()
        result = self.resolve("-t", "A", "www.example.test", "--timeout", "200ms", "--tries", "2", port=silent)
        elapsed = time.monotonic() - start
        self.assertExit(result, 4)
        self.assertEqual(result.stdout, "")
        self.assertGreaterEqual(elapsed, 0.4)  # two tries of 200 ms
        self.assertLess(elapsed, 5)
        result = self.resolve("--json", "-t", "A", "www.example.test", "--timeout", "0.2", "--tries", "1",
                              port=silent)
        self.assertExit(result, 4)
        self.assertEqual(json.loads(result.stdout), [{"name": "www.example.test", "status": "TIMEOUT",
                                                      "answers": []}])

    def test_first_server_silent_second_answers(self):
        silent = self.silent_udp()
        start = time.monotonic()
        result = evtool(["dns", "resolve", "-t", "A", "www.example.test", "--server", f"{LOCAL}:{silent}",
                         "--server", f"{LOCAL}:{self.port}", "--timeout", "300ms", "--tries", "1",
                         "--resolv-conf", self.empty, "--no-hosts"])
        elapsed = time.monotonic() - start
        self.assertExit(result, 0)
        self.assertEqual(answer_lines(result.stdout), [("www.example.test.", 600, "IN", "A", "192.0.2.1")])
        self.assertGreaterEqual(elapsed, 0.3)  # the first server had its chance
        self.assertLess(elapsed, 5)

    # -- many names --------------------------------------------------------

    def bulk_names(self, n: int) -> list[str]:
        return [f"n{i:04d}.bulk.test" for i in range(n)]

    def bulk_expected(self, n: int) -> list[tuple]:
        return [(f"n{i:04d}.bulk.test.", 300, "IN", "A", f"10.1.{i // 256}.{i % 256}") for i in range(n)]

    def test_thousand_names_from_a_file_in_input_order(self):
        names = self.bulk_names(self.BULK)
        path = self.write("names.txt", "# a comment, then a blank line\n\n" + "\n".join(names) + "\n")
        start = time.monotonic()
        result = self.lookup("-t", "A", "-f", path, "--max-inflight", "50", timeout=60)
        self.assertExit(result, 0)
        self.assertEqual(answer_lines(result.stdout), self.bulk_expected(self.BULK))
        self.assertLess(time.monotonic() - start, 30)
        result = self.lookup("--json", "-t", "A", "--file", path, timeout=60)
        self.assertExit(result, 0)
        doc = json.loads(result.stdout)
        self.assertEqual([entry["name"] for entry in doc], names)
        self.assertTrue(all(entry["status"] == "NOERROR" and len(entry["answers"]) == 1 for entry in doc))

    def test_names_from_stdin(self):
        names = self.bulk_names(100)
        names.insert(50, "nx.bulk.test")
        result = self.lookup("-t", "A", "-f", "-", "--max-inflight", "7", input="\n".join(names) + "\n")
        self.assertExit(result, 3)  # one name does not exist
        self.assertEqual(answer_lines(result.stdout), self.bulk_expected(100))
        result = self.lookup("--short", "-f", "-", "-t", "A", input="www.example.test\nmail.example.test\n")
        self.assertExit(result, 0)
        self.assertEqual(result.stdout, "192.0.2.1\n192.0.2.25\n")

    def test_names_on_the_command_line_and_from_a_file(self):
        path = self.write("names.txt", "mail.example.test\n")
        result = self.lookup("--short", "-t", "A", "www.example.test", "-f", path)
        self.assertExit(result, 0)
        self.assertEqual(result.stdout, "192.0.2.1\n192.0.2.25\n")

    # -- resolv.conf, search list, hosts ------------------------------------

    def test_resolv_conf_nameserver_and_search(self):
        conf = self.write("resolv.conf", f"# test\nnameserver {LOCAL}:{self.port}\nsearch example.test\n")
        result = self.resolve("-t", "A", "www", "--resolv-conf", conf)
        self.assertExit(result, 0)
        self.assertEqual(answer_lines(result.stdout), [("www.example.test.", 600, "IN", "A", "192.0.2.1")])
        conf = self.write("resolv2.conf", f"nameserver {LOCAL}:{self.port}\ndomain example.test\n")
        result = self.resolve("--short", "-t", "A", "mail", "--resolv-conf", conf)
        self.assertExit(result, 0)
        self.assertEqual(result.stdout, "192.0.2.25\n")

    def test_no_search(self):
        conf = self.write("resolv.conf", f"nameserver {LOCAL}:{self.port}\nsearch example.test\n")
        result = self.resolve("-t", "A", "www", "--no-search", "--resolv-conf", conf)
        self.assertExit(result, 3)  # "www." itself does not exist
        self.assertEqual(result.stdout, "")
        result = self.resolve("-t", "A", "www.sub", "--no-search", "--resolv-conf", conf)
        self.assertExit(result, 3)
        result = self.resolve("-t", "A", "www.sub", "--resolv-conf", conf)
        self.assertExit(result, 0)
        self.assertEqual(answer_lines(result.stdout), [("www.sub.example.test.", 300, "IN", "A", "192.0.2.203")])

    def test_ndots(self):
        # host.sub and host.sub.example.test both exist: ndots decides which
        # is tried first.
        for ndots, expected in ((1, ("host.sub.", 300, "IN", "A", "192.0.2.201")),
                                (2, ("host.sub.example.test.", 300, "IN", "A", "192.0.2.202"))):
            with self.subTest(ndots=ndots):
                conf = self.write(f"resolv{ndots}.conf",
                                  f"nameserver {LOCAL}:{self.port}\nsearch example.test\noptions ndots:{ndots}\n")
                result = self.resolve("-t", "A", "host.sub", "--resolv-conf", conf)
                self.assertExit(result, 0)
                self.assertEqual(answer_lines(result.stdout), [expected])
        # A name ending in a dot is never searched.
        conf = self.write("resolv5.conf", f"nameserver {LOCAL}:{self.port}\nsearch example.test\noptions ndots:5\n")
        result = self.resolve("-t", "A", "host.sub.", "--resolv-conf", conf)
        self.assertExit(result, 0)
        self.assertEqual(answer_lines(result.stdout), [("host.sub.", 300, "IN", "A", "192.0.2.201")])

    def test_resolv_conf_timeout_and_attempts(self):
        silent = self.silent_udp()
        conf = self.write("resolv.conf", f"nameserver {LOCAL}:{silent}\noptions timeout:0.2 attempts:1\n")
        start = time.monotonic()
        result = self.resolve("-t", "A", "www.example.test", "--resolv-conf", conf)
        self.assertExit(result, 4)
        self.assertLess(time.monotonic() - start, 3)

    def test_missing_nameserver_is_an_error(self):
        result = self.resolve("www.example.test")  # empty resolv.conf, no --server
        self.assertExit(result, 1)
        self.assertIn("nameserver", result.stderr.lower())

    def test_hosts_file(self):
        hosts = self.write("hosts", "# hosts\n192.0.2.150 hostsonly.example.test hostalias\n"
                                    "2001:db8::150 hostsonly.example.test\n203.0.113.9 www.example.test\n")
        result = self.lookup("hostsonly.example.test", "--hosts", hosts)
        self.assertExit(result, 0)
        rows = answer_lines(result.stdout)
        self.assertEqual([(r[0], r[2], r[3], r[4]) for r in rows],
                         [("hostsonly.example.test.", "IN", "A", "192.0.2.150"),
                          ("hostsonly.example.test.", "IN", "AAAA", "2001:db8::150")])
        result = self.lookup("--short", "-t", "A", "hostalias", "--hosts", hosts)
        self.assertExit(result, 0)
        self.assertEqual(result.stdout, "192.0.2.150\n")
        # The hosts file wins over DNS...
        result = self.lookup("--short", "-t", "A", "www.example.test", "--hosts", hosts)
        self.assertEqual(result.stdout, "203.0.113.9\n")
        result = self.lookup("--short", "-x", "192.0.2.150", "--hosts", hosts)
        self.assertExit(result, 0)
        self.assertEqual(result.stdout, "hostsonly.example.test.\n")
        dotted = self.write("dotted", "192.0.2.151 Dotted.Example.Test.\n")  # absolute: "Dotted...Test.." was no name
        result = self.lookup("--short", "-x", "192.0.2.151", "--hosts", dotted)
        self.assertExit(result, 0)
        self.assertEqual(result.stdout, "Dotted.Example.Test.\n")
        # ...unless --no-hosts.
        result = self.lookup("--short", "-t", "A", "www.example.test", "--hosts", hosts, "--no-hosts")
        self.assertEqual(result.stdout, "192.0.2.1\n")
        result = self.lookup("-t", "A", "hostsonly.example.test", "--hosts", hosts, "--no-hosts")
        self.assertExit(result, 3)

    # -- usage errors --------------------------------------------------------

    def test_usage_errors_name_the_value(self):
        cases = [
            (["--server", "999.1.2.3", "x.test"], "999.1.2.3"),
            (["--server", "not-an-ip", "x.test"], "not-an-ip"),
            (["--server", f"{LOCAL}:99999", "x.test"], "99999"),
            (["--server", "[::1", "x.test"], "[::1"),
            (["--timeout", "soon", "x.test"], "soon"),
            (["--timeout", "-1s", "x.test"], "-1s"),
            (["-t", "BOGUS", "x.test"], "BOGUS"),
            (["--tries", "zero", "x.test"], "zero"),
            (["--max-inflight", "lots", "x.test"], "lots"),
            (["-x", "not.an.address"], "not.an.address"),
        ]
        for args, bad in cases:
            with self.subTest(args=args):
                result = self.resolve(*args)
                self.assertExit(result, 2)
                self.assertIn(bad, result.stderr)
                self.assertEqual(result.stdout, "")
        result = self.resolve()
        self.assertExit(result, 2)
        result = self.resolve("-f", self.tmp / "no-such-file")
        self.assertExit(result, 2)
        self.assertIn("no-such-file", result.stderr)


    def test_name_list_lines_are_bounded(self):
        """Hardening, finding 5: /dev/zero is one endless line; a line over
        1,024 bytes stops the run at once with a usage error."""
        for source in ("/dev/zero", "long"):
            with self.subTest(source=source):
                path = source
                if source == "long":
                    path = self.tmp / "long-line.txt"
                    path.write_text("ok.example\n" + "a" * 1025 + "\n")
                result = self.resolve("-f", path, timeout=10)
                self.assertExit(result, 2)
                self.assertIn("longer than 1024 bytes", result.stderr)
                self.assertEqual(result.stdout, "")

class ResolveAgainstPython(DnsCase):
    """The resolver against a nameserver written here, which can hold
    answers back, count queries in flight, and send forged answers."""

    class FakeServer:
        def __init__(self, delay: float = 0.0, forge: bool = False, lowercase: bool = False):
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind((LOCAL, 0))
            self.sock.settimeout(0.05)
            self.port = self.sock.getsockname()[1]
            self.delay = delay
            self.forge = forge
            self.lowercase = lowercase  # answer with the question's name in lower case
            self.queries: list[tuple[int, int, str]] = []  # (id, source port, name)
            self.held: list[tuple[float, bytes, tuple]] = []
            self.max_held = 0
            self.stopped = threading.Event()
            self.thread = threading.Thread(target=self.run, daemon=True)
            self.thread.start()

        def answer(self, query: bytes, qid: Optional[int] = None, name_override: Optional[bytes] = None,
                   address: str = "192.0.2.77") -> bytes:
            qid = struct.unpack("!H", query[:2])[0] if qid is None else qid
            end = query.index(b"\0", 12) + 5
            question = query[12:end] if name_override is None else name_override + query[end - 4:end]
            rr = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(address)
            return header(qid, 0x8180, qd=1, an=1) + question + rr

        def run(self):
            while not self.stopped.is_set():
                try:
                    data, peer = self.sock.recvfrom(4096)
                    qid = struct.unpack("!H", data[:2])[0]
                    self.queries.append((qid, peer[1], data[12:data.index(b"\0", 12)].decode("latin-1")))
                    self.held.append((time.monotonic() + self.delay, data, peer))
                    self.max_held = max(self.max_held, len(self.held))
                except socket.timeout:
                    pass
                now = time.monotonic()
                for item in [h for h in self.held if h[0] <= now]:
                    self.held.remove(item)
                    _, data, peer = item
                    if self.forge:
                        qid = struct.unpack("!H", data[:2])[0]
                        self.sock.sendto(self.answer(data, qid=qid ^ 0x5A5A, address="6.6.6.1"), peer)
                        self.sock.sendto(self.answer(data, name_override=wire_name("evil.test"),
                                                     address="6.6.6.2"), peer)
                        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
                            other.sendto(self.answer(data, address="6.6.6.3"), peer)
                        time.sleep(0.05)
                    if self.lowercase:
                        qname = data[12:data.index(b"\0", 12) + 1]
                        self.sock.sendto(self.answer(data, name_override=qname.lower()), peer)
                    else:
                        self.sock.sendto(self.answer(data), peer)

        def close(self):
            self.stopped.set()
            self.thread.join(timeout=5)
            self.sock.close()

    def fake(self, **kwargs) -> "ResolveAgainstPython.FakeServer":
        server = self.FakeServer(**kwargs)
        self.addCleanup(server.close)
        return server

    def test_max_inflight_limits_queries_in_flight(self):
        server = self.fake(delay=0.1)
        names = [f"q{i}.example.test" for i in range(40)]
        path = self.write("names.txt", "\n".join(names) + "\n")
        result = self.resolve("-t", "A", "-f", path, "--max-inflight", "5", port=server.port)
        self.assertExit(result, 0)
        self.assertEqual(answer_lines(result.stdout), [(f"{n}.", 60, "IN", "A", "192.0.2.77") for n in names])
        self.assertLessEqual(server.max_held, 5)
        self.assertGreaterEqual(server.max_held, 2, "names are resolved concurrently")
        # The same limit from resolv.conf.
        server = self.fake(delay=0.1)
        conf = self.write("resolv.conf", f"nameserver {LOCAL}:{server.port}\noptions max-inflight:3\n")
        result = self.resolve("-t", "A", "-f", path, "--resolv-conf", conf)
        self.assertExit(result, 0)
        self.assertEqual(len(answer_lines(result.stdout)), len(names))
        self.assertLessEqual(server.max_held, 3)
        self.assertGreaterEqual(server.max_held, 2)

    def test_randomize_case(self):
        server = self.fake()
        conf = self.write("resolv.conf", f"nameserver {LOCAL}:{server.port}\noptions randomize-case\n")
        names = [f"abcdefghijklmnop{i}.example.test" for i in range(10)]
        result = self.resolve("--short", "-t", "A", *names, "--resolv-conf", conf)
        self.assertExit(result, 0)
        self.assertEqual(result.stdout, "192.0.2.77\n" * 10)
        asked = [q[2] for q in server.queries]
        self.assertTrue(any(c.isupper() for name in asked for c in name), asked)
        self.assertEqual(sorted(re.sub(r"[\x00-\x1f]", ".", n).lower().strip(".") for n in asked), sorted(names))
        # An answer whose question lost the case we sent is not ours.
        server = self.fake(lowercase=True)
        conf = self.write("resolv2.conf", f"nameserver {LOCAL}:{server.port}\noptions randomize-case\n")
        result = self.resolve("-t", "A", "abcdefghijklmnopqrstuvwxyz.example.test", "--timeout", "300ms",
                              "--tries", "1", "--resolv-conf", conf)
        self.assertExit(result, 4)
        # Without randomize-case the same server is fine.
        conf = self.write("resolv3.conf", f"nameserver {LOCAL}:{server.port}\n")
        result = self.resolve("--short", "-t", "A", "ABCdef.example.test", "--resolv-conf", conf)
        self.assertExit(result, 0)
        self.assertEqual(result.stdout, "192.0.2.77\n")

    def test_random_ids_and_source_ports(self):
        server = self.fake()
        names = [f"r{i}.example.test" for i in range(30)]
        result = self.resolve("-t", "A", *names, "--max-inflight", "1", port=server.port)
        self.assertExit(result, 0)
        ids = {q[0] for q in server.queries}
        ports = {q[1] for q in server.queries}
        self.assertEqual(len(server.queries), 30)
        self.assertGreaterEqual(len(ids), 25, sorted(ids))
        self.assertGreaterEqual(len(ports), 25, sorted(ports))
        diffs = {(b - a) % 65536 for a, b in zip([q[0] for q in server.queries], [q[0] for q in server.queries][1:])}
        self.assertGreater(len(diffs), 1, "IDs are not a counter")

    def test_queries_in_flight_together_share_ports_each_answered(self):
        # Bulk lookups: queries out at the same time share a source port
        # (at most 64 per port), queries asked one after another do not
        # (test_random_ids_and_source_ports). Every name gets its own answer.
        server = self.fake(delay=0.05)
        names = [f"bulk{i}.example.test" for i in range(200)]
        path = self.write("bulk.txt", "\n".join(names) + "\n")
        result = self.resolve("-t", "A", "-f", path, "--max-inflight", "50", port=server.port)
        self.assertExit(result, 0)
        self.assertEqual(answer_lines(result.stdout), [(f"{n}.", 60, "IN", "A", "192.0.2.77") for n in names])
        self.assertEqual(len(server.queries), 200)
        ports = [q[1] for q in server.queries]
        self.assertLess(len(set(ports)), 200 // 4, "queries in flight together should share ports")
        self.assertGreaterEqual(len(set(ports)), 200 // 64, "a port carries at most 64 queries")
        per_port = {p: ports.count(p) for p in set(ports)}
        self.assertLessEqual(max(per_port.values()), 64, per_port)

    def test_forged_answers_are_dropped(self):
        server = self.fake(forge=True)
        result = self.resolve("-t", "A", "victim.example.test", "--timeout", "2s", port=server.port)
        self.assertExit(result, 0)
        self.assertEqual(answer_lines(result.stdout), [("victim.example.test.", 60, "IN", "A", "192.0.2.77")])


class ResolveAgainstServe(DnsCase):
    """The resolver against our own server."""

    def test_refused_outside_its_data_exits_1(self):
        server = self.serve("--record", "known.test A 192.0.2.1")
        result = self.resolve("-t", "A", "unknown.org", port=server.port)
        self.assertExit(result, 1)
        result = self.resolve("--json", "unknown.org", port=server.port)
        self.assertExit(result, 1)
        self.assertEqual(json.loads(result.stdout)[0]["status"], "REFUSED")

    def test_tcp_flag_uses_tcp(self):
        server = self.serve("--record", "known.test A 192.0.2.1")
        result = self.resolve("--tcp", "-t", "A", "known.test", port=server.port)
        self.assertExit(result, 0)
        self.assertEqual(answer_lines(result.stdout), [("known.test.", 300, "IN", "A", "192.0.2.1")])
        log = server.drain(quiet=0.5)
        self.assertEqual(len(log), 1, log)
        self.assertIn(" tcp ", f" {log[0]} ")
        result = self.resolve("-t", "A", "known.test", port=server.port)
        self.assertExit(result, 0)
        log = server.drain(quiet=0.5)
        self.assertEqual(len(log), 1, log)
        self.assertIn(" udp ", f" {log[0]} ")

    def test_special_characters_in_txt_match_dig(self):
        zone = self.write("z.db", '$ORIGIN t.test.\n@ 60 IN SOA ns h 1 2 3 4 5\n'
                                  'q 60 IN TXT "say \\"hi\\"" "back\\\\slash" "semi;colon" "caf\\195\\169" ""\n')
        server = self.serve("--zone", zone)
        expected = dig(server.port, "q.t.test", "TXT").answer
        self.assertEqual(len(expected), 1, expected)
        result = self.resolve("-t", "TXT", "q.t.test", port=server.port)
        self.assertExit(result, 0)
        self.assertEqual(answer_lines(result.stdout), expected)

    # -- dig's habits (issue 14, item 2) ----------------------------------------

    def dig_server(self):
        return self.serve("--record", "www.dig.test 60 A 192.0.2.1", "--record", "dig.test 60 MX 10 mail.dig.test",
                          "--record", "mail.dig.test 60 A 192.0.2.25")

    def test_dig_forms_match_dig(self):
        server = self.dig_server()
        for args, dig_args in (([f"@{LOCAL}", "-p", server.port, "dig.test", "MX"], ["dig.test", "MX"]),
                               ([f"@{LOCAL}:{server.port}", "mx", "dig.test"], ["dig.test", "MX"]),
                               (["www.dig.test", "IN", "A", f"@{LOCAL}", "-p", server.port], ["www.dig.test", "A"]),
                               ([f"@{LOCAL}", "-p", server.port, "-4", "www.dig.test", "A", "+noall", "+answer"],
                                ["www.dig.test", "A"])):
            with self.subTest(args=args):
                result = self.resolve(*args)
                self.assertExit(result, 0)
                self.assertEqual(answer_lines(result.stdout), dig(server.port, *dig_args).answer)

    def test_dig_plus_options(self):
        server = self.dig_server()
        at = [f"@{LOCAL}", "-p", server.port]
        result = self.resolve(*at, "dig.test", "MX", "+short")
        self.assertExit(result, 0)
        self.assertEqual(result.stdout, "10 mail.dig.test.\n")
        result = self.resolve(*at, "www.dig.test", "A", "+tcp", "+short", "+time=2", "+tries=1")
        self.assertExit(result, 0)
        self.assertEqual(result.stdout, "192.0.2.1\n")
        self.assertIn(" tcp ", f" {server.drain(quiet=0.5)[-1]} ")
        result = self.resolve(*at, "www.dig.test", "A", "+noall")  # dig prints nothing either
        self.assertExit(result, 0)
        self.assertEqual(result.stdout, "")
        result = self.resolve(*at, "www.dig.test", "A")
        self.assertEqual(result.stdout.split("\t")[4], "192.0.2.1\n")  # tab-separated: cut -f5 works

    def test_unknown_dig_words_are_usage_errors(self):
        server = self.dig_server()
        for word in ("+bogus", "+time=soon", "@not-an-ip", "@", "CH"):
            with self.subTest(word=word):
                result = self.resolve(f"@{LOCAL}", "-p", server.port, "www.dig.test", word)
                self.assertExit(result, 2)
                self.assertIn(word if word != "@" else "@SERVER", result.stderr)
                self.assertEqual(result.stdout, "")
        self.assertEqual(server.drain(quiet=0.3), [])  # nothing was asked

    def test_no_nameserver_of_the_family(self):
        result = self.resolve(f"@{LOCAL}", "-6", "www.dig.test")
        self.assertExit(result, 1)
        self.assertIn("IPv6", result.stderr)

    def test_a_given_server_is_asked_even_for_hosts_names(self):
        """Issue 14, item 9: with --server (or @SERVER), localhost and hosts
        names are asked of that server; the hosts file only with --hosts."""
        server = self.serve("--record", "localhost 60 A 192.0.2.77")
        hosts = self.write("hosts", "127.0.0.1 localhost\n")
        for args in ([f"@{LOCAL}", "-p", server.port], ["--server", f"{LOCAL}:{server.port}"]):
            with self.subTest(args=args):
                result = evtool(["dns", "resolve", *map(str, args), "localhost", "A", "+short",
                                 "--resolv-conf", self.empty])
                self.assertExit(result, 0)
                self.assertEqual(result.stdout, "192.0.2.77\n")
        result = evtool(["dns", "resolve", f"@{LOCAL}", "-p", str(server.port), "localhost", "A", "+short",
                         "--resolv-conf", self.empty, "--hosts", str(hosts)])
        self.assertEqual(result.stdout, "127.0.0.1\n")

    def test_verbose_says_where_each_answer_came_from(self):
        """Issue 14, item 9: -v names the server, the transport, the time and
        the queries sent (failover included)."""
        server = self.dig_server()
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # bound, never answers
        silent.bind((LOCAL, 0))
        self.addCleanup(silent.close)
        result = evtool(["-v", "dns", "resolve", "www.dig.test", "A", "--timeout", "200ms", "--tries", "1",
                         "--server", f"{LOCAL}:{silent.getsockname()[1]}", "--server", f"{LOCAL}:{server.port}",
                         "--resolv-conf", self.empty])
        self.assertExit(result, 0)
        self.assertRegex(result.stderr, rf"www\.dig\.test A: NOERROR from 127\.0\.0\.1:{server.port} over udp "
                                        rf"in [0-9.]+ ms \(2 queries sent\)")
        result = evtool(["-v", "dns", "resolve", "www.dig.test", "A", "+tcp", f"@{LOCAL}", "-p", str(server.port),
                         "--resolv-conf", self.empty])
        self.assertRegex(result.stderr, rf"from 127\.0\.0\.1:{server.port} over tcp in [0-9.]+ ms \(1 query sent\)")

    @unittest.skipUnless(et.have_ipv6(socket.SOCK_DGRAM), "no IPv6 loopback")
    def test_ipv6_server(self):
        server = et.Server(["dns", "serve", "--port", "0", "--bind", "::1", "--record", "six.test AAAA 2001:db8::6"],
                           env=CLEAN_ENV, sockets=2)
        server.start()
        self.addCleanup(server.kill)
        self.assertEqual(server.sockets[0][:2], ("udp", "::1"))
        result = evtool(["dns", "resolve", "-t", "AAAA", "six.test", "--server", f"[::1]:{server.port}",
                         "--resolv-conf", self.empty, "--no-hosts"])
        self.assertExit(result, 0)
        self.assertEqual(answer_lines(result.stdout), [("six.test.", 300, "IN", "AAAA", "2001:db8::6")])


# ================================================================= serve

ZONE = r"""; example.com for evtool dns serve
$ORIGIN example.com.
$TTL 3600
@   IN  SOA ns1 hostmaster (
            2024010101 ; serial
            7200       ; refresh
            3600       ; retry
            1209600    ; expire
            300 )      ; minimum
        IN  NS   ns1
        IN  NS   ns2.example.net.
@       IN  MX   10 mail
@       IN  MX   20 mail2.example.net.
@       IN  CAA  0 issue "ca.example.net"
ns1     IN  A    192.0.2.53
www 600 IN  A    192.0.2.1
        IN  AAAA 2001:db8::1   ; a line starting with white space: www again

mail        A    192.0.2.25
alias   IN  CNAME www
chain   IN  CNAME alias
away    IN  CNAME www.example.net.
txt     IN  TXT  "hello world" "second string"
_sip._tcp  IN  SRV  1 2 5060 sip
sip     IN  A    192.0.2.60
a.deep  IN  A    192.0.2.99
"""
MEDIUM_TXT = ["m" * 230, "n" * 230, "o" * 230]          # ~700 bytes: over 512, under 1232
BIG_ZONE_TXT = [chr(ord("a") + i) * 250 for i in range(6)]  # ~1500 bytes: over 1232


def txt_data(strings) -> str:
    return " ".join(f'"{s}"' for s in strings)


def zone_text() -> str:
    big = "\n".join(f'            "{s}"' for s in BIG_ZONE_TXT)
    return (ZONE + f"big     IN  TXT  (\n{big} )\n" + f"medium  IN  TXT  {txt_data(MEDIUM_TXT)}\n"
            + "$ORIGIN 2.0.192.in-addr.arpa.\n1       IN  PTR  www.example.com.\n")


OTHER_ZONE = """$ORIGIN other.test.
@ IN SOA ns hostmaster 1 3600 600 86400 60
host IN A 198.51.100.20
"""
HOSTS = """# hosts for evtool dns serve
192.0.2.10   h1.hosts.test h1alias.hosts.test
2001:db8::10 h1.hosts.test
192.0.2.11   Dotted.Hosts.Test.
"""


class Serve(DnsCase):
    """One `evtool dns serve` with a zone file, a zone without $TTL, a
    hosts file and --record lines, for the whole class."""

    @classmethod
    def setUpClass(cls):
        tmp = tempfile.TemporaryDirectory(prefix="evtool-serve-")
        cls.addClassCleanup(tmp.cleanup)
        d = Path(tmp.name)
        (d / "example.com.db").write_text(zone_text())
        (d / "other.test.db").write_text(OTHER_ZONE)
        (d / "hosts").write_text(HOSTS)
        cls.server = et.Server(["dns", "serve", "--port", "0", "--bind", LOCAL, "--zone", d / "example.com.db",
                                "--zone", d / "other.test.db", "--hosts", d / "hosts", "--ttl", "77",
                                "--record", "rec.test. 42 IN A 198.51.100.7",
                                "--record", "rec.test MX 5 mx.rec.test",
                                "--record", 'txt.rec.test TXT "from the command line"'],
                               env=CLEAN_ENV, sockets=2)
        cls.server.start()
        cls.addClassCleanup(cls.server.kill)
        cls.port = cls.server.port

    def setUp(self):
        super().setUp()
        self.assertIsNone(self.server.returncode, f"the server died: {self.server.stderr}")
        self.server.drain()

    def tearDown(self):
        self.assertIsNone(self.server.returncode, f"the server died: {self.server.stderr}")

    def dig(self, *args) -> Dig:
        return dig(self.port, *args)

    def test_listening_lines(self):
        self.assertEqual(self.server.sockets, [("udp", LOCAL, self.port), ("tcp", LOCAL, self.port)])
        self.assertEqual(self.server.preamble, [])

    def test_every_type_from_the_zone_file(self):
        c = "example.com."
        cases = {
            ("www.example.com", "A"): [("www.example.com.", 600, "IN", "A", "192.0.2.1")],
            ("www.example.com", "AAAA"): [("www.example.com.", 3600, "IN", "AAAA", "2001:db8::1")],
            ("alias.example.com", "CNAME"): [("alias.example.com.", 3600, "IN", "CNAME", "www.example.com.")],
            (c, "MX"): [(c, 3600, "IN", "MX", "10 mail.example.com."), (c, 3600, "IN", "MX", "20 mail2.example.net.")],
            ("txt.example.com", "TXT"): [("txt.example.com.", 3600, "IN", "TXT", '"hello world" "second string"')],
            (c, "NS"): [(c, 3600, "IN", "NS", "ns1.example.com."), (c, 3600, "IN", "NS", "ns2.example.net.")],
            (c, "SOA"): [(c, 3600, "IN", "SOA", "ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 "
                                               "1209600 300")],
            ("_sip._tcp.example.com", "SRV"): [("_sip._tcp.example.com.", 3600, "IN", "SRV",
                                                "1 2 5060 sip.example.com.")],
            ("1.2.0.192.in-addr.arpa", "PTR"): [("1.2.0.192.in-addr.arpa.", 3600, "IN", "PTR", "www.example.com.")],
            (c, "CAA"): [(c, 3600, "IN", "CAA", '0 issue "ca.example.net"')],
            ("mail.example.com", "A"): [("mail.example.com.", 3600, "IN", "A", "192.0.2.25")],
            ("host.other.test", "A"): [("host.other.test.", 77, "IN", "A", "198.51.100.20")],  # no $TTL: --ttl
        }
        for (name, rtype), expected in cases.items():
            with self.subTest(name=name, type=rtype):
                d = self.dig(name, rtype)
                self.assertAnswer(d, expected)
                self.assertIn("aa", d.flags, d.text)
                self.assertEqual(self.dig("+tcp", name, rtype).answer, expected)

    def test_any(self):
        d = self.dig("www.example.com", "ANY")
        self.assertEqual(d.status, "NOERROR", d.text)
        self.assertEqual(sorted(d.answer), [("www.example.com.", 600, "IN", "A", "192.0.2.1"),
                                            ("www.example.com.", 3600, "IN", "AAAA", "2001:db8::1")])

    def test_glue_for_mx_and_srv(self):
        d = self.dig("example.com", "MX")
        self.assertIn(("mail.example.com.", 3600, "IN", "A", "192.0.2.25"), d.additional, d.text)
        d = self.dig("_sip._tcp.example.com", "SRV")
        self.assertIn(("sip.example.com.", 3600, "IN", "A", "192.0.2.60"), d.additional, d.text)

    def test_cname_followed_within_its_data(self):
        d = self.dig("chain.example.com", "A")
        self.assertAnswer(d, [("chain.example.com.", 3600, "IN", "CNAME", "alias.example.com."),
                              ("alias.example.com.", 3600, "IN", "CNAME", "www.example.com."),
                              ("www.example.com.", 600, "IN", "A", "192.0.2.1")])
        self.assertIn("aa", d.flags)
        d = self.dig("alias.example.com", "AAAA")
        self.assertAnswer(d, [("alias.example.com.", 3600, "IN", "CNAME", "www.example.com."),
                              ("www.example.com.", 3600, "IN", "AAAA", "2001:db8::1")])
        d = self.dig("chain.example.com", "CNAME")
        self.assertAnswer(d, [("chain.example.com.", 3600, "IN", "CNAME", "alias.example.com.")])
        # A target outside our data: the CNAME alone.
        d = self.dig("away.example.com", "A")
        self.assertAnswer(d, [("away.example.com.", 3600, "IN", "CNAME", "www.example.net.")])

    def test_nxdomain_with_soa(self):
        d = self.dig("nope.example.com", "A")
        self.assertEqual(d.status, "NXDOMAIN", d.text)
        self.assertIn("aa", d.flags)
        self.assertEqual(d.answer, [])
        self.assertEqual([(r[0], r[3]) for r in d.authority], [("example.com.", "SOA")], d.text)
        d = self.dig("deeper.nope.other.test", "MX")
        self.assertEqual(d.status, "NXDOMAIN", d.text)
        self.assertEqual([(r[0], r[3]) for r in d.authority], [("other.test.", "SOA")], d.text)

    def test_nodata_with_soa(self):
        for name, rtype in (("www.example.com", "MX"), ("txt.example.com", "A"), ("deep.example.com", "A")):
            with self.subTest(name=name, type=rtype):
                d = self.dig(name, rtype)
                self.assertEqual(d.status, "NOERROR", d.text)
                self.assertIn("aa", d.flags)
                self.assertEqual(d.answer, [])
                self.assertEqual([(r[0], r[3]) for r in d.authority], [("example.com.", "SOA")], d.text)

    def test_refused_outside_its_data(self):
        for name in ("www.example.net", "com", "example.org"):
            with self.subTest(name=name):
                d = self.dig(name, "A")
                self.assertEqual(d.status, "REFUSED", d.text)
                self.assertNotIn("aa", d.flags)
                self.assertEqual(d.answer, [])

    def test_record_lines(self):
        d = self.dig("rec.test", "A")
        self.assertAnswer(d, [("rec.test.", 42, "IN", "A", "198.51.100.7")])
        self.assertIn("aa", d.flags)
        self.assertAnswer(self.dig("rec.test", "MX"), [("rec.test.", 77, "IN", "MX", "5 mx.rec.test.")])
        self.assertAnswer(self.dig("txt.rec.test", "TXT"),
                          [("txt.rec.test.", 77, "IN", "TXT", '"from the command line"')])
        d = self.dig("rec.test", "AAAA")  # known name, other type: NODATA, authoritative
        self.assertEqual((d.status, d.answer), ("NOERROR", []), d.text)
        self.assertIn("aa", d.flags)

    def test_hosts_file(self):
        self.assertAnswer(self.dig("h1.hosts.test", "A"), [("h1.hosts.test.", 77, "IN", "A", "192.0.2.10")])
        self.assertAnswer(self.dig("h1.hosts.test", "AAAA"), [("h1.hosts.test.", 77, "IN", "AAAA", "2001:db8::10")])
        self.assertAnswer(self.dig("h1alias.hosts.test", "A"),
                          [("h1alias.hosts.test.", 77, "IN", "A", "192.0.2.10")])
        d = self.dig("-x", "192.0.2.10")
        self.assertAnswer(d, [("10.2.0.192.in-addr.arpa.", 77, "IN", "PTR", "h1.hosts.test.")])
        self.assertIn("aa", d.flags)
        d = self.dig("-x", "2001:db8::10")
        self.assertEqual([(r[3], r[4]) for r in d.answer], [("PTR", "h1.hosts.test.")], d.text)
        # An absolute name (found by tests/fuzz/hosts_file_fuzz: no PTR was made).
        self.assertAnswer(self.dig("dotted.hosts.test", "A"), [("dotted.hosts.test.", 77, "IN", "A", "192.0.2.11")])
        self.assertAnswer(self.dig("-x", "192.0.2.11"), [("11.2.0.192.in-addr.arpa.", 77, "IN", "PTR", "Dotted.Hosts.Test.")])

    def test_case_insensitive_and_echoed(self):
        d = self.dig("WwW.ExAmple.COM", "A")
        self.assertAnswer(d, [("WwW.ExAmple.COM.", 600, "IN", "A", "192.0.2.1")])
        for name in ("WwW.ExAmple.COM.", "REC.TEST.", "H1.Hosts.Test."):
            with self.subTest(name=name):
                reply = query(self.port, name, "A")
                self.assertEqual(reply.rcode, "NOERROR")
                self.assertEqual(reply.questions, [(name, 1, 1)])
                self.assertEqual([r.name for r in reply.answers], [name])

    def test_repeated_questions_vary_in_case_id_and_edns(self):
        # The same question again and again, as a cache would see it: each
        # answer still fits its own query.
        for i, (name, edns) in enumerate([("medium.example.com.", None), ("MEDIUM.example.com.", 1232),
                                          ("medium.EXAMPLE.com.", None), ("Medium.Example.Com.", 4096),
                                          ("medium.example.com.", 1232), ("mEdIuM.example.com.", None)] * 2):
            with self.subTest(i=i, name=name, edns=edns):
                reply = query(self.port, name, "TXT", qid=1000 + i, edns=edns)
                self.assertEqual(reply.questions, [(name, TYPES["TXT"], 1)])
                self.assertEqual(reply.opt_udp is not None, edns is not None)
                self.assertEqual(reply.tc, edns is None, "over 512 bytes: truncated without EDNS only")
                if edns:
                    self.assertEqual([r.name for r in reply.answers], [name])
                else:
                    self.assertLessEqual(reply.size, 512)
                tcp = parse_reply(tcp_exchange(self.port, make_query(name, "TXT", qid=2000 + i, edns=edns)))
                self.assertEqual((tcp.id, tcp.tc, [r.name for r in tcp.answers]), (2000 + i, False, [name]))

    def test_compression(self):
        reply = query(self.port, "example.com", "MX")
        self.assertEqual(reply.rcode, "NOERROR")
        self.assertEqual([r.target for r in reply.answers], ["mail.example.com.", "mail2.example.net."])
        self.assertGreater(reply.pointers, 0)
        self.assertLess(reply.size, reply.expanded_size)
        # Every owner name repeats the question: each is a 2-byte pointer
        # instead of the 13 bytes of "example.com.".
        reply = query(self.port, "example.com", "NS", edns=1232)
        self.assertEqual(len(reply.answers), 2)
        self.assertGreaterEqual(reply.expanded_size - reply.size, 11 * len(reply.answers))
        self.assertEqual(self.dig("example.com", "NS").size, reply.size)  # dig sees the same message

    def test_edns(self):
        d = self.dig("+bufsize=4096", "+ignore", "big.example.com", "TXT")
        self.assertIsNotNone(d.edns_udp, d.text)  # an OPT record came back
        self.assertNotIn("tc", d.flags, d.text)
        self.assertAnswer(d, [("big.example.com.", 3600, "IN", "TXT", txt_data(BIG_ZONE_TXT))])
        self.assertGreater(d.size, 1232)
        # The client's size is honoured: 1232 is too small for it.
        d = self.dig("+bufsize=1232", "+ignore", "big.example.com", "TXT")
        self.assertIn("tc", d.flags, d.text)
        self.assertLessEqual(d.size, 1232)
        reply = query(self.port, "medium.example.com", "TXT", edns=1232)
        self.assertIsNotNone(reply.opt_udp)
        self.assertFalse(reply.tc)
        self.assertEqual(len(reply.answers), 1)
        self.assertGreater(reply.size, 512)

    def test_without_edns_large_answers_are_truncated(self):
        for name, strings in (("medium.example.com", MEDIUM_TXT), ("big.example.com", BIG_ZONE_TXT)):
            with self.subTest(name=name):
                d = self.dig("+noedns", "+ignore", name, "TXT")
                self.assertIn("tc", d.flags, d.text)
                self.assertIsNone(d.edns_udp, d.text)
                self.assertLessEqual(d.size, 512)
                reply = query(self.port, name, "TXT")
                self.assertTrue(reply.tc)
                self.assertIsNone(reply.opt_udp)
                self.assertLessEqual(reply.size, 512)
                # dig then asks over TCP, and gets it all.
                d = self.dig("+noedns", name, "TXT")
                self.assertAnswer(d, [(f"{name}.", 3600, "IN", "TXT", txt_data(strings))])
        d = self.dig("+noedns", "+ignore", "www.example.com", "A")
        self.assertNotIn("tc", d.flags)
        self.assertIsNone(d.edns_udp)

    def test_malformed_packets(self):
        qid = 0x4242
        question = wire_name("www.example.com") + struct.pack("!HH", 1, 1)
        formerr = {
            "label over 63": header(qid) + wire_name([b"a" * 64, b"com"]) + struct.pack("!HH", 1, 1),
            "name over 255": header(qid) + wire_name([b"b" * 63] * 4 + [b"c" * 10]) + struct.pack("!HH", 1, 1),
            "compression loop": header(qid) + b"\xc0\x0c" + struct.pack("!HH", 1, 1),
            "pointer to a pointer ahead": header(qid) + b"\x01a\xc0\x10\xc0\x0c" + struct.pack("!HH", 1, 1),
            "forward pointer": header(qid) + b"\xc0\x20" + struct.pack("!HH", 1, 1) + b"\0" * 20,
            "pointer past the end": header(qid) + b"\xc0\xff" + struct.pack("!HH", 1, 1),
            "qdcount beyond the packet": header(qid, qd=5) + question,
            "ancount beyond the packet": header(qid, an=3) + question,
            "question cut short": header(qid) + wire_name("www.example.com") + b"\x00",
            "label past the end": header(qid) + b"\x3fabc",
            "bad label type": header(qid) + b"\x80abc" + struct.pack("!HH", 1, 1),
            "truncated rdata": header(qid, ar=1) + question + b"\0" + struct.pack("!HHIH", 41, 512, 0, 50),
            "no question": header(qid, qd=0),
            "two questions": header(qid, qd=2) + question + question,
        }
        for what, packet in formerr.items():
            with self.subTest(what):
                data = udp_exchange(self.port, packet)
                self.assertIsNotNone(data, "no FORMERR")
                reply = parse_reply(data)
                self.assertEqual(reply.id, qid)
                self.assertTrue(reply.qr)
                self.assertEqual(reply.rcode, "FORMERR")
                reply = parse_reply(tcp_exchange(self.port, packet))
                self.assertEqual((reply.id, reply.rcode), (qid, "FORMERR"))
        for packet in (b"", b"\x42", b"\x42\x42\x01\x00\x00\x01\x00\x00\x00\x00\x00"):
            with self.subTest(short=len(packet)):
                self.assertIsNone(udp_exchange(self.port, packet, timeout=0.3), "a short header is dropped")
        # A response (QR set) is never answered: no loops between servers.
        response = header(qid, flags=0x8000) + question
        self.assertIsNone(udp_exchange(self.port, response, timeout=0.3))
        # Still answering.
        self.assertEqual([r.name for r in query(self.port, "www.example.com", "A").answers], ["www.example.com."])

    def test_bad_edns_options_get_formerr_after_a_cached_answer(self):
        """An OPT whose options run past its RDATA is FORMERR, also when
        the same question was just answered (and kept by the answer
        cache): found by tests/fuzz/dns_edns_fuzz."""
        qid = 0x5151
        question = wire_name("www.example.com") + struct.pack("!HH", 1, 1)
        good = header(qid, ar=1) + question + b"\0" + struct.pack("!HHIH", 41, 1232, 0, 0)
        for _ in range(2):
            self.assertEqual(parse_reply(udp_exchange(self.port, good)).rcode, "NOERROR")
        for options in (b"\x00\x0a\x00", b"\x00\x0a\x00\x08\x01\x02", b"\x00\x0a\x00\x00\x00"):
            with self.subTest(options=options):
                bad = header(qid, ar=1) + question + b"\0" + struct.pack("!HHIH", 41, 1232, 0, len(options)) + options
                reply = parse_reply(udp_exchange(self.port, bad))
                self.assertEqual((reply.id, reply.rcode), (qid, "FORMERR"))

    def test_burst_of_garbage_then_a_normal_query(self):
        rng = random.Random(1234)
        packets = [bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300))) for _ in range(300)]
        base = make_query("www.example.com", "A", qid=7)
        for _ in range(300):  # a valid query with random bytes changed
            mutated = bytearray(base)
            for _ in range(rng.randrange(1, 6)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            packets.append(bytes(mutated))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.001)
            for packet in packets:
                s.sendto(packet, (LOCAL, self.port))
                try:
                    while True:
                        s.recv(65536)
                except (socket.timeout, BlockingIOError):
                    pass
        # TCP: garbage, a length prefix promising more than comes, then close.
        for junk in (b"\x00\x05abc", b"\xff\xff" + os.urandom(100), b"\x00\x02\xc0\x0c"):
            with socket.create_connection((LOCAL, self.port), timeout=IO_TIMEOUT) as c:
                c.sendall(junk)
        reply = query(self.port, "www.example.com", "A")
        self.assertEqual(reply.rcode, "NOERROR")
        self.assertEqual(len(reply.answers), 1)
        reply = parse_reply(tcp_exchange(self.port, make_query("www.example.com", "A", qid=99)))
        self.assertEqual((reply.id, reply.rcode, len(reply.answers)), (99, "NOERROR", 1))
        self.assertEqual(self.dig("www.example.com", "A").status, "NOERROR")

    def test_several_queries_on_one_tcp_connection(self):
        with socket.create_connection((LOCAL, self.port), timeout=IO_TIMEOUT) as c:
            queries = [make_query(n, "A", qid=i) for i, n in enumerate(["www.example.com", "mail.example.com",
                                                                         "nope.example.com"])]
            c.sendall(b"".join(struct.pack("!H", len(q)) + q for q in queries))
            replies = []
            for _ in queries:
                n = struct.unpack("!H", recv_exactly(c, 2))[0]
                replies.append(parse_reply(recv_exactly(c, n)))
        self.assertEqual([(r.id, r.rcode) for r in replies], [(0, "NOERROR"), (1, "NOERROR"), (2, "NXDOMAIN")])

    def test_tcp_query_in_pieces(self):
        packet = make_query("www.example.com", "A", qid=5)
        framed = struct.pack("!H", len(packet)) + packet
        with socket.create_connection((LOCAL, self.port), timeout=IO_TIMEOUT) as c:
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(0, len(framed), 5):
                c.sendall(framed[i:i + 5])
                time.sleep(0.01)
            n = struct.unpack("!H", recv_exactly(c, 2))[0]
            reply = parse_reply(recv_exactly(c, n))
        self.assertEqual((reply.id, reply.rcode, len(reply.answers)), (5, "NOERROR", 1))

    def test_query_log(self):
        self.server.drain(quiet=0.2)
        self.dig("www.example.com", "A")
        self.dig("+tcp", "example.com", "MX")
        self.dig("nope.example.com", "AAAA")
        self.dig("www.example.net", "A")
        lines = self.server.drain(quiet=0.5)
        self.assertEqual(len(lines), 4, lines)
        for line, name, rtype, rcode, proto in zip(
                lines, ["www.example.com", "example.com", "nope.example.com", "www.example.net"],
                ["A", "MX", "AAAA", "A"], ["NOERROR", "NOERROR", "NXDOMAIN", "REFUSED"],
                ["udp", "tcp", "udp", "udp"]):
            words = line.split()
            self.assertTrue(name in words or name + "." in words, line)
            self.assertIn(rtype, words, line)
            self.assertIn(rcode, words, line)
            self.assertIn(proto, words, line)
            self.assertTrue(any(w.startswith("127.0.0.1:") for w in words), line)


class ServeHardening(DnsCase):
    """Hardening, finding 7 (protocol answers) and finding 2 (one TCP
    client's pipeline does not hold up the others)."""

    def big_zone(self) -> Path:
        lines = ["$ORIGIN big.test.", "$TTL 60", "@ IN SOA ns hostmaster 1 3600 600 86400 60"]
        lines += [f'many IN TXT "{i:03d}-' + "x" * 250 + '"' for i in range(250)]  # ~68 KB in all
        lines += ["www IN A 192.0.2.80"]
        return self.write("big.test.db", "\n".join(lines) + "\n")

    def test_edns_version_1_gets_badvers(self):
        server = self.serve("--zone", self.big_zone())
        d = dig(server.port, "+edns=1", "+noednsnegotiation", "www.big.test", "A")
        self.assertEqual(d.status, "BADVERS", d.text)
        self.assertEqual(d.answer, [], d.text)
        self.assertEqual(dig(server.port, "+edns=0", "www.big.test", "A").status, "NOERROR")

    def test_large_udp_query_is_answered(self):
        server = self.serve("--zone", self.big_zone())
        for padding in (3000, 5900, 60000):
            with self.subTest(padding=padding):
                # An OPT record carrying a Padding option (RFC 7830) of that size.
                opt = b"\0" + struct.pack("!HHIH", TYPES["OPT"], 4096, 0, 4 + padding)
                opt += struct.pack("!HH", 12, padding) + bytes(padding)
                packet = header(4242, 0, qd=1, ar=1) + wire_name("www.big.test") + struct.pack("!HH", 1, 1) + opt
                data = udp_exchange(server.port, packet, timeout=5)
                self.assertIsNotNone(data, f"no answer to a {len(packet)}-byte query")
                self.assertEqual(parse_reply(data).id, 4242)

    def test_answer_larger_than_a_message_is_truncated_over_tcp(self):
        server = self.serve("--zone", self.big_zone())
        d = dig(server.port, "+tcp", "+ignore", "many.big.test", "TXT")
        self.assertIn("tc", d.flags, d.text)
        self.assertLess(len(d.answer), 250)
        result = self.resolve("--tcp", "-t", "TXT", "many.big.test", port=server.port)
        self.assertExit(result, 1)
        self.assertIn("answer truncated", result.stderr)
        printed = [line for line in result.stdout.splitlines() if "TXT" in line]
        self.assertEqual(len(printed), len(d.answer), "the records it holds are printed")

    def test_truncated_udp_answer_and_no_tcp_is_a_failure_not_a_timeout(self):
        # A UDP "server" answering everything with TC=1; nothing listens on
        # its TCP port, so the retry over TCP is refused.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((LOCAL, 0))
            port = udp.getsockname()[1]
            stop = threading.Event()

            def answer_tc():
                udp.settimeout(0.1)
                while not stop.is_set():
                    try:
                        data, peer = udp.recvfrom(4096)
                    except socket.timeout:
                        continue
                    flags = 0x8000 | 0x0200 | (struct.unpack("!H", data[2:4])[0] & 0x0100)
                    question = data[12:data.index(b"\0", 12) + 5]
                    udp.sendto(data[:2] + struct.pack("!5H", flags, 1, 0, 0, 0) + question, peer)

            thread = threading.Thread(target=answer_tc, daemon=True)
            thread.start()
            start = time.monotonic()
            try:
                result = self.resolve("-t", "A", "--timeout", "3s", "--tries", "1", "x.test", port=port)
            finally:
                stop.set()
                thread.join(2)
            self.assertExit(result, 1)
            self.assertLess(time.monotonic() - start, 2.5, "a refused TCP retry does not wait for the timeout")

    def test_nothing_listening_fails_at_once(self):
        """A port nobody listens on answers with ICMP port unreachable: the
        resolver hears it on its connected socket and gives up at once
        (exit 1), as dig does, instead of waiting for the timeout."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((LOCAL, 0))
            closed_port = s.getsockname()[1]
        start = time.monotonic()
        result = self.resolve("-t", "A", "--timeout", "5s", "--tries", "2", "x.test", port=closed_port)
        self.assertExit(result, 1)
        self.assertLess(time.monotonic() - start, 2.5)
        self.assertIn("connection refused", result.stderr)  # as dig says it

    def test_pipelining_client_does_not_hold_up_udp(self):
        server = self.serve("--zone", self.big_zone())
        attacker = socket.create_connection((LOCAL, server.port), timeout=IO_TIMEOUT)
        self.addCleanup(attacker.close)
        attacker.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        q = make_query("many.big.test", "TXT", qid=7)
        batch = (struct.pack("!H", len(q)) + q) * 2000
        attacker.setblocking(False)
        sent = 0
        deadline = time.monotonic() + 5
        while sent < len(batch) and time.monotonic() < deadline:  # until the server stops reading
            try:
                sent += attacker.send(batch[sent:])
            except BlockingIOError:
                time.sleep(0.01)
        # Meanwhile every UDP query is answered.
        for _ in range(20):
            reply = query(server.port, "www.big.test", "A")
            self.assertEqual(reply.rcode, "NOERROR")
            self.assertEqual(len(reply.answers), 1)
        self.assertIsNone(server.returncode)
        # The attacker was not dropped: once it reads, its answers come, in order.
        attacker.setblocking(True)
        attacker.settimeout(IO_TIMEOUT)
        n = struct.unpack("!H", recv_exactly(attacker, 2))[0]
        first = parse_reply(recv_exactly(attacker, n))
        self.assertEqual(first.id, 7)
        self.assertTrue(first.tc or len(first.answers) > 0)


class ServeOptions(DnsCase):
    """Servers started per test: no data, -q, --json, signals, reload,
    --forward."""

    def test_no_records_answers_localhost(self):
        server = self.serve()
        d = dig(server.port, "localhost", "A")
        self.assertAnswer(d, [("localhost.", 300, "IN", "A", "127.0.0.1")])  # --ttl default 300
        self.assertIn("aa", d.flags)
        self.assertAnswer(dig(server.port, "LocalHost", "AAAA"), [("LocalHost.", 300, "IN", "AAAA", "::1")])
        self.assertAnswer(dig(server.port, "-x", "127.0.0.1"),
                          [("1.0.0.127.in-addr.arpa.", 300, "IN", "PTR", "localhost.")])
        self.assertAnswer(dig(server.port, "-x", "::1"),
                          [("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.", 300, "IN",
                            "PTR", "localhost.")])
        self.assertEqual(dig(server.port, "example.com", "A").status, "REFUSED")
        result = self.resolve("--short", "localhost", port=server.port)
        self.assertExit(result, 0)
        self.assertEqual(result.stdout, "127.0.0.1\n::1\n")

    def test_ttl_option(self):
        server = self.serve("--ttl", "5", "--record", "t.test A 192.0.2.9")
        self.assertEqual(dig(server.port, "t.test", "A").answer, [("t.test.", 5, "IN", "A", "192.0.2.9")])

    def test_quiet_prints_listening_lines_but_no_query_log(self):
        server = self.serve("-q", "--record", "q.test A 192.0.2.1")
        self.assertEqual([s[0] for s in server.sockets], ["udp", "tcp"])
        self.assertEqual(dig(server.port, "q.test", "A").status, "NOERROR")
        self.assertEqual(dig(server.port, "+tcp", "q.test", "A").status, "NOERROR")
        self.assertEqual(server.stop(signal.SIGTERM), 0)
        self.assertEqual(server.drain(), [])

    def test_query_log_lines_start_with_an_rfc3339_time(self):
        server = self.serve("--record", "t.test A 192.0.2.1")
        dig(server.port, "t.test", "A")
        line = server.drain(quiet=0.5)[-1]
        stamp = line.split()[0]
        self.assertRegex(stamp, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}([+-]\d\d:\d\d|Z)$", line)
        when = datetime.datetime.fromisoformat(stamp)
        self.assertLess(abs(when.timestamp() - time.time()), 60)
        server = self.serve("--json", "--record", "t.test A 192.0.2.1")
        dig(server.port, "t.test", "A")
        event = json.loads(server.drain(quiet=0.5)[-1])
        self.assertLess(abs(datetime.datetime.fromisoformat(event["time"]).timestamp() - time.time()), 60)

    def test_json_listening_and_query_log(self):
        server = self.serve("--json", "--record", "j.test A 192.0.2.1")
        self.assertEqual(server.sockets, [("udp", LOCAL, server.port), ("tcp", LOCAL, server.port)])
        dig(server.port, "j.test", "A")
        dig(server.port, "+tcp", "nope.test", "MX")
        lines = server.drain(quiet=0.5)
        self.assertEqual(len(lines), 2, lines)
        events = [json.loads(line) for line in lines]
        for event, name, rtype, proto in zip(events, ["j.test", "nope.test"], ["A", "MX"], ["udp", "tcp"]):
            self.assertEqual(event["event"], "query", event)
            self.assertIn(event["name"], (name, name + "."))
            self.assertEqual(event["type"], rtype)
            self.assertEqual(event["proto"], proto)
        self.assertEqual(server.stop(signal.SIGINT), 0)

    def test_json_listening_lines_are_objects(self):
        server = et.Server(["--json", "dns", "serve", "--port", "0", "--bind", LOCAL], env=CLEAN_ENV, sockets=0)
        server.start()
        self.addCleanup(server.kill)
        events = [json.loads(server.readline(10)), json.loads(server.readline(10))]
        for event, proto in zip(events, ["udp", "tcp"]):
            self.assertEqual(set(event), {"event", "proto", "address", "port"}, event)
            self.assertEqual((event["event"], event["proto"], event["address"]), ("listening", proto, LOCAL))
            self.assertIsInstance(event["port"], int)
        self.assertEqual(events[0]["port"], events[1]["port"])
        self.assertNotEqual(events[0]["port"], 0)
        self.assertEqual(dig(events[0]["port"], "localhost", "A").status, "NOERROR")
        self.assertEqual(server.stop(signal.SIGTERM), 0)

    def test_signals_exit_0(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            with self.subTest(signal=sig.name):
                server = self.serve("--record", "s.test A 192.0.2.1")
                self.assertEqual(dig(server.port, "s.test", "A").status, "NOERROR")
                self.assertEqual(server.stop(sig), 0)
        # Right after the listening lines, too.
        for sig in (signal.SIGTERM, signal.SIGHUP):
            with self.subTest(early=sig.name):
                server = self.serve("--record", "s.test A 192.0.2.1")
                server.send_signal(sig)
                if sig == signal.SIGHUP:
                    time.sleep(0.2)
                    self.assertIsNone(server.returncode, "SIGHUP reloads, never stops")
                    self.assertEqual(dig(server.port, "s.test", "A").status, "NOERROR")
                    sig = signal.SIGTERM
                    server.send_signal(sig)
                self.assertEqual(server.wait(10), 0)

    def test_sighup_reloads_without_dropping_queries(self):
        zone = self.write("zone.db", "$ORIGIN r.test.\n@ 60 IN SOA ns h 1 2 3 4 5\nwww 60 IN A 192.0.2.1\n")
        hosts = self.write("hosts", "192.0.2.111 h.hosts.test\n")
        server = self.serve("-q", "--zone", zone, "--hosts", hosts)
        answers: list = []
        failures: list = []
        stop = threading.Event()

        def querier():
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(2)
                s.connect((LOCAL, server.port))
                qid = 0
                while not stop.is_set():
                    qid = (qid + 1) % 65536
                    s.send(make_query("www.r.test", "A", qid=qid))
                    try:
                        while True:
                            reply = parse_reply(s.recv(4096))
                            if reply.id == qid:
                                break
                    except socket.timeout:
                        failures.append(f"query {qid} unanswered")
                        continue
                    if reply.rcode != "NOERROR" or len(reply.answers) != 1:
                        failures.append(f"query {qid}: {reply.rcode} {reply.answers}")
                    else:
                        answers.append(socket.inet_ntoa(reply.answers[0].rdata))

        thread = threading.Thread(target=querier, daemon=True)
        thread.start()
        try:
            time.sleep(0.2)
            for _ in range(10):
                server.send_signal(signal.SIGHUP)
                time.sleep(0.03)
            new = self.tmp / "zone.new"
            new.write_text("$ORIGIN r.test.\n@ 60 IN SOA ns h 2 2 3 4 5\nwww 60 IN A 192.0.2.2\n"
                           "added 60 IN A 192.0.2.3\n")
            new.replace(zone)
            (self.tmp / "hosts.new").write_text("192.0.2.112 h.hosts.test\n")
            (self.tmp / "hosts.new").replace(hosts)
            server.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and (not answers or answers[-1] != "192.0.2.2"):
                time.sleep(0.05)
            time.sleep(0.2)
        finally:
            stop.set()
            thread.join(timeout=5)
        self.assertEqual(failures, [])
        self.assertGreater(len(answers), 20)
        self.assertEqual(set(answers), {"192.0.2.1", "192.0.2.2"})
        first_new = answers.index("192.0.2.2")
        self.assertEqual(set(answers[first_new:]), {"192.0.2.2"}, "no old data after the reload")
        self.assertEqual(dig(server.port, "added.r.test", "A").answer, [("added.r.test.", 60, "IN", "A", "192.0.2.3")])
        self.assertEqual(dig(server.port, "h.hosts.test", "A").answer[0][4], "192.0.2.112")
        self.assertIsNone(server.returncode)

    def test_sighup_with_a_broken_zone_keeps_the_old_data(self):
        zone = self.write("zone.db", "$ORIGIN r.test.\n@ 60 IN SOA ns h 1 2 3 4 5\nwww 60 IN A 192.0.2.1\n")
        server = self.serve("--zone", zone)
        zone.write_text("$ORIGIN r.test.\n@ 60 IN SOA ns h 1 2 3 4 5\nwww 60 IN A not-an-address\n")
        server.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        self.assertIsNone(server.returncode)
        self.assertEqual(dig(server.port, "www.r.test", "A").answer, [("www.r.test.", 60, "IN", "A", "192.0.2.1")])

    def test_usage_errors(self):
        for args, bad in ((["--port", "99999"], "99999"), (["--bind", "nowhere"], "nowhere"),
                          (["--forward", "1.2.3"], "1.2.3"), (["--ttl", "soon"], "soon")):
            with self.subTest(args=args):
                result = evtool(["dns", "serve", *args], timeout=10)
                self.assertExit(result, 2)
                self.assertIn(bad, result.stderr)
        result = evtool(["dns", "serve", "--port", "0", "--bind", LOCAL, "--record", "x.test A not-an-ip"],
                        timeout=10)
        self.assertExit(result, 2)
        self.assertIn("not-an-ip", result.stderr)


    def test_files_that_cannot_be_loaded(self):
        """Zone and hosts files must be regular files within their bounds
        (1 GiB, 64 MiB); anything else is one clear error naming the file,
        and exit 1 as for a missing one."""
        big_zone = self.write("big.db", "www.t.test A 192.0.2.1\n")
        os.truncate(big_zone, (1 << 30) + 1)  # a hole: no disk used
        big_hosts = self.write("big.hosts", "192.0.2.1 www.t.test\n")
        os.truncate(big_hosts, (64 << 20) + 1)
        for option, path, why in (("--zone", "/dev/zero", "not a regular file"),
                                  ("--hosts", "/dev/zero", "not a regular file"),
                                  ("--zone", self.tmp, "not a regular file"),
                                  ("--zone", big_zone, "larger than 1 GiB"),
                                  ("--hosts", big_hosts, "larger than 64 MiB"),
                                  ("--zone", self.tmp / "missing.db", "No such file")):
            with self.subTest(option=option, path=path):
                result = evtool(["dns", "serve", "--port", "0", "--bind", LOCAL, option, path], timeout=10)
                self.assertExit(result, 1)
                self.assertEqual(result.stdout, "")  # never listened
                self.assertIn(f"{option}: {path}: {why}", result.stderr)


class ServeForward(DnsCase):
    """--forward to a dnsmasq upstream."""

    @classmethod
    def setUpClass(cls):
        tmp = tempfile.TemporaryDirectory(prefix="evtool-dnsmasq-")
        cls.addClassCleanup(tmp.cleanup)
        cls.dir = Path(tmp.name)
        cls.upstream = Dnsmasq([
            "--local-ttl=120", "--local=/example.test/", "--edns-packet-max=512",
            "--host-record=www.example.test,192.0.2.1,2001:db8::1,600",
            "--mx-host=example.test,mail.example.test,10",
            f"--txt-record=big.example.test,{','.join(BIG_TXT)}",
        ], cls.dir / "dnsmasq.log").start()
        cls.addClassCleanup(cls.upstream.stop)

    def test_names_outside_the_zone_go_upstream(self):
        zone = self.write("zone.db", "$ORIGIN example.com.\n@ 60 IN SOA ns h 1 2 3 4 5\nwww 60 IN A 192.0.2.50\n")
        server = self.serve("--zone", zone, "--forward", f"{LOCAL}:{self.upstream.port}")
        d = dig(server.port, "www.example.test", "A")
        self.assertEqual(d.status, "NOERROR", d.text)
        self.assertEqual(d.answer, [("www.example.test.", 600, "IN", "A", "192.0.2.1")])
        self.assertNotIn("aa", d.flags, "a relayed answer is not ours")
        d = dig(server.port, "+tcp", "example.test", "MX")
        self.assertEqual(d.answer, [("example.test.", 120, "IN", "MX", "10 mail.example.test.")], d.text)
        self.assertEqual(dig(server.port, "nope.example.test", "A").status, "NXDOMAIN")
        # Its own zone is still answered by itself.
        d = dig(server.port, "www.example.com", "A")
        self.assertEqual(d.answer, [("www.example.com.", 60, "IN", "A", "192.0.2.50")])
        self.assertIn("aa", d.flags)
        self.assertEqual(dig(server.port, "nope.example.com", "A").status, "NXDOMAIN")
        # The case of the question is kept through the relay.
        reply = query(server.port, "WWW.Example.TEST.", "A")
        self.assertEqual(reply.questions, [("WWW.Example.TEST.", 1, 1)])
        self.assertEqual(len(reply.answers), 1)
        # And the resolver gets relayed answers too.
        result = self.resolve("--short", "www.example.test", port=server.port)
        self.assertExit(result, 0)
        self.assertEqual(result.stdout, "192.0.2.1\n2001:db8::1\n")

    def test_forwarded_queries_log_the_upstream_answer(self):
        """Issue 14, item 16: a relayed query is logged with the upstream's
        RCODE and answer count (not FORWARD), marked as forwarded."""
        server = self.serve("--forward", f"{LOCAL}:{self.upstream.port}")
        server.drain(quiet=0.2)
        dig(server.port, "www.example.test", "A")
        dig(server.port, "nope.example.test", "A")
        lines = server.drain(quiet=0.5)
        self.assertEqual(len(lines), 2, lines)
        self.assertEqual(lines[0].split()[-3:], ["NOERROR", "1", "forwarded"])
        self.assertEqual(lines[1].split()[-3:], ["NXDOMAIN", "0", "forwarded"])
        server = self.serve("--json", "--forward", f"{LOCAL}:{self.upstream.port}")
        dig(server.port, "www.example.test", "A")
        event = json.loads(server.drain(quiet=0.5)[-1])
        self.assertEqual((event["rcode"], event["answers"], event["forwarded"]), ("NOERROR", 1, True))

    def test_large_upstream_answer_is_fetched_over_tcp(self):
        # The upstream truncates UDP answers at 512 bytes; the record is ~800.
        self.assertIn("tc", dig(self.upstream.port, "+ignore", "big.example.test", "TXT").flags)
        server = self.serve("--forward", f"{LOCAL}:{self.upstream.port}")
        expected = [("big.example.test.", 120, "IN", "TXT", txt_data(BIG_TXT))]
        d = dig(server.port, "+ignore", "+bufsize=1232", "big.example.test", "TXT")
        self.assertEqual((d.status, d.answer), ("NOERROR", expected), d.text)
        self.assertNotIn("tc", d.flags)
        self.assertEqual(dig(server.port, "+tcp", "big.example.test", "TXT").answer, expected)
        # Without EDNS it does not fit our UDP answer: truncated, never
        # passed off as complete.
        d = dig(server.port, "+ignore", "+noedns", "big.example.test", "TXT")
        self.assertIn("tc", d.flags, d.text)
        self.assertEqual(dig(server.port, "+noedns", "big.example.test", "TXT").answer, expected)

    def test_silent_upstream_gives_servfail_within_seconds(self):
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind((LOCAL, 0))
        self.addCleanup(silent.close)
        server = self.serve("--forward", f"{LOCAL}:{silent.getsockname()[1]}", "--record", "own.test A 192.0.2.1")
        start = time.monotonic()
        digger = subprocess.Popen([DIG, "@127.0.0.1", "-p", str(server.port), "+norec", "+time=8", "+tries=1",
                                   "elsewhere.org", "A"], stdout=subprocess.PIPE, text=True)
        self.addCleanup(lambda: (digger.kill(), digger.wait(), digger.stdout.close()))
        # Meanwhile its own data is answered at once.
        self.assertEqual(dig(server.port, "own.test", "A").status, "NOERROR")
        result = self.resolve("-t", "A", "other.example", "--timeout", "8s", "--tries", "1", port=server.port)
        elapsed = time.monotonic() - start
        self.assertExit(result, 1)
        self.assertLess(elapsed, 7)
        out, _ = digger.communicate(timeout=10)
        self.assertEqual(parse_dig(out).status, "SERVFAIL", out)
        self.assertLess(time.monotonic() - start, 8)


if __name__ == "__main__":
    unittest.main()
