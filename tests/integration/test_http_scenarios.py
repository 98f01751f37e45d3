"""SCENARIOS S1-S5 again, over HTTP: the RESP races of test_concurrency.py,
test_locks.py, test_limits.py and test_idempotency.py, with the same operations
and the same assertions, each request a POST /v1/<command> on its own keep-alive
connection (pipelined where the RESP version pipelines), all released by one
barrier. Amounts, balances and tokens come back as JSON strings (docs/http.md).

- S1: 100 users sign in 6 times each at once: 100 `ok`, 500 `again`, 25 each.
- S2: 50 bindings claim one pair at once: one `won`, 49 `held` naming it; PERSIST,
  UNCLAIM by a loser and the winner, a new binding.
- S3: 50 registrations of one phone at once: one account; a 100-request burst on a
  5-per-window limiter allows 5; 50 simultaneous IDEM BEGINs with WAIT run once and
  all get the stored response.
- S4: a nested LOCK by the same owner re-enters and its fencing token stays valid
  until the outer unlock; 40 connections x 10 pipelined transfers conserve the
  total and never cross MIN 0.
- S5: 1,000 draws by 300 users over 250 pipelining connections on a stock of 6:
  exactly 6 winners, one prize each.
"""

import collections
import json
import os
import random
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402 - found through the line above when run by path
from test_http import HttpClient, HttpTestCase  # noqa: E402


class PipelinedHttp:
    """A raw HTTP/1.1 connection that sends several POSTs in one write and reads
    their responses in order (http.client cannot pipeline)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        self.sock.close()

    def send(self, requests):
        """requests: [(command, body)]."""
        data = b""
        for command, body in requests:
            payload = json.dumps(body).encode()
            data += (b"POST /v1/%s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (command.encode(), len(payload), payload))
        self.sock.sendall(data)

    def read(self):
        """(status, parsed JSON body) of the next response."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        length = next(int(line.split(":", 1)[1]) for line in lines[1:]
                      if line.lower().startswith("content-length:"))
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, json.loads(body)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed by the server")
        self.buf += chunk


def race(port, jobs):
    """Runs each job(conn) on its own HTTP connection, all released by one barrier;
    returns the results in job order (an exception in a job is re-raised)."""
    conns = [PipelinedHttp(port) for _ in jobs]
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


def many(requests):
    """A job that pipelines (command, body) requests in one write; every response
    must be 200, and the job returns their bodies."""
    def job(conn):
        conn.send(requests)
        replies = [conn.read() for _ in requests]
        for (command, body), (status, reply) in zip(requests, replies):
            if status != 200:
                raise AssertionError("%s %r -> %d %r" % (command, body, status, reply))
        return [reply for _, reply in replies]
    return job


def one(command, body):
    def job(conn):
        return many([(command, body)])(conn)[0]
    return job


class HttpScenariosTest(HttpTestCase, unittest.TestCase):

    def ok(self, command, body):
        return self.http.ok(command, body)

    def test_s1_signin_100_users_6_times_each(self):
        self.assertEqual(self.ok("account", {"key": "pool", "min": "-inf"})["result"], "created")
        users = ["user:%d" % i for i in range(100)]
        for u in users:
            self.assertEqual(self.ok("account", {"key": u})["result"], "created")
        jobs = []
        for u in users:
            for _ in range(6):
                jobs.append(one("transfer", {"id": "signin:" + u, "from": "pool", "to": u,
                                             "amount": 25, "per": "day", "at": "08:00",
                                             "tz": "+08:00"}))
        random.Random(1).shuffle(jobs)
        results = race(self.http_port, jobs)
        counts = collections.Counter(r["result"] for r in results)
        self.assertEqual(counts, {"ok": 100, "again": 500})
        for r in results:
            # The window starts at 08:00 +08:00 = 00:00 UTC, and the id lasts one day.
            self.assertEqual(r["window"] % 86_400_000, 0, r)
            self.assertEqual(r["expires"] - r["window"], 86_400_000, r)
        for u in users:
            self.assertEqual(self.ok("balance", {"key": u})["balance"], "25", u)
        self.assertEqual(self.ok("balance", {"key": "pool"})["balance"], "-2500")

    def test_s2_binding_claim_50_at_once(self):
        key = "binding:sku1:s1"
        binds = ["bind-%d" % i for i in range(50)]
        results = race(self.http_port, [one("claim", {"key": key, "owner": b, "ttl_ms": 30000})
                                        for b in binds])
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
        self.assertEqual(self.ok("claim", {"key": key, "owner": winner, "persist": True})["result"],
                         "again")
        of = self.ok("claimof", {"key": key})
        self.assertEqual((of["result"], of["owner"], of["expires"]), ("held", winner, -1))
        loser = next(b for b in binds if b != winner)
        self.assertEqual(self.ok("unclaim", {"key": key, "owner": loser})["result"], "not_holder")
        self.assertEqual(self.ok("unclaim", {"key": key, "owner": winner})["result"], "released")
        self.assertEqual(self.ok("claim", {"key": key, "owner": "bind-new", "ttl_ms": 30000})
                         ["result"], "won")
        self.assertEqual(self.ok("claimof", {"key": key})["owner"], "bind-new")
        # The RESP side sees the same state.
        self.assertEqual(harness.call_dict(self.resp, "CLAIMOF", key)["owner"], "bind-new")

    def test_s3_phone_registration_50_at_once(self):
        users = ["user-%d" % i for i in range(50)]
        results = race(self.http_port, [one("claim", {"key": "phone:+8613800000000", "owner": u})
                                        for u in users])
        counts = collections.Counter(r["result"] for r in results)
        self.assertEqual(counts, {"won": 1, "held": 49}, results)
        winner = next(r["owner"] for r in results if r["result"] == "won")
        self.assertTrue(all(r["owner"] == winner for r in results))
        self.assertEqual(self.ok("claimof", {"key": "phone:+8613800000000"})["owner"], winner)

    def test_s3_limiter_hundred_concurrent_requests_five_allowed(self):
        # A 3 s window: the burst must land inside one window for the counts to mean
        # anything (the RESP test uses 1 s on the lighter protocol).
        per_ms = 3000
        body = {"key": "login:alice", "window": 5, "per_ms": per_ms}
        start = time.monotonic()
        replies = race(self.http_port, [one("limit", body) for _ in range(100)])
        spread = time.monotonic() - start
        allowed = [r for r in replies if r["result"] == "allowed"]
        limited = [r for r in replies if r["result"] == "limited"]
        self.assertLess(spread, per_ms / 1000.0,
                        "the burst took longer than the window; counts are moot")
        self.assertEqual(len(allowed), 5, replies)
        self.assertEqual(len(limited), 95)
        self.assertEqual(sorted(r["remaining"] for r in allowed), [0, 1, 2, 3, 4])
        for r in allowed:
            self.assertEqual(r["retry_after_ms"], 0, r)
            self.assertTrue(0 < r["reset_ms"] <= per_ms, r)
        for r in limited:
            self.assertEqual(r["remaining"], 0, r)
            self.assertTrue(0 < r["retry_after_ms"] <= per_ms, r)
            self.assertEqual(r["retry_after_ms"], r["reset_ms"], r)
        # Waiting retry_after_ms (the longest any caller was told) opens a new window.
        time.sleep(max(r["retry_after_ms"] for r in limited) / 1000.0 + 0.05)
        r = self.ok("limit", body)
        self.assertEqual((r["result"], r["remaining"]), ("allowed", 4), r)

    def test_s3_fifty_concurrent_idem_begins_run_once(self):
        clients = 50
        conns = [HttpClient(self.http_port) for _ in range(clients)]
        barrier = threading.Barrier(clients)
        replies = [None] * clients
        runner_seen = threading.Event()
        release = threading.Event()
        errors = []
        begin_body = {"key": "same-key", "fingerprint": "fp-1", "lease_ms": 10000,
                      "wait_ms": 5000}

        def client(i):
            try:
                barrier.wait(10)
                r = conns[i].ok("idem/begin", begin_body)
                replies[i] = r
                if r["result"] == "run":
                    runner_seen.set()
                    release.wait(10)  # the test ends the run once all others are parked
                    replies[i] = (r, conns[i].ok("idem/end", {"key": "same-key",
                                                              "token": r["token"],
                                                              "response": '{"paid":42}'}))
            except Exception as e:  # noqa: BLE001 - reported by the main thread
                errors.append((i, repr(e)))

        threads = [threading.Thread(target=client, args=(i,), daemon=True)
                   for i in range(clients)]
        try:
            for t in threads:
                t.start()
            self.assertTrue(runner_seen.wait(10), "nobody was told to run: %s" % errors)
            # Everyone else is parked on the server, not answered `running`.
            parked = harness.wait_until(
                lambda: harness.info_field(self.server, "waiters") == clients - 1, timeout=5)
            self.assertTrue(parked, "waiters: %s" % harness.info_field(self.server, "waiters"))
            release.set()
            for t in threads:
                t.join(20)
            self.assertEqual(errors, [])
            runs = [r for r in replies if isinstance(r, tuple)]
            self.assertEqual(len(runs), 1, "exactly one `run` expected")
            begin, end = runs[0]
            self.assertIsInstance(begin["token"], str)
            self.assertEqual((end["result"], end["response"]), ("done", '{"paid":42}'))
            others = [r for r in replies if not isinstance(r, tuple)]
            self.assertEqual(len(others), clients - 1)
            for r in others:
                self.assertEqual((r["result"], r["response"]), ("done", '{"paid":42}'), r)
            late = self.ok("idem/begin", {"key": "same-key", "fingerprint": "fp-1"})
            self.assertEqual((late["result"], late["response"]), ("done", '{"paid":42}'))
            other = self.ok("idem/begin", {"key": "same-key", "fingerprint": "fp-2",
                                           "wait_ms": 1000})
            self.assertEqual(other["result"], "mismatch")
            repeat = self.ok("idem/end", {"key": "same-key", "token": begin["token"],
                                          "response": '{"paid":42}'})
            self.assertEqual(repeat["result"], "done")
        finally:
            release.set()
            for c in conns:
                c.close()

    def test_s4_nested_lock_by_same_owner(self):
        """An outer method locks, calls an inner one that locks the same name."""
        other = HttpClient(self.http_port)
        try:
            lock = {"name": "order:9", "owner": "svc-1", "lease_ms": 30000}
            r1 = self.ok("lock", lock)
            self.assertEqual((r1["result"], int(r1["depth"])), ("acquired", 1))
            self.assertIsInstance(r1["token"], str)
            r2 = self.ok("lock", dict(lock, wait_ms=2000))
            self.assertEqual((r2["result"], int(r2["depth"])), ("reentered", 2),
                             "nested call must not wait for itself")
            self.assertEqual(r2["token"], r1["token"])
            unlock = {"name": "order:9", "token": r1["token"]}
            inner_done = self.ok("unlock", unlock)
            self.assertEqual((inner_done["result"], int(inner_done["depth"])), ("released", 1))
            # Still held after the inner unlock: another owner is refused.
            busy = other.ok("lock", {"name": "order:9", "owner": "svc-2", "lease_ms": 30000})
            self.assertEqual((busy["result"], busy["holder"]), ("busy", "svc-1"))
            self.assertEqual(other.ok("fence", unlock)["result"], "valid")
            outer_done = self.ok("unlock", unlock)
            self.assertEqual((outer_done["result"], int(outer_done["depth"])), ("released", 0))
            self.assertEqual(other.ok("fence", unlock)["result"], "stale")
            self.assertEqual(self.ok("unlock", unlock)["result"], "stale")
            free = other.ok("lock", {"name": "order:9", "owner": "svc-2", "lease_ms": 30000})
            self.assertEqual(free["result"], "acquired")
            self.assertGreater(int(free["token"]), int(r1["token"]))
        finally:
            other.close()

    def test_s4_transfers_between_accounts_conserve_total(self):
        n = 10
        self.ok("account", {"key": "src", "min": "-inf"})
        for i in range(n):
            self.ok("account", {"key": "acct:%d" % i})
            self.ok("transfer", {"id": "fund:%d" % i, "from": "src", "to": "acct:%d" % i,
                                 "amount": 100})
        rng = random.Random(7)
        jobs, jobs_bodies = [], []
        for c in range(40):
            bodies = []
            for k in range(10):
                a, b = rng.sample(range(n), 2)
                bodies.append({"id": "mv:%d:%d" % (c, k), "from": "acct:%d" % a,
                               "to": "acct:%d" % b, "amount": rng.randint(1, 60)})
            jobs.append(many([("transfer", body) for body in bodies]))
            jobs_bodies.append(bodies)
        results = race(self.http_port, jobs)
        outcomes = collections.Counter(r["result"] for rs in results for r in rs)
        self.assertEqual(set(outcomes) - {"ok", "insufficient"}, set(), outcomes)
        # Whatever order the server chose, the balances are the funding plus exactly
        # the transfers it answered `ok`.
        expected = [100] * n
        for c, rs in enumerate(results):
            for k, r in enumerate(rs):
                self.assertEqual(r["id"], jobs_bodies[c][k]["id"])
                if r["result"] == "ok":
                    body = jobs_bodies[c][k]
                    self.assertEqual(r["amount"], str(body["amount"]))
                    expected[int(body["from"].split(":")[1])] -= body["amount"]
                    expected[int(body["to"].split(":")[1])] += body["amount"]
        balances = [int(self.ok("balance", {"key": "acct:%d" % i})["balance"]) for i in range(n)]
        self.assertTrue(all(b >= 0 for b in balances), balances)
        self.assertEqual(sum(balances), 100 * n)
        self.assertEqual(balances, expected)

    def test_s5_stock_6_draws_1000_by_300_users(self):
        self.ok("account", {"key": "supply:c1", "min": "-inf"})
        self.ok("account", {"key": "stock:c1"})
        self.ok("account", {"key": "won:c1"})
        self.assertEqual(self.ok("transfer", {"id": "restock:c1", "from": "supply:c1",
                                              "to": "stock:c1", "amount": 6})["result"], "ok")
        rng = random.Random(5)
        draws = ["u%d" % (i % 300) for i in range(1000)]
        rng.shuffle(draws)
        # 250 connections, 4 draws each pipelined: 1,000 draws in flight at once.
        jobs, owners = [], []
        for k in range(0, 1000, 4):
            chunk = draws[k:k + 4]
            owners.append(chunk)
            jobs.append(many([("transfer", {"id": "draw:c1:" + u, "from": "stock:c1",
                                            "to": "won:c1", "amount": 1}) for u in chunk]))
        results = race(self.http_port, jobs)
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
        self.assertEqual(self.ok("balance", {"key": "stock:c1"})["balance"], "0")
        self.assertEqual(self.ok("balance", {"key": "won:c1"})["balance"], "6")
        self.assertEqual(self.ok("balance", {"key": "supply:c1"})["balance"], "-6")


if __name__ == "__main__":
    unittest.main()
