"""S3: POST /api/register?phone=P&submit=S — one account per phone number.

`submit` is the form's one-time submit id: a double click sends the same id twice.
A response that created an account says `"created": true`; a replayed one says
`"replayed": true` (the stored reply of the first click, not a second execution).
"""
import json
import os
import sys
import time
import uuid

from flask import Flask, jsonify, request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import backends  # noqa: E402
from exactly import Outcome  # noqa: E402

app = Flask(__name__)
AFTER_UNLOCK_S = 0.1  # logs and analytics, still inside the transaction
URI = "/api/register"
# The anti-resubmit limiter of the report: `count` per `period` per prefix + account + URI.
LIMIT_COUNT, LIMIT_PERIOD_MS = 5, 10000
DDL = """
CREATE TABLE IF NOT EXISTS s3_users (id text PRIMARY KEY, phone text NOT NULL);
CREATE TABLE IF NOT EXISTS s3_logs (user_id text, what text, at timestamptz DEFAULT now());
"""


def reply(status, **fields):
    return app.response_class(json.dumps(fields), status=status, mimetype="application/json")


# --- naive: the Redis lock is released before the transaction commits -----------------

def register_naive(phone):
    r = backends.rds()
    conn = backends.pg()
    lock, token = f"s3:lock:{phone}", uuid.uuid4().hex
    deadline = time.time() + 5
    with conn.cursor() as cur:  # @Transactional: one transaction around everything
        while not r.set(lock, token, nx=True, px=5000):
            if time.time() > deadline:
                conn.rollback()
                return reply(503, registered=False, reason="busy")
            time.sleep(0.005)
        cur.execute("SELECT id FROM s3_users WHERE phone = %s", (phone,))
        row = cur.fetchone()
        if row is not None:
            if r.get(lock) == token:
                r.delete(lock)
            conn.rollback()
            return reply(409, registered=False, reason="phone already registered")
        user = uuid.uuid4().hex
        cur.execute("INSERT INTO s3_users VALUES (%s, %s)", (user, phone))
        if r.get(lock) == token:  # the lock is released here, before the commit
            r.delete(lock)
        cur.execute("INSERT INTO s3_logs (user_id, what) VALUES (%s, 'registered')", (user,))
        time.sleep(AFTER_UNLOCK_S)
    conn.commit()
    return reply(200, registered=True, created=True, user=user)


# --- exactly: LIMIT, then one execution per submit, then CLAIM per phone ---------------

def mark_replayed(response):
    """A double click's answer is the first click's stored reply, marked as a replay:
    it did not create an account."""
    body = json.loads(response.get_data())
    body.update(replayed=True, created=False)
    response.set_data(json.dumps(body))
    return response


# One execution per submit id: a second click waits on the server for the first one's
# stored reply (IDEM BEGIN ... WAIT); the fingerprint (method, path with the phone, body)
# refuses the same submit id for another phone.
@backends.exactly().idempotent(key=lambda req: req.args.get("submit"), namespace="s3:submit:",
                               lease_ms=10000, ttl_ms=600000, wait_ms=10000,
                               replay=mark_replayed)
def register_once(phone):
    """CLAIM decides the winner outside the app's transaction."""
    user = uuid.uuid4().hex
    claim = backends.exactly().claim(f"s3:phone:{phone}", user)
    if claim.result is Outcome.HELD:
        return reply(409, registered=False, reason="phone already registered",
                     holder=claim.owner)
    conn = backends.pg()
    with conn.cursor() as cur:
        cur.execute("INSERT INTO s3_users VALUES (%s, %s)", (user, phone))
        cur.execute("INSERT INTO s3_logs (user_id, what) VALUES (%s, 'registered')", (user,))
        time.sleep(AFTER_UNLOCK_S)  # however long the transaction runs, the claim is decided
    conn.commit()
    return reply(200, registered=True, created=True, user=user)


def register_exactly(phone):
    # The report's anti-resubmit limiter: every click counts, replays included.
    lim = backends.exactly().limit(f"s3:limit:{phone}:{URI}", window=LIMIT_COUNT,
                                   per_ms=LIMIT_PERIOD_MS)
    if not lim.allowed:
        resp = reply(429, registered=False, reason="too many attempts",
                     retry_after_ms=lim.retry_after_ms)
        resp.headers["Retry-After"] = str(max(1, (lim.retry_after_ms + 999) // 1000))
        return resp
    return register_once(phone)


@app.route("/health")
def health():
    return "ok"


@app.route("/api/register", methods=["POST"])
def register():
    a = request.args
    if backends.mode() == "naive":
        return register_naive(a["phone"])
    return register_exactly(a["phone"])


backends.schema(DDL)
