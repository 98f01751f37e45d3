"""Races: many connections fire at once; exactly one of each operation happens.

Each client has its own connection. Threads meet at a threading.Barrier and then
send, so the server sees the requests interleaved; the outcome counts and the
balances afterwards must be exact regardless of the order the server chose.
"""

import collections
import os
import random
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402 - found through the line above when run by path
from harness import as_dict


def race(server, jobs, setup=None):
    """Runs each job(conn) on its own connection, all released by one barrier.

    Returns the list of results in job order; an exception in a job is re-raised.
    """
    conns = [server.raw(timeout=60) for _ in jobs]
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)
    errors = []

    def run(i):
        try:
            barrier.wait(timeout=60)
            results[i] = jobs[i](conns[i])
        except BaseException as e:  # noqa: BLE001 - reported to the main thread below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for c in conns:
        c.close()
    if errors:
        raise errors[0]
    return results


def one(*args):
    def job(conn):
        return as_dict(conn.call(*args))
    return job


def many(commands):
    """A job that pipelines several commands in one write and reads every reply."""
    def job(conn):
        conn.send(b"".join(harness.encode(*c) for c in commands))
        return [as_dict(conn.read_reply()) for _ in commands]
    return job


class ConcurrencyTest(harness.ServerTestCase, unittest.TestCase):

    def setUp(self):
        super().setUp()
        self.c = self.server.raw()

    def tearDown(self):
        self.c.close()
        super().tearDown()

    def d(self, *args):
        return as_dict(self.c.call(*args))

    def test_s1_signin_100_users_6_times_each(self):
        self.assertEqual(self.d("ACCOUNT", "pool", "MIN", "-inf")["result"], "created")
        users = ["user:%d" % i for i in range(100)]
        for u in users:
            self.assertEqual(self.d("ACCOUNT", u)["result"], "created")
        jobs = []
        for u in users:
            for _ in range(6):
                jobs.append(one("TRANSFER", "signin:" + u, "pool", u, "25", "PER", "day", "AT",
                                "08:00", "TZ", "+08:00"))
        random.Random(1).shuffle(jobs)
        results = race(self.server, jobs)
        counts = collections.Counter(r["result"] for r in results)
        self.assertEqual(counts, {"ok": 100, "again": 500})
        for u in users:
            self.assertEqual(self.d("BALANCE", u)["balance"], 25, u)
        self.assertEqual(self.d("BALANCE", "pool")["balance"], -2500)

    def test_s5_stock_6_draws_1000_by_300_users(self):
        self.d("ACCOUNT", "supply:c1", "MIN", "-inf")
        self.d("ACCOUNT", "stock:c1")
        self.d("ACCOUNT", "won:c1")
        self.assertEqual(self.d("TRANSFER", "restock:c1", "supply:c1", "stock:c1", "6")["result"],
                         "ok")
        rng = random.Random(5)
        draws = ["u%d" % (i % 300) for i in range(1000)]
        rng.shuffle(draws)
        # 250 connections, 4 draws each pipelined: 1,000 draws in flight at once.
        jobs, owners = [], []
        for k in range(0, 1000, 4):
            chunk = draws[k:k + 4]
            owners.append(chunk)
            jobs.append(many([("TRANSFER", "draw:c1:" + u, "stock:c1", "won:c1", "1")
                              for u in chunk]))
        results = race(self.server, jobs)
        winners = []
        counts = collections.Counter()
        per_user = collections.defaultdict(set)
        for chunk, replies in zip(owners, results):
            for u, r in zip(chunk, replies):
                counts[r["result"]] += 1
                per_user[u].add(r["result"])
                if r["result"] == "ok":
                    winners.append(u)
        self.assertEqual(counts["ok"], 6, counts)
        self.assertEqual(len(set(winners)), 6, winners)
        self.assertEqual(set(counts) - {"ok", "again", "insufficient"}, set(), counts)
        for u, outs in per_user.items():
            # A winner's repeats say again; a loser's repeats keep the first refusal.
            self.assertTrue(outs <= {"ok", "again"} or outs == {"insufficient"}, (u, outs))
        self.assertEqual(self.d("BALANCE", "stock:c1")["balance"], 0)
        self.assertEqual(self.d("BALANCE", "won:c1")["balance"], 6)
        self.assertEqual(self.d("BALANCE", "supply:c1")["balance"], -6)

    def test_s2_binding_claim_50_at_once(self):
        key = "binding:sku1:s1"
        binds = ["bind-%d" % i for i in range(50)]
        results = race(self.server, [one("CLAIM", key, b, "TTL", "30000") for b in binds])
        won = [r for r in results if r["result"] == "won"]
        held = [r for r in results if r["result"] == "held"]
        self.assertEqual(len(won), 1, results)
        self.assertEqual(len(held), 49, results)
        winner = won[0]["owner"]
        self.assertIn(winner, binds)
        for r in held:
            self.assertEqual(r["owner"], winner)
            self.assertEqual(r["since"], won[0]["since"])
            self.assertEqual(r["expires"], won[0]["expires"])
        self.assertEqual(won[0]["expires"] - won[0]["since"], 30000)
        # The winner makes the binding permanent.
        persist = self.d("CLAIM", key, winner, "PERSIST")
        self.assertEqual(persist["result"], "again")
        of = self.d("CLAIMOF", key)
        self.assertEqual((of["result"], of["owner"], of["expires"]), ("held", winner, -1))
        loser = next(b for b in binds if b != winner)
        self.assertEqual(self.d("UNCLAIM", key, loser)["result"], "not_holder")
        self.assertEqual(self.d("UNCLAIM", key, winner)["result"], "released")
        self.assertEqual(self.d("CLAIM", key, "bind-new", "TTL", "30000")["result"], "won")
        self.assertEqual(self.d("CLAIMOF", key)["owner"], "bind-new")

    def test_thousand_connections_at_once(self):
        conns = [self.server.raw(timeout=60) for _ in range(1000)]
        try:
            for i, c in enumerate(conns):
                c.send(harness.encode("CLAIM", "many:%d" % (i % 10), "c%d" % i) +
                       harness.encode("PING"))
            winners = {}
            for i, c in enumerate(conns):
                d = as_dict(c.read_reply())
                self.assertEqual(c.read_reply(), "PONG")
                if d["result"] == "won":
                    self.assertNotIn(d["key"], winners)
                    winners[d["key"]] = d["owner"]
                else:
                    self.assertEqual(d["result"], "held")
            self.assertEqual(len(winners), 10)
        finally:
            for c in conns:
                c.close()
        for key, owner in winners.items():
            self.assertEqual(self.d("CLAIMOF", key)["owner"], owner)

    def test_transfers_between_accounts_conserve_total(self):
        # Many connections move money around at once; no balance crosses MIN 0 and the
        # total is conserved.
        n = 10
        self.d("ACCOUNT", "src", "MIN", "-inf")
        for i in range(n):
            self.d("ACCOUNT", "acct:%d" % i)
            self.d("TRANSFER", "fund:%d" % i, "src", "acct:%d" % i, "100")
        rng = random.Random(7)
        jobs, jobs_cmds = [], []
        for c in range(40):
            cmds = []
            for k in range(10):
                a, b = rng.sample(range(n), 2)
                cmds.append(("TRANSFER", "mv:%d:%d" % (c, k), "acct:%d" % a, "acct:%d" % b,
                             str(rng.randint(1, 60))))
            jobs.append(many(cmds))
            jobs_cmds.append(cmds)
        results = race(self.server, jobs)
        outcomes = collections.Counter(r["result"] for rs in results for r in rs)
        self.assertEqual(set(outcomes) - {"ok", "insufficient"}, set(), outcomes)
        # Whatever order the server chose, the balances are the funding plus exactly
        # the transfers it answered `ok`.
        expected = [100] * n
        for c, rs in enumerate(results):
            for r in rs:
                if r["result"] == "ok":
                    _, a, b = r["id"].split(":")
                    cmd = jobs_cmds[c][int(b)]
                    expected[int(cmd[2].split(":")[1])] -= int(cmd[4])
                    expected[int(cmd[3].split(":")[1])] += int(cmd[4])
        balances = [self.d("BALANCE", "acct:%d" % i)["balance"] for i in range(n)]
        self.assertTrue(all(b >= 0 for b in balances), balances)
        self.assertEqual(sum(balances), 100 * n)
        self.assertEqual(balances, expected)


if __name__ == "__main__":
    unittest.main()
