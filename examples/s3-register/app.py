"""S3: POST /api/register?phone=P&submit=S — one account per phone number."""
import os
import sys
import time
import uuid

from flask import Flask, jsonify, request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import backends  # noqa: E402

app = Flask(__name__)
AFTER_UNLOCK_S = 0.1  # logs and analytics, still inside the transaction
LIMIT_COUNT, LIMIT_PERIOD_MS = 20, 10000
DDL = """
CREATE TABLE IF NOT EXISTS s3_users (id text PRIMARY KEY, phone text NOT NULL);
CREATE TABLE IF NOT EXISTS s3_logs (user_id text, what text, at timestamptz DEFAULT now());
"""


def register_naive(phone):
    r = backends.rds()
    conn = backends.pg()
    lock, token = f"s3:lock:{phone}", uuid.uuid4().hex
    deadline = time.time() + 5
    with conn.cursor() as cur:  # @Transactional: one transaction around everything
        while not r.set(lock, token, nx=True, px=5000):
            if time.time() > deadline:
                conn.rollback()
                return jsonify(registered=False, reason="busy"), 503
            time.sleep(0.005)
        cur.execute("SELECT id FROM s3_users WHERE phone = %s", (phone,))
        row = cur.fetchone()
        if row is not None:
            if r.get(lock) == token:
                r.delete(lock)
            conn.rollback()
            return jsonify(registered=False, reason="phone already registered"), 409
        user = uuid.uuid4().hex
        cur.execute("INSERT INTO s3_users VALUES (%s, %s)", (user, phone))
        if r.get(lock) == token:  # the lock is released here, before the commit
            r.delete(lock)
        cur.execute("INSERT INTO s3_logs (user_id, what) VALUES (%s, 'registered')", (user,))
        time.sleep(AFTER_UNLOCK_S)
    conn.commit()
    return jsonify(registered=True, user=user), 200


def register_exactly(phone, submit):
    # The anti-resubmit limiter, per account and URI: `count` per `period`, with a retry time.
    lim = backends.call("LIMIT", f"s3:limit:{phone}:/api/register", "WINDOW", LIMIT_COUNT, "PER",
                        LIMIT_PERIOD_MS)
    if lim["result"] == "limited":
        return jsonify(registered=False, reason="too many attempts",
                       retry_after_ms=int(lim["retry_after_ms"])), 429
    # One execution per submit: a double click gets the first reply back.
    idem = backends.call("IDEM", "BEGIN", f"s3:submit:{submit}", "LEASE", 10000, "TTL", 600000)
    if idem["result"] == "done":
        return app.response_class(idem["response"], status=200, mimetype="application/json",
                                  headers={"X-Replayed": "true"})
    if idem["result"] != "run":
        return jsonify(registered=False, reason=f"submit {idem['result']}"), 409
    user = uuid.uuid4().hex
    claim = backends.call("CLAIM", f"s3:phone:{phone}", user)
    if claim["result"] == "held":
        backends.call("IDEM", "ABORT", f"s3:submit:{submit}", idem["token"])
        return jsonify(registered=False, reason="phone already registered",
                       holder=claim["owner"]), 409
    conn = backends.pg()
    with conn.cursor() as cur:
        cur.execute("INSERT INTO s3_users VALUES (%s, %s)", (user, phone))
        cur.execute("INSERT INTO s3_logs (user_id, what) VALUES (%s, 'registered')", (user,))
        time.sleep(AFTER_UNLOCK_S)
    conn.commit()
    body = jsonify(registered=True, user=user).get_data(as_text=True)
    backends.call("IDEM", "END", f"s3:submit:{submit}", idem["token"], body)
    return app.response_class(body, status=200, mimetype="application/json")


@app.route("/health")
def health():
    return "ok"


@app.route("/api/register", methods=["POST"])
def register():
    a = request.args
    if backends.mode() == "naive":
        return register_naive(a["phone"])
    return register_exactly(a["phone"], a["submit"])


backends.schema(DDL)
