"""S1: POST /api/sign?user=U — the daily sign-in that pays 25 reading quota."""
import math
import os
import sys
import time

from flask import Flask, jsonify, request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import backends  # noqa: E402
from exactly import Outcome  # noqa: E402

app = Flask(__name__)
QUOTA = 25
WORK_S = 0.01  # what the real site did between reading the flag and committing (templates, logs)
DDL = """
CREATE TABLE IF NOT EXISTS s1_users (id text PRIMARY KEY, is_sign boolean NOT NULL DEFAULT false,
                                     quota integer NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS s1_sign_records (user_id text, at timestamptz DEFAULT now());
CREATE TABLE IF NOT EXISTS s1_quota_changes (user_id text, delta integer, at timestamptz DEFAULT now());
"""


def sign_naive(user):
    # The incident's code path: read the flag, then act on what was read.
    conn = backends.pg()
    with conn.cursor() as cur:
        cur.execute("INSERT INTO s1_users (id) VALUES (%s) ON CONFLICT DO NOTHING", (user,))
        conn.commit()
        cur.execute("SELECT is_sign FROM s1_users WHERE id = %s", (user,))
        (is_sign,) = cur.fetchone()
        if is_sign:
            conn.rollback()
            return jsonify(signed=False, reason="already signed today"), 409
        cur.execute("INSERT INTO s1_sign_records (user_id) VALUES (%s)", (user,))
        time.sleep(WORK_S)
        cur.execute("UPDATE s1_users SET quota = quota + %s WHERE id = %s", (QUOTA, user))
        cur.execute("INSERT INTO s1_quota_changes (user_id, delta) VALUES (%s, %s)", (user, QUOTA))
        cur.execute("UPDATE s1_users SET is_sign = true WHERE id = %s", (user,))
    conn.commit()
    return jsonify(signed=True, quota=QUOTA), 200


def sign_exactly(user):
    # One transfer per user per day (the day starts at 08:00 UTC+8): the id makes it once,
    # the window makes it daily, and the transfer is the sign and quota-change record.
    ex = backends.exactly()
    ex.account("s1:quota:pool", min=-math.inf)
    ex.account(f"s1:quota:{user}")
    r = ex.transfer(f"s1:sign:{user}", "s1:quota:pool", f"s1:quota:{user}", QUOTA,
                    per="day", at="08:00", tz="+08:00")
    if r.result is Outcome.OK:
        return jsonify(signed=True, quota=QUOTA), 200
    if r.result is Outcome.AGAIN:
        return jsonify(signed=False, reason="already signed today"), 409
    return jsonify(signed=False, reason=str(r.result)), 500


@app.route("/health")
def health():
    return "ok"


@app.route("/api/sign", methods=["POST"])
def sign():
    user = request.args["user"]
    return sign_naive(user) if backends.mode() == "naive" else sign_exactly(user)


if backends.mode() == "naive":
    backends.schema(DDL)
