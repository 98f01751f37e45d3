"""What the fault tests share: the acknowledged ⊆ recovered oracle and a base class.

The fault tests (injected EIO, a full disk, power loss) share this oracle. Every
write is unique (a fresh transfer id or claim key), so a write is either
acknowledged (`ok` / `won`), refused with an error (`-IOERR`: outcome unknown,
it may or may not be on disk), or unanswered (the server died: unknown too).

After the fault and a restart, `verify` reads back every acknowledged write
(a repeated TRANSFER answers `again` only if it is there; CLAIMOF names the
owner) and retries the unknown ones, so that every transfer id has then been
applied exactly once: the accounts' total must equal the number of ids, which
catches a write applied twice as well as one lost.
"""

import os
import shutil
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402 - found through the line above when run by path
from harness import as_dict

ACCOUNTS = 4
SOURCE = "src"


def account(i):
    return "acct:%d" % i


def setup_accounts(conn):
    """Creates the source (unbounded below) and the destination accounts."""
    commands = [("ACCOUNT", SOURCE, "MIN", "-inf")] + [("ACCOUNT", account(i))
                                                       for i in range(ACCOUNTS)]
    for cmd in commands:
        result = harness.call_dict(conn, *cmd)["result"]
        if result not in ("created", "again"):
            raise AssertionError("%s -> %s" % (cmd, result))


def op_command(op):
    """The command of an op: ("transfer", id, i) or ("claim", key, owner)."""
    if op[0] == "transfer":
        return ("TRANSFER", op[1], SOURCE, account(op[2]), "1")
    return ("CLAIM", op[1], op[2])


ACK_WORDS = {"transfer": "ok", "claim": "won"}


class Outcomes:
    """What the writers saw, shared by them under one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = []        # (op, sent_at, answered_at)
        self.unknown = {}      # ops answered with an error or never answered (dict as a set)
        self.errors = []       # (op, error text, answered_at)
        self.unexpected = []   # (op, reply): a business outcome the workload never causes
        self.settled = []      # unknown ops retried after recovery: applied once by now

    def first_error_at(self):
        """When the first error reply arrived (time.monotonic()), or None."""
        with self.lock:
            return min((t for _, _, t in self.errors), default=None)

    def transfers(self):
        with self.lock:
            ops = [op for op, _, _ in self.acked] + list(self.unknown) + self.settled
            return [op for op in ops if op[0] == "transfer"]


class Writer(threading.Thread):
    """One connection sending unique writes until stopped or cut off: one at a
    time, or `depth` pipelined at once; a claim carries a NOTE of `note_bytes`."""

    def __init__(self, port, outcomes, name, stop_event, limit=None, errors_max=None, depth=1,
                 note_bytes=0):
        super().__init__(daemon=True)
        self.port, self.outcomes, self.name_prefix = port, outcomes, name
        self.stop_event, self.limit, self.errors_max = stop_event, limit, errors_max
        self.depth, self.note = depth, "n" * note_bytes
        self.errors = 0

    def run(self):
        try:
            conn = harness.RawConnection(self.port, timeout=30)
        except OSError:
            return
        seq = 0
        try:
            while not self.stop_event.is_set() and (self.limit is None or seq < self.limit) and \
                    (self.errors_max is None or self.errors < self.errors_max):
                ops = []
                for _ in range(self.depth):
                    seq += 1
                    if seq % 3:
                        ops.append(("transfer", "%s:t%d" % (self.name_prefix, seq), seq % ACCOUNTS))
                    else:
                        ops.append(("claim", "%s:c%d" % (self.name_prefix, seq), self.name_prefix))
                self.send(conn, ops)
        except (OSError, harness.ConnectionClosed, ValueError):
            pass  # the server went away: the ops in flight were recorded as unknown
        finally:
            conn.close()

    def command(self, op):
        cmd = op_command(op)
        return cmd + ("NOTE", self.note) if op[0] == "claim" and self.note else cmd

    def send(self, conn, ops):
        o = self.outcomes
        with o.lock:
            for op in ops:
                o.unknown[op] = None
        sent_at = time.monotonic()
        conn.send(b"".join(harness.encode(*self.command(op)) for op in ops))
        for op in ops:
            reply = conn.read_reply()
            answered_at = time.monotonic()
            with o.lock:
                if isinstance(reply, harness.RespError):
                    o.errors.append((op, str(reply), answered_at))
                    self.errors += 1
                    continue
                result = as_dict(reply)["result"]
                if result == ACK_WORDS[op[0]]:
                    del o.unknown[op]
                    o.acked.append((op, sent_at, answered_at))
                else:
                    o.unexpected.append((op, reply))


class Workload:
    """`writers` Writer threads on one server; start(), then stop() or wait for them.

    Each writer sends at most `limit` ops and stops after `errors_max` error
    replies; `depth` and `note_bytes` go to each Writer.
    """

    def __init__(self, port, writers=4, prefix="w", limit=None, errors_max=None, depth=1,
                 note_bytes=0):
        self.outcomes = Outcomes()
        self.stop_event = threading.Event()
        self.threads = [Writer(port, self.outcomes, "%s%d" % (prefix, i), self.stop_event, limit,
                               errors_max, depth, note_bytes) for i in range(writers)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self, timeout=60):
        self.stop_event.set()
        return self.join(timeout)

    def join(self, timeout=60):
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.1, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self.threads)


class Report:
    """What `verify` found: `lost` must be empty; the rest are figures."""

    def __init__(self):
        self.acked = 0
        self.lost = []             # acknowledged ops not found
        self.unknown = 0           # ops whose outcome was unknown
        self.unknown_applied = 0   # ... of which the server had applied before the fault
        self.total_ok = True       # every transfer id applied exactly once after the retries
        self.total_detail = ""

    def __str__(self):
        return ("acked=%d lost=%d unknown=%d (applied before the fault: %d)%s" %
                (self.acked, len(self.lost), self.unknown, self.unknown_applied,
                 "" if self.total_ok else " total: " + self.total_detail))


def pipeline(conn, commands, chunk=2000):
    """Sends commands in chunks, reading each chunk's replies before the next."""
    replies = []
    for start in range(0, len(commands), chunk):
        part = commands[start:start + chunk]
        conn.send(b"".join(harness.encode(*c) for c in part))
        replies.extend(conn.read_reply() for _ in part)
    return replies


def verify(conn, outcomes_list, retry_unknown=True):
    """Checks acknowledged ⊆ recovered on a healthy server for one or more Outcomes.

    Acknowledged transfers must answer `again` when repeated and acknowledged
    claims must be held by their owner. With `retry_unknown`, unknown ops are
    retried (and kept as settled, so a later verify of the same Outcomes checks
    them again) and the accounts' total must then be the number of transfer ids,
    so pass every Outcomes of the server's whole history.
    """
    if isinstance(outcomes_list, Outcomes):
        outcomes_list = [outcomes_list]
    report = Report()
    acked = [op for o in outcomes_list for op, _, _ in o.acked]
    unknown = [op for o in outcomes_list for op in o.unknown]
    report.acked, report.unknown = len(acked), len(unknown)
    replies = pipeline(conn, [op_command(op) if op[0] == "transfer" else ("CLAIMOF", op[1])
                              for op in acked])
    for op, reply in zip(acked, replies):
        if isinstance(reply, harness.RespError):
            report.lost.append((op, str(reply)))
            continue
        d = as_dict(reply)
        if op[0] == "transfer":
            if d["result"] != "again":
                report.lost.append((op, d["result"]))
        elif (d["result"], d.get("owner")) != ("held", op[2]):
            report.lost.append((op, "%s %s" % (d["result"], d.get("owner"))))
    if not retry_unknown:
        return report
    replies = pipeline(conn, [op_command(op) for op in unknown])
    for op, reply in zip(unknown, replies):
        if isinstance(reply, harness.RespError):
            raise AssertionError("retry of %s after recovery: %s" % (op, reply))
        result = as_dict(reply)["result"]
        if result not in (ACK_WORDS[op[0]], "again"):
            raise AssertionError("retry of %s after recovery: %s" % (op, reply))
        if result == "again":
            report.unknown_applied += 1
    for o in outcomes_list:
        with o.lock:
            o.settled.extend(o.unknown)
            o.unknown = {}
    transfers = {op[1] for o in outcomes_list for op in o.transfers()}
    balances = [as_dict(r)["balance"] for r in
                pipeline(conn, [("BALANCE", account(i)) for i in range(ACCOUNTS)])]
    if sum(balances) != len(transfers):
        report.total_ok = False
        report.total_detail = "accounts hold %d but %d transfer ids were applied once each" % (
            sum(balances), len(transfers))
    return report


class FaultTestCase(unittest.TestCase):
    """A temp dir per test and the servers started in it, stopped by PID at the end.

    Unlike harness.ServerTestCase nothing is started for the test: fault tests
    start their servers under strace, a shim or on a file system of their own.
    The temp dir is kept (and named) when the test fails or EXACTLY_KEEP_TMP=1.
    """

    def setUp(self):
        if not os.path.exists(harness.binary()):
            self.skipTest("server binary not built: %s" % harness.binary())
        self.tmp = tempfile.mkdtemp(prefix="exactly-fault-")
        self.servers = []

    def server(self, data_dir, **kwargs):
        """A harness.Server on `data_dir` (not started), its log beside the dir."""
        kwargs.setdefault("log_path", data_dir.rstrip("/") + ".log")
        s = harness.Server(data_dir, **kwargs)
        self.servers.append(s)
        return s

    def tearDown(self):
        for s in self.servers:
            try:
                s.stop(timeout=10)
            except Exception:  # noqa: BLE001 - teardown must not mask the test's failure
                s.kill()
        if harness.ServerTestCase._failed(self) or os.environ.get("EXACTLY_KEEP_TMP"):
            print("\n[kept %s]" % self.tmp, file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
