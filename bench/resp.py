#!/usr/bin/env python3
"""Tiny pipelined RESP client for bench/run.sh: loads fixtures and checks state.

Reads commands from stdin, one per line, arguments separated by whitespace,
sends them pipelined in chunks and reads every reply. It exists because the
fixtures (10,000 accounts) must load fast and be verified reply by reply, and
`redis-cli --pipe` ends with an ECHO that not every RESP server answers.
Standard library only, so the benchmark needs nothing beyond the Debian packages.

  resp.py --port P [--summary] [--strict] [--print] < commands.txt
"""
import argparse
import collections
import socket
import sys


class RespError(Exception):
    """An error reply (-ERR ...) kept as a value, not raised."""


class Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.pos = 0

    def _fill(self):
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf = self.buf[self.pos:] + chunk
        self.pos = 0

    def _line(self):
        while True:
            end = self.buf.find(b"\r\n", self.pos)
            if end >= 0:
                line = self.buf[self.pos:end]
                self.pos = end + 2
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) - self.pos < n + 2:
            self._fill()
        data = self.buf[self.pos:self.pos + n]
        self.pos += n + 2
        return data

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+",):
            return rest.decode(errors="replace")
        if kind == b"-":
            return RespError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind in (b"$", b"=", b"!"):
            n = int(rest)
            if n < 0:
                return None
            data = self._exact(n).decode(errors="replace")
            if kind == b"!":
                return RespError(data)
            return data
        if kind in (b"*", b"~", b">"):
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        if kind == b"%":
            # A RESP3 map is flattened like its RESP2 form so callers see one shape.
            out = []
            for _ in range(int(rest)):
                out.append(self.reply())
                out.append(self.reply())
            return out
        if kind == b"_":
            return None
        if kind == b",":
            return rest.decode()
        if kind == b"#":
            return rest == b"t"
        if kind == b"(":
            return int(rest)
        raise ValueError(f"unknown RESP type {line!r}")


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def outcome(reply):
    """The outcome word of a reply: `result` field, status string, or a type tag."""
    if isinstance(reply, RespError):
        return "ERROR " + str(reply)
    if isinstance(reply, list):
        if len(reply) >= 2 and reply[0] == "result":
            return str(reply[1])
        return "array"
    if isinstance(reply, int):
        return "integer"
    if reply is None:
        return "nil"
    return str(reply)


def number(reply, field):
    """The integer value of `field` in a field/value reply, or the reply itself if numeric."""
    if isinstance(reply, list):
        for i in range(0, len(reply) - 1, 2):
            if reply[i] == field:
                return int(reply[i + 1])
        raise ValueError(f"no field {field!r} in {reply!r}")
    if isinstance(reply, RespError) or reply is None:
        raise ValueError(f"not a number: {reply!r}")
    return int(reply)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--chunk", type=int, default=512)
    ap.add_argument("--summary", action="store_true", help="count outcome words")
    ap.add_argument("--print", action="store_true", help="print every reply")
    ap.add_argument("--strict", action="store_true", help="exit 1 on any error reply")
    ap.add_argument("--sum", metavar="FIELD",
                    help="print the sum of FIELD over map replies (or of plain numeric replies)")
    opts = ap.parse_args()

    commands = [line.split() for line in sys.stdin if line.strip()]
    sock = socket.create_connection((opts.host, opts.port), timeout=120)
    reader = Reader(sock)
    counts = collections.Counter()
    errors = 0
    total = 0
    for start in range(0, len(commands), opts.chunk):
        chunk = commands[start:start + opts.chunk]
        sock.sendall(b"".join(encode(c) for c in chunk))
        for _ in chunk:
            r = reader.reply()
            word = outcome(r)
            counts[word] += 1
            if isinstance(r, RespError):
                errors += 1
            if opts.sum:
                total += number(r, opts.sum)
            if opts.print:
                print(r if not isinstance(r, RespError) else "(error) " + str(r))
    sock.close()
    if opts.sum:
        print(total)
    if opts.summary:
        print(" ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return 1 if (opts.strict and errors) else 0


if __name__ == "__main__":
    sys.exit(main())
