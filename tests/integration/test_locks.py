"""Locks against the real server: fencing under a pause, FIFO waiters, reentrancy, restarts.

- Fencing: client A is its own process, so it can be frozen with SIGSTOP past
  its 1,000 ms lease while B is granted the lock (a larger token). When A
  resumes, its TRANSFER ... IFLOCK and FENCE answer `stale`, and its write to a
  real PostgreSQL row guarded by `WHERE fence < :token` changes no row.
- FIFO: 20 waiters queued in a known order are granted in that order, one at a
  time as each grantee unlocks; a waiter whose WAIT ran out and one that
  disconnected are skipped.
- Reentrancy (SCENARIOS S4's nested call) is scenarios.py's
  test_s4_nested_lock_by_same_owner, run over RESP and HTTP.
- Restart: tokens after SIGTERM and kill -9 restarts are larger than every
  token handed out before.
See docs/commands.md (Locks).
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402 - found through the line above when run by path
from harness import as_dict

# Client A of the fencing tests: locks, reports its token, "works" for a moment
# (the test freezes it with SIGSTOP meanwhile), then writes with its token.
CLIENT_A = textwrap.dedent("""
    import subprocess, sys, time
    sys.path.insert(0, sys.argv[1])
    import harness
    port, pg_port = int(sys.argv[2]), sys.argv[3]
    c = harness.RawConnection(port, timeout=30)
    d = harness.as_dict(c.call("LOCK", "res", "A", "LEASE", "1000"))
    print("LOCK", d["result"], d["token"], flush=True)
    token = str(d["token"])
    time.sleep(0.5)  # the protected work; SIGSTOP lands here
    t = harness.as_dict(c.call("TRANSFER", "pay-A", "src", "dst", "10", "IFLOCK", "res", token))
    print("TRANSFER", t["result"], flush=True)
    f = harness.as_dict(c.call("FENCE", "res", token))
    print("FENCE", f["result"], flush=True)
    if pg_port != "-":
        sql = ("WITH u AS (UPDATE fenced SET v = 'A', fence = %s WHERE id = 1 AND fence < %s "
               "RETURNING 1) SELECT count(*) FROM u" % (token, token))
        out = subprocess.run([sys.argv[4], "-X", "-q", "-A", "-t", "-h", "127.0.0.1", "-p",
                              pg_port, "-U", "postgres", "-d", "postgres", "-c", sql],
                             stdout=subprocess.PIPE, check=True).stdout.decode().strip()
        print("PGROWS", out, flush=True)
""")


d = harness.call_dict


class FencingTest(harness.ServerTestCase, unittest.TestCase):

    def setUp(self):
        super().setUp()
        self.pg = None
        self.client_a = None

    def tearDown(self):
        if self.client_a is not None and self.client_a.poll() is None:
            try:
                self.client_a.send_signal(signal.SIGCONT)
                self.client_a.kill()
            except ProcessLookupError:
                pass
            self.client_a.wait(10)
        if self.pg is not None:
            self.pg.stop()
        super().tearDown()

    def pause_a_and_let_b_in(self, pg_port="-"):
        """Runs the scenario; returns (A's output lines as {word: value}, B's token, A's token)."""
        script = os.path.join(self.tmp, "client_a.py")
        with open(script, "w") as f:
            f.write(CLIENT_A)
        here = os.path.dirname(os.path.abspath(__file__))
        self.client_a = subprocess.Popen(
            [sys.executable, script, here, str(self.server.port), pg_port,
             os.path.join(harness.PG_BIN, "psql")],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        line = self.client_a.stdout.readline().decode().split()
        self.client_a.send_signal(signal.SIGSTOP)
        stopped_at = time.monotonic()
        self.assertEqual(line[:2], ["LOCK", "acquired"], line)
        token_a = int(line[2])
        # B waits on the server; it is granted when A's lease ends, while A is frozen.
        with self.server.raw() as b:
            rb = d(b, "LOCK", "res", "B", "LEASE", "30000", "WAIT", "5000")
            self.assertEqual(rb["result"], "acquired", rb)
            token_b = int(rb["token"])
            self.assertGreater(token_b, token_a)
            self.assertLess(time.monotonic() - stopped_at, 2.0, "B was granted after A resumed")
            ok = d(b, "TRANSFER", "pay-B", "src", "dst", "5", "IFLOCK", "res", str(token_b))
            self.assertEqual(ok["result"], "ok", ok)
            if pg_port != "-":
                rows = self.pg.psql(
                    "WITH u AS (UPDATE fenced SET v = 'B', fence = %d WHERE id = 1 AND "
                    "fence < %d RETURNING 1) SELECT count(*) FROM u" % (token_b, token_b))
                self.assertEqual(rows, "1")
        time.sleep(max(0.0, 2.0 - (time.monotonic() - stopped_at)))
        self.client_a.send_signal(signal.SIGCONT)
        out, _ = self.client_a.communicate(timeout=30)
        self.assertEqual(self.client_a.returncode, 0, out.decode("utf-8", "replace"))
        words = {}
        for l in out.decode().splitlines():
            parts = l.split()
            words[parts[0]] = parts[1]
        return words, token_b, token_a

    def setup_accounts(self):
        with self.server.raw() as c:
            self.assertEqual(d(c, "ACCOUNT", "src", "MIN", "-inf")["result"], "created")
            self.assertEqual(d(c, "ACCOUNT", "dst")["result"], "created")

    def test_paused_holder_is_fenced_off(self):
        self.setup_accounts()
        words, token_b, _ = self.pause_a_and_let_b_in()
        self.assertEqual(words.get("TRANSFER"), "stale", words)
        self.assertEqual(words.get("FENCE"), "stale", words)
        with self.server.raw() as c:
            # A's transfer changed nothing; B's did; B still holds the lock.
            self.assertEqual(d(c, "BALANCE", "dst")["balance"], 5)
            self.assertEqual(d(c, "FENCE", "res", str(token_b))["result"], "valid")
            again = d(c, "TRANSFER", "pay-A", "src", "dst", "10")
            self.assertEqual(again["result"], "ok", "the stale TRANSFER must not have used its id")

    def test_paused_holder_cannot_overwrite_postgres_row(self):
        if not harness.Postgres.available():
            self.skipTest("PostgreSQL not installed")
        self.pg = harness.Postgres().start()
        self.pg.psql("CREATE TABLE fenced (id int PRIMARY KEY, v text, fence bigint NOT NULL);"
                     "INSERT INTO fenced VALUES (1, 'init', 0)")
        self.setup_accounts()
        words, token_b, _ = self.pause_a_and_let_b_in(pg_port=str(self.pg.port))
        self.assertEqual(words.get("FENCE"), "stale", words)
        self.assertEqual(words.get("PGROWS"), "0", "A's stale write changed a row: %s" % words)
        self.assertEqual(self.pg.psql("SELECT v || ',' || fence FROM fenced WHERE id = 1"),
                         "B,%d" % token_b)


class FifoTest(harness.ServerTestCase, unittest.TestCase):

    N = 20
    EXPIRES = 5       # this waiter's WAIT runs out before the lock frees
    DISCONNECTS = 12  # this waiter closes its connection while queued

    def test_waiters_granted_in_order_skipping_expired_and_gone(self):
        holder = self.server.raw()
        first = d(holder, "LOCK", "q", "holder", "LEASE", "60000")
        self.assertEqual(first["result"], "acquired")
        conns = []
        try:
            for i in range(self.N):
                c = self.server.raw(timeout=15)
                conns.append(c)
                wait = "2500" if i == self.EXPIRES else "10000"
                c.send_command("LOCK", "q", "w%d" % i, "LEASE", "60000", "WAIT", wait)
                self.assertTrue(harness.wait_until(
                    lambda: harness.info_field(self.server, "waiters") == i + 1, timeout=5),
                    "waiter %d was not queued" % i)
            conns[self.DISCONNECTS].close()
            self.assertTrue(harness.wait_until(
                lambda: harness.info_field(self.server, "waiters") == self.N - 1, timeout=5))
            # The short WAIT runs out: `busy`, and it leaves the queue.
            expired = as_dict(conns[self.EXPIRES].read_reply())
            self.assertEqual(expired["result"], "busy", expired)
            self.assertEqual(harness.info_field(self.server, "waiters"), self.N - 2)
            for i, c in enumerate(conns):
                if i not in (self.EXPIRES, self.DISCONNECTS):
                    self.assertFalse(harness.has_pending_reply(c), "waiter %d answered early" % i)

            self.assertEqual(d(holder, "UNLOCK", "q", str(first["token"]))["result"], "released")
            order, last_token = [], int(first["token"])
            for i, c in enumerate(conns):
                if i in (self.EXPIRES, self.DISCONNECTS):
                    continue
                r = as_dict(c.read_reply())
                self.assertEqual(r["result"], "acquired", "waiter %d: %s" % (i, r))
                self.assertGreater(int(r["token"]), last_token)
                last_token = int(r["token"])
                order.append(i)
                # Nobody behind it is granted while it holds the lock.
                for j in range(i + 1, self.N):
                    if j not in (self.EXPIRES, self.DISCONNECTS):
                        self.assertFalse(harness.has_pending_reply(conns[j]),
                                         "waiter %d granted while %d holds the lock" % (j, i))
                holder_now = d(holder, "FENCE", "q", r["token"])
                self.assertEqual(holder_now["result"], "valid")
                rel = d(c, "UNLOCK", "q", r["token"])
                self.assertEqual((rel["result"], int(rel["depth"])), ("released", 0))
            self.assertEqual(order, [i for i in range(self.N)
                                     if i not in (self.EXPIRES, self.DISCONNECTS)])
            # The skipped waiters were never granted: the lock is free now.
            self.assertEqual(harness.info_field(self.server, "waiters"), 0)
            self.assertEqual(d(holder, "LOCK", "q", "late", "LEASE", "1000")["result"], "acquired")
            self.assertFalse(harness.has_pending_reply(conns[self.EXPIRES]))
        finally:
            holder.close()
            for c in conns:
                c.close()


class RestartTokensTest(harness.ServerTestCase, unittest.TestCase):

    def take_tokens(self, round_no):
        tokens = []
        with self.server.raw() as c:
            for i in range(30):
                name = "lk:%d" % (i % 5)
                r = d(c, "LOCK", name, "o%d:%d" % (round_no, i), "LEASE", "30000")
                if r["result"] == "acquired":
                    tokens.append(int(r["token"]))
                    self.assertEqual(d(c, "UNLOCK", name, r["token"])["result"], "released")
            r = d(c, "IDEM", "BEGIN", "ik:%d" % round_no)  # the same token counter
            tokens.append(int(r["token"]))
            held = d(c, "LOCK", "held:%d" % round_no, "keeper", "LEASE", "600000")
            tokens.append(int(held["token"]))
        return tokens

    def test_tokens_grow_across_sigterm_and_kill9(self):
        seen = self.take_tokens(0)
        for round_no, kill in ((1, False), (2, True), (3, True)):
            self.restart(kill=kill)
            new = self.take_tokens(round_no)
            self.assertGreater(min(new), max(seen),
                               "round %d (kill=%s): token went backwards" % (round_no, kill))
            with self.server.raw() as c:
                # Locks held before the restart are still held by their token.
                for r in range(round_no):
                    busy = d(c, "LOCK", "held:%d" % r, "intruder", "LEASE", "1000")
                    self.assertEqual((busy["result"], busy["holder"]), ("busy", "keeper"))
            seen += new


if __name__ == "__main__":
    unittest.main()
