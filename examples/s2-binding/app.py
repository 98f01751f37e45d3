"""S2: POST /api/bind?sku=S&settlement=N&id=B, POST /api/unbind?id=B."""
import os
import sys
import time

from flask import Flask, jsonify, request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import backends  # noqa: E402
from exactly import Outcome  # noqa: E402

app = Flask(__name__)
VALIDATION_S = 0.2  # the slow validation between the check and the insert
DDL = """
CREATE TABLE IF NOT EXISTS s2_bindings (id text PRIMARY KEY, sku_code text NOT NULL,
                                        settlement_sn text NOT NULL, enable boolean NOT NULL);
"""


def validate(sku, settlement):
    time.sleep(VALIDATION_S)


def bind_naive(sku, settlement, binding):
    conn = backends.pg()
    with conn.cursor() as cur:
        # The incident's select_for_update().exists(): there is no row to lock yet.
        cur.execute("SELECT id FROM s2_bindings WHERE sku_code = %s AND settlement_sn = %s "
                    "AND enable FOR UPDATE", (sku, settlement))
        row = cur.fetchone()
        if row is not None:
            conn.rollback()
            return jsonify(bound=False, reason="already bound", holder=row[0]), 409
        validate(sku, settlement)
        cur.execute("INSERT INTO s2_bindings VALUES (%s, %s, %s, true)", (binding, sku, settlement))
    conn.commit()
    return jsonify(bound=True, id=binding), 200


def bind_exactly(sku, settlement, binding):
    ex = backends.exactly()
    key = f"s2:binding:{sku}:{settlement}"
    # Reserve the pair before the slow part; if this worker dies the claim lapses.
    r = ex.claim(key, binding, ttl_ms=30000)
    if r.result is Outcome.HELD:
        return jsonify(bound=False, reason="already bound", holder=r.owner), 409
    validate(sku, settlement)
    conn = backends.pg()
    with conn.cursor() as cur:
        cur.execute("INSERT INTO s2_bindings VALUES (%s, %s, %s, true) ON CONFLICT DO NOTHING",
                    (binding, sku, settlement))
    conn.commit()
    ex.claim(key, binding, persist=True)  # bound for good: the claim no longer lapses
    return jsonify(bound=True, id=binding), 200


@app.route("/health")
def health():
    return "ok"


@app.route("/api/bind", methods=["POST"])
def bind():
    a = request.args
    if backends.mode() == "naive":
        return bind_naive(a["sku"], a["settlement"], a["id"])
    return bind_exactly(a["sku"], a["settlement"], a["id"])


@app.route("/api/unbind", methods=["POST"])
def unbind():
    binding = request.args["id"]
    conn = backends.pg()
    with conn.cursor() as cur:
        cur.execute("UPDATE s2_bindings SET enable = false WHERE id = %s AND enable "
                    "RETURNING sku_code, settlement_sn", (binding,))
        row = cur.fetchone()
    conn.commit()
    if row is None:
        return jsonify(unbound=False), 404
    if backends.mode() == "exactly":
        backends.exactly().unclaim(f"s2:binding:{row[0]}:{row[1]}", binding)
    return jsonify(unbound=True), 200


backends.schema(DDL)
