"""A vote counter: POST /api/vote?post=P adds one vote, GET /api/votes?post=P reads them.

The naive mode is the most common race in web code, the lost update: read the row,
add one in Python, write the row back (`post.votes += 1; post.save()`). Every vote
answers 302 like the form post it is, so no response shows the votes that vanished.
The exactly mode keeps the count as an exactly account: each vote is one TRANSFER of 1,
applied atomically; an Idempotency-Key header, when sent, makes a retried vote count once.
"""
import os
import sys
import time
import uuid

from flask import Flask, jsonify, redirect, request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import backends  # noqa: E402

app = Flask(__name__)
WORK_S = 0.01  # what the view does between reading the row and saving it (templates, checks)
DDL = """
CREATE TABLE IF NOT EXISTS counter_posts (id text PRIMARY KEY, votes bigint NOT NULL DEFAULT 0);
"""


def vote_naive(post):
    conn = backends.pg()
    with conn.cursor() as cur:
        cur.execute("INSERT INTO counter_posts (id) VALUES (%s) ON CONFLICT DO NOTHING", (post,))
        conn.commit()
        cur.execute("SELECT votes FROM counter_posts WHERE id = %s", (post,))
        (votes,) = cur.fetchone()
        time.sleep(WORK_S)
        cur.execute("UPDATE counter_posts SET votes = %s WHERE id = %s", (votes + 1, post))
    conn.commit()


def votes_naive(post):
    conn = backends.pg()
    with conn.cursor() as cur:
        cur.execute("SELECT votes FROM counter_posts WHERE id = %s", (post,))
        row = cur.fetchone()
    conn.commit()
    return 0 if row is None else row[0]


def vote_exactly(post, request_id):
    # The pool may go negative (it is where votes come from); the post's account counts them.
    backends.call("ACCOUNT", "counter:pool", "MIN", "-inf")
    backends.call("ACCOUNT", f"counter:post:{post}")
    r = backends.call("TRANSFER", f"counter:vote:{request_id}", "counter:pool",
                      f"counter:post:{post}", 1)
    if r["result"] not in ("ok", "again"):  # again: a retry of a vote already counted
        raise RuntimeError(f"vote {r['result']}")


def votes_exactly(post):
    r = backends.call("BALANCE", f"counter:post:{post}")
    return int(r["balance"]) if r["result"] == "ok" else 0


@app.route("/health")
def health():
    return "ok"


@app.route("/api/vote", methods=["POST"])
def vote():
    post = request.args["post"]
    if backends.mode() == "naive":
        vote_naive(post)
    else:
        vote_exactly(post, request.headers.get("Idempotency-Key") or uuid.uuid4().hex)
    return redirect(f"/api/votes?post={post}", code=302)


@app.route("/api/votes")
def votes():
    post = request.args["post"]
    n = votes_naive(post) if backends.mode() == "naive" else votes_exactly(post)
    return jsonify(post=post, votes=n)


if backends.mode() == "naive":
    backends.schema(DDL)
