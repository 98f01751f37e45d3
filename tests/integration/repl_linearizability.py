"""A small WGL-style linearizability checker and the models of exactly's commands
the fault sweep uses (test_replication_faults.py).

A history is a list of Op: invoke and complete times (time.monotonic of the client),
the command and its outcome. An op whose outcome stayed unknown (no definitive reply)
has complete = None: it may have taken effect at any point after its invoke, or never.
An op retried after an unknown attempt (a TRANSFER with the same id, a LOCK with the
same ID, a CLAIM by the same owner) is one op from its first invoke to its last
reply, marked `ambiguous`: its model accepts either reading of an `again`-style reply.

Decomposition (linearizability is local: a history is linearizable iff every
object's subhistory is, Herlihy & Wing 1990). The objects here touch disjoint state:
- a claim key: CLAIM, UNCLAIM, CLAIMOF of that key and nothing else;
- an account pair: the sweep's transfers move money only between the two accounts
  of one pair (ids are unique per op, so the id table couples nothing), BALANCE
  reads one account of it;
- a lock name: LOCK (with a unique ID) and UNLOCK of that name. Tokens come from one
  engine-wide counter, which couples the names: the per-name model only asks that
  a grant's token exceed the name's last one, and `token_order_problems` checks the
  counter itself (a later grant never carries a smaller token). Both are implied by
  linearizability of the whole, so neither reports a false violation; together they
  can miss a violation that spans names without showing in either.
No op of the sweep depends on time (no TTL, leases far longer than a run), so the
models have no clock.

The search (Wing & Gong, with Lowe's memoisation): depth first over the ops that may
be linearized next (invoked before every remaining op's completion), trying each
next state the model allows, memoising (set of linearized ops, state) pairs already
explored. Ops with an unknown outcome may stay unlinearized at the end.
"""

import collections

INF = float("inf")


class Op:
    __slots__ = ("obj", "kind", "args", "invoke", "complete", "result", "ambiguous", "node",
                 "process")

    def __init__(self, obj, kind, args, invoke, process):
        self.obj = obj
        self.kind = kind
        self.args = args
        self.invoke = invoke
        self.complete = None
        self.result = None  # reply as a dict; None while unknown
        self.ambiguous = False
        self.node = None  # the node that gave the reply
        self.process = process

    def end(self):
        return INF if self.complete is None else self.complete

    def __repr__(self):
        result = self.result or {}
        return "%s%r -> %s%s [%.3f, %s] by %s at node %s" % (
            self.kind, tuple(self.args), result.get("error", result.get("result", "?")),
            " (ambiguous)" if self.ambiguous else "", self.invoke,
            "?" if self.complete is None else "%.3f" % self.complete, self.process, self.node)


# Models: step(state, op) -> the list of states the op may leave (empty: impossible).
# A pending op (result None) may leave any state its command can produce.

def claim_step(holder, op):
    r = op.result
    word = None if r is None else r.get("result")
    if op.kind == "CLAIMOF":
        if word == "held":
            return [holder] if holder == r.get("owner") else []
        if word == "free":
            return [holder] if holder is None else []
        return []
    owner = op.args[1]
    if op.kind == "CLAIM":
        if r is None:
            return [owner] if holder in (None, owner) else [holder]
        if word == "won":
            return [owner] if holder is None else []
        if word == "again":
            if holder == owner:
                return [holder]
            # An earlier attempt of this op won, unseen.
            return [owner] if op.ambiguous and holder is None else []
        if word == "held":
            return [holder] if holder is not None and holder != owner and \
                holder == r.get("owner") else []
        return []
    if op.kind == "UNCLAIM":
        if r is None:
            return [None, holder] if holder == owner else [holder]
        if word == "released":
            return [None] if holder == owner else []
        if word == "not_holder":
            if holder != owner:
                return [holder]
            return [None] if op.ambiguous else []  # an earlier attempt released it
        return []
    return []


def pair_model(a, b, max_balance):
    """Model of one account pair (a, b), both MIN 0, MAX max_balance; state (bal_a, bal_b)."""
    index = {a: 0, b: 1}

    def step(state, op):
        r = op.result
        word = None if r is None else r.get("result")
        if op.kind == "BALANCE":
            return [state] if word == "ok" and int(r["balance"]) == state[index[op.args[0]]] \
                else []
        # TRANSFER id from to amount
        _, src, dst, amount = op.args
        amount = int(amount)
        s, d = index[src], index[dst]
        moved = list(state)
        moved[s] -= amount
        moved[d] += amount
        moved = tuple(moved)
        fits = moved[s] >= 0 and moved[d] <= max_balance
        if r is None:
            return [moved] if fits else [state]
        if word == "ok" or (word == "again" and op.ambiguous):
            return [moved] if fits else []
        if word == "insufficient":
            return [state] if moved[s] < 0 else []
        if word == "over_max":
            return [state] if moved[d] > max_balance else []
        return []
    return step


def lock_step(state, op):
    """State (holder, token, last_token); holder None when free."""
    holder, token, last = state
    r = op.result
    word = None if r is None else r.get("result")
    if op.kind == "LOCK":
        owner = op.args[1]
        if r is None:
            # Took some token above `last`, or nothing; an unseen token is modelled as
            # last + 1 (any larger value would do as well for every later check).
            if holder is None:
                return [(owner, None, last), state]
            return [state]
        if word == "acquired":
            t = int(r["token"])
            return [(owner, t, t)] if holder is None and t > last else []
        if word == "busy":
            return [state] if holder is not None and holder != owner and \
                r.get("holder") == holder else []
        return []
    if op.kind == "UNLOCK":
        t = int(op.args[1])
        held = holder is not None and (token == t or token is None)
        if r is None:
            return [(None, None, last), state] if held else [state]
        if word == "released":
            return [(None, None, last)] if held and int(r.get("depth", 0)) == 0 else []
        if word == "stale":
            if not held:
                return [state]
            return [(None, None, last)] if op.ambiguous else []
        return []
    return []


def check(ops, init, step, budget=2_000_000):
    """True if `ops` (one object's history) is linearizable from `init` under `step`;
    else the longest prefix of ops the search could linearize (for the report). Raises
    RuntimeError past `budget` explored states (the history is too hard to decide)."""
    ops = sorted(ops, key=lambda o: o.invoke)
    n = len(ops)
    ends = [o.end() for o in ops]
    must = 0  # ops with a definitive reply: these must all be linearized
    for k, o in enumerate(ops):
        if o.complete is not None:
            must |= 1 << k
    seen = set()
    best = []
    stack = [(0, init, [])]
    explored = 0
    while stack:
        done, state, order = stack.pop()
        if (done & must) == must:
            return True
        key = (done, state)
        if key in seen:
            continue
        seen.add(key)
        explored += 1
        if explored > budget:
            raise RuntimeError("linearizability search past %d states on %d ops" % (budget, n))
        if len(order) > len(best):
            best = order
        # The earliest completion among the remaining ops bounds who may go next.
        horizon = INF
        for k in range(n):
            if not done >> k & 1 and ends[k] < horizon:
                horizon = ends[k]
        for k in range(n):
            if done >> k & 1:
                continue
            if ops[k].invoke > horizon:
                break  # sorted by invoke: none after this may go first either
            for nxt in step(state, ops[k]):
                stack.append((done | 1 << k, nxt, order + [k]))
    return [ops[k] for k in best]


def check_objects(histories, inits, steps):
    """histories: {obj: [Op]}; inits/steps: {obj: ...}. Returns a list of problems."""
    problems = []
    for obj, ops in sorted(histories.items(), key=lambda kv: str(kv[0])):
        try:
            result = check(ops, inits[obj], steps[obj])
        except RuntimeError as e:
            problems.append("%s: %s" % (obj, e))
            continue
        if result is not True:
            placed = set(id(o) for o in result)
            rest = sorted((o for o in ops if id(o) not in placed), key=lambda o: o.invoke)
            problems.append("%s: not linearizable from %r; linearized %d of %d ops, "
                            "stuck before: %s" % (obj, inits[obj], len(result), len(ops),
                                                  "; ".join(repr(o) for o in rest[:4])))
    return problems


def token_order_problems(grants):
    """grants: [(token, invoke, complete)] of every `acquired`. The token counter is
    linearizable only if no grant that ended before another began has the larger
    token, and no token is granted twice."""
    problems = []
    counts = collections.Counter(t for t, _, _ in grants)
    for t, c in counts.items():
        if c > 1:
            problems.append("token %d granted %d times" % (t, c))
    latest_invoke = None  # the grant with the latest invoke among smaller tokens
    for t, inv, comp in sorted(grants):
        if latest_invoke is not None and comp < latest_invoke[1]:
            problems.append("token %d granted (ended %.3f) before token %d was asked for "
                            "(%.3f)" % (t, comp, latest_invoke[0], latest_invoke[1]))
        if latest_invoke is None or inv > latest_invoke[1]:
            latest_invoke = (t, inv)
    return problems
