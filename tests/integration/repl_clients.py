"""Clients of the fault sweep: routing as a client would, and the writers' workload.

Routing (DESIGN.md, "Beyond one machine"): `-MOVED <slot> <host:port>` goes to the
named node and was not executed; `-CLUSTERDOWN` (no leader known) was not executed
and is tried on the next node after a pause; a refused connection and `-ERR server is
shutting down` (what a stopping node answers a command, and a connection it accepts
meanwhile) were not executed either, and go to the next node. `-ERR max number of
clients reached` is a full node: not executed too, and routed the same way.
`-TRYAGAIN`, `-IOERR`, a reset or closed connection after the command was sent, and a
reply that does not come within the op timeout leave the outcome unknown: a write is
then
retried with the same arguments (the same transfer id, the same LOCK ID, the same
claim owner), which the server answers with the first outcome if it was kept.

Every op is recorded (repl_linearizability.Op) with the time of its first attempt
and of its definitive reply; `ambiguous` when an attempt's outcome was unknown.
Reads whose outcome is unknown are dropped (a read has no effect to account for).
"""

import random
import threading
import time

import harness
from harness import RespError, as_dict
from repl_linearizability import Op

OP_TIMEOUT_S = 1.0  # a reply later than this is an unknown outcome (a stopped node)
LEASE_MS = 600000  # far beyond a run: the models have no clock
ACCOUNT_MAX = 80
FUNDS = (60, 40)  # each pair's starting balances; MAX 80 makes over_max reachable

NOT_EXECUTED = "not_executed"
UNKNOWN = "unknown"
REPLY = "reply"


class Router:
    """One client's connection, following the leader."""

    def __init__(self, ports, rng):
        self.ports = list(ports)
        self.port = rng.choice(self.ports)
        self.conn = None
        self.rotation = 0

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def next_port(self):
        self.close()
        self.rotation += 1
        self.port = self.ports[(self.ports.index(self.port) + 1) % len(self.ports)]

    def attempt(self, args):
        """(NOT_EXECUTED | UNKNOWN | REPLY, reply or None, port)."""
        port = self.port
        if self.conn is None:
            try:
                self.conn = harness.RawConnection(port, timeout=OP_TIMEOUT_S)
            except OSError:
                self.next_port()
                time.sleep(0.02)
                return NOT_EXECUTED, None, port
        try:
            self.conn.send_command(*args)
        except OSError:
            # Some bytes may have reached the server.
            self.next_port()
            return UNKNOWN, None, port
        try:
            reply = self.conn.read_reply()
        except (OSError, harness.ConnectionClosed, ValueError):
            self.next_port()
            return UNKNOWN, None, port
        if isinstance(reply, RespError):
            code = reply.code
            if code == "MOVED":
                self.close()
                self.port = int(str(reply).split(" ")[2].rsplit(":", 1)[1])
                return NOT_EXECUTED, reply, port
            if code == "CLUSTERDOWN":
                self.next_port()
                time.sleep(0.05)
                return NOT_EXECUTED, reply, port
            if code == "ERR" and ("shutting down" in str(reply) or
                                  "max number of clients" in str(reply)):
                # Refused before it reached a batch: a node stopping with SIGTERM
                # answers the first to a command and to a connection it accepts
                # meanwhile; a full node the second.
                self.next_port()
                return NOT_EXECUTED, reply, port
            if code in ("TRYAGAIN", "IOERR"):
                self.next_port()
                return UNKNOWN, reply, port
        return REPLY, reply, port


def reply_dict(reply):
    if isinstance(reply, RespError):
        return {"result": "error", "error": str(reply)}
    try:
        return as_dict(reply)
    except ValueError:
        return {"result": "error", "error": repr(reply)}


def execute(router, op, args, retry, deadline, node_of_port):
    """Runs `args` for `op` until a definitive reply (retrying unknown outcomes when
    `retry`) or until monotonic time passes `deadline()`. Fills op.result, complete,
    ambiguous and node. Returns op, or None for a read whose outcome stayed unknown."""
    while time.monotonic() < deadline():
        kind, reply, port = router.attempt(args)
        if kind == REPLY:
            op.complete = time.monotonic()
            op.result = reply_dict(reply)
            op.node = node_of_port(port)
            return op
        if kind == UNKNOWN:
            op.ambiguous = True
            op.node = node_of_port(port)
            if not retry:
                return None
            time.sleep(0.01)
    return op if retry else None  # a write left pending: complete stays None


class Workload:
    """The objects of the sweep and the ops' records, shared by every writer."""

    def __init__(self, claims=8, pairs=3, locks=3):
        self.claim_keys = ["c%d" % k for k in range(claims)]
        self.pairs = [("a%d" % p, "b%d" % p) for p in range(pairs)]
        self.lock_names = ["l%d" % k for k in range(locks)]
        self.lock = threading.Lock()
        self.ops = []  # every recorded op of the current cycle
        self.seq = 0

    def pair_of(self, account):
        for pair in self.pairs:
            if account in pair:
                return pair
        raise KeyError(account)

    def next_id(self, prefix):
        with self.lock:
            self.seq += 1
            return "%s-%d" % (prefix, self.seq)

    def record(self, op):
        if op is not None:
            with self.lock:
                self.ops.append(op)
        return op

    def take_ops(self):
        with self.lock:
            ops, self.ops = self.ops, []
        return ops


class Writer(threading.Thread):
    """One client process: claims, transfers and locks on random objects until `stop`;
    it ends its current op (and releases a lock it took) before leaving."""

    def __init__(self, name, ports, workload, node_of_port, seed, stop, resolve_s=60.0):
        super().__init__(name=name, daemon=True)
        self.rng = random.Random(seed)
        self.router = Router(ports, self.rng)
        self.w = workload
        self.node_of_port = node_of_port
        self.stop = stop
        self.resolve_s = resolve_s
        self.holds = set()  # claim keys this writer holds
        self.failure = None
        self.stopped_at = None

    def deadline(self):
        # While the sweep runs, a write is retried until it is answered; once it
        # stops, for resolve_s more (then it stays unknown, and the sweep says so).
        if self.stop.is_set():
            if self.stopped_at is None:
                self.stopped_at = time.monotonic()
            return self.stopped_at + self.resolve_s
        return float("inf")

    def run_op(self, obj, kind, args, retry):
        op = Op(obj, kind, args[1:], time.monotonic(), self.name)
        return self.w.record(execute(self.router, op, args, retry, self.deadline,
                                     self.node_of_port))

    def run(self):
        try:
            while not self.stop.is_set():
                self.step()
        except Exception as e:  # reported by the sweep, which fails on it
            self.failure = "%s: %r" % (self.name, e)
        finally:
            self.router.close()

    def step(self):
        r = self.rng.random()
        w = self.w
        if r < 0.4:
            key = self.rng.choice(w.claim_keys)
            if self.rng.random() < 0.3:
                self.run_op(("claim", key), "CLAIMOF", ["CLAIMOF", key], retry=False)
                return
            if key in self.holds:
                op = self.run_op(("claim", key), "UNCLAIM", ["UNCLAIM", key, self.name],
                                 retry=True)
                if op is not None and op.result is not None:
                    self.holds.discard(key)
            else:
                op = self.run_op(("claim", key), "CLAIM", ["CLAIM", key, self.name], retry=True)
                if op is not None and op.result is not None and \
                        op.result.get("result") in ("won", "again"):
                    self.holds.add(key)
        elif r < 0.8:
            pair = self.rng.choice(w.pairs)
            if self.rng.random() < 0.25:
                account = self.rng.choice(pair)
                self.run_op(("pair",) + pair, "BALANCE", ["BALANCE", account], retry=False)
                return
            src, dst = pair if self.rng.random() < 0.5 else pair[::-1]
            amount = str(self.rng.randint(1, 30))
            tid = w.next_id("t" + self.name)
            self.run_op(("pair",) + pair, "TRANSFER", ["TRANSFER", tid, src, dst, amount],
                        retry=True)
        else:
            name = self.rng.choice(w.lock_names)
            rid = w.next_id("r" + self.name)
            op = self.run_op(("lock", name), "LOCK",
                             ["LOCK", name, self.name, "LEASE", str(LEASE_MS), "ID", rid],
                             retry=True)
            if op is None or op.result is None or op.result.get("result") != "acquired":
                return
            token = str(op.result["token"])
            self.run_op(("lock", name), "UNLOCK", ["UNLOCK", name, token], retry=True)
