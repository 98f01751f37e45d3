#!/usr/bin/env python3
"""Records, not requests: RSS per record and restart time, for bench/run.sh.

  records.py memory  --exactly BIN --resp-load BIN [--records N] --work DIR --out TSV
  records.py restart --exactly BIN --resp-load BIN [--claims N] [--journal-claims J]
                     [--journal-mb M] [--restarts 3] --work DIR --out TSV

memory: for each kind of record, a fresh exactly (--fsync no) and a fresh Redis
(no AOF, no RDB), each loaded with the same N records by bench/resp_load.cc; VmRSS
is read after a PING and again after the load, and the growth divided by N:
  claim      CLAIM c:<n> o1                    | SET c:<n> o1 NX
  claim_ttl  CLAIM c:<n> o1 TTL 3600000        | SET c:<n> o1 NX PX 3600000
  account    ACCOUNT a:<n>                     | SET a:<n> 0
  transfer   TRANSFER t:<n> src dst 1          | EVALSHA bench/redis/transfer.lua
             (one remembered id each)            (its id key, 30-day EX)
<n> counts up from 10^11, so every key has the shape of W1's (12 digits).

restart: exactly (--fsync no, --snapshot-every-mb 0) is loaded with N - J
claims, takes a SNAPSHOT, and is loaded with J more, which stay in the journal.
Loaded in pipelined batches, a claim takes about 20 bytes of journal; with
--journal-mb M the J journal claims carry a NOTE long enough for the journal to
reach about M MiB (the issue's target: 10M claims, 5M of them in 1 GiB of
journal). The server is stopped (SIGTERM) and started again, and the time from
exec to the first PING answered (polled every 2 ms) is measured, --restarts
times. The first and the last claim must answer `again` after the restart.

Each writes one TSV (report.py reads it) and logs to stderr. Standard library only.
"""
import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import time

import procstat
import resp

HERE = os.path.dirname(os.path.abspath(__file__))
KEY_BASE = 10**11
TTL_MS = 3600000

KINDS = {
    "claim": (["CLAIM", "c:__seq__", "o1"], ["SET", "c:__seq__", "o1", "NX"]),
    "claim_ttl": (["CLAIM", "c:__seq__", "o1", "TTL", str(TTL_MS)],
                  ["SET", "c:__seq__", "o1", "NX", "PX", str(TTL_MS)]),
    "account": (["ACCOUNT", "a:__seq__"], ["SET", "a:__seq__", "0"]),
    "transfer": (["TRANSFER", "t:__seq__", "src", "dst", "1"],
                 ["EVALSHA", "{sha}", "3", "t:__seq__", "a:src", "b:dst", "1"]),
}


def log(msg):
    sys.stderr.write(f"[records {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def call(port, *args, timeout=600):
    """One command on a fresh connection; its reply as bench/resp.py parses it."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(resp.encode([str(a) for a in args]))
        return resp.Reader(s).reply()


def info_field(port, section, field):
    for line in call(port, "INFO", section).splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    raise ValueError(f"INFO {section} has no {field}")


def ping_once(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class Server:
    """One server process on a free port, stopped by PID."""

    def __init__(self, argv_of_port, log_path):
        self.port = free_port()
        self.log = open(log_path, "ab")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv_of_port(self.port), stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def wait_ping(self, seconds=600, poll_s=0.002):
        """Seconds from exec to the first PING answered."""
        deadline = self.started + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log.name}")
            if ping_once(self.port):
                return time.monotonic() - self.started
            time.sleep(poll_s)
        raise RuntimeError(f"no PONG in {seconds} s")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def exactly_server(binary, data_dir, log_path):
    os.makedirs(data_dir, exist_ok=True)
    return Server(lambda port: [binary, "serve", "--dir", data_dir, "--port", str(port),
                                "--fsync", "no", "--snapshot-every-mb", "0"], log_path)


def redis_server(data_dir, log_path):
    os.makedirs(data_dir, exist_ok=True)
    return Server(lambda port: ["redis-server", "--bind", "127.0.0.1", "--port", str(port),
                                "--dir", data_dir, "--save", "", "--appendonly", "no"],
                  log_path)


def load(resp_load, port, args, n, start, connections=4, pipeline=128):
    cmd = [resp_load, "--port", str(port), "--connections", str(connections), "--pipeline",
           str(pipeline), "--requests", str(n), "--start", str(start), "--strict", "--"] + args
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"resp_load failed: {out.stdout.strip()} {out.stderr.strip()}")
    return out.stdout.strip()


def memory(opts):
    rows = []
    for kind, (mine, theirs) in KINDS.items():
        for system in ("exactly", "redis"):
            data_dir = os.path.join(opts.work, f"{system}-{kind}")
            log_path = data_dir + ".log"
            if system == "exactly":
                server = exactly_server(opts.exactly, data_dir, log_path)
            else:
                server = redis_server(data_dir, log_path)
            try:
                server.wait_ping(60)
                args = list(mine if system == "exactly" else theirs)
                if kind == "transfer":
                    if system == "exactly":
                        for c in (["ACCOUNT", "src", "MIN", "-inf"], ["ACCOUNT", "dst"]):
                            call(server.port, *c)
                    else:
                        call(server.port, "SET", "a:src", str(10**15))
                        call(server.port, "SET", "b:dst", "0")
                        with open(os.path.join(HERE, "redis", "transfer.lua")) as f:
                            sha = call(server.port, "SCRIPT", "LOAD", f.read())
                        args = [a.replace("{sha}", sha) for a in args]
                time.sleep(0.2)
                before = procstat.rss_bytes(server.proc.pid)
                load(opts.resp_load, server.port, args, opts.records, KEY_BASE)
                time.sleep(0.5)
                after = procstat.rss_bytes(server.proc.pid)
                per = (after - before) / opts.records
                log(f"{kind} {system}: RSS {before / 2**20:.1f} -> {after / 2**20:.1f} MiB, "
                    f"{per:.1f} B per record")
                rows.append((kind, system, opts.records, before, after, f"{per:.1f}",
                             " ".join(args)))
            except (RuntimeError, OSError, ValueError) as e:
                log(f"{kind} {system}: {e}")
                rows.append((kind, system, opts.records, "-", "-", "-", f"failed: {e}"))
            finally:
                server.stop()
    with open(opts.out, "w") as f:
        for r in rows:
            f.write("\t".join(str(x) for x in r) + "\n")


def wait_snapshot(port):
    while info_field(port, "persistence", "snapshot_in_progress") != "0":
        time.sleep(0.1)


def restart(opts):
    data_dir = os.path.join(opts.work, "data")
    claim = ["CLAIM", "c:__seq__", "o1"]
    journal_claims = min(opts.journal_claims, opts.claims)
    snapshot_at = opts.claims - journal_claims
    server = exactly_server(opts.exactly, data_dir, os.path.join(opts.work, "load.log"))
    began = time.monotonic()
    try:
        server.wait_ping(60)
        load(opts.resp_load, server.port, claim, snapshot_at, KEY_BASE)
        call(server.port, "SNAPSHOT")
        time.sleep(0.2)
        wait_snapshot(server.port)
        # The journal's claims, padded with a NOTE when --journal-mb asks for more bytes
        # than they take bare (measured on a first slice of them).
        # Two slices of them measure the journal bytes of a bare claim and what a NOTE adds.
        done = 0
        note_bytes = 0
        slice_claims = min(journal_claims // 2, 10000)
        if opts.journal_mb > 0 and slice_claims > 0:
            seen = 0
            per = []
            for trial in (0, 64):
                op = claim + (["NOTE", "n" * trial] if trial else [])
                load(opts.resp_load, server.port, op, slice_claims, KEY_BASE + snapshot_at + done)
                done += slice_claims
                now = int(info_field(server.port, "persistence", "journal_bytes_since_snapshot"))
                per.append((now - seen) / slice_claims)
                seen = now
            want = (opts.journal_mb * 2**20 - seen) / (journal_claims - done)
            note_bytes = max(0, min(1024, round((want - per[0]) * 64 / (per[1] - per[0]))))
        journal_op = claim + (["NOTE", "n" * note_bytes] if note_bytes else [])
        load(opts.resp_load, server.port, journal_op, journal_claims - done,
             KEY_BASE + snapshot_at + done)
        journal_bytes = int(info_field(server.port, "persistence", "journal_bytes_since_snapshot"))
        log(f"loaded {opts.claims} claims in {time.monotonic() - began:.0f} s: {snapshot_at} "
            f"in the snapshot, {journal_claims} in {journal_bytes / 2**20:.0f} MiB of journal "
            f"(NOTE of {note_bytes} bytes)")
    finally:
        server.stop()
    snapshot_bytes = sum(os.path.getsize(os.path.join(data_dir, n))
                         for n in os.listdir(data_dir) if n.endswith(".snap"))
    times = []
    notes = []
    for i in range(opts.restarts):
        server = exactly_server(opts.exactly, data_dir, os.path.join(opts.work, f"restart{i}.log"))
        try:
            seconds = server.wait_ping(600)
            rss = procstat.rss_bytes(server.proc.pid)
            times.append(seconds)
            # A claim from the snapshot and one from the journal must still be held.
            for seq in sorted({KEY_BASE, KEY_BASE + opts.claims - 1}):
                reply = call(server.port, "CLAIM", f"c:{seq}", "o1")
                if resp.outcome(reply) != "again":
                    notes.append(f"c:{seq} answered {str(reply)[:60]} after the restart")
            log(f"restart {i + 1}: PONG after {seconds:.2f} s, RSS {rss / 2**20:.0f} MiB")
        finally:
            server.stop()
    with open(os.path.join(opts.work, "restart0.log"), errors="replace") as f:
        # The log names the data dir: keep the words, not this machine's path.
        recovery = " ".join(re.sub(r"\(dir [^,)]*,? ?", "(", line.strip())
                            for line in f if "stopped" not in line)[:300]
    with open(opts.out, "w") as f:
        f.write("\t".join(str(x) for x in (
            opts.claims, snapshot_at, journal_claims, snapshot_bytes, journal_bytes, note_bytes,
            " ".join(f"{t:.3f}" for t in times),
            "; ".join(notes) if notes else "check ok: the first and the last claim answer again",
            recovery)) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("part", choices=["memory", "restart"])
    ap.add_argument("--exactly", required=True)
    ap.add_argument("--resp-load", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--records", type=int, default=1000000)
    ap.add_argument("--claims", type=int, default=1000000)
    ap.add_argument("--journal-claims", type=int, default=500000)
    ap.add_argument("--journal-mb", type=float, default=0)
    ap.add_argument("--restarts", type=int, default=3)
    opts = ap.parse_args()
    os.makedirs(opts.work, exist_ok=True)
    if opts.part == "memory":
        memory(opts)
    else:
        restart(opts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
