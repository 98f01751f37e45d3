"""S4: POST /api/pay?account=A&delta=D&i=N — a balance change; even i takes the nested path
(an order whose outer transaction calls updateBalance, which joins it)."""
import os
import sys
import time
import uuid

from flask import Flask, jsonify, request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import backends  # noqa: E402

app = Flask(__name__)
OPENING = 100
AFTER_S = 0.03  # the outer work between the method's return and the commit
DDL = """
CREATE TABLE IF NOT EXISTS s4_accounts (no text PRIMARY KEY, balance bigint NOT NULL,
                                        fence bigint NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS s4_orders (id text PRIMARY KEY, account text, delta bigint);
"""


class Insufficient(Exception):
    pass


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


# --- exactly: a fenced, reentrant lease held until after the commit ---------------------

def lock(account, owner):
    r = backends.call("LOCK", f"s4:lock:{account}", owner, "LEASE", 10000, "WAIT", 10000)
    if r["result"] not in ("acquired", "reentered"):
        raise RuntimeError(f"lock {r['result']}")
    return int(r["token"])


def update_balance_exactly(conn, account, delta, owner, commit):
    token = lock(account, owner)  # re-entered when the caller already holds it
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT balance FROM s4_accounts WHERE no = %s", (account,))
            (balance,) = cur.fetchone()
            if balance + delta < 0:
                raise Insufficient()
            # The fence: a holder whose lease ran out (a newer token wrote) changes nothing.
            cur.execute("UPDATE s4_accounts SET balance = %s, fence = %s "
                        "WHERE no = %s AND fence <= %s", (balance + delta, token, account, token))
            if cur.rowcount != 1:
                raise RuntimeError("stale fencing token")
        if commit:
            conn.commit()  # REQUIRES_NEW: commit before the lock is released
    finally:
        backends.call("UNLOCK", f"s4:lock:{account}", token)


def pay_exactly(account, delta, nested):
    conn, owner = backends.pg(), uuid.uuid4().hex
    try:
        if nested:
            token = lock(account, owner)  # the request's outer lock, held to its commit
            try:
                with conn.cursor() as cur:
                    cur.execute("INSERT INTO s4_orders VALUES (%s, %s, %s)",
                                (uuid.uuid4().hex, account, delta))
                update_balance_exactly(conn, account, delta, owner, commit=False)
                time.sleep(AFTER_S)
                conn.commit()
            finally:
                backends.call("UNLOCK", f"s4:lock:{account}", token)
        else:
            update_balance_exactly(conn, account, delta, owner, commit=True)
    except Insufficient:
        conn.rollback()
        return jsonify(paid=False, reason="insufficient"), 409
    return jsonify(paid=True), 200


@app.route("/health")
def health():
    return "ok"


@app.route("/api/pay", methods=["POST"])
def pay():
    a = request.args
    account, delta, nested = a["account"], int(a["delta"]), int(a.get("i", "1")) % 2 == 0
    open_account(account)
    if backends.mode() == "naive":
        return pay_naive(account, delta, nested)
    return pay_exactly(account, delta, nested)


@app.route("/api/balance")
def balance():
    conn = backends.pg()
    with conn.cursor() as cur:
        cur.execute("SELECT balance FROM s4_accounts WHERE no = %s", (request.args["account"],))
        row = cur.fetchone()
    conn.commit()
    return jsonify(balance=None if row is None else row[0])


backends.schema(DDL)
