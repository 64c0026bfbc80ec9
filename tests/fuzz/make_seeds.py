#!/usr/bin/env python3
"""make_seeds.py - writes the seed corpus tests/fuzz/corpus/<name>/ from the
cases of tests/unit/ and API.md's examples, valid and invalid. Rerun after
editing; files not named seed-* (inputs fuzzing found) are kept as they are.

  tests/fuzz/make_seeds.py"""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

REQUEST = [
    b"1000000 8", b"1000000 8\n", b"1000000 8\r\n", b"  \t10\t 3   split  \n", b"10", b"0",
    b"00042 0001 repeat", b"1099511627776 1024", b"5 1 split", b"",
    b"\n", b" \t \r\n", b"abc", b"-1", b"0x10", b"1e6", b"1099511627777",
    b"18446744073709551616", b"99999999999999999999999999x 1", b"10 0", b"10 1025",
    b"10 2 Split", b"10 2 spli", b"10 2 split extra", b"10\n2", b"10 2\n\n", b"10\r",
    b"10\x00 2", b"7" + b" " * 510 + b"\n", b"7" + b" " * 512,
]

HEAD = [
    b"GET /api/status HTTP/1.1\r\nHost: x\r\n",
    b"GET /api/status HTTP/1.1\r\nHost: x\r\n\r\nBODY",
    b"GET /x HTTP/1.0\n\n",
    b"POST /api/jobs?wait=1&x=2 HTTP/1.1\r\nContent-Length: 12\r\n"
    b"connection: Close\r\nAuthorization: Bearer abc\r\n\r\n",
    b"GET /api/jobs?limit=20&wait=1 HTTP/1.1\r\n\r\n",
    b"GET /api/jobs?limit=123456789012345678&limit=2&=x&& HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\n\r\n",
    b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
    b"\r\n\r\n", b"GET\r\n\r\n", b"GET x HTTP/1.1\r\n\r\n", b"GET / HTTP/1.1 \r\n\r\n",
    b"G\x01T / HTTP/1.1\r\n\r\n", b"GET /a\x7f HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1\r\nNoColon\r\n\r\n", b"GET / HTTP/1.1\r\n: v\r\n\r\n",
    b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
    b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
    b"VERYLONGMETHOD / HTTP/1.1\r\n\r\n", b"GET / HTTP/2.0\r\n\r\n",
    b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    b"POST / HTTP/1.1\r\nContent-Length: 4096\r\n\r\n{\"limit\":1}",
    b"GET / HTTP/1.1\r\nAuthorization: Bearer " + b"t" * 600 + b"\r\n\r\n",
    b"GET /" + b"p" * 300 + b" HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1\r\nX: " + b"a" * 8200,
    b"GET / HTTP/1.1\n\r\n",
]

JOB = [
    b'{"limit":1000000,"tasks":8,"mode":"split"}', b' {"limit": 0 }\n',
    b'{ "limit" : 5 , "tasks" : 8 }', b'{"limit":1099511627776}',
    b'{"mode":"repeat","tasks":1024,"limit":1}',
    b"", b"{", b"[]", b"1", b"{}", b'{"tasks":2}', b'{"limit":-1}', b'{"limit":1.5}',
    b'{"limit":1e3}', b'{"limit":"10"}', b'{"limit":01}', b'{"limit":1099511627777}',
    b'{"limit":99999999999999999999999}', b'{"limit":1,"tasks":0}',
    b'{"limit":1,"tasks":1025}', b'{"limit":1,"mode":"x"}', b'{"limit":1,"foo":1}',
    b'{"limit":1,"limit":2}', b'{"limit":1} x', b'{"limit":[1]}', b'{"limit":true}',
    b'{"limit":5 "tasks":8}', b'{"limit":5,,"tasks":8}', b'{"limit":5,}',
    b'{"limit"::5}', b'{"limit":5}{}', b'{"limit":5,"tasks"}', b'{"limit"\x00:5}',
    b'{"limit":5,"mode":"sp\\u006cit"}',
]

# fuzz_httpresp.c: status (u16), flags (1 close, 2 no-cache, 4 a
# Content-Type, 8 extra lines, 16 a stream, 32 a small buffer, 64 a bad
# length, 128 a small error buffer), buffer size, length (u32), Retry-After;
# then Content-Type NUL extra NUL message.
def resp(status, flags, size, length, retry, ctype=b"", extra=b"", msg=b""):
    return (struct.pack("<HBBIB", status, flags, size, length, retry) + ctype + b"\0" + extra +
            b"\0" + msg)


JSON = b"application/json"
RESP = [
    resp(200, 4 | 8, 0, 5, 0, b"text/plain", b"X-Test: 1\r\n", b"hello"),
    resp(304, 4 | 8, 0, 13, 0, b"text/html", b'ETag: "v1"\r\nCache-Control: no-cache\r\n'),
    resp(200, 1 | 2 | 4 | 16, 0, 0, 0, b"text/event-stream"),
    resp(503, 1 | 4, 0, 60, 1, JSON, b"", b"all 64 connections are in use; retry in a second"),
    resp(408, 1 | 4, 0, 52, 0, JSON, b"", b"the request did not arrive within 10 s"),
    resp(202, 4 | 8, 0, 180, 0, JSON, b"Location: /api/jobs/7\r\n"),
    resp(405, 4 | 8, 0, 30, 0, JSON, b"Allow: GET, POST\r\n", b"method not allowed"),
    resp(401, 4 | 8, 0, 40, 0, JSON, b"WWW-Authenticate: Bearer\r\n", b'a "quoted"\\ \x01 \x7f'),
    resp(200, 4 | 32, 60, 5, 0, b"text/plain"),
    resp(200, 4 | 32, 0, 5, 0, b"text/plain"),
    resp(200, 4 | 8, 0, 1, 0, b"text/plain", b"X-A: 1\r\n\r\nHTTP/1.1 200 OK\r\n"),
    resp(200, 4 | 8, 0, 1, 0, b"text/plain", b"Content-Length: 3\r\n"),
    resp(200, 4 | 8, 0, 1, 0, b"text/plain", b"X-A: a\nb\r\n"),
    resp(200, 4, 0, 1, 0, b"text/plain\r\nX: y"),
    resp(99, 0, 0, 1, 0), resp(600, 0, 0, 1, 0), resp(200, 64, 0, 3, 0),
    resp(200, 4 | 8, 0, 0xffffffff, 255, b"t/\xc3\xa9", b"X-B: \t\xff v\r\nX-C:\r\n"),
    resp(500, 128, 12, 0, 0, b"", b"", b"answer too large"),
    resp(200, 128, 0, 0, 0, b"", b"", b"x"),
]

CMDLINE = [
    b"", b"  ip=10.0.0.2/24,10.0.0.1\tudp_port=7000  quiet token=a=b \n",
    b"udp_port=1 udp_port=2", b"udp_port=", b"udp_port=-1", b"udp_port=0x10",
    b"udp_port=65536", b"udp_port=0", b"udp_port=12a", b"udp_port=99999999999999999999999",
    b"udp_port=18446744073709551615", b"udp_port=18446744073709551616",
    b"k=v " * 37, b"x" * 1100, b"=x = == placement=pack http_port=8080",
    b"test_dead_ap=3 test_log_jobs=1 bench_floor=2 panic_test=ap\r\n",
    b"token=\x00hidden", b"a" * 1022 + b" b",
]

# Op bytes of fuzz_virtq.c: kind | queue << 3 | param << 4.
RX, TX = 0, 8
RET, PUSH, POKE, IDX, FLAGS, POLL, XMIT, RECLAIM = range(8)


def op(kind, q=RX, param=0):
    return bytes([kind | q | param << 4])


def u16(v):
    return struct.pack("<H", v)


# The notify capability after the two ring sizes: window length u16,
# multiplier u32, RX and TX queue_notify_off u16 (QEMU's: 4 KiB, 4, 0, 1).
def notify(cap_len=0x1000, mult=4, noff_rx=0, noff_tx=1):
    return struct.pack("<HIHH", cap_len, mult, noff_rx, noff_tx)


def vq(rx_code, tx_code, *ops, cap=None):
    return bytes([rx_code, tx_code]) + (cap or notify()) + b"".join(ops)


TWICE = 8       # RET's param bit: each used entry written twice
SCRIBBLE = 1    # POKE's param bit: on the descriptor table and avail ring


VIRTQ = [
    vq(3, 2),
    # RX: frames come in and buffers go back, around the ring and more.
    vq(3, 2, *(op(RET, RX, 3) + u16(100) + op(POLL, RX, 7) for _ in range(6))),
    vq(0, 0, *(op(RET, RX, 0) + u16(60) + op(POLL, RX, 0) for _ in range(4))),
    vq(8, 8, op(RET, RX, 7) + u16(1514) + op(POLL, RX, 15) + op(RET, RX, 7) + u16(5)
       + op(POLL, RX, 15)),
    # TX: send, the device completes, reclaim; and a full TX ring.
    vq(2, 2, *(op(XMIT, TX, 5) + op(RET, TX, 0) + u16(0) + op(RECLAIM) for _ in range(6))),
    vq(2, 1, *(op(XMIT, TX, 1) for _ in range(4)), op(RET, TX, 3) + u16(0), op(XMIT, TX, 2)),
    vq(4, 4, *(op(XMIT, TX, 15) for _ in range(12)), op(RET, TX, 7) + u16(0), op(RECLAIM),
       *(op(XMIT, TX, 3) for _ in range(5))),
    # Lies: ids out of range (small and beyond 16 bits), lengths too big or
    # too small, used->idx far ahead, entries written without idx moving.
    vq(3, 3, op(PUSH, RX) + b"\x09" + u16(100), op(POLL, RX, 3)),
    vq(3, 3, op(PUSH, RX) + b"\xff" + struct.pack("<I", 999) + u16(100), op(POLL, RX, 3)),
    vq(3, 3, op(PUSH, RX) + b"\x01" + u16(65535), op(PUSH, RX) + b"\x02" + u16(3),
       op(POLL, RX, 3)),
    vq(3, 3, op(IDX, RX) + u16(0x8000), op(POLL, RX, 15)),
    # ... and ids the device does not hold: TX completions for buffers never
    # sent or completed already (virtq.c refused only ids >= size before).
    vq(3, 3, op(IDX, TX) + u16(0xffff), op(RECLAIM), op(XMIT, TX, 1), op(XMIT, TX, 1)),
    vq(2, 2, op(XMIT, TX, 1), op(PUSH, TX) + b"\x03" + u16(0), op(RECLAIM)),
    vq(2, 2, op(XMIT, TX, 1), op(RET, TX, 0) + u16(0), op(PUSH, TX) + b"\x00" + u16(0),
       op(RECLAIM), op(XMIT, TX, 1), op(XMIT, TX, 1)),
    vq(2, 2, op(POKE, RX) + b"\x01\x03" + u16(80), op(IDX, RX) + u16(2), op(POLL, RX, 3)),
    vq(1, 1, op(FLAGS, RX, 1), op(RET, RX, 1) + u16(70), op(POLL, RX, 1), op(FLAGS, TX, 1),
       op(XMIT, TX, 1)),
    vq(9, 17, op(RET, RX, 0) + u16(20), op(POLL, RX, 0)),
    # Ids returned twice: RX in one batch (the re-post is not published
    # yet), RX across an rx_poll budget, TX after the first was freed, and
    # the device replaying its last entries.
    vq(3, 3, op(RET, RX, TWICE) + u16(100), op(POLL, RX, 7)),
    vq(3, 3, op(RET, RX, TWICE | 3) + u16(100), op(POLL, RX, 0), op(POLL, RX, 0),
       op(POLL, RX, 0), op(RET, RX, 3) + u16(90), op(POLL, RX, 15)),
    vq(2, 2, op(XMIT, TX, 1), op(XMIT, TX, 2), op(RET, TX, TWICE | 1) + u16(0), op(RECLAIM),
       op(XMIT, TX, 3), op(XMIT, TX, 3)),
    vq(3, 3, op(RET, RX, 1) + u16(80), op(PUSH, RX, 2), op(POLL, RX, 7), op(PUSH, RX, 3),
       op(POLL, RX, 7)),
    vq(2, 2, op(XMIT, TX, 1), op(RET, TX, 0) + u16(0), op(PUSH, TX, 1), op(PUSH, TX, 1),
       op(RECLAIM), op(XMIT, TX, 1)),
    # A used index far ahead, then behind, then sane again.
    vq(2, 2, op(IDX, RX) + u16(9), op(POLL, RX, 3), op(IDX, RX) + u16(0xffff),
       op(POLL, RX, 3), op(IDX, RX) + u16(0), op(RET, RX, 3) + u16(70), op(POLL, RX, 3)),
    # Scribbles on the descriptor table and avail ring, then traffic.
    vq(2, 2, op(XMIT, TX, 1), op(POKE, TX, SCRIBBLE) + b"\x00" + u16(0xffff),
       op(POKE, TX, SCRIBBLE) + b"\x01" + u16(0x8003), op(RET, TX, 3) + u16(0), op(RECLAIM),
       *(op(XMIT, TX, 2) for _ in range(5))),
    vq(2, 2, op(POKE, RX, SCRIBBLE) + b"\x02" + u16(0x8001), op(RET, RX, 3) + u16(70),
       op(POLL, RX, 3)),
    # Notify capabilities: the register ending exactly at the window's end
    # (accepted), one byte past it (refused), an offset that 32 bits would
    # wrap into the window (refused), multiplier 0, an empty window.
    vq(2, 2, op(RET, RX, 0) + u16(70), op(POLL, RX, 0), op(XMIT, TX, 1),
       cap=notify(6, 4, 1, 0)),
    vq(2, 2, op(POLL, RX, 0), cap=notify(5, 4, 1, 0)),
    vq(2, 2, op(POLL, RX, 0), cap=notify(0x1000, 0x80000000, 0, 2)),
    vq(2, 2, op(RET, RX, 0) + u16(70), op(POLL, RX, 0), op(XMIT, TX, 1),
       cap=notify(2, 0, 0xffff, 7)),
    vq(2, 2, op(POLL, RX, 0), cap=notify(0, 0, 0, 0)),
]

SETS = {"request": REQUEST, "httphead": HEAD, "httpresp": RESP, "jobreq": JOB,
        "cmdline": CMDLINE, "virtq": VIRTQ}


def main():
    for name, cases in SETS.items():
        d = os.path.join(HERE, "corpus", name)
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            if f.startswith("seed-"):
                os.remove(os.path.join(d, f))
        for i, data in enumerate(cases):
            with open(os.path.join(d, "seed-%02d" % i), "wb") as f:
                f.write(data)
        print("%s: %d seeds" % (name, len(cases)))


if __name__ == "__main__":
    main()
