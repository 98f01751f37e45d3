"""S5: POST /api/draw?campaign=C&user=U — a prize draw with a fixed stock."""
import math
import os
import sys

from flask import Flask, jsonify, request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import backends  # noqa: E402
from exactly import Outcome  # noqa: E402

app = Flask(__name__)
STOCK = int(os.environ.get("STOCK", "5"))


def draw_naive(campaign, user):
    r = backends.rds()
    key = f"s5:winners:{campaign}"
    if r.zscore(key, user) is not None:
        return jsonify(won=False, reason="already won"), 409
    # The incident's code: count, compare, then add (two round trips, not atomic).
    if r.zcard(key) >= STOCK:
        return jsonify(won=False, reason="out of stock"), 409
    r.zadd(key, {user: 1})
    return jsonify(won=True), 200


def draw_exactly(campaign, user):
    ex = backends.exactly()
    stock = f"s5:stock:{campaign}"
    # Idempotent set-up, safe to repeat from every request: the accounts, and the
    # stock funded once (the transfer id makes the funding happen once).
    ex.account("s5:prizes", min=-math.inf)
    ex.account(stock, min=0)
    ex.account(f"s5:won:{campaign}")
    ex.transfer(f"s5:fund:{campaign}", "s5:prizes", stock, STOCK)
    r = ex.transfer(f"s5:draw:{campaign}:{user}", stock, f"s5:won:{campaign}", 1)
    if r.result is Outcome.OK:
        return jsonify(won=True), 200
    reason = {Outcome.AGAIN: "already drawn", Outcome.INSUFFICIENT: "out of stock"}.get(
        r.result, str(r.result))
    return jsonify(won=False, reason=reason), 409


@app.route("/health")
def health():
    return "ok"


@app.route("/api/draw", methods=["POST"])
def draw():
    a = request.args
    if backends.mode() == "naive":
        return draw_naive(a["campaign"], a["user"])
    return draw_exactly(a["campaign"], a["user"])
