#!/usr/bin/env python3
"""RSS growth per record, exactly beside Redis, on the same keys and owners.

Run: EXACTLY_BINARY=build/exactly python3 bench/rss_per_record.py [n]
Loads n claims (no TTL, then TTL 1 h) into a fresh exactly and a fresh
redis-server (SET key owner NX [PX 3600000]) through redis-cli --pipe, and
prints the growth of each server's resident size divided by n.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ping(port):
    for _ in range(600):
        r = subprocess.run(["redis-cli", "-p", str(port), "PING"], capture_output=True, text=True)
        if r.stdout.strip() == "PONG":
            return
        time.sleep(0.05)
    raise RuntimeError("server did not answer PING")


def resp(*args):
    out = [f"*{len(args)}\r\n"]
    for a in args:
        out.append(f"${len(a)}\r\n{a}\r\n")
    return "".join(out)


def load(port, commands):
    data = "".join(commands).encode()
    subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=data, check=True,
                   capture_output=True)


def measure(start, make, n):
    work = tempfile.mkdtemp(prefix="rss-")
    port = free_port()
    proc = start(port, work)
    try:
        wait_ping(port)
        time.sleep(0.3)
        before = rss_bytes(proc.pid)
        load(port, (make(i) for i in range(n)))
        time.sleep(0.5)
        after = rss_bytes(proc.pid)
        return (after - before) / n
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(work, ignore_errors=True)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    binary = os.environ.get("EXACTLY_BINARY", "build/exactly")

    def exactly(port, work):
        return subprocess.Popen([binary, "serve", "--dir", work, "--port", str(port), "--fsync",
                                 "no", "--snapshot-every-mb", "0"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def redis(port, work):
        return subprocess.Popen(["redis-server", "--port", str(port), "--dir", work, "--save", "",
                                 "--appendonly", "no"], stdout=subprocess.DEVNULL)

    rows = [
        ("claim, no TTL", exactly, lambda i: resp("CLAIM", f"claim:{i}", "owner-1"),
         redis, lambda i: resp("SET", f"claim:{i}", "owner-1", "NX")),
        ("claim, TTL 1 h", exactly, lambda i: resp("CLAIM", f"claim:{i}", "owner-1", "TTL",
                                                  "3600000"),
         redis, lambda i: resp("SET", f"claim:{i}", "owner-1", "NX", "PX", "3600000")),
    ]
    print(f"RSS growth per record, {n} records (keys claim:0..)")
    print(f"{'record':<16} {'exactly':>8} {'Redis':>8} {'ratio':>6}")
    for name, ex_start, ex_make, rd_start, rd_make in rows:
        ex = measure(ex_start, ex_make, n)
        rd = measure(rd_start, rd_make, n)
        print(f"{name:<16} {ex:8.0f} {rd:8.0f} {ex / rd:6.2f}")


if __name__ == "__main__":
    main()
