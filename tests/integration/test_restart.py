"""Restart and recovery: state survives SIGTERM, kill -9 and snapshots; damage is caught.

A torn tail (the last record cut short, as a crash mid-write leaves it) is cut
at start with a message and loses only that unacknowledged record; a flipped
byte in the middle of the journal, with good records after it, refuses to start
and `exactly check` exits non-zero, naming the file and offset. See
docs/journal_format.md for the cases.
"""

import glob
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402 - found through the line above when run by path
from harness import as_dict


def segments(data_dir):
    return sorted(glob.glob(os.path.join(data_dir, "journal-*.log")))


def data_end(path):
    """Bytes of a segment up to its last non-zero byte: segments are created at
    their full size and read as zeros past their data."""
    with open(path, "rb") as f:
        return len(f.read().rstrip(b"\0"))


def snapshots(data_dir):
    return sorted(glob.glob(os.path.join(data_dir, "snapshot-*.snap")))


class RestartTest(harness.ServerTestCase, unittest.TestCase):

    def call(self, *args):
        with self.server.raw() as c:
            return c.call(*args)

    def d(self, *args):
        return as_dict(self.call(*args))

    def write_state(self, prefix):
        """Writes a little of everything; returns the commands whose replies to compare."""
        with self.server.raw() as c:
            def ok(*args, expect):
                r = as_dict(c.call(*args))
                self.assertEqual(r["result"], expect, args)
            ok("ACCOUNT", prefix + "src", "MIN", "-inf", expect="created")
            ok("ACCOUNT", prefix + "a", "MAX", "500", expect="created")
            ok("ACCOUNT", prefix + "b", expect="created")
            ok("TRANSFER", prefix + "t1", prefix + "src", prefix + "a", "300", expect="ok")
            ok("TRANSFER", prefix + "t2", prefix + "a", prefix + "b", "120", expect="ok")
            ok("TRANSFER", prefix + "t3", prefix + "b", prefix + "a", "999", expect="insufficient")
            ok("TRANSFER", prefix + "t4", prefix + "src", prefix + "a", "999", expect="over_max")
            ok("TRANSFER", prefix + "day", prefix + "src", prefix + "b", "25", "PER", "day", "AT",
               "08:00", "TZ", "+08:00", expect="ok")
            ok("CLAIM", prefix + "k1", "alice", expect="won")
            ok("CLAIM", prefix + "k2", "bob", "TTL", "3600000", expect="won")
            ok("CLAIM", prefix + "k3", "carol", "PER", "day", expect="won")
            ok("CLAIM", prefix + "k4", "dave", expect="won")
            ok("UNCLAIM", prefix + "k4", "dave", expect="released")
        reads = [("BALANCE", prefix + k) for k in ("src", "a", "b")]
        reads += [("CLAIMOF", prefix + k) for k in ("k1", "k2", "k3", "k4")]
        reads += [("HISTORY", prefix + "a"), ("CLAIMLOG", prefix + "k4")]
        repeats = [
            (("TRANSFER", prefix + "t1", prefix + "src", prefix + "a", "300"), "again"),
            (("TRANSFER", prefix + "t3", prefix + "b", prefix + "a", "999"), "insufficient"),
            (("TRANSFER", prefix + "t4", prefix + "src", prefix + "a", "999"), "over_max"),
            (("TRANSFER", prefix + "day", prefix + "src", prefix + "b", "25", "PER", "day", "AT",
              "08:00", "TZ", "+08:00"), "again"),
            (("CLAIM", prefix + "k1", "alice"), "again"),
            (("CLAIM", prefix + "k1", "mallory"), "held"),
            (("TRANSFER", prefix + "t1", prefix + "src", prefix + "a", "301"), "id_conflict"),
        ]
        return reads, repeats

    def snapshot_reads(self, reads):
        with self.server.raw() as c:
            return [c.call(*r) for r in reads]

    def tables(self):
        _, fields = harness.parse_info(self.call("INFO"))
        return {k: fields.get(k) for k in ("claims", "accounts", "transfers", "pending_transfers")}

    def verify(self, reads, repeats, before):
        self.assertEqual(self.snapshot_reads(reads), before)
        with self.server.raw() as c:
            for args, expect in repeats:
                self.assertEqual(as_dict(c.call(*args))["result"], expect, args)

    def test_sigterm_restart(self):
        reads, repeats = self.write_state("s:")
        before = self.snapshot_reads(reads)
        tables = self.tables()
        rc = self.server.stop(timeout=15)
        self.assertEqual(rc, 0, "SIGTERM should shut down cleanly:\n" + self.server.log_tail())
        code, out = harness.check(self.data_dir)
        self.assertEqual(code, 0, out)
        self.server = self.new_server(port=self.server.port).start()
        self.assertEqual(self.tables(), tables)
        self.verify(reads, repeats, before)

    def test_shutdown_command(self):
        reads, repeats = self.write_state("sd:")
        before = self.snapshot_reads(reads)
        with self.server.raw() as c:
            reply = c.call("SHUTDOWN")
            self.assertNotIsInstance(reply, harness.RespError)
        self.server.proc.wait(15)
        self.assertEqual(self.server.proc.returncode, 0)
        self.server = self.new_server(port=self.server.port).start()
        self.verify(reads, repeats, before)

    def test_kill9_restart(self):
        reads, repeats = self.write_state("k:")
        before = self.snapshot_reads(reads)
        tables = self.tables()
        self.restart(kill=True)
        self.assertEqual(self.tables(), tables)
        self.verify(reads, repeats, before)
        # Twice: the restarted server's own journal is recoverable too.
        reads2, repeats2 = self.write_state("k2:")
        before2 = self.snapshot_reads(reads2)
        self.restart(kill=True)
        self.verify(reads, repeats, before)
        self.verify(reads2, repeats2, before2)
        code, out = harness.check(self.data_dir)
        self.assertEqual(code, 0, out)

    def wait_snapshot_done(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _, fields = harness.parse_info(self.call("INFO", "persistence"))
            if fields.get("snapshot_in_progress") == "0" and snapshots(self.data_dir):
                return
            time.sleep(0.05)
        self.fail("snapshot did not finish: %s" % os.listdir(self.data_dir))

    def test_snapshot_then_journal(self):
        reads, repeats = self.write_state("p1:")
        reply = self.call("SNAPSHOT")
        self.assertNotIsInstance(reply, harness.RespError, reply)
        self.wait_snapshot_done()
        reads2, repeats2 = self.write_state("p2:")
        # A transfer after the snapshot touching an account from before it.
        self.assertEqual(self.d("TRANSFER", "p2:x", "p1:src", "p2:b", "7")["result"], "ok")
        before = self.snapshot_reads(reads + reads2)
        tables = self.tables()
        self.restart(kill=True)
        self.assertEqual(self.tables(), tables)
        self.verify(reads + reads2, repeats + repeats2, before)
        code, out = harness.check(self.data_dir)
        self.assertEqual(code, 0, out)
        # A second snapshot and a clean restart recover from the snapshot alone.
        self.assertNotIsInstance(self.call("SNAPSHOT"), harness.RespError)
        self.wait_snapshot_done()
        self.restart()
        self.verify(reads + reads2, repeats + repeats2, before)

    def test_expiry_and_pending_across_restart(self):
        with self.server.raw() as c:
            self.assertEqual(as_dict(c.call("CLAIM", "ex:short", "a", "TTL", "800"))["result"],
                             "won")
            self.assertEqual(as_dict(c.call("CLAIM", "ex:long", "b", "TTL", "3600000"))
                             ["result"], "won")
            for args in (("ACCOUNT", "ex:src", "MIN", "-inf"), ("ACCOUNT", "ex:dst")):
                self.assertEqual(as_dict(c.call(*args))["result"], "created")
            r = as_dict(c.call("RESERVE", "ex:r1", "ex:src", "ex:dst", "40", "TIMEOUT", "3600000"))
            self.assertEqual(r["result"], "pending")
            r = as_dict(c.call("RESERVE", "ex:r2", "ex:src", "ex:dst", "5", "TIMEOUT", "800"))
            self.assertEqual(r["result"], "pending")
            long_before = as_dict(c.call("CLAIMOF", "ex:long"))
        self.restart(kill=True)
        time.sleep(1.0)
        with self.server.raw() as c:
            self.assertEqual(as_dict(c.call("CLAIMOF", "ex:short"))["result"], "free")
            self.assertEqual(as_dict(c.call("CLAIMOF", "ex:long")), long_before)
            self.assertEqual(as_dict(c.call("CLAIM", "ex:short", "z"))["result"], "won")
            bal = as_dict(c.call("BALANCE", "ex:src"))
            self.assertEqual((bal["balance"], bal["reserved"]), (0, 40))
            self.assertEqual(as_dict(c.call("COMMIT", "ex:r2"))["result"], "timed_out")
            self.assertEqual(as_dict(c.call("COMMIT", "ex:r1"))["result"], "committed")
            self.assertEqual(as_dict(c.call("BALANCE", "ex:dst"))["balance"], 40)
        self.restart()
        with self.server.raw() as c:
            self.assertEqual(as_dict(c.call("COMMIT", "ex:r1"))["result"], "again")
            self.assertEqual(as_dict(c.call("BALANCE", "ex:dst"))["balance"], 40)
            self.assertEqual(as_dict(c.call("CLAIMOF", "ex:short"))["owner"], "z")

    def sequential_claims(self, n, prefix):
        """n claims, each acknowledged before the next: one journal record each."""
        with self.server.raw() as c:
            for i in range(n):
                self.assertEqual(as_dict(c.call("CLAIM", "%s%d" % (prefix, i), "o%d" % i))
                                 ["result"], "won")

    def test_torn_tail_is_cut(self):
        self.sequential_claims(30, "tt:")
        self.server.kill()
        last = segments(self.data_dir)[-1]
        size = data_end(last)
        self.assertGreater(size, 24, "last segment holds no record")
        with open(last, "r+b") as f:
            f.truncate(size - 3)
        code, out = harness.check(self.data_dir)
        self.assertEqual(code, 0, "a torn tail is not corruption:\n" + out)
        self.assertEqual(os.path.getsize(last), size - 3, "check must not change the dir")
        self.server = self.new_server(port=self.server.port).start()
        log = self.server.log_text()
        self.assertRegex(log, r"(?i)torn|cut", "no message about the cut tail:\n" + log)
        with self.server.raw() as c:
            for i in range(29):
                r = as_dict(c.call("CLAIMOF", "tt:%d" % i))
                self.assertEqual((r["result"], r["owner"]), ("held", "o%d" % i), i)
            # The torn record was the last claim's: never acknowledged as durable, now gone.
            self.assertEqual(as_dict(c.call("CLAIMOF", "tt:29"))["result"], "free")
            self.assertEqual(as_dict(c.call("CLAIM", "tt:new", "x"))["result"], "won")
        self.restart(kill=True)
        self.assertEqual(self.d("CLAIMOF", "tt:new")["result"], "held")
        self.assertEqual(self.d("CLAIMOF", "tt:28")["owner"], "o28")
        code, out = harness.check(self.data_dir)
        self.assertEqual(code, 0, out)

    def test_flipped_byte_refuses_to_start(self):
        self.sequential_claims(100, "fb:")
        self.server.kill()
        seg = max(segments(self.data_dir), key=data_end)
        file_size = os.path.getsize(seg)
        flip_at = data_end(seg) // 2
        with open(seg, "r+b") as f:
            f.seek(flip_at)
            b = f.read(1)
            f.seek(flip_at)
            f.write(bytes([b[0] ^ 0xFF]))
        name = os.path.basename(seg)

        code, out = harness.check(self.data_dir)
        self.assertNotEqual(code, 0, "check accepted a corrupt journal:\n" + out)
        self.assertIn(name, out)
        self.assert_names_offset(out, flip_at)

        s = self.new_server(port=self.server.port)
        with self.assertRaises(harness.ServerError, msg="server started on a corrupt journal"):
            s.start(timeout=20)
        self.assertNotEqual(s.proc.returncode, 0)
        log = s.log_text()
        self.assertIn(name, log)
        self.assert_names_offset(log, flip_at)
        self.assertEqual(os.path.getsize(seg), file_size, "a refused start must not cut anything")

        # The explicit repair tool cuts there; what came before survives.
        p = subprocess.run([harness.binary(), "repair", "--dir", self.data_dir],
                                   stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout.decode(errors="replace"))
        self.server = self.new_server(port=self.server.port).start()
        self.assertEqual(self.d("CLAIMOF", "fb:0")["owner"], "o0")
        held = [self.d("CLAIMOF", "fb:%d" % i)["result"] for i in range(100)]
        first_free = held.index("free") if "free" in held else 100
        self.assertLess(first_free, 100, "records after the corruption cannot all survive")
        self.assertEqual(held[first_free:], ["free"] * (100 - first_free))

    def assert_names_offset(self, text, flip_at):
        numbers = [int(n) for n in re.findall(r"\d+", text)]
        self.assertTrue(any(24 <= n <= flip_at for n in numbers),
                        "no offset <= %d named in:\n%s" % (flip_at, text))


if __name__ == "__main__":
    unittest.main()
