"""SCENARIOS S1-S5 as races against the real server, one body per scenario run
over each transport: RESP (test_resp_scenarios.py) and HTTP
(test_http_scenarios.py, POST /v1/<command>). Each client has its own
connection; threads meet at one barrier and then send (pipelined in one write
where a body says so), so the server sees the requests interleaved, and the
outcome counts and balances afterwards must be exact whatever order it chose.

- S1: 100 users sign in 6 times each at once: 100 `ok`, 500 `again`, 25 each;
  each window starts at 08:00 +08:00 and the id lasts one day.
- S2: 50 bindings claim one pair at once: one `won`, 49 `held` naming it; PERSIST,
  UNCLAIM by a loser and the winner, a new binding, seen over RESP too.
- S3: 50 registrations of one phone at once: one account; a 100-request burst on a
  5-per-window limiter allows 5; 50 simultaneous IDEM BEGINs with WAIT run once and
  all get the stored response.
- S4: a nested LOCK by the same owner re-enters and its fencing token stays valid
  until the outer unlock; 40 connections x 10 pipelined transfers conserve the
  total and never cross MIN 0.
- S5: 1,000 draws by 300 users over 250 pipelining connections on a stock of 6:
  exactly 6 winners, one prize each.

A body writes each command in its RESP form (DESIGN.md's syntax); the HTTP
transport turns it into the JSON body of the same command (docs/http.md).
Replies are compared in each transport's own types: amounts, balances and
tokens are integers over RESP and JSON strings over HTTP (Transport.amount,
Transport.token_type).
"""

import collections
import json
import random
import socket
import threading
import time

import harness
from harness import as_dict

# RESP command -> (HTTP path under /v1/, the positional fields in order, each
# option keyword's field; None marks a flag, sent as true).
HTTP_FORMS = {
    "ACCOUNT": ("account", ("key",), {"MIN": "min"}),
    "TRANSFER": ("transfer", ("id", "from", "to", "amount"), {"PER": "per", "AT": "at",
                                                              "TZ": "tz"}),
    "BALANCE": ("balance", ("key",), {}),
    "CLAIM": ("claim", ("key", "owner"), {"TTL": "ttl_ms", "PERSIST": None}),
    "CLAIMOF": ("claimof", ("key",), {}),
    "UNCLAIM": ("unclaim", ("key", "owner"), {}),
    "LIMIT": ("limit", ("key",), {"WINDOW": "window", "PER": "per_ms"}),
    "LOCK": ("lock", ("name", "owner"), {"LEASE": "lease_ms", "WAIT": "wait_ms"}),
    "UNLOCK": ("unlock", ("name", "token"), {}),
    "FENCE": ("fence", ("name", "token"), {}),
    "IDEM BEGIN": ("idem/begin", ("key",), {"FINGERPRINT": "fingerprint", "LEASE": "lease_ms",
                                            "WAIT": "wait_ms"}),
    "IDEM END": ("idem/end", ("key", "token", "response"), {}),
}
# Fields the JSON bodies carry as numbers; every other value is a string.
HTTP_NUMBER_FIELDS = {"amount", "ttl_ms", "lease_ms", "wait_ms", "window", "per_ms"}


def http_request(args):
    """(path, JSON body) of the RESP command `args` (a tuple of words)."""
    words = [str(a) for a in args]
    name = words[0].upper()
    if name not in HTTP_FORMS:
        name = "%s %s" % (name, words[1].upper())
        words = words[1:]
    path, positional, options = HTTP_FORMS[name]
    rest = words[1:]
    body = dict(zip(positional, rest))
    if len(rest) < len(positional):
        raise AssertionError("%s: too few arguments for %s" % (args, positional))
    rest = rest[len(positional):]
    while rest:
        field = options[rest[0].upper()]
        if field is None:
            body[rest[0].lower()] = True
            rest = rest[1:]
        else:
            body[field] = rest[1]
            rest = rest[2:]
    return path, {k: int(v) if k in HTTP_NUMBER_FIELDS else v for k, v in body.items()}


class RespConnection:
    """One RESP connection: call() one command, pipeline() several in one write."""

    def __init__(self, server, timeout):
        self.raw = server.raw(timeout=timeout)

    def close(self):
        self.raw.close()

    def call(self, *args):
        return self.pipeline([args])[0]

    def pipeline(self, commands):
        self.raw.send(b"".join(harness.encode(*c) for c in commands))
        replies = [self.raw.read_reply() for _ in commands]
        for command, reply in zip(commands, replies):
            if isinstance(reply, harness.RespError):
                raise AssertionError("%r -> %s" % (command, reply))
        return [as_dict(reply) for reply in replies]


class HttpConnection:
    """A raw HTTP/1.1 keep-alive connection that sends several POSTs in one write
    and reads their responses in order (http.client cannot pipeline); every
    response must be 200."""

    def __init__(self, port, timeout):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        self.sock.close()

    def call(self, *args):
        return self.pipeline([args])[0]

    def pipeline(self, commands):
        requests = [http_request(c) for c in commands]
        data = b""
        for path, body in requests:
            payload = json.dumps(body).encode()
            data += (b"POST /v1/%s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (path.encode(), len(payload), payload))
        self.sock.sendall(data)
        replies = [self._read() for _ in requests]
        for (path, body), (status, reply) in zip(requests, replies):
            if status != 200:
                raise AssertionError("%s %r -> %d %r" % (path, body, status, reply))
        return [reply for _, reply in replies]

    def _read(self):
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


class RespTransport:
    name = "RESP"
    token_type = int
    # The limiter's window: the burst of 100 must land inside it for the counts to
    # mean anything.
    limit_window_ms = 1000

    def __init__(self, server):
        self.server = server

    def connect(self, timeout=60):
        return RespConnection(self.server, timeout)

    @staticmethod
    def amount(n):
        """An amount or balance of `n` as this transport's replies carry it."""
        return n


class HttpTransport:
    name = "HTTP"
    token_type = str
    # HTTP's heavier requests take longer to land than RESP's: a 3 s window.
    limit_window_ms = 3000

    def __init__(self, port):
        self.port = port

    def connect(self, timeout=60):
        return HttpConnection(self.port, timeout)

    @staticmethod
    def amount(n):
        return str(n)


def race(transport, jobs):
    """Runs each job(connection) on its own connection, all released by one
    barrier; returns the results in job order (an exception in a job is
    re-raised)."""
    conns = [transport.connect() for _ in jobs]
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
    """A job that sends one command and returns its reply."""
    return lambda conn: conn.call(*args)


def many(commands):
    """A job that pipelines several commands in one write and returns every reply."""
    return lambda conn: conn.pipeline(commands)


class ScenarioTests:
    """The scenario bodies, mixed into a ServerTestCase whose make_transport()
    says how to reach its server."""

    def make_transport(self):
        raise NotImplementedError

    def setUp(self):
        super().setUp()
        self.transport = self.make_transport()
        self.conn = self.transport.connect()
        self.addCleanup(self.conn.close)

    def call(self, *args):
        return self.conn.call(*args)

    def test_s1_signin_100_users_6_times_each(self):
        t = self.transport
        self.assertEqual(self.call("ACCOUNT", "pool", "MIN", "-inf")["result"], "created")
        users = ["user:%d" % i for i in range(100)]
        for u in users:
            self.assertEqual(self.call("ACCOUNT", u)["result"], "created")
        jobs = []
        for u in users:
            for _ in range(6):
                jobs.append(one("TRANSFER", "signin:" + u, "pool", u, "25", "PER", "day", "AT",
                                "08:00", "TZ", "+08:00"))
        random.Random(1).shuffle(jobs)
        results = race(t, jobs)
        counts = collections.Counter(r["result"] for r in results)
        self.assertEqual(counts, {"ok": 100, "again": 500})
        for r in results:
            # The window starts at 08:00 +08:00 = 00:00 UTC, and the id lasts one day.
            self.assertEqual(r["window"] % 86_400_000, 0, r)
            self.assertEqual(r["expires"] - r["window"], 86_400_000, r)
        for u in users:
            self.assertEqual(self.call("BALANCE", u)["balance"], t.amount(25), u)
        self.assertEqual(self.call("BALANCE", "pool")["balance"], t.amount(-2500))

    def test_s2_binding_claim_50_at_once(self):
        key = "binding:sku1:s1"
        binds = ["bind-%d" % i for i in range(50)]
        results = race(self.transport, [one("CLAIM", key, b, "TTL", "30000") for b in binds])
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
        self.assertEqual(self.call("CLAIM", key, winner, "PERSIST")["result"], "again")
        of = self.call("CLAIMOF", key)
        self.assertEqual((of["result"], of["owner"], of["expires"]), ("held", winner, -1))
        loser = next(b for b in binds if b != winner)
        self.assertEqual(self.call("UNCLAIM", key, loser)["result"], "not_holder")
        self.assertEqual(self.call("UNCLAIM", key, winner)["result"], "released")
        self.assertEqual(self.call("CLAIM", key, "bind-new", "TTL", "30000")["result"], "won")
        self.assertEqual(self.call("CLAIMOF", key)["owner"], "bind-new")
        # A RESP client sees the same state, whichever transport wrote it.
        with self.server.raw() as resp:
            self.assertEqual(harness.call_dict(resp, "CLAIMOF", key)["owner"], "bind-new")

    def test_s3_phone_registration_50_at_once(self):
        users = ["user-%d" % i for i in range(50)]
        results = race(self.transport, [one("CLAIM", "phone:+8613800000000", u) for u in users])
        counts = collections.Counter(r["result"] for r in results)
        self.assertEqual(counts, {"won": 1, "held": 49}, results)
        winner = next(r["owner"] for r in results if r["result"] == "won")
        self.assertTrue(all(r["owner"] == winner for r in results))
        self.assertEqual(self.call("CLAIMOF", "phone:+8613800000000")["owner"], winner)

    def test_s3_limiter_hundred_concurrent_requests_five_allowed(self):
        per_ms = self.transport.limit_window_ms
        command = ("LIMIT", "login:alice", "WINDOW", "5", "PER", str(per_ms))
        start = time.monotonic()
        replies = race(self.transport, [one(*command) for _ in range(100)])
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
        r = self.call(*command)
        self.assertEqual((r["result"], r["remaining"]), ("allowed", 4), r)

    def test_s3_fifty_concurrent_idem_begins_run_once(self):
        clients = 50
        conns = [self.transport.connect(timeout=20) for _ in range(clients)]
        barrier = threading.Barrier(clients)
        replies = [None] * clients
        runner_seen = threading.Event()
        release = threading.Event()
        errors = []

        def client(i):
            try:
                barrier.wait(10)
                r = conns[i].call("IDEM", "BEGIN", "same-key", "FINGERPRINT", "fp-1",
                                  "LEASE", "10000", "WAIT", "5000")
                replies[i] = r
                if r["result"] == "run":
                    runner_seen.set()
                    release.wait(10)  # the test ends the run once all others are parked
                    replies[i] = (r, conns[i].call("IDEM", "END", "same-key", r["token"],
                                                   '{"paid":42}'))
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
            self.assertTrue(parked, "waiters: %s, replies so far: %s" % (
                harness.info_field(self.server, "waiters"), [r for r in replies if r]))
            release.set()
            for t in threads:
                t.join(20)
            self.assertEqual(errors, [])
            runs = [r for r in replies if isinstance(r, tuple)]
            self.assertEqual(len(runs), 1, "exactly one `run` expected")
            begin, end = runs[0]
            self.assertIsInstance(begin["token"], self.transport.token_type)
            self.assertEqual((end["result"], end["response"]), ("done", '{"paid":42}'))
            others = [r for r in replies if not isinstance(r, tuple)]
            self.assertEqual(len(others), clients - 1)
            for r in others:
                self.assertEqual((r["result"], r["response"]), ("done", '{"paid":42}'), r)
            late = self.call("IDEM", "BEGIN", "same-key", "FINGERPRINT", "fp-1")
            self.assertEqual((late["result"], late["response"]), ("done", '{"paid":42}'))
            other = self.call("IDEM", "BEGIN", "same-key", "FINGERPRINT", "fp-2", "WAIT", "1000")
            self.assertEqual(other["result"], "mismatch")
            repeat = self.call("IDEM", "END", "same-key", begin["token"], '{"paid":42}')
            self.assertEqual(repeat["result"], "done")
        finally:
            release.set()
            for c in conns:
                c.close()

    def test_s4_nested_lock_by_same_owner(self):
        """An outer method locks, calls an inner one that locks the same name."""
        other = self.transport.connect()
        try:
            r1 = self.call("LOCK", "order:9", "svc-1", "LEASE", "30000")
            self.assertEqual((r1["result"], int(r1["depth"])), ("acquired", 1))
            self.assertIsInstance(r1["token"], self.transport.token_type)
            r2 = self.call("LOCK", "order:9", "svc-1", "LEASE", "30000", "WAIT", "2000")
            self.assertEqual((r2["result"], int(r2["depth"])), ("reentered", 2),
                             "nested call must not wait for itself")
            self.assertEqual(r2["token"], r1["token"])
            inner_done = self.call("UNLOCK", "order:9", r1["token"])
            self.assertEqual((inner_done["result"], int(inner_done["depth"])), ("released", 1))
            # Still held after the inner unlock: another owner is refused.
            busy = other.call("LOCK", "order:9", "svc-2", "LEASE", "30000")
            self.assertEqual((busy["result"], busy["holder"]), ("busy", "svc-1"))
            self.assertEqual(other.call("FENCE", "order:9", r1["token"])["result"], "valid")
            outer_done = self.call("UNLOCK", "order:9", r1["token"])
            self.assertEqual((outer_done["result"], int(outer_done["depth"])), ("released", 0))
            self.assertEqual(other.call("FENCE", "order:9", r1["token"])["result"], "stale")
            self.assertEqual(self.call("UNLOCK", "order:9", r1["token"])["result"], "stale")
            free = other.call("LOCK", "order:9", "svc-2", "LEASE", "30000")
            self.assertEqual(free["result"], "acquired")
            self.assertGreater(int(free["token"]), int(r1["token"]))
        finally:
            other.close()

    def test_s4_transfers_between_accounts_conserve_total(self):
        t = self.transport
        n = 10
        self.call("ACCOUNT", "src", "MIN", "-inf")
        for i in range(n):
            self.call("ACCOUNT", "acct:%d" % i)
            self.call("TRANSFER", "fund:%d" % i, "src", "acct:%d" % i, "100")
        rng = random.Random(7)
        jobs, jobs_moves = [], []
        for c in range(40):
            moves = []
            for k in range(10):
                a, b = rng.sample(range(n), 2)
                moves.append(("mv:%d:%d" % (c, k), a, b, rng.randint(1, 60)))
            jobs.append(many([("TRANSFER", move_id, "acct:%d" % a, "acct:%d" % b, str(amount))
                              for move_id, a, b, amount in moves]))
            jobs_moves.append(moves)
        results = race(t, jobs)
        outcomes = collections.Counter(r["result"] for rs in results for r in rs)
        self.assertEqual(set(outcomes) - {"ok", "insufficient"}, set(), outcomes)
        # Whatever order the server chose, the balances are the funding plus exactly
        # the transfers it answered `ok`.
        expected = [100] * n
        for rs, moves in zip(results, jobs_moves):
            for r, (move_id, a, b, amount) in zip(rs, moves):
                self.assertEqual(r["id"], move_id)
                if r["result"] == "ok":
                    self.assertEqual(r["amount"], t.amount(amount))
                    expected[a] -= amount
                    expected[b] += amount
        balances = [self.call("BALANCE", "acct:%d" % i)["balance"] for i in range(n)]
        self.assertEqual(balances, [t.amount(b) for b in expected])
        balances = [int(b) for b in balances]
        self.assertTrue(all(b >= 0 for b in balances), balances)
        self.assertEqual(sum(balances), 100 * n)

    def test_s5_stock_6_draws_1000_by_300_users(self):
        t = self.transport
        self.call("ACCOUNT", "supply:c1", "MIN", "-inf")
        self.call("ACCOUNT", "stock:c1")
        self.call("ACCOUNT", "won:c1")
        self.assertEqual(self.call("TRANSFER", "restock:c1", "supply:c1", "stock:c1", "6")
                         ["result"], "ok")
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
        results = race(t, jobs)
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
        self.assertEqual(self.call("BALANCE", "stock:c1")["balance"], t.amount(0))
        self.assertEqual(self.call("BALANCE", "won:c1")["balance"], t.amount(6))
        self.assertEqual(self.call("BALANCE", "supply:c1")["balance"], t.amount(-6))
