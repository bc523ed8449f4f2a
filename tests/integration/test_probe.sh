#!/usr/bin/env bash
# Odd, broken and abandoned requests, replayed from a black-box crash hunt:
# each must get a sensible answer (a 4xx where the client is at fault, never
# a hang), and the server must survive every one and still answer
# /_sluice/health (under SAN=1, without a sanitizer report: see lib.sh).
# No timing thresholds: each probe waits seconds for what takes milliseconds.
source "$(dirname "$0")/lib.sh"
# (a short write deadline for the HTTP/2 clients that stop reading, below)
start_server "$SRC/tests/integration/apps/probe.c" --cancel-grace 1 --write-timeout 3

# A raw-socket client for what curl will not send.
cat >"$TMP/probe.py" <<'PYEOF'
import json, re, socket, struct, sys, time
PORT = int(sys.argv[1])

def raw(data, timeout=10, shut=False, linger0=False):
    """Sends data on a new connection; returns all it gets until EOF."""
    s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    if linger0:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.sendall(data)
    if shut:
        s.shutdown(socket.SHUT_WR)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except socket.timeout:
        out += b"<TIMEOUT>"
    except ConnectionResetError:
        pass
    s.close()
    return out

def statuses(r):
    return [int(x) for x in re.findall(rb"HTTP/1\.1 (\d{3}) ", r)]

def health():
    try:
        r = raw(b"GET /_sluice/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    except OSError:
        return False
    return r.startswith(b"HTTP/1.1 200") and b"ok\n" in r

def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)

def alive(after):
    check(health(), "the server stopped answering after " + after)

def head_body(r):
    head, _, body = r.partition(b"\r\n\r\n")
    return head, body

def dechunk(body):
    out = b""
    while body:
        size, _, body = body.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            break
        out, body = out + body[:n], body[n + 2:]
    return out

# HTTP/2 frames, with literal (unindexed, not Huffman-coded) header fields
def frame(t, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([t, flags]) + struct.pack(">I", sid) + payload

def lit(name, value):
    name, value = name.encode(), value.encode()
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value

def h2_headers(method, path, extra=()):
    h = lit(":method", method) + lit(":scheme", "http") + lit(":path", path) + lit(":authority", "x")
    for k, v in extra:
        h += lit(k, v)
    return h

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0)
END_STREAM, END_HEADERS = 1, 4
RST_CANCEL = b"\x00\x00\x00\x08"

def h2_split(buf, partial=False):
    """The frames at the start of buf, as (type, flags, stream, payload), and the
    bytes left: a frame not yet whole stays in them, or with partial comes cut."""
    out = []
    while len(buf) >= 9 and (partial or len(buf) >= 9 + int.from_bytes(buf[:3], "big")):
        n = int.from_bytes(buf[:3], "big")
        out.append((buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF, buf[9:9 + n]))
        buf = buf[9 + n:]
    return out, buf

def h2_frames(buf):
    return h2_split(buf, partial=True)[0]

def h2(data, secs=1.0):
    """Sends HTTP/2 frames after the preface; the frames that come back in secs."""
    s = socket.create_connection(("127.0.0.1", PORT), timeout=secs)
    s.sendall(H2_PREFACE + data)
    out, end = b"", time.time() + secs
    try:
        while time.time() < end:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return h2_frames(out)
PYEOF
probe() { $PY - "$PORT" <<<"import sys; sys.path.insert(0, '$TMP'); from probe import *
$1" || fail "$2"; }

# ---- the server's paths, every method, with and without a body ----
probe '
paths = ["/_sluice/health", "/_sluice/status", "/_sluice/call/hello", "/_sluice/spawn/hello",
         "/_sluice/result/00000001", "/_sluice/result/", "/_sluice/call/", "/_sluice/", "/_sluice",
         "/hello", "/echo", "/any", "/nope", "/"]
for p in paths:
    for m in ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "FOO", "M-SEARCH"]:
        for body in (b"", b"[]"):
            req = ("%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" % (m, p)).encode()
            if body:
                req += b"Content-Length: 2\r\n"
            r = raw(req + b"\r\n" + body)
            st = statuses(r)
            check(st and st[0] < 500, "%s %s (body %d): %r" % (m, p, len(body), r[:200]))
alive("every path with every method")
' "paths and methods"
pass "every path with every method, with and without a body: a 2xx or 4xx each"

# ---- malformed HTTP/1.1: a 4xx or a closed connection, never a 5xx or a hang ----
probe '
H = b"Host: x\r\nConnection: close\r\n"
bad = {
    "bad chunk size": b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    "chunked body cut": (b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhel", True),
    "chunked call cut": (b"POST /_sluice/call/hello HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n2\r\n[", True),
    "body cut": (b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 100\r\n\r\nhello", True),
    "call body cut": (b"POST /_sluice/call/hello HTTP/1.1\r\n" + H + b"Content-Length: 100\r\n\r\n[1,", True),
    "negative length": b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: -1\r\n\r\nhello",
    "huge length": b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 99999999999999999999999\r\n\r\nhello",
    "junk length": b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 5x\r\n\r\nhello",
    "gzip, chunked": b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "identity": b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: identity\r\nContent-Length: 5\r\n\r\nhello",
    "HTTP/0.9": b"GET /hello\r\n\r\n",
    "HTTP/2.0 line": b"GET /hello HTTP/2.0\r\n\r\n",
    "NUL in path": b"GET /hel\x00lo HTTP/1.1\r\n" + H + b"\r\n",
    "NUL in header": b"GET /hello HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n",
    "header without colon": b"GET /hello HTTP/1.1\r\n" + H + b"X-A\r\n\r\n",
    "space before colon": b"GET /hello HTTP/1.1\r\n" + H + b"X-A : b\r\n\r\n",
    "empty header name": b"GET /hello HTTP/1.1\r\n" + H + b": b\r\n\r\n",
    "TLS hello": b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 100,
    "bad h2 preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00" * 50,
    "blank lines": (b"\r\n\r\n\r\n", True),
    "nothing": (b"", True),
}
for name, v in bad.items():
    data, shut = v if isinstance(v, tuple) else (v, False)
    r = raw(data, shut=shut)
    st = statuses(r)
    check(b"<TIMEOUT>" not in r, "%s: no answer, no close" % name)
    check(not st or 400 <= st[0] < 500, "%s: %r" % (name, r[:200]))
    alive(name)
odd = {  # accepted, and answered sensibly
    "%68ello": (b"GET /%68ello HTTP/1.1\r\n" + H + b"\r\n", 200),
    "dot segments": (b"GET /x/../../hello HTTP/1.1\r\n" + H + b"\r\n", 200),
    "bad %-escape": (b"GET /hel%zzlo HTTP/1.1\r\n" + H + b"\r\n", 404),
    "%00": (b"GET /hello%00 HTTP/1.1\r\n" + H + b"\r\n", 404),
    "non-UTF-8 path": (b"GET /\xff\xfe HTTP/1.1\r\n" + H + b"\r\n", 404),
    "300 KB path": (b"GET /" + b"a" * 300000 + b" HTTP/1.1\r\n" + H + b"\r\n", 404),
    "200 KB query": (b"GET /hello?" + b"a=b&" * 50000 + b" HTTP/1.1\r\n" + H + b"\r\n", 200),
    "HTTP/1.0": (b"GET /hello HTTP/1.0\r\n\r\n", 200),
    "LF line ends": (b"GET /hello HTTP/1.1\nHost: x\nConnection: close\n\n", 200),
    "no Host": (b"GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n", 200),
    "two Hosts": (b"GET /hello HTTP/1.1\r\n" + H + b"Host: y\r\n\r\n", 200),
    "folded header": (b"GET /hello HTTP/1.1\r\n" + H + b"X-A: b\r\n c\r\n\r\n", 200),
    "Upgrade: h2c": (b"GET /hello HTTP/1.1\r\n" + H + b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n", 200),
    "Expect: 100-continue": (b"POST /echo HTTP/1.1\r\n" + H + b"Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello", 200),
    "chunked body": (b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 200),
    "chunked call": (b"POST /_sluice/call/hello HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n2\r\n[]\r\n0\r\n\r\n", 200),
    "failing function": (b"GET /fail_early HTTP/1.1\r\n" + H + b"\r\n", 500),
    "crashing function": (b"GET /crash HTTP/1.1\r\n" + H + b"\r\n", 500),
}
for name, (data, want) in odd.items():
    r = raw(data)
    st = [s for s in statuses(r) if s != 100]
    check(st and st[0] == want, "%s: want %d: %r" % (name, want, r[:300]))
    alive(name)
' "malformed requests"
pass "malformed HTTP/1.1 requests: a 4xx or a close; odd but valid ones answered"

# ---- keep-alive after errors: every answer, in order, on one connection ----
probe '
K = b"Host: x\r\n"
reqs = [b"GET /nope HTTP/1.1\r\n" + K + b"\r\n",
        b"POST /hello HTTP/1.1\r\n" + K + b"Content-Length: 3\r\n\r\nabc",
        b"GET /_sluice/call/hello HTTP/1.1\r\n" + K + b"Content-Length: 3\r\n\r\nabc",
        b"POST /_sluice/call/hello HTTP/1.1\r\n" + K + b"Content-Length: 3\r\n\r\nabc",
        b"POST /_sluice/call/nope HTTP/1.1\r\n" + K + b"Content-Length: 2\r\n\r\n[]",
        b"GET /hello HTTP/1.1\r\n" + K + b"X-Big: " + b"a" * 40000 + b"\r\n\r\n",
        b"GET /_sluice/result/zz HTTP/1.1\r\n" + K + b"\r\n",
        b"GET /fail_early HTTP/1.1\r\n" + K + b"\r\n",
        b"GET /crash HTTP/1.1\r\n" + K + b"\r\n",
        b"POST /_sluice/spawn/hello HTTP/1.1\r\n" + K + b"Content-Length: 2\r\n\r\n[]",
        b"GET /_sluice/health HTTP/1.1\r\n" + K + b"\r\n",
        b"GET /_sluice/status HTTP/1.1\r\n" + K + b"\r\n",
        b"POST /echo HTTP/1.1\r\n" + K + b"Content-Length: 3\r\n\r\nabc",
        b"GET /hello HTTP/1.1\r\n" + K + b"Connection: close\r\n\r\n"]
r = raw(b"".join(reqs))
check(statuses(r) == [404, 405, 405, 400, 404, 431, 404, 500, 500, 202, 200, 200, 200, 200],
      "pipelined answers: %r" % statuses(r))
check(r.endswith(b"hello\n"), "the last answer: %r" % r[-100:])
' "keep-alive after errors"
pass "14 pipelined requests, most of them refused or failing: every answer, in order"

# ---- what a client sends while its last request is being answered ----
# (the server reads on while h2o answers, into a buffer of its own up to
# 16 KiB, then stops: src/server/conn.c)
probe '
def bodies(r):
    """The bodies of consecutive Content-Length answers."""
    out = []
    while r:
        head, sep, rest = r.partition(b"\r\n\r\n")
        m = re.search(rb"(?i)\r\ncontent-length: (\d+)", head)
        check(sep and m and head.startswith(b"HTTP/1.1 200"), "not a 200 with a length: %r" % r[:200])
        n = int(m.group(1))
        out.append(rest[:n])
        r = rest[n:]
    return out
def post(i, last=False):
    body = b"body %d " % i + b"x" * 200
    return (b"POST /echo HTTP/1.1\r\nHost: x\r\n" + (b"Connection: close\r\n" if last else b"") +
            b"Content-Length: %d\r\n\r\n" % len(body) + body)
reqs = [post(i, i == 299) for i in range(300)]
check(sum(map(len, reqs)) > 3 * 16384, "the requests are meant to be more than the server buffers")
got = bodies(raw(b"".join(reqs)))
check([b.split(b" ")[1] for b in got] == [b"%d" % i for i in range(300)],
      "300 pipelined POSTs: %d answers, first %r" % (len(got), got[:2]))
# requests cut anywhere, the pieces apart in time
s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
data = b"".join(post(i, i == 2) for i in range(3))
for cut in (0, 70, len(post(0)) + 5, len(post(0)) + 140, len(data)):
    s.sendall(data[:cut])
    data = data[cut:]
    time.sleep(0.2)
s.sendall(data)
r = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    r += b
got = bodies(r)
check([b.split(b" ")[1] for b in got] == [b"0", b"1", b"2"], "requests sent in pieces: %r" % got)
# a client that half-closes after its request still gets the whole answer
r = raw(post(7), shut=True)
check(bodies(r) == [b"body 7 " + b"x" * 200], "a request, then EOF: %r" % r[:300])
alive("pipelined and trickled requests")
# a request and a reset at once: the server reads the request, starts
# answering, then finds the hang-up (this once crashed it)
for i in range(300):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.sendall(post(i))
    s.close()
alive("300 requests, each followed at once by a reset")
' "reading on while answering"
pass "300 pipelined POSTs (past the server's 16 KiB read-ahead), requests in pieces, a request then EOF: every answer, in order"

# ---- the call API: bad bodies are 400s with a reason, bad ids 404s ----
probe '
def call(fn, body, accept=None, path="call"):
    req = b"POST /_sluice/%s/%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n" % (path.encode(), fn, len(body))
    if accept:
        req += b"Accept: " + accept + b"\r\n"
    return raw(req + b"\r\n" + body)
bodies = [b" ", b"null", b"{}", b"\"x\"", b"1", b"[] []", b"[", b"[\"\xff\"]", b"[\"\\u0000\"]", b"[\"a\x00b\"]",
          b"[99999999999999999999]", b"[18446744073709551615]", b"[1e309]", b"[NaN]", b"[Infinity]",
          b"[\"\\ud800\"]", b"\xef\xbb\xbf[]", b"[" * 33 + b"]" * 33, b"[" * 100000 + b"]" * 100000,
          b"[" + b"{\"a\":[" * 20 + b"]}" * 20 + b"]"]
for b in bodies:
    for path in ("call", "spawn"):
        r = call(b"hello", b, path=path)
        h, body = head_body(r)
        check(statuses(r) == [400] and b"\"error\":" in body, "%s %r: %r" % (path, b[:40], r[:300]))
ok = [b"", b"[]", b"[true,false,null]", b"[-9223372036854775808, 9223372036854775807]", b"[-0.0, 1E-400]",
      b"[{\"a\":1,\"a\":2}]", b"[" * 32 + b"]" * 32, b"[" + b",".join([b"1"] * 100000) + b"]"]
for b in ok:
    for accept in (None, b"application/x-ndjson", b"text/event-stream", b"x" * 5000):
        r = call(b"hello", b, accept)
        check(statuses(r) == [200] and b"hello" in r, "%r (Accept %r): %r" % (b[:40], (accept or b"")[:20], r[:300]))
for fn in (b"nope", b"\xff\xfe", b"a" * 100000, b"%", b"hello/x"):
    check(statuses(call(fn, b"[]")) == [404], "unknown function %r" % fn[:20])
for i in ["0", "00000000", "0000000", "000000000", "FFFFFFFF", "0000000g", "00000001/", "00000001/x", "0x000001",
          "-0000001", "%200000001", "0000000%01", "a" * 8000]:
    r = raw(("GET /_sluice/result/%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % i).encode())
    check(statuses(r) == [404], "result id %r: %r" % (i[:20], r[:200]))
alive("the call API probes")
' "call API"
pass "the call API: malformed bodies 400, valid odd ones 200 in every format, unknown functions and ids 404"

# ---- HTTP/2: odd frames, reset streams, many streams ----
probe '
ES, EH = END_STREAM, END_HEADERS
cases = {
    "reset event stream": frame(1, ES | EH, 1, h2_headers("GET", "/events")) + frame(3, 0, 1, RST_CANCEL),
    "reset call": frame(1, EH, 1, h2_headers("POST", "/_sluice/call/events", [("accept", "text/event-stream")])) +
        frame(0, ES, 1, b"[]") + frame(3, 0, 1, RST_CANCEL),
    "reset mid-body": frame(1, EH, 1, h2_headers("POST", "/_sluice/call/hello")) + frame(0, 0, 1, b"[1,") +
        frame(3, 0, 1, RST_CANCEL),
    "content-length above the body": frame(1, EH, 1, h2_headers("POST", "/echo", [("content-length", "10")])) +
        frame(0, ES, 1, b"abc"),
    "content-length below the body": frame(1, EH, 1, h2_headers("POST", "/echo", [("content-length", "1")])) +
        frame(0, ES, 1, b"abc"),
    "no :path": frame(1, ES | EH, 1, lit(":method", "GET") + lit(":scheme", "http") + lit(":authority", "x")),
    "empty :path": frame(1, ES | EH, 1, h2_headers("GET", "")),
    ":path *": frame(1, ES | EH, 1, h2_headers("OPTIONS", "*")),
    "NUL in :path": frame(1, ES | EH, 1, h2_headers("GET", "/hel\x00lo")),
    "upper-case header": frame(1, ES | EH, 1, h2_headers("GET", "/hello", [("X-Up", "1")])),
    "connection header": frame(1, ES | EH, 1, h2_headers("GET", "/hello", [("connection", "close")])),
    "CR LF in a value": frame(1, ES | EH, 1, h2_headers("GET", "/hello", [("x-a", "a\r\nb")])),
    "pseudo header after": frame(1, ES | EH, 1, h2_headers("GET", "/hello", [(":foo", "b")])),
    "DATA on a closed stream": frame(1, ES | EH, 1, h2_headers("GET", "/hello")) + frame(0, ES, 1, b"x"),
    "trailers on a call": frame(1, EH, 1, h2_headers("POST", "/_sluice/call/hello")) + frame(0, 0, 1, b"[]") +
        frame(1, ES | EH, 1, lit("x-t", "1")),
    "spawn, reset": frame(1, EH, 1, h2_headers("POST", "/_sluice/spawn/hello")) + frame(0, ES, 1, b"[]") +
        frame(3, 0, 1, RST_CANCEL),
    "health, reset": frame(1, ES | EH, 1, h2_headers("GET", "/_sluice/health")) + frame(3, 0, 1, RST_CANCEL),
    "zero window, endless output": frame(4, 0, 0, b"\x00\x04\x00\x00\x00\x00") + frame(1, ES | EH, 1, h2_headers("GET", "/big")),
    "GOAWAY mid-stream": frame(1, ES | EH, 1, h2_headers("GET", "/events")) + frame(7, 0, 0, b"\x00" * 8),
}
paths = ["/hello", "/events", "/big", "/fail_late", "/_sluice/health", "/_sluice/status", "/crash", "/any"]
cases["100 streams"] = b"".join(frame(1, ES | EH, 2 * i + 1, h2_headers("GET", paths[i % 8])) for i in range(100))
cases["100 streams, each reset"] = b"".join(frame(1, ES | EH, 2 * i + 1, h2_headers("GET", paths[i % 8])) +
                                           frame(3, 0, 2 * i + 1, RST_CANCEL) for i in range(100))
for name, data in cases.items():
    h2(data, 0.2)
    alive("HTTP/2: " + name)
' "HTTP/2"
pass "HTTP/2: reset streams, bad pseudo-headers, length mismatches, zero windows, 100 streams"

# ---- clients vanishing mid-stream, on every kind of endpoint ----
probe '
import random, threading
reqs = []
for fn in [b"events", b"big", b"fail_late", b"crash", b"hello", b"any", b"any_events"]:
    reqs.append(b"GET /%s HTTP/1.1\r\nHost: x\r\n\r\n" % fn)
    for accept in [b"text/event-stream", b"application/x-ndjson", b"application/json"]:
        reqs.append(b"POST /_sluice/call/%s HTTP/1.1\r\nHost: x\r\nAccept: %s\r\nContent-Length: 2\r\n\r\n[]" % (fn, accept))
reqs.append(b"POST /_sluice/call/hello HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n[1,")
reqs.append(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
def client(i):
    r = random.Random(i)
    try:
        s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
        if r.random() < 0.5:  # a reset instead of a FIN
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.sendall(r.choice(reqs))
        time.sleep(r.random() * 0.5)
        if r.random() < 0.5:
            s.settimeout(1)  # a cut body is not answered: the server waits for the rest
            s.recv(r.choice([1, 100, 10000]))
        s.close()
    except OSError:
        pass
threads = [threading.Thread(target=client, args=(i,)) for i in range(150)]
for i, t in enumerate(threads):
    t.start()
    if i % 30 == 29:
        time.sleep(0.2)
for t in threads:
    t.join()
alive("150 clients that left mid-stream")
' "clients leaving mid-stream"
open_streams() { [ "$(curl -sf "$BASE/_sluice/status" | $PY -c 'import json,sys; print(json.load(sys.stdin)["open_streams"])')" = 0 ]; }
wait_for 30 "every abandoned stream freed" open_streams
pass "150 clients leaving mid-stream (FIN or RST, read or not): the server lives on and frees every stream"

# ---- HEAD: headers only, whoever answers (a body after them is read as the
# next response by an HTTP/1.1 client, and is a protocol error over HTTP/2) ----
probe '
K = b"Host: x\r\n"
heads = [b"/_sluice/health", b"/_sluice/status", b"/_sluice/result/00000000", b"/nope", b"/hello", b"/any", b"/any_events"]
r = raw(b"".join(b"HEAD %s HTTP/1.1\r\n%s\r\n" % (p, K) for p in heads) + b"GET /hello HTTP/1.1\r\n" + K + b"Connection: close\r\n\r\n")
check(statuses(r) == [200, 200, 404, 404, 200, 200, 200, 200], "HEAD answers: %r" % statuses(r))
for part in r.split(b"\r\n\r\n")[1:-1]:
    check(part.startswith(b"HTTP/1.1 "), "a body after a HEAD answer: %r" % part[:80])
check(r.endswith(b"\r\n\r\nhello\n"), "the GET after the HEADs: %r" % r[-80:])
for p in heads:
    got = h2(frame(1, END_STREAM | END_HEADERS, 1, h2_headers("HEAD", p.decode())), 0.3)
    data = [f for f in got if f[0] == 0 and f[2] == 1 and f[3]]
    check(not data, "HTTP/2 HEAD %s: %d bytes of DATA" % (p.decode(), sum(len(f[3]) for f in data)))
alive("HEAD requests")
' "HEAD"
pass "HEAD on the server paths, on GET endpoints and on endpoints taking any method: headers only, over HTTP/1.1 and HTTP/2"

# ---- the call API's errors: one JSON document, labelled as JSON once ----
probe '
def check_error(r, status, what):
    h, body = head_body(r)
    types = [l for l in h.lower().split(b"\r\n") if l.startswith(b"content-type:")]
    check(statuses(r) == [status], "%s: %r" % (what, r[:200]))
    check(types == [b"content-type: application/json"], "%s: content types %r" % (what, types))
    try:
        doc = json.loads(body)
    except ValueError:
        check(False, "%s: the body is not JSON: %r" % (what, body[:100]))
    check("error" in doc, "%s: %r" % (what, doc))
C = b"Host: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
check_error(raw(b"POST /_sluice/call/nope HTTP/1.1\r\n" + C % (2, b"[]")), 404, "an unknown function")
check_error(raw(b"POST /_sluice/call/\xff\xfe HTTP/1.1\r\n" + C % (2, b"[]")), 404, "a non-UTF-8 name")
check_error(raw(b"GET /_sluice/call/hello HTTP/1.1\r\n" + C % (0, b"")), 405, "GET")
check_error(raw(b"POST /_sluice/spawn/hello HTTP/1.1\r\n" + C % (1, b"[")), 400, "bad JSON")
check_error(raw(b"POST /_sluice/call/crash HTTP/1.1\r\n" + C % (2, b"[]")), 500, "a crash before any output")
check_error(raw(b"POST /_sluice/call/fail_early HTTP/1.1\r\nAccept: text/event-stream\r\n" + C % (2, b"[]")), 500,
            "a failure before any output")
' "call API errors"
pass "the call API's errors: a JSON body with one content type, application/json"

# ---- the call API calls the function named, not a prefix of it ----
probe '
for name in [b"hello%00", b"hello%00x", b"hello%00%00"]:
    for path in (b"call", b"spawn"):
        r = raw(b"POST /_sluice/%s/%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\n[]" % (path, name))
        check(statuses(r) == [404], "%s/%s: %r" % (path.decode(), name.decode(), r[-100:]))
' "function names with NUL"
pass "a function name with a NUL byte (%00) is no function, not the name before the NUL"

# ---- call API arguments within the body limit but past the frame bound as
# msgpack (a JSON real takes 4 bytes as "1e1," and 9 as msgpack): the
# client's error, a 413 with the reason, not a 500 (nor a 202 then a 500) ----
probe '
n = 17 * 1024 * 1024 // 9 + 1000
body = b"[" + b",".join([b"1e1"] * n) + b"]"
for path in (b"call", b"spawn"):
    r = raw(b"POST /_sluice/%s/hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % (path, len(body)) + body, timeout=60)
    check(statuses(r) == [413] and b"msgpack" in r, "%s: %d KB of JSON reals: %r" % (path.decode(), len(body) // 1000, r[-200:]))
alive("arguments too large as msgpack")
' "arguments too large as msgpack"
pass "call API arguments past the frame bound once encoded: 413 with the reason"

# ---- a spawned call's id stays its own while its result is kept (10 min):
# call ids recycle a slot's 12-bit generation after 4,095 calls, and a
# new spawn that drew a kept result's id was answered with the old result
# (and its own result record never ended) ----
probe '
sock = socket.create_connection(("127.0.0.1", PORT), timeout=30)
def ask(req):
    sock.sendall(req)
    buf = b""
    while True:
        b = sock.recv(65536)
        check(b, "the connection closed")
        buf += b
        head, sep, rest = buf.partition(b"\r\n\r\n")
        m = re.search(rb"(?i)content-length: (\d+)", head)
        if sep and m and len(rest) >= int(m.group(1)):
            return int(head.split()[1]), rest[:int(m.group(1))]
def spawn(fn):
    st, body = ask(b"POST /_sluice/spawn/%s HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n[]" % fn)
    check(st == 202, "spawn %s: %d %r" % (fn.decode(), st, body))
    return json.loads(body)["call_id"]
def result(i):
    return ask(b"GET /_sluice/result/%s HTTP/1.1\r\nHost: x\r\n\r\n" % i.encode())
first = spawn(b"fail_early")
for _ in range(100):
    if result(first)[0] != 202:
        break
    time.sleep(0.05)
check(result(first)[0] == 500, "the first spawned call: %r" % (result(first),))
for _ in range(4094):  # each takes the slot the last one freed, one generation on
    ask(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
later = [spawn(b"lines") for _ in range(3)]
check(first not in later, "a new spawned call got the id %s of a kept result" % first)
st, body = result(first)
check(st == 500 and b"bad input" in body, "the first result after 4,097 calls: %d %r" % (st, body))
for i in later:  # its own call: still running, or its own result (lines is quick)
    st, body = result(i)
    check(st == 202 or (st == 200 and b"done" in body), "a new spawned call: %d %r" % (st, body))
' "spawned call ids"
pass "a spawned call's id still gives its own result after 4,097 more calls; new spawns get new ids"

# ---- call API over SSE: an event's data is the output, line breaks at its
# end included (SSE has no CR in data: a CR or CR LF arrives as an LF) ----
probe '
def sse_events(text):
    """The events of an SSE stream, as a browser reads them: (event, data)."""
    events, name, data = [], None, None
    for line in re.split(r"\r\n|\r|\n", text):
        if line == "":
            if data is not None:
                events.append((name, "\n".join(data)))
            name, data = None, None
        elif line.startswith("data:"):
            data = (data or []) + [line[5:][1:] if line[5:6] == " " else line[5:]]
        elif line.startswith("event:"):
            name = line[6:].strip()
    return events
r = raw(b"POST /_sluice/call/lines HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept: text/event-stream\r\nContent-Length: 2\r\n\r\n[]")
h, body = head_body(r)
check(statuses(r) == [200], "SSE call: %r" % r[:200])
m = re.search(rb"(?i)content-length: (\d+)", h)
text = body[:int(m.group(1))] if m else dechunk(body)
want = [(None, "a\n\n"), (None, "\nb\nc\nd"), (None, "\n"), ("return", "done\n")]
check(sse_events(text.decode()) == want, "SSE events %r, not %r" % (sse_events(text.decode()), want))
' "SSE data"
pass "call API over SSE: each event's data is its output, line breaks at the ends included"

# ---- a 405 says what the resource allows (RFC 9110: it must) ----
probe '
for req, allow in [(b"POST /hello", b"GET"), (b"DELETE /hello", b"GET"), (b"GET /echo", b"POST"),
                   (b"GET /_sluice/call/hello", b"POST"), (b"PUT /_sluice/spawn/hello", b"POST")]:
    r = raw(req + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    h, _ = head_body(r)
    check(statuses(r) == [405] and re.search(rb"(?mi)^allow: " + allow + rb"\r?$", h), "%s: %r" % (req.decode(), h))
' "Allow"
pass "a 405 names the method allowed in an Allow header"

# ---- HTTP/2 clients that stop reading with 20 streams open: the write
# deadline shuts each connection down under all its streams at once ----
probe '
import threading
ES, EH = END_STREAM, END_HEADERS
def client(k):
    data = frame(4, 0, 0, b"\x00\x04\x00\x00\x10\x00")  # a 4 KiB window, never updated
    paths = ["/big", "/events", "/hello", "/fail_late", "/any_events", "/_sluice/call/lines", "/_sluice/call/events"]
    for i in range(20):
        p, sid = paths[(i + k) % len(paths)], 2 * i + 1
        if p.startswith("/_sluice"):
            accept = ["text/event-stream", "application/x-ndjson", "application/json"][i % 3]
            data += frame(1, EH, sid, h2_headers("POST", p, [("accept", accept)])) + frame(0, ES, sid, b"[]")
        else:
            data += frame(1, ES | EH, sid, h2_headers("GET", p))
    h2(data, 5.0)
threads = [threading.Thread(target=client, args=(k,)) for k in range(10)]
for t in threads:
    t.start()
for t in threads:
    t.join()
alive("HTTP/2 clients dropped for not reading")
' "HTTP/2 slow readers"
wait_for 30 "every dropped stream freed" open_streams
pass "10 HTTP/2 clients that stop reading with 20 streams each: dropped at the write deadline, every stream freed"

# ---- HTTP/2: a client that stops reading one stream, and reads the
# others: at the write deadline that stream alone is reset (RST_STREAM);
# the connection and its other streams go on ----
dropped() { grep -c 'big cancelled: client read nothing for 3 s' "$TMP/server.err" || true; }
n0=$(dropped)
probe '
s = socket.create_connection(("127.0.0.1", PORT), timeout=20)
# a connection window of 1 GiB, so the stalled stream (65,535 bytes of
# stream window, never updated) cannot close it for the others
s.sendall(H2_PREFACE + frame(8, 0, 0, struct.pack(">I", 1 << 30)) +
          frame(1, END_STREAM | END_HEADERS, 1, h2_headers("GET", "/big")) +
          frame(1, END_STREAM | END_HEADERS, 3, h2_headers("GET", "/events")))
buf, reset, goaway, before, after = b"", None, False, 0, 0
end = time.time() + 20
while time.time() < end and after < 5:
    b = s.recv(65536)
    if not b:
        break
    frames, buf = h2_split(buf + b)
    for t, _, sid, payload in frames:
        goaway = goaway or t == 7
        if t == 3 and sid == 1:
            reset = payload
        if t == 0 and sid == 3 and payload:
            after, before = (after + 1, before) if reset else (after, before + 1)
s.close()
check(reset == RST_CANCEL, "the stalled stream was not reset with CANCEL: %r" % (reset,))
check(not goaway, "the connection was closed under the other stream (GOAWAY)")
check(before >= 10 and after >= 5, "the other stream: %d events before the reset, %d after" % (before, after))
alive("an HTTP/2 stream reset at the write deadline")
' "HTTP/2 stream reset alone"
[ "$(dropped)" = $((n0 + 1)) ] || fail "no log line for the reset stream ($n0 before, $(dropped) after)"
pass "HTTP/2: a stream its client stops reading is reset alone (RST_STREAM CANCEL) at the write deadline; the connection's other stream goes on"
