"""Crash test: kill -9 under load, restart, and nothing acknowledged is lost or doubled.

16 writer connections send TRANSFERs (unique ids, among 20 funded accounts with
MIN 0), MULTI/EXEC groups of transfers and CLAIMs (contended keys, no TTL) and
record every acknowledged reply; they also take, renew and release leased locks
(LOCK/RENEW/UNLOCK on a few contended names) and run idempotency keys
(IDEM BEGIN, then IDEM END with a response).
The server is killed with SIGKILL at seeded random moments (sometimes during a
SNAPSHOT), `exactly check`
must accept the data dir, and after each restart:
  - every acknowledged `ok` transfer is there (repeating it answers `again`),
    every acknowledged refusal is still the answer for that id;
  - every acknowledged claim is held by the owner its reply named;
  - operations whose reply was lost are retried: either answer is fine, but the
    state read before the retries must match what they answer (`again` means it
    was applied), groups are never applied in part, and each counts once;
  - every balance equals the initial funding plus exactly the applied transfers,
    none is below 0, and the total is conserved;
  - fencing tokens never go backwards: a new LOCK's token (and a new IDEM
    run's, same counter) is larger than every token acknowledged before;
  - every acknowledged IDEM END is `done` with its response on a retried BEGIN.
Set EXACTLY_CRASH_SEED to replay a run; EXACTLY_CRASH_CYCLES to change the count.
"""

import os
import random
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402 - found through the line above when run by path
from harness import as_dict

WRITERS = 16
ACCOUNTS = 20
FUNDING = 1000
CLAIM_KEYS = 40
LOCK_NAMES = 6


class Model:
    """What the test knows the server has done: the oracle for the checks."""

    def __init__(self):
        self.lock = threading.Lock()
        self.transfers = {}   # id -> (from, to, amount)
        self.applied = set()  # ids acknowledged `ok` (or `again` after a retry)
        self.refused = {}     # id -> acknowledged refusal word
        self.claims = {}      # key -> owner named by an acknowledged reply
        self.unknown_transfers = set()
        self.groups = {}  # group name -> [transfer ids], applied all or none
        self.unknown_groups = set()
        self.retried = 0           # unacknowledged operations retried after a crash
        self.retried_applied = 0   # ... of which the crash had already applied
        self.unknown_claims = []  # (key, owner)
        self.new_applied = []
        self.new_refused = []
        self.max_token = 0         # largest lock or IDEM token acknowledged
        self.idem_done = {}        # key -> response of an acknowledged IDEM END
        self.new_idem_done = []
        self.unknown_idem = {}     # key -> response of an END in flight, None for a BEGIN
        self.probes = 0            # LOCKs on fresh names after restarts

    def balances(self, applied=None):
        bal = [FUNDING] * ACCOUNTS
        for tid in self.applied if applied is None else applied:
            a, b, amount = self.transfers[tid]
            bal[a] -= amount
            bal[b] += amount
        return bal


def acct(i):
    return "acct:%d" % i


def transfer_args(model, tid):
    a, b, amount = model.transfers[tid]
    return ("TRANSFER", tid, acct(a), acct(b), str(amount))


def group_frame(model, name):
    cmds = [("MULTI",)] + [transfer_args(model, t) for t in model.groups[name]] + [("EXEC",)]
    return b"".join(harness.encode(*c) for c in cmds)


class Writer(threading.Thread):

    def __init__(self, port, model, cycle, index, seed):
        super().__init__(daemon=True)
        self.port, self.model, self.cycle, self.index = port, model, cycle, index
        self.rng = random.Random(seed)
        self.protocol_errors = []

    def run(self):
        try:
            conn = harness.RawConnection(self.port, timeout=30)
        except OSError:
            return
        seq = 0
        try:
            while True:
                seq += 1
                roll = self.rng.random()
                if roll < 0.15:
                    self.group(conn, seq)
                elif roll < 0.65:
                    self.transfer(conn, seq)
                elif roll < 0.82:
                    self.claim(conn)
                elif roll < 0.91:
                    self.lock(conn)
                else:
                    self.idem(conn, seq)
        except (OSError, harness.ConnectionClosed, ValueError):
            return  # the server was killed: the op in flight stays unknown
        finally:
            conn.close()

    def transfer(self, conn, seq):
        tid = "x:%d:%d:%d" % (self.cycle, self.index, seq)
        a, b = self.rng.sample(range(ACCOUNTS), 2)
        amount = self.rng.randint(1, 300)
        m = self.model
        with m.lock:
            m.transfers[tid] = (a, b, amount)
            m.unknown_transfers.add(tid)
        reply = conn.call("TRANSFER", tid, acct(a), acct(b), str(amount))
        if isinstance(reply, harness.RespError):
            self.protocol_errors.append(("TRANSFER", tid, str(reply)))
            raise OSError("error reply")
        result = as_dict(reply)["result"]
        with m.lock:
            m.unknown_transfers.discard(tid)
            if result == "ok":
                m.applied.add(tid)
                m.new_applied.append(tid)
            elif result == "insufficient":
                m.refused[tid] = result
                m.new_refused.append(tid)
            else:
                self.protocol_errors.append(("TRANSFER", tid, result))

    def group(self, conn, seq):
        """MULTI with 2-3 transfers, EXEC: all or none, also across a crash."""
        name = "g:%d:%d:%d" % (self.cycle, self.index, seq)
        m = self.model
        ids = []
        with m.lock:
            for k in range(self.rng.randint(2, 3)):
                tid = "%s:%d" % (name, k)
                a, b = self.rng.sample(range(ACCOUNTS), 2)
                m.transfers[tid] = (a, b, self.rng.randint(1, 300))
                ids.append(tid)
            m.groups[name] = ids
            m.unknown_groups.add(name)
        conn.send(group_frame(m, name))
        replies = [conn.read_reply() for _ in range(len(ids) + 2)]
        if replies[:-1] != ["OK"] + ["QUEUED"] * len(ids) or \
                isinstance(replies[-1], harness.RespError):
            self.protocol_errors.append(("MULTI", name, replies))
            raise OSError("bad MULTI replies")
        elements = harness.exec_dicts(replies[-1])
        with m.lock:
            m.unknown_groups.discard(name)
            outcomes = [r["result"] for r in elements]
            if outcomes == ["ok"] * len(ids):
                m.applied.update(ids)
                m.new_applied.extend(ids)
            elif "insufficient" not in outcomes or "ok" in outcomes:
                self.protocol_errors.append(("EXEC", name, elements))

    def _call(self, conn, *args):
        reply = conn.call(*args)
        if isinstance(reply, harness.RespError):
            self.protocol_errors.append((args[0], args[1], str(reply)))
            raise OSError("error reply")
        return as_dict(reply)

    def _token(self, token):
        with self.model.lock:
            self.model.max_token = max(self.model.max_token, int(token))

    def lock(self, conn):
        """LOCK, sometimes RENEW, UNLOCK; `busy` is fine (another writer holds it)."""
        name = "lk:%d" % self.rng.randrange(LOCK_NAMES)
        owner = "w%d:%d" % (self.cycle, self.index)
        d = self._call(conn, "LOCK", name, owner, "LEASE", "2000")
        if d["result"] == "busy":
            return
        if d["result"] != "acquired":
            self.protocol_errors.append(("LOCK", name, d))
            return
        token = d["token"]
        self._token(token)
        if self.rng.random() < 0.5:
            r = self._call(conn, "RENEW", name, str(token), "LEASE", "2000")
            if r["result"] not in ("renewed", "stale"):
                self.protocol_errors.append(("RENEW", name, r))
        r = self._call(conn, "UNLOCK", name, str(token))
        if r["result"] not in ("released", "stale"):
            self.protocol_errors.append(("UNLOCK", name, r))

    def idem(self, conn, seq):
        """IDEM BEGIN on a fresh key, then END with a response named after it."""
        key = "ik:%d:%d:%d" % (self.cycle, self.index, seq)
        response = "resp:" + key
        m = self.model
        with m.lock:
            m.unknown_idem[key] = None
        d = self._call(conn, "IDEM", "BEGIN", key, "LEASE", "60000")
        if d["result"] != "run":
            self.protocol_errors.append(("IDEM BEGIN", key, d))
            return
        self._token(d["token"])
        with m.lock:
            m.unknown_idem[key] = response
        d = self._call(conn, "IDEM", "END", key, str(d["token"]), response)
        if (d["result"], d["response"]) != ("done", response):
            self.protocol_errors.append(("IDEM END", key, d))
            return
        with m.lock:
            del m.unknown_idem[key]
            m.idem_done[key] = response
            m.new_idem_done.append(key)

    def claim(self, conn):
        key = "ck:%d" % self.rng.randrange(CLAIM_KEYS)
        owner = "w%d:%d" % (self.cycle, self.index)
        m = self.model
        with m.lock:
            m.unknown_claims.append((key, owner))
        reply = conn.call("CLAIM", key, owner)
        if isinstance(reply, harness.RespError):
            self.protocol_errors.append(("CLAIM", key, str(reply)))
            raise OSError("error reply")
        d = as_dict(reply)
        with m.lock:
            m.unknown_claims.remove((key, owner))
            if d["result"] in ("won", "again", "held"):
                if key in m.claims and m.claims[key] != d["owner"]:
                    self.protocol_errors.append(("CLAIM", key, "owner changed from %s to %s" %
                                                 (m.claims[key], d["owner"])))
                m.claims[key] = d["owner"]
            else:
                self.protocol_errors.append(("CLAIM", key, d["result"]))


class CrashTest(harness.ServerTestCase, unittest.TestCase):

    def test_kill9_cycles(self):
        seed = int(os.environ.get("EXACTLY_CRASH_SEED") or random.randrange(1 << 30))
        cycles = int(os.environ.get("EXACTLY_CRASH_CYCLES") or 20)
        print("\n[test_crash] seed=%d cycles=%d (EXACTLY_CRASH_SEED=%d to replay)" %
              (seed, cycles, seed), file=sys.stderr)
        rng = random.Random(seed)
        model = Model()
        c = self.server.raw()
        self.assertEqual(as_dict(c.call("ACCOUNT", "bank", "MIN", "-inf"))["result"], "created")
        for i in range(ACCOUNTS):
            self.assertEqual(as_dict(c.call("ACCOUNT", acct(i)))["result"], "created")
            r = as_dict(c.call("TRANSFER", "fund:%d" % i, "bank", acct(i), str(FUNDING)))
            self.assertEqual(r["result"], "ok")
        c.close()
        total_acked = 0
        for cycle in range(cycles):
            writers = [Writer(self.server.port, model, cycle, i, rng.randrange(1 << 30))
                       for i in range(WRITERS)]
            for w in writers:
                w.start()
            pause = rng.uniform(0.05, 0.6)
            if rng.random() < 0.4:
                # A snapshot (a forked child) under load, sometimes killed mid-way.
                time.sleep(pause / 2)
                with self.server.raw(timeout=10) as s:
                    reply = s.call("SNAPSHOT")
                    self.assertFalse(isinstance(reply, harness.RespError) and
                                     "in progress" not in str(reply), reply)
                pause /= 2
            time.sleep(pause)
            self.server.kill()
            for w in writers:
                w.join(30)
                self.assertFalse(w.is_alive(), "writer still running after kill -9")
                self.assertEqual(w.protocol_errors, [], "seed=%d cycle=%d" % (seed, cycle))
            rc, out = harness.check(self.data_dir)
            self.assertEqual(rc, 0, "seed=%d cycle=%d: exactly check failed:\n%s" %
                             (seed, cycle, out))
            self.server = self.new_server(port=self.server.port).start()
            total_acked += len(model.new_applied)
            self.verify(model, "seed=%d cycle=%d" % (seed, cycle), everything=False)
        self.verify(model, "seed=%d final" % seed, everything=True)
        print("[test_crash] %d cycles, %d transfers applied, %d acknowledged refusals, %d claims, "
              "%d unacknowledged transfers retried (%d had been applied), %d IDEM keys done, "
              "last token %d"
              % (cycles, len(model.applied), len(model.refused), len(model.claims),
                 model.retried, model.retried_applied, len(model.idem_done), model.max_token),
              file=sys.stderr)
        self.assertGreater(total_acked, cycles, "too little load reached the server")

    def verify(self, model, where, everything):
        c = self.server.raw(timeout=60)
        try:
            self._verify(c, model, where, everything)
        finally:
            c.close()

    def balances(self, c):
        replies = self.pipeline(c, [("BALANCE", acct(i)) for i in range(ACCOUNTS)])
        return [as_dict(r)["balance"] for r in replies]

    def pipeline(self, c, commands, chunk=10000):
        # In chunks, reading each chunk's replies before sending the next: a
        # client that sends everything first and reads nothing lets its replies
        # pile up past the server's per-client limit (64 MiB) and is cut off,
        # which `make soak`'s 200 cycles reach.
        replies = []
        for start in range(0, len(commands), chunk):
            part = commands[start:start + chunk]
            c.send(b"".join(harness.encode(*cmd) for cmd in part))
            replies.extend(c.read_reply() for _ in part)
        return replies

    def _verify(self, c, model, where, everything):
        # Acknowledged successes are durable: repeating them answers `again`.
        ids = sorted(model.applied) if everything else list(model.new_applied)
        model.new_applied = []
        cmds = [("TRANSFER", tid, acct(model.transfers[tid][0]), acct(model.transfers[tid][1]),
                 str(model.transfers[tid][2])) for tid in ids]
        for tid, reply in zip(ids, self.pipeline(c, cmds)):
            self.assertEqual(as_dict(reply)["result"], "again",
                             "%s: acknowledged transfer %s lost" % (where, tid))
        # Acknowledged refusals stay the answer for their id.
        refused = sorted(model.refused) if everything else list(model.new_refused)
        model.new_refused = []
        cmds = [("TRANSFER", tid, acct(model.transfers[tid][0]), acct(model.transfers[tid][1]),
                 str(model.transfers[tid][2])) for tid in refused]
        for tid, reply in zip(refused, self.pipeline(c, cmds)):
            self.assertEqual(as_dict(reply)["result"], model.refused[tid],
                             "%s: first outcome of %s changed" % (where, tid))
        # Unacknowledged transfers and groups: retry; either outcome is fine, but a retry
        # answering `again` says it was applied before the crash, and the balances read
        # before the retries must show exactly that. A group is applied whole or not at all.
        before_retries = self.balances(c)
        already, now = set(), set()
        unknown = sorted(model.unknown_transfers)
        for tid, reply in zip(unknown, self.pipeline(c, [transfer_args(model, t)
                                                        for t in unknown])):
            result = as_dict(reply)["result"]
            self.assertIn(result, ("ok", "again", "insufficient"), "%s: retry of %s" % (where, tid))
            if result == "again":
                already.add(tid)
            elif result == "ok":
                now.add(tid)
            else:
                model.refused[tid] = result
        model.unknown_transfers.clear()
        for name in sorted(model.unknown_groups):
            ids = model.groups[name]
            c.send(group_frame(model, name))
            replies = [c.read_reply() for _ in range(len(ids) + 2)]
            d = harness.exec_dicts(replies[-1])
            outcomes = [r["result"] for r in d]
            if harness.exec_executed(d):
                self.assertIn(outcomes, (["again"] * len(ids), ["ok"] * len(ids)),
                              "%s: group %s was applied in part: %s" % (where, name, d))
                (already if outcomes[0] == "again" else now).update(ids)
            else:
                self.assertNotIn("again", outcomes,
                                 "%s: group %s was applied in part: %s" % (where, name, d))
        model.unknown_groups.clear()
        self.assertEqual(before_retries, model.balances(model.applied | already),
                         "%s: state after the crash does not match the acknowledged "
                         "operations plus the retries answering again" % where)
        model.retried += len(unknown) + len(already | now) - len(set(unknown) & (already | now))
        model.retried_applied += len(already)
        model.applied |= already | now
        # Unacknowledged claims: retry; the key's holder is whatever the server says now.
        for key, owner in model.unknown_claims:
            d = as_dict(c.call("CLAIM", key, owner))
            self.assertIn(d["result"], ("won", "again", "held"), where)
            if key in model.claims:
                self.assertEqual(d["owner"], model.claims[key],
                                 "%s: claim %s changed hands" % (where, key))
            model.claims[key] = d["owner"]
        model.unknown_claims = []
        # Every acknowledged claim is held by its owner.
        keys = sorted(model.claims)
        for key, reply in zip(keys, self.pipeline(c, [("CLAIMOF", k) for k in keys])):
            d = as_dict(reply)
            self.assertEqual((d["result"], d["owner"]), ("held", model.claims[key]),
                             "%s: claim %s" % (where, key))
        # Balances are exactly the funding plus the applied transfers.
        balances = self.balances(c)
        self.assertTrue(all(b >= 0 for b in balances), "%s: %s" % (where, balances))
        self.assertEqual(sum(balances), FUNDING * ACCOUNTS, "%s: total not conserved" % where)
        self.assertEqual(balances, model.balances(), "%s: balances differ from the model" % where)
        self.assertEqual(as_dict(c.call("BALANCE", "bank"))["balance"], -FUNDING * ACCOUNTS)
        self._verify_locks_and_idem(c, model, where, everything)

    def _verify_locks_and_idem(self, c, model, where, everything):
        # Tokens never go backwards: a fresh name's first token beats every acknowledged one.
        model.probes += 1
        probe = as_dict(c.call("LOCK", "probe:%d" % model.probes, "checker", "LEASE", "1000"))
        self.assertEqual(probe["result"], "acquired", where)
        self.assertGreater(int(probe["token"]), model.max_token,
                           "%s: lock token went backwards after the restart" % where)
        model.max_token = int(probe["token"])
        # Every acknowledged END is `done` with its response.
        keys = sorted(model.idem_done) if everything else list(model.new_idem_done)
        model.new_idem_done = []
        for key, reply in zip(keys, self.pipeline(c, [("IDEM", "BEGIN", key) for key in keys])):
            d = as_dict(reply)
            self.assertEqual((d["result"], d["response"]), ("done", model.idem_done[key]),
                             "%s: acknowledged IDEM END of %s lost" % (where, key))
        # Unacknowledged ones: the END either happened (same response) or the runner still
        # holds the key; a lost BEGIN may run now.
        for key, response in sorted(model.unknown_idem.items()):
            d = as_dict(c.call("IDEM", "BEGIN", key, "LEASE", "60000"))
            if d["result"] == "done":
                self.assertEqual(d["response"], response,
                                 "%s: IDEM %s stored a response nobody sent" % (where, key))
                model.idem_done[key] = response
            elif d["result"] == "run":
                self.assertIsNone(response, "%s: IDEM %s lost its runner" % (where, key))
                model.max_token = max(model.max_token, int(d["token"]))
            else:
                self.assertEqual(d["result"], "running", "%s: IDEM %s: %s" % (where, key, d))
        model.unknown_idem = {}


if __name__ == "__main__":
    unittest.main()
