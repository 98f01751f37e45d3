"""S4: POST /api/pay?account=A&delta=D&i=N — a balance change; even i takes the nested path
(an order whose outer transaction calls updateBalance, which joins it). In the exactly
mode i=1 stalls past its lock's lease, so the fencing token must stop its write.
GET /api/balance?account=A reads the balance back."""
import os
import sys
import time
import uuid

from flask import Flask, jsonify, request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import backends  # noqa: E402
from exactly import LockLost  # noqa: E402

app = Flask(__name__)
OPENING = 100
AFTER_S = 0.03  # the outer work between the method's return and the commit
PAUSED_LEASE_MS, PAUSE_S = 200, 0.5  # request 1 of the exactly mode stalls past its lease
DDL = """
CREATE TABLE IF NOT EXISTS s4_accounts (no text PRIMARY KEY, balance bigint NOT NULL,
                                        fence bigint NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS s4_orders (id text PRIMARY KEY, account text, delta bigint);
"""


class Insufficient(Exception):
    pass


class Stale(Exception):
    """The fencing token was refused: this holder's lease ran out and it lost the lock."""


def open_account(account):
    conn = backends.pg()
    with conn.cursor() as cur:
        cur.execute("INSERT INTO s4_accounts (no, balance) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                    (account, OPENING))
    conn.commit()


# --- naive: @Lock inside @Transactional -------------------------------------------------

def update_balance_naive(cur, account, delta):
    r, lock, token = backends.rds(), f"s4:lock:{account}", uuid.uuid4().hex
    while not r.set(lock, token, nx=True, px=5000):
        time.sleep(0.005)
    try:
        cur.execute("SELECT balance FROM s4_accounts WHERE no = %s", (account,))
        (balance,) = cur.fetchone()
        if balance + delta < 0:
            raise Insufficient()
        cur.execute("UPDATE s4_accounts SET balance = %s WHERE no = %s", (balance + delta, account))
    finally:
        if r.get(lock) == token:
            r.delete(lock)  # the lock aspect ends here; the transaction commits later


def pay_naive(account, delta, nested):
    conn = backends.pg()
    try:
        with conn.cursor() as cur:
            if nested:  # the caller's transaction: the method joins it (REQUIRED)
                cur.execute("INSERT INTO s4_orders VALUES (%s, %s, %s)",
                            (uuid.uuid4().hex, account, delta))
            update_balance_naive(cur, account, delta)
            time.sleep(AFTER_S)
        conn.commit()
    except Insufficient:
        conn.rollback()
        return jsonify(paid=False, reason="insufficient"), 409
    return jsonify(paid=True), 200


# --- exactly: a leased, reentrant, fenced lock held until after the commit ---------------

def account_lock(account, owner, lease_ms=10000):
    """The account's lock: leased, reentrant for `owner`, parked on the server up to 10 s."""
    return backends.exactly().lock(f"s4:lock:{account}", owner=owner, lease_ms=lease_ms,
                                   wait_ms=10000)


def update_balance_exactly(conn, account, delta, owner, commit, pause_s=0.0, lease_ms=10000):
    """updateBalance: takes the account's lock itself; re-enters it inside a caller's lock."""
    try:
        with account_lock(account, owner, lease_ms) as held:
            with conn.cursor() as cur:
                cur.execute("SELECT balance, fence FROM s4_accounts WHERE no = %s", (account,))
                balance, seen = cur.fetchone()
                if balance + delta < 0:
                    raise Insufficient()
                time.sleep(pause_s)  # a GC pause: the lease may run out here
                # The fence, written with the row: `fence < token` refuses a holder whose
                # lease ran out once a newer holder has written; `fence = seen` refuses a
                # write whose read another holder overtook. Either way this holder changes
                # nothing.
                cur.execute("UPDATE s4_accounts SET balance = %s, fence = %s "
                            "WHERE no = %s AND fence < %s AND fence = %s",
                            (balance + delta, held.token, account, held.token, seen))
                if cur.rowcount != 1:
                    raise Stale()
            if commit:
                conn.commit()  # REQUIRES_NEW: commit before the lock is released
    except LockLost:
        # The lease ran out after a write that the fence let through (no other holder
        # wrote meanwhile): the fence, not the lease, is what made the write safe.
        pass
    return held.result.depth


def pay_exactly(account, delta, nested, paused):
    conn, owner = backends.pg(), uuid.uuid4().hex
    try:
        if nested:
            with account_lock(account, owner):  # the order's own lock, held to its commit
                with conn.cursor() as cur:
                    cur.execute("INSERT INTO s4_orders VALUES (%s, %s, %s)",
                                (uuid.uuid4().hex, account, delta))
                depth = update_balance_exactly(conn, account, delta, owner, commit=False)
                time.sleep(AFTER_S)
                conn.commit()
        elif paused:  # a short lease and a pause longer than it
            depth = update_balance_exactly(conn, account, delta, owner, commit=True,
                                           pause_s=PAUSE_S, lease_ms=PAUSED_LEASE_MS)
        else:
            depth = update_balance_exactly(conn, account, delta, owner, commit=True)
    except Insufficient:
        conn.rollback()
        return jsonify(paid=False, reason="insufficient"), 409
    except Stale:
        conn.rollback()
        return jsonify(paid=False, reason="lease ran out: fencing token refused"), 409
    # depth 2: the nested call re-entered the order's lock (same owner, same token).
    return jsonify(paid=True, nested=nested, lock_depth=depth), 200


@app.route("/health")
def health():
    return "ok"


@app.route("/api/pay", methods=["POST"])
def pay():
    a = request.args
    i = int(a.get("i", "1"))
    account, delta, nested = a["account"], int(a["delta"]), i % 2 == 0
    open_account(account)
    if backends.mode() == "naive":
        return pay_naive(account, delta, nested)
    return pay_exactly(account, delta, nested, paused=i == 1)


@app.route("/api/balance")
def balance():
    conn = backends.pg()
    with conn.cursor() as cur:
        cur.execute("SELECT balance FROM s4_accounts WHERE no = %s", (request.args["account"],))
        row = cur.fetchone()
    conn.commit()
    return jsonify(balance=None if row is None else row[0])


backends.schema(DDL)
