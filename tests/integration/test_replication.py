"""Replicated mode: three real `exactly serve` processes on 127.0.0.1 (docs/replication.md).

Writes go to the leader (a client follows -MOVED and retries -TRYAGAIN and
-CLUSTERDOWN with the same id, as DESIGN.md tells clients to); the leader is
killed with SIGKILL mid-stream; the survivors elect; every acknowledged write must
be on the new leader, none twice; the killed node restarts on its dir and catches
up. A negative control feeds the same checker a write that was never made and
requires it to be reported missing.
"""

import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402 - found through the line above when run by path
from harness import as_dict, RespError


def info(port, section="replication"):
    """INFO `section` of the node on `port` as a dict ({} if it does not answer)."""
    try:
        with harness.RawConnection(port, timeout=2.0) as c:
            text = c.call("INFO", section)
    except (OSError, harness.ConnectionClosed):
        return {}
    if isinstance(text, bytes):
        text = text.decode()
    if not isinstance(text, str):
        return {}
    return harness.parse_info(text)[1]


class Group:
    """Three voters, each with its own data dir, RESP port and raft port."""

    def __init__(self, tmp, n=3):
        self.tmp = tmp
        self.ids = list(range(1, n + 1))
        self.resp = {i: harness.free_port() for i in self.ids}
        self.raft = {i: harness.free_port() for i in self.ids}
        peers = ",".join("%d=127.0.0.1:%d@127.0.0.1:%d" % (i, self.resp[i], self.raft[i])
                         for i in self.ids)
        self.servers = {}
        for i in self.ids:
            args = ["--node-id", str(i), "--raft-bind", "127.0.0.1:%d" % self.raft[i],
                    "--peers", peers]
            self.servers[i] = harness.Server(os.path.join(tmp, "n%d" % i), port=self.resp[i],
                                             extra_args=args,
                                             log_path=os.path.join(tmp, "n%d.log" % i))

    def start(self, i):
        self.servers[i].start()

    def stop_all(self):
        for s in self.servers.values():
            s.kill()

    def leader(self, among=None, timeout=15.0):
        """Id of the node that says it leads and has answered a write, within timeout."""
        deadline = time.monotonic() + timeout
        among = among or self.ids
        while time.monotonic() < deadline:
            for i in among:
                if not self.servers[i].running():
                    continue
                if info(self.resp[i]).get("role") != "leader":
                    continue
                # Ready: the leader answers a data command once its term's barrier applied.
                reply = call_once(self.resp[i], "CLAIMOF", "probe")
                if not isinstance(reply, RespError) and reply is not None:
                    return i
            time.sleep(0.05)
        raise AssertionError("no leader among %s within %.0fs" % (among, timeout))


def call_once(port, *args):
    """One command on a fresh connection; None if the node cannot be reached."""
    try:
        with harness.RawConnection(port, timeout=5.0) as c:
            return c.call(*args)
    except (OSError, harness.ConnectionClosed):
        return None


def call(ports, *args, timeout=20.0):
    """`args` answered by the group: follows -MOVED, retries -TRYAGAIN, -CLUSTERDOWN and
    refused connections with the same arguments (the same id), until a business reply."""
    deadline = time.monotonic() + timeout
    port = ports[0]
    tried = 0
    while time.monotonic() < deadline:
        reply = call_once(port, *args)
        if reply is None or (isinstance(reply, RespError) and
                             str(reply).split(" ")[0] in ("TRYAGAIN", "CLUSTERDOWN")):
            tried += 1
            port = ports[tried % len(ports)]
            time.sleep(0.05)
            continue
        if isinstance(reply, RespError) and str(reply).startswith("MOVED"):
            port = int(str(reply).split(" ")[2].rsplit(":", 1)[1])
            continue
        return reply
    raise AssertionError("no answer to %r within %.0fs" % (args, timeout))


def missing_writes(port, claims, transfers, dst):
    """The checker: every acknowledged CLAIM is held by its owner and every
    acknowledged TRANSFER id is remembered (a retry answers `again`) on the node at
    `port`, and the destination's balance counts each acknowledged transfer once.
    Returns what is missing or wrong (empty when all is well)."""
    problems = []
    for key, owner in claims.items():
        r = as_dict(call([port], "CLAIMOF", key))
        if r.get("result") != "held" or r.get("owner") != owner:
            problems.append("claim %s: %r" % (key, r))
    for tid in transfers:
        r = as_dict(call([port], "TRANSFER", tid, "src", dst, "1"))
        if r.get("result") != "again":
            problems.append("transfer %s: %r" % (tid, r))
    balance = int(as_dict(call([port], "BALANCE", dst)).get("balance", 0))
    if balance != len(transfers):
        problems.append("balance of %s is %d, %d transfers acknowledged" %
                        (dst, balance, len(transfers)))
    return problems


class ReplicationTest(unittest.TestCase):

    def setUp(self):
        if not os.path.exists(harness.binary()):
            self.skipTest("server binary not built: %s" % harness.binary())
        self.tmp = tempfile.mkdtemp(prefix="exactly-repl-")
        self.group = Group(self.tmp)
        for i in self.group.ids:
            self.group.start(i)

    def tearDown(self):
        self.group.stop_all()
        if os.environ.get("EXACTLY_KEEP_TMP") != "1":
            shutil.rmtree(self.tmp, ignore_errors=True)

    def ports(self, among=None):
        return [self.group.resp[i] for i in (among or self.group.ids)
                if self.group.servers[i].running()]

    def test_failover_keeps_every_acknowledged_write(self):
        g = self.group
        leader = g.leader()
        follower = next(i for i in g.ids if i != leader)

        # A follower redirects, naming the leader and the key's slot (CRC16 of "foo"),
        # once it has heard from the leader (a quorum may have answered without it).
        harness.wait_until(lambda: info(g.resp[follower]).get("leader_id") == str(leader),
                           timeout=10)
        moved = call_once(g.resp[follower], "CLAIMOF", "foo")
        self.assertIsInstance(moved, RespError)
        self.assertEqual(str(moved), "MOVED 12182 127.0.0.1:%d" % g.resp[leader])
        r = info(g.resp[leader])
        self.assertEqual(r["role"], "leader")
        self.assertEqual(r["leader_id"], str(leader))
        self.assertEqual(r["leader"], "127.0.0.1:%d" % g.resp[leader])
        for key in ("term", "commit_index", "applied_index"):
            self.assertRegex(r[key], r"^\d+$")
        for i in g.ids:
            self.assertIn("peer%d" % i, r)

        self.assertEqual(as_dict(call(self.ports(), "ACCOUNT", "src", "MIN", "-inf"))["result"],
                         "created")
        self.assertEqual(as_dict(call(self.ports(), "ACCOUNT", "dst"))["result"], "created")
        claims = {}
        for n in range(50):
            r = as_dict(call(self.ports(), "CLAIM", "k%d" % n, "owner%d" % n))
            self.assertEqual(r["result"], "won")
            claims["k%d" % n] = "owner%d" % n

        # A writer keeps transferring through the kill; each id is retried until the
        # group answers ok or again, so at the end every id it sent is acknowledged.
        transfers = []
        stop = threading.Event()
        errors = []

        def writer():
            n = 0
            while not stop.is_set():
                tid = "t%d" % n
                try:
                    r = as_dict(call(self.ports(), "TRANSFER", tid, "src", "dst", "1",
                                     timeout=30.0))
                except AssertionError as e:
                    errors.append(str(e))
                    return
                if r["result"] not in ("ok", "again"):
                    errors.append("%s: %r" % (tid, r))
                    return
                transfers.append(tid)
                n += 1

        thread = threading.Thread(target=writer)
        thread.start()
        time.sleep(1.0)
        before = len(transfers)
        g.servers[leader].kill()
        killed_at = time.monotonic()
        survivors = [i for i in g.ids if i != leader]
        new_leader = g.leader(among=survivors)
        failover_s = time.monotonic() - killed_at
        # Writes resume on the new leader.
        resumed = len(transfers)
        deadline = time.monotonic() + 15
        while len(transfers) < resumed + 20 and time.monotonic() < deadline and not errors:
            time.sleep(0.05)
        stop.set()
        thread.join(60)
        self.assertFalse(errors, errors)
        self.assertGreater(before, 0)
        self.assertGreaterEqual(len(transfers), resumed + 20, "writes did not resume")
        sys.stderr.write("\n  replication: %d transfers acknowledged (%d before the kill), "
                         "new leader %d answered %.2f s after kill -9 of %d\n" %
                         (len(transfers), before, new_leader, failover_s, leader))

        port = g.resp[new_leader]
        self.assertEqual(missing_writes(port, claims, transfers, "dst"), [])

        # Negative control: the same checker reports a write that was never made.
        ghost_claims = dict(claims, ghost="nobody")
        ghost_transfers = transfers + ["never-sent"]
        problems = missing_writes(port, ghost_claims, ghost_transfers, "dst")
        self.assertTrue(any(p.startswith("claim ghost") for p in problems), problems)
        self.assertTrue(any(p.startswith("transfer never-sent") for p in problems), problems)

        # The killed node restarts on its dir and catches up with the group.
        g.start(leader)
        deadline = time.monotonic() + 30
        want = info(g.resp[new_leader], "persistence").get("applied_lsn")
        got = None
        while time.monotonic() < deadline:
            got = info(g.resp[leader], "persistence").get("applied_lsn")
            if got == want:
                break
            time.sleep(0.1)
        self.assertEqual(got, want, "restarted node did not catch up")
        tables = [{k: v for k, v in info(g.resp[i], "tables").items()
                   if k in ("claims", "accounts", "transfers")} for i in g.ids]
        self.assertEqual(tables[0], tables[1])
        self.assertEqual(tables[1], tables[2])
        # It is a follower of the new leader, redirecting there.
        moved = call_once(g.resp[leader], "CLAIMOF", "foo")
        self.assertEqual(str(moved), "MOVED 12182 127.0.0.1:%d" % g.resp[new_leader])

    def test_deposed_leader_answers_nothing_from_stale_state(self):
        """SIGSTOP of the leader past the election timeout: the others elect and move
        the claim on; commands queued at the stopped leader are answered after SIGCONT
        with a redirect or -TRYAGAIN, never from its stale state."""
        g = self.group
        leader = g.leader()
        self.assertEqual(as_dict(call(self.ports(), "CLAIM", "x", "a"))["result"], "won")
        stale = harness.RawConnection(g.resp[leader], timeout=30.0)
        self.addCleanup(stale.close)
        pid = g.servers[leader].target_pid()
        os.kill(pid, signal.SIGSTOP)
        try:
            survivors = [i for i in g.ids if i != leader]
            new_leader = g.leader(among=survivors)
            port = g.resp[new_leader]
            self.assertEqual(as_dict(call([port], "UNCLAIM", "x", "a"))["result"], "released")
            self.assertEqual(as_dict(call([port], "CLAIM", "x", "b"))["result"], "won")
            # Queued in the stopped leader's socket: a read, alone in its batch.
            stale.send_command("CLAIMOF", "x")
        finally:
            os.kill(pid, signal.SIGCONT)
        read = stale.read_reply()
        write = stale.call("CLAIM", "z", "c")
        sys.stderr.write("\n  replication: the deposed leader answered %r and %r\n" %
                         (str(read), str(write)))
        for reply in (read, write):
            self.assertIsInstance(reply, RespError, reply)
            self.assertIn(reply.code, ("MOVED", "TRYAGAIN", "CLUSTERDOWN"), reply)
        # The group's state is the new leader's; the old node follows it.
        r = as_dict(call(self.ports(), "CLAIMOF", "x"))
        self.assertEqual((r["result"], r["owner"]), ("held", "b"))
        deadline = time.monotonic() + 15
        while info(g.resp[leader]).get("role") != "follower" and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(info(g.resp[leader]).get("role"), "follower")

    def test_restart_of_every_node_keeps_the_state(self):
        g = self.group
        g.leader()
        for n in range(10):
            self.assertEqual(as_dict(call(self.ports(), "CLAIM", "r%d" % n, "o"))["result"],
                             "won")
        for i in g.ids:
            g.servers[i].stop()
        for i in g.ids:
            g.start(i)
        leader = g.leader()
        for n in range(10):
            r = as_dict(call([g.resp[leader]], "CLAIMOF", "r%d" % n))
            self.assertEqual((r["result"], r["owner"]), ("held", "o"))


    def test_concurrent_batches_share_entries_and_replay_everywhere(self):
        # Batches that arrive while an entry is in the log merge into one entry
        # (docs/replication.md, "Several batches per entry"): fewer raft entries than
        # records, every acknowledged claim on every node, and again after a restart
        # replays the log of merged entries.
        g = self.group
        leader = g.leader()
        port = g.resp[leader]
        before_index = int(info(port)["last_index"])
        before_records = int(info(port, "stats")["journal_records"])
        clients, per_client = 16, 40
        errors = []

        def writer(c):
            try:
                with harness.RawConnection(port, timeout=30.0) as conn:
                    for n in range(per_client):
                        r = as_dict(conn.call("CLAIM", "m%d-%d" % (c, n), "o%d" % c))
                        if r.get("result") != "won":
                            errors.append(r)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=writer, args=(c,)) for c in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        entries = int(info(port)["last_index"]) - before_index
        records = int(info(port, "stats")["journal_records"]) - before_records
        self.assertGreater(records, 0)
        self.assertLess(entries, records, "no two batches shared an entry")

        def all_held(i):
            for c in range(clients):
                for n in range(per_client):
                    r = as_dict(call([g.resp[i]], "CLAIMOF", "m%d-%d" % (c, n)))
                    if (r.get("result"), r.get("owner")) != ("held", "o%d" % c):
                        return False
            return True

        self.assertTrue(all_held(leader))
        # The followers replayed each merged entry's records: the same state everywhere.
        deadline = time.monotonic() + 20
        while True:
            digests = {i: (info(g.resp[i], "digest").get("applied_lsn"),
                           info(g.resp[i], "digest").get("state_digest")) for i in g.ids}
            if len(set(digests.values())) == 1 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(len(set(digests.values())), 1, digests)
        # A restart replays the log of merged entries.
        for i in g.ids:
            g.servers[i].stop()
        for i in g.ids:
            g.start(i)
        self.assertTrue(all_held(g.leader()))


class ReplicationFlagsTest(unittest.TestCase):

    def run_serve(self, *args):
        import subprocess
        tmp = tempfile.mkdtemp(prefix="exactly-repl-flags-")
        try:
            p = subprocess.run([harness.binary(), "serve", "--dir", os.path.join(tmp, "d")] +
                               list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=20, stdin=subprocess.DEVNULL)
            return p.returncode, p.stdout.decode()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_bad_flags_are_refused_with_a_reason(self):
        if not os.path.exists(harness.binary()):
            self.skipTest("server binary not built")
        rc, out = self.run_serve("--node-id", "4", "--raft-bind", "127.0.0.1:7479", "--peers",
                                 "1=127.0.0.1:7379@127.0.0.1:7479")
        self.assertEqual(rc, 2)
        self.assertIn("--node-id 4 is not one of the ids in --peers", out)
        rc, out = self.run_serve("--node-id", "1", "--peers", "1=127.0.0.1:7379@127.0.0.1:7479")
        self.assertEqual(rc, 2)
        self.assertIn("needs all of --node-id, --raft-bind and --peers", out)

    def test_help_names_the_flags(self):
        if not os.path.exists(harness.binary()):
            self.skipTest("server binary not built")
        import subprocess
        out = subprocess.run([harness.binary(), "serve", "--help"], stdout=subprocess.PIPE,
                             timeout=20).stdout.decode()
        for flag in ("--node-id", "--raft-bind", "--peers"):
            self.assertIn(flag, out)


if __name__ == "__main__":
    unittest.main()
