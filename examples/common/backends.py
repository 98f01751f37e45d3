"""Connections shared by the five example apps.

Each app runs under gunicorn with several workers; every worker opens its own
connections lazily (after the fork). Addresses come from the environment that
examples/run_all.sh sets: PG_DSN, REDIS_PORT, EXACTLY_PORT.
"""
import os
import sys
import threading

import psycopg2
import redis

# The exactly client library, from this checkout (pip install ./clients/python does the same).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients",
                                "python"))
from exactly import Exactly  # noqa: E402

_local = threading.local()


def mode():
    """`naive` reproduces the incident; `exactly` is the same endpoint on exactly."""
    return os.environ.get("MODE", "naive")


def pg():
    """A PostgreSQL connection for this thread (autocommit off: explicit commits)."""
    conn = getattr(_local, "pg", None)
    if conn is None or conn.closed:
        conn = psycopg2.connect(os.environ["PG_DSN"])
        _local.pg = conn
    elif conn.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
        # A request that raised (a unique violation, say) left its transaction open and
        # aborted; gthread reuses the thread, so without this every later request it
        # served would answer 500 whatever it asked.
        conn.rollback()
    return conn


def _resp_client(name, port_variable):
    """One client per thread for the RESP server whose port is in $port_variable."""
    client = getattr(_local, name, None)
    if client is None:
        client = redis.Redis(host="127.0.0.1", port=int(os.environ[port_variable]),
                             decode_responses=True)
        setattr(_local, name, client)
    return client


def rds():
    """Redis, as the incidents used it."""
    return _resp_client("redis", "REDIS_PORT")


def ex():
    """exactly, through the ordinary Redis client (RESP2: replies are flat lists)."""
    return _resp_client("exactly", "EXACTLY_PORT")


_exactly = None
_exactly_lock = threading.Lock()


def exactly():
    """The exactly client library: one per worker process (redis-py pools connections,
    one per thread in use, so a LOCK parked by WAIT holds only its own)."""
    global _exactly
    with _exactly_lock:
        if _exactly is None:
            _exactly = Exactly("redis://127.0.0.1:%s" % os.environ["EXACTLY_PORT"])
        return _exactly


def call(*args):
    """Runs one exactly command and returns its reply as a dict; `result` is the outcome."""
    reply = ex().execute_command(*args)
    return dict(zip(reply[::2], reply[1::2]))


def schema(ddl):
    """Creates the app's tables once (every worker may try; the lock makes it safe)."""
    conn = pg()
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(42)")
        cur.execute(ddl)
    conn.commit()
