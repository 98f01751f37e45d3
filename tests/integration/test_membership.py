"""Membership changes and leadership transfer in a real group (docs/replication.md,
"Membership").

Three `exactly serve` voters on 127.0.0.1; a fourth started with --join is added
(CLUSTER ADDNODE: a standby), promoted to voter (CLUSTER PROMOTE); leadership is
handed over (CLUSTER FAILOVER TO) so node 1 can be removed (CLUSTER REMOVENODE) and
stopped cleanly. A writer claims keys through every step; at the end every
acknowledged claim is read back on every remaining node (each made leader in turn,
since followers redirect reads), and after a restart of all of them the replicated
configuration is still {2, 3, 4}. The refusals (bad ids and addresses, a follower,
a second change while one is pending, removing the leader) change nothing.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402 - found through the line above when run by path
import test_replication as rep  # noqa: E402
from harness import as_dict, RespError  # noqa: E402


def peers_of(port):
    """{id: {"resp":..., "raft":..., "role":...}} from INFO replication on `port`."""
    out = {}
    for key, value in rep.info(port).items():
        if key.startswith("peer") and key[4:].isdigit():
            out[int(key[4:])] = dict(kv.split("=", 1) for kv in value.split(","))
    return out


def roles_of(port):
    return {i: p["role"] for i, p in peers_of(port).items()}


def ok(reply):
    return not isinstance(reply, RespError) and reply in (b"OK", "OK")


class MembershipGroup(rep.Group):
    """A 3-voter group plus nodes that join later with --join."""

    def add_joiner(self, i):
        self.ids.append(i)
        self.resp[i] = harness.free_port()
        self.raft[i] = harness.free_port()
        args = ["--node-id", str(i), "--raft-bind", "127.0.0.1:%d" % self.raft[i], "--join"]
        self.servers[i] = harness.Server(os.path.join(self.tmp, "n%d" % i), port=self.resp[i],
                                         extra_args=args,
                                         log_path=os.path.join(self.tmp, "n%d.log" % i))
        self.servers[i].start()

    def address(self, i):
        return "127.0.0.1:%d@127.0.0.1:%d" % (self.resp[i], self.raft[i])


class MembershipTest(unittest.TestCase):

    def setUp(self):
        if not os.path.exists(harness.binary()):
            self.skipTest("server binary not built: %s" % harness.binary())
        self.tmp = tempfile.mkdtemp(prefix="exactly-members-")
        self.group = MembershipGroup(self.tmp)
        for i in list(self.group.ids):
            self.group.start(i)

    def tearDown(self):
        self.group.stop_all()
        if os.environ.get("EXACTLY_KEEP_TMP") != "1":
            shutil.rmtree(self.tmp, ignore_errors=True)

    def ports(self):
        return [self.group.resp[i] for i in self.group.ids if self.group.servers[i].running()]

    def admin(self, i, *args):
        """CLUSTER `args` on node i, on a fresh connection (long timeout: it waits for commit)."""
        with harness.RawConnection(self.group.resp[i], timeout=60.0) as c:
            return c.call("CLUSTER", *args)

    def failover_to(self, leader, target):
        """Hands leadership from `leader` to `target`. A transfer the library gives up
        (the target did not win within the election timeout, as on a loaded machine)
        answers an error: tried again from whoever leads then, as an operator would,
        up to three times."""
        replies = []
        for _ in range(3):
            reply = self.admin(leader, "FAILOVER", "TO", str(target))
            replies.append(reply)
            if ok(reply):
                break
            sys.stderr.write("\n  FAILOVER TO %d on %d: %s\n" % (target, leader, reply))
            leader = self.group.leader()
            if leader == target:
                break
        self.assertEqual(self.group.leader(among=[target]), target, replies)
        return target

    def test_grow_replace_and_transfer_keep_every_write(self):
        g = self.group
        leader = g.leader()

        claims = {}
        stop = threading.Event()
        errors = []

        def writer():
            n = 0
            while not stop.is_set():
                key, owner = "m%d" % n, "o%d" % n
                try:
                    r = as_dict(rep.call(self.ports(), "CLAIM", key, owner, timeout=30.0))
                except AssertionError as e:
                    errors.append(str(e))
                    return
                # A retry after -TRYAGAIN may find its own earlier claim: "again".
                if r.get("result") not in ("won", "again") or r.get("owner") != owner:
                    errors.append("%s: %r" % (key, r))
                    return
                claims[key] = owner
                n += 1

        def writes_advance(extra=10):
            target = len(claims) + extra
            harness.wait_until(lambda: len(claims) >= target or errors, timeout=30)
            self.assertFalse(errors, errors)
            self.assertGreaterEqual(len(claims), target, "writes stalled")

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            writes_advance()

            # Node 4 joins: started with --join it waits; ADDNODE makes it a standby.
            g.add_joiner(4)
            self.assertEqual(rep.info(g.resp[4]).get("leader_id"), "0")
            with harness.RawConnection(g.resp[leader], timeout=60.0) as c:
                # Two changes sent together: the second is refused while the first is
                # pending, and nothing of it happens.
                c.send(harness.encode("CLUSTER", "ADDNODE", "4", g.address(4)) +
                       harness.encode("CLUSTER", "ADDNODE", "5", "127.0.0.1:1@127.0.0.1:2"))
                first = c.read_reply()
                second = c.read_reply()
            self.assertTrue(ok(first), first)
            self.assertIsInstance(second, RespError)
            self.assertIn("pending", str(second))
            self.assertEqual(roles_of(g.resp[leader]),
                             {1: "voter", 2: "voter", 3: "voter", 4: "standby"})
            self.assertEqual(peers_of(g.resp[leader])[4]["resp"], "127.0.0.1:%d" % g.resp[4])
            writes_advance()

            # Promoted once caught up: a voter, and it knows the leader.
            self.assertTrue(ok(self.admin(leader, "PROMOTE", "4")))
            self.assertEqual(roles_of(g.resp[leader])[4], "voter")
            harness.wait_until(lambda: rep.info(g.resp[4]).get("leader_id") == str(leader),
                               timeout=10)
            self.assertEqual(rep.info(g.resp[4]).get("leader_id"), str(leader))
            # Node 4 redirects like any follower, to the leader's RESP address.
            moved = rep.call_once(g.resp[4], "CLAIMOF", "foo")
            self.assertEqual(str(moved), "MOVED 12182 127.0.0.1:%d" % g.resp[leader])
            writes_advance()

            # Node 1 leaves: made leader, then handing over before its removal and stop.
            if leader != 1:
                leader = self.failover_to(leader, 1)
                writes_advance()
            refused = self.admin(1, "REMOVENODE", "1")
            self.assertIsInstance(refused, RespError)
            self.assertIn("FAILOVER", str(refused))
            leader = self.failover_to(1, 2)
            self.assertEqual(rep.info(g.resp[1]).get("role"), "follower")
            writes_advance()
            self.assertTrue(ok(self.admin(2, "REMOVENODE", "1")))
            self.assertEqual(roles_of(g.resp[2]), {2: "voter", 3: "voter", 4: "voter"})
            self.assertEqual(g.servers[1].stop(), 0, "node 1 did not stop cleanly")
            g.ids.remove(1)
            writes_advance()
        finally:
            stop.set()
            thread.join(90)
        self.assertFalse(errors, errors)
        sys.stderr.write("\n  membership: %d claims acknowledged through add, promote, "
                         "failover, remove\n" % len(claims))

        # Every acknowledged claim on every remaining node: each leads in turn.
        for node in (2, 3, 4):
            if node != leader:
                leader = self.failover_to(leader, node)
            missing = [k for k, o in claims.items()
                       if as_dict(rep.call([g.resp[node]], "CLAIMOF", k)).get("owner") != o]
            self.assertEqual(missing, [], "node %d lacks acknowledged claims" % node)

        # The configuration survives a restart of every node (2 and 3 with their old
        # --peers, which a started dir ignores; 4 with --join).
        for i in g.ids:
            self.assertEqual(g.servers[i].stop(), 0)
        for i in g.ids:
            g.servers[i].start()
        leader = g.leader()
        self.assertIn(leader, (2, 3, 4))
        self.assertEqual(roles_of(g.resp[leader]), {2: "voter", 3: "voter", 4: "voter"})
        some = list(claims.items())[-20:]
        for k, o in some:
            self.assertEqual(as_dict(rep.call([g.resp[leader]], "CLAIMOF", k)).get("owner"), o)

    def test_dead_node_is_replaced_and_the_group_survives_another_loss(self):
        g = self.group
        leader = g.leader()
        dead, other = [i for i in g.ids if i != leader]
        g.servers[dead].kill()
        claims = {}

        def claim(n):
            key, owner = "d%d" % n, "o%d" % n
            r = as_dict(rep.call(self.ports(), "CLAIM", key, owner))
            self.assertIn(r["result"], ("won", "again"))
            claims[key] = owner

        for n in range(10):
            claim(n)
        # The procedure of docs/replication.md: join, add, promote, remove the dead one.
        g.add_joiner(4)
        self.assertTrue(ok(self.admin(leader, "ADDNODE", "4", g.address(4))))
        self.assertTrue(ok(self.admin(leader, "PROMOTE", "4")))
        for n in range(10, 20):
            claim(n)
        self.assertTrue(ok(self.admin(leader, "REMOVENODE", str(dead))))
        self.assertEqual(roles_of(g.resp[leader]), {leader: "voter", other: "voter", 4: "voter"})
        g.ids.remove(dead)
        # Three voters again: losing one more still leaves a quorum.
        g.servers[other].kill()
        g.ids.remove(other)
        for n in range(20, 30):
            claim(n)
        leader = g.leader()
        for k, o in claims.items():
            self.assertEqual(as_dict(rep.call([g.resp[leader]], "CLAIMOF", k)).get("owner"), o)

    def test_quorum_loss_recovers_on_one_survivor_then_grows_back(self):
        g = self.group
        leader = g.leader()
        claims = {}
        for n in range(30):
            r = as_dict(rep.call(self.ports(), "CLAIM", "q%d" % n, "o%d" % n))
            self.assertEqual(r["result"], "won")
            claims["q%d" % n] = "o%d" % n
        # Two of three die: the survivor cannot commit on its own.
        for i in g.ids:
            if i != leader:
                g.servers[i].kill()
        self.assertEqual(g.servers[leader].stop(), 0)
        g.ids = [leader]
        # --force-peers on a dir without a log is refused.
        p, q = harness.free_port(), harness.free_port()
        rc = subprocess.run([harness.binary(), "serve", "--dir", os.path.join(self.tmp, "empty"),
                             "--port", str(p), "--node-id", "1", "--raft-bind", "127.0.0.1:%d" % q,
                             "--force-peers", "1=127.0.0.1:%d@127.0.0.1:%d" % (p, q)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
        self.assertEqual(rc.returncode, 2)
        self.assertIn("holds none", rc.stdout.decode())
        # The survivor restarts once with itself as the only voter.
        args = ["--node-id", str(leader), "--raft-bind", "127.0.0.1:%d" % g.raft[leader],
                "--force-peers", "%d=%s" % (leader, g.address(leader))]
        g.servers[leader] = harness.Server(os.path.join(self.tmp, "n%d" % leader),
                                           port=g.resp[leader], extra_args=args,
                                           log_path=os.path.join(self.tmp, "n%d.log" % leader))
        g.servers[leader].start()
        self.assertEqual(g.leader(among=[leader]), leader)
        self.assertEqual(roles_of(g.resp[leader]), {leader: "voter"})
        for k, o in claims.items():
            self.assertEqual(as_dict(rep.call([g.resp[leader]], "CLAIMOF", k)).get("owner"), o)
        # Then grows back to three voters with fresh nodes.
        for i in (4, 5):
            g.add_joiner(i)
            self.assertTrue(ok(self.admin(leader, "ADDNODE", str(i), g.address(i))))
            self.assertTrue(ok(self.admin(leader, "PROMOTE", str(i))))
        self.assertEqual(roles_of(g.resp[leader]), {leader: "voter", 4: "voter", 5: "voter"})
        self.assertEqual(as_dict(rep.call(self.ports(), "CLAIM", "q-after", "me"))["result"], "won")
        # A new voter holds the old claims: made leader, it answers them.
        self.failover_to(leader, 4)
        for k, o in list(claims.items())[:5]:
            self.assertEqual(as_dict(rep.call([g.resp[4]], "CLAIMOF", k)).get("owner"), o)

    def test_bad_requests_are_refused_and_change_nothing(self):
        g = self.group
        leader = g.leader()
        follower = next(i for i in g.ids if i != leader)
        before = peers_of(g.resp[leader])
        self.assertEqual(set(before), {1, 2, 3})

        moved = self.admin(follower, "PROMOTE", "2")
        self.assertIsInstance(moved, RespError)
        self.assertEqual(str(moved), "MOVED 0 127.0.0.1:%d" % g.resp[leader])

        other = next(i for i in g.ids if i not in (leader, follower))
        cases = [
            (("ADDNODE", "0", "127.0.0.1:1@127.0.0.1:2"), "not a positive integer"),
            (("ADDNODE", "x4", "127.0.0.1:1@127.0.0.1:2"), "not a positive integer"),
            (("ADDNODE", "4", "127.0.0.1:1"), "resp-host:resp-port@raft-host:raft-port"),
            (("ADDNODE", "4", "127.0.0.1:1@127.0.0.1:0"), "raft address must be host:port"),
            (("ADDNODE", "4", "127.0.0.1@127.0.0.1:2"), "RESP address must be host:port"),
            (("ADDNODE", "2", "127.0.0.1:1@127.0.0.1:2"), "already a member"),
            (("ADDNODE", "4", "127.0.0.1:1@127.0.0.1:%d" % g.raft[other]), "raft address"),
            (("ADDNODE", "4", "127.0.0.1:%d@127.0.0.1:2" % g.resp[other]), "RESP address"),
            (("ADDNODE", "4"), "wrong number of arguments"),
            (("PROMOTE", "9"), "no node 9"),
            (("PROMOTE", str(other)), "already a voter"),
            (("REMOVENODE", "9"), "no node 9"),
            (("REMOVENODE", str(leader)), "is the leader"),
            (("FAILOVER", "TO", str(leader)), "already leads"),
            (("FAILOVER", "TO", "9"), "no node 9"),
            (("FAILOVER", "TO"), "syntax error"),
            (("FAILOVER", "NOW"), "syntax error"),
            (("BOGUS",), "unknown subcommand"),
        ]
        for args, text in cases:
            reply = self.admin(leader, *args)
            self.assertIsInstance(reply, RespError, args)
            self.assertIn(text, str(reply), args)
        self.assertEqual(peers_of(g.resp[leader]).keys(), before.keys())
        self.assertEqual(roles_of(g.resp[leader]), {1: "voter", 2: "voter", 3: "voter"})
        self.assertEqual(g.leader(), leader)

        # A node that never started can be added (a standby counts toward nothing) but
        # not promoted: its catch-up gives up (C-Raft: after about 5 s without an
        # answer) and it stays a standby, until removed.
        nobody = "127.0.0.1:%d@127.0.0.1:%d" % (harness.free_port(), harness.free_port())
        self.assertTrue(ok(self.admin(leader, "ADDNODE", "7", nobody)))
        refused = self.admin(leader, "PROMOTE", "7")
        self.assertIsInstance(refused, RespError)
        self.assertIn("could not be caught up", str(refused))
        self.assertEqual(roles_of(g.resp[leader])[7], "standby")
        self.assertTrue(ok(self.admin(leader, "REMOVENODE", "7")))
        self.assertEqual(roles_of(g.resp[leader]), {1: "voter", 2: "voter", 3: "voter"})
        # Data commands still work.
        self.assertEqual(as_dict(rep.call(self.ports(), "CLAIM", "after", "me"))["result"], "won")


class MembershipSingleNodeTest(harness.ServerTestCase, unittest.TestCase):

    def test_single_node_refuses_membership_commands(self):
        with self.server.raw() as c:
            reply = c.call("CLUSTER", "ADDNODE", "2", "127.0.0.1:1@127.0.0.1:2")
            self.assertIsInstance(reply, RespError)
            self.assertIn("replicated mode", str(reply))
            self.assertEqual(c.call("PING"), "PONG")


class JoinFlagsTest(unittest.TestCase):

    def run_serve(self, *args):
        tmp = tempfile.mkdtemp(prefix="exactly-join-flags-")
        try:
            p = subprocess.run([harness.binary(), "serve", "--dir", os.path.join(tmp, "d")] +
                               list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=20, stdin=subprocess.DEVNULL)
            return p.returncode, p.stdout.decode()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_join_excludes_peers_and_needs_an_id(self):
        if not os.path.exists(harness.binary()):
            self.skipTest("server binary not built")
        rc, out = self.run_serve("--node-id", "4", "--raft-bind", "127.0.0.1:7479", "--join",
                                 "--peers", "4=127.0.0.1:7379@127.0.0.1:7479")
        self.assertEqual(rc, 2)
        self.assertIn("--join and --peers exclude each other", out)
        rc, out = self.run_serve("--join", "--raft-bind", "127.0.0.1:7479")
        self.assertEqual(rc, 2)
        self.assertIn("--join needs --node-id and --raft-bind", out)


if __name__ == "__main__":
    unittest.main()
