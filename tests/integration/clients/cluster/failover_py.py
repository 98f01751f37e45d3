"""A writer through redis-py's RedisCluster (Debian python3-redis), the Python side of
tests/integration/clients/cluster/failover.js: same arguments, same output lines.

Usage: python3 failover_py.py HOST PORT PREFIX KILL_FILE
The client is given one follower's address; it reads CLUSTER SLOTS and COMMAND,
routes each command by its key, and follows the failover after kill -9 of the leader
with its own retry option (cluster_error_retry_attempts) and nothing else.
"""

import json
import os
import sys
import time

from redis.cluster import RedisCluster

AFTER_ACKS = 40
AFTER_MS = 30000
TOTAL_MS = 90000


def now_ms():
    return int(time.time() * 1000)


def fields(reply):
    if isinstance(reply, dict):
        return reply
    if isinstance(reply, (list, tuple)):
        return {str(reply[i]): str(reply[i + 1]) for i in range(0, len(reply) - 1, 2)}
    return {"value": str(reply)}


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    host, port, prefix, kill_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

    def key(s):
        return "%s:%s" % (prefix, s)

    # cluster_error_retry_attempts: how many times a command is run again after a
    # connection error or CLUSTERDOWN once the topology was read anew (each attempt
    # itself retries a refused connection 5 times, 0.25 s apart, and TRYAGAIN up to
    # 16 times); the default 3 covers about 4 s, too short for an election here.
    # dynamic_startup_nodes=False: redis-py 4.3.4 otherwise re-reads the topology
    # from the dead leader's entry first, whose connection it dropped, and fails
    # copying its options (TypeError: cannot pickle '_thread.lock' object).
    client = RedisCluster(host=host, port=port, decode_responses=True,
                          cluster_error_retry_attempts=20, dynamic_startup_nodes=False,
                          socket_connect_timeout=1.0, socket_timeout=5.0)
    setup = {
        "bank": fields(client.execute_command("ACCOUNT", key("bank"), "MIN", "-inf"))["result"],
        "dst": fields(client.execute_command("ACCOUNT", key("dst")))["result"],
        "claim": fields(client.execute_command("CLAIM", key("c0"), "owner0"))["result"],
    }
    lock = fields(client.execute_command("LOCK", key("lock"), "w1", "LEASE", "120000",
                                         "ID", "lock-req-1"))
    setup["lock"] = lock.get("result")
    setup["token"] = lock.get("token")
    emit({"setup": setup})

    started = now_ms()
    killed_at = None
    acks_after = 0
    i = 0
    while now_ms() - started < TOTAL_MS:
        i += 1
        if killed_at is None and os.path.exists(kill_file):
            killed_at = now_ms()
        if killed_at is not None and (acks_after >= AFTER_ACKS or now_ms() - killed_at > AFTER_MS):
            break
        is_claim = i % 5 == 0
        op_id = key("k%d" % i) if is_claim else key("t%d" % i)
        args = (["CLAIM", op_id, "owner%d" % i] if is_claim
                else ["TRANSFER", op_id, key("bank"), key("dst"), "1"])
        record = {"op": "claim" if is_claim else "transfer", "id": op_id, "t0": now_ms()}
        try:
            result = fields(client.execute_command(*args)).get("result")
            record["reply"] = result
            record["ok"] = result in (("won", "again") if is_claim else ("ok", "again"))
        except Exception as e:  # noqa: BLE001 - whatever the client raises fails the write
            record["ok"] = False
            record["error"] = "%s: %s" % (type(e).__name__, e)
        record["t1"] = now_ms()
        if record["ok"] and killed_at is not None:
            acks_after += 1
        emit(record)

    after = {}
    for name, args in (("fence", ["FENCE", key("lock"), str(setup["token"])]),
                       ("other", ["LOCK", key("lock"), "w2", "LEASE", "1000"]),
                       ("renew", ["RENEW", key("lock"), str(setup["token"]), "LEASE", "120000"])):
        try:
            after[name] = fields(client.execute_command(*args))
        except Exception as e:  # noqa: BLE001
            after[name] = {"error": "%s: %s" % (type(e).__name__, e)}
    emit({"after": after})
    emit({"done": True})
    client.close()


if __name__ == "__main__":
    main()
