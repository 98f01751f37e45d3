"""Durability order: a write's reply leaves only after its fdatasync returned.

The server runs under strace, which delays every fdatasync (and fsync) by 1.5 s.
A write on connection A must then wait at least ~1.2 s for its reply, while a
read of another, already durable key and a PING on connection B answer at once
(< 0.5 s): replies are held per batch, not by stopping the server. The control
run with `--fsync no` answers the same write at once, which proves the first
assertion can fail. Thresholds are wide behavioural margins, not benchmarks.
"""

import os
import select
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402 - found through the line above when run by path
from harness import as_dict

DELAY_US = 1_500_000
WRITE_MIN_S = 1.2
FAST_S = 0.5


def strace_wrapper(trace_path):
    return ["strace", "-f", "-qq", "-o", trace_path, "-e", "trace=fdatasync,fsync",
            "-e", "inject=fdatasync,fsync:delay_enter=%d" % DELAY_US]


def timed(conn, *args):
    t0 = time.monotonic()
    reply = conn.call(*args)
    return reply, time.monotonic() - t0


@unittest.skipIf(shutil.which("strace") is None, "strace not installed")
class DurabilityOrderTest(harness.ServerTestCase, unittest.TestCase):

    fsync_mode = None  # the default: always

    def setUp(self):
        if not os.path.exists(harness.binary()):
            self.skipTest("server binary not built: %s" % harness.binary())
        self.trace_path = None
        # The base class starts a plain server; replace it by one under strace.
        super().setUp()
        self.server.stop()
        self.trace_path = os.path.join(self.tmp, "strace.out")
        kwargs = {"wrapper": strace_wrapper(self.trace_path)}
        if self.fsync_mode:
            kwargs["fsync"] = self.fsync_mode
        self.server = self.new_server(port=self.server.port, **kwargs).start(timeout=60)

    def synced_calls(self):
        try:
            with open(self.trace_path) as f:
                return sum(1 for line in f if "sync(" in line)
        except OSError:
            return 0

    def prepare(self, a):
        # Accounts created and durable before the measured write.
        # Pipelined, so that group commit may cover them with one (slow) sync.
        cmds = [("ACCOUNT", "dur:src", "MIN", "-inf"), ("ACCOUNT", "dur:dst"),
                ("ACCOUNT", "dur:other"), ("TRANSFER", "dur:fund", "dur:src", "dur:other", "7")]
        a.send(b"".join(harness.encode(*c) for c in cmds))
        results = [as_dict(a.read_reply())["result"] for _ in cmds]
        self.assertEqual(results, ["created", "created", "created", "ok"])

    def check_write_is_held(self, write_args, expected):
        a = self.server.raw(timeout=60)
        b = self.server.raw(timeout=60)
        try:
            self.prepare(a)
            self.assertEqual(b.call("PING"), "PONG")
            syncs_before = self.synced_calls()
            t0 = time.monotonic()
            a.send_command(*write_args)
            time.sleep(0.2)  # the write is in the engine and its sync has begun
            pong, ping_s = timed(b, "PING")
            bal, read_s = timed(b, "BALANCE", "dur:other")
            claimof, claimof_s = timed(b, "CLAIMOF", "dur:unrelated")
            readable, _, _ = select.select([a.sock], [], [], 0)
            a_pending = not readable and not a.buf
            reply = a.read_reply()
            write_s = time.monotonic() - t0
        finally:
            a.close()
            b.close()
        self.assertEqual(pong, "PONG")
        self.assertEqual((as_dict(bal)["result"], as_dict(bal)["balance"]), ("ok", 7))
        self.assertEqual(as_dict(claimof)["result"], "free")
        self.assertEqual(as_dict(reply)["result"], expected, reply)
        self.assertLess(ping_s, FAST_S, "PING on another connection waited for a sync")
        self.assertLess(read_s, FAST_S, "a read of a durable key waited for another key's sync")
        self.assertLess(claimof_s, FAST_S, "CLAIMOF of a free key waited for a sync")
        return write_s, a_pending, syncs_before

    def test_transfer_reply_waits_for_fdatasync(self):
        write_s, a_pending, syncs_before = self.check_write_is_held(
            ("TRANSFER", "dur:t1", "dur:src", "dur:dst", "5"), "ok")
        self.assertTrue(a_pending, "the write's reply arrived before the reads on B")
        self.assertGreaterEqual(
            write_s, WRITE_MIN_S,
            "write answered after %.2fs although fdatasync takes %.1fs (%d syncs seen)" %
            (write_s, DELAY_US / 1e6, self.synced_calls()))
        self.assertGreater(self.synced_calls(), syncs_before)

    def test_claim_reply_waits_for_fdatasync(self):
        write_s, a_pending, _ = self.check_write_is_held(("CLAIM", "dur:k", "me"), "won")
        self.assertTrue(a_pending, "the write's reply arrived before the reads on B")
        self.assertGreaterEqual(write_s, WRITE_MIN_S)


class DurabilityOrderControlTest(DurabilityOrderTest):
    """With --fsync no the same write is answered at once: the thresholds can fail."""

    fsync_mode = "no"

    def test_transfer_reply_waits_for_fdatasync(self):
        write_s, a_pending, _ = self.check_write_is_held(
            ("TRANSFER", "dur:t1", "dur:src", "dur:dst", "5"), "ok")
        self.assertLess(write_s, FAST_S + 0.3, "with --fsync no the write still waited")

    def test_claim_reply_waits_for_fdatasync(self):
        write_s, _, _ = self.check_write_is_held(("CLAIM", "dur:k", "me"), "won")
        self.assertLess(write_s, FAST_S + 0.3, "with --fsync no the write still waited")


if __name__ == "__main__":
    unittest.main()
