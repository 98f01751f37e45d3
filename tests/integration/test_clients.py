"""Real clients against the real server: redis-cli and python3-redis, RESP2 and RESP3.

Covers the server commands common clients need to connect (PING, HELLO, AUTH,
SELECT, CLIENT, INFO, COMMAND, QUIT), the business commands' round trips with
their reply fields, the S1 and S5 tours, error replies and pipelining.
"""

import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402 - found through the line above when run by path
from harness import RespError, as_dict, first_field

CLAIM_FIELDS = ["result", "key", "owner", "since", "expires", "window"]
TRANSFER_FIELDS = ["result", "id", "amount", "timestamp", "window", "expires"]


def redis_cli(port, *args, resp3=False, password=None, stdin=None):
    cmd = ["redis-cli", "-h", "127.0.0.1", "-p", str(port)]
    if resp3:
        cmd.append("-3")
    if password is not None:
        cmd += ["--no-auth-warning", "-a", password]
    cmd += [str(a) for a in args]
    p = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=30)
    return p.returncode, p.stdout.decode("utf-8", "replace")


@unittest.skipIf(shutil.which("redis-cli") is None, "redis-cli not installed")
class RedisCliTest(harness.ServerTestCase, unittest.TestCase):

    def test_ping(self):
        rc, out = redis_cli(self.server.port, "PING")
        self.assertEqual(out.strip(), "PONG")

    def test_claim_roundtrip_resp2_and_resp3(self):
        for resp3, key in ((False, "cli:k2"), (True, "cli:k3")):
            rc, out = redis_cli(self.server.port, "CLAIM", key, "alice", resp3=resp3)
            lines = out.split()
            self.assertEqual(lines[:2], ["result", "won"], out)
            self.assertIn("owner", lines, out)
            self.assertEqual(lines[lines.index("owner") + 1], "alice", out)
            rc, out = redis_cli(self.server.port, "CLAIM", key, "bob", resp3=resp3)
            lines = out.split()
            self.assertEqual(lines[:2], ["result", "held"], out)
            self.assertEqual(lines[lines.index("owner") + 1], "alice", out)

    def test_command_for_cli(self):
        rc, out = redis_cli(self.server.port, "COMMAND")
        self.assertNotIn("ERR", out)
        self.assertTrue(out.strip(), "COMMAND answered nothing")

    def test_interactive_cli_session(self):
        # redis-cli reading commands from stdin sends them one by one over one connection.
        rc, out = redis_cli(self.server.port, stdin=b"PING\nACCOUNT cli:acc\nBALANCE cli:acc\n")
        self.assertIn("PONG", out)
        self.assertIn("created", out)
        self.assertIn("balance", out)

    def test_info_for_cli(self):
        rc, out = redis_cli(self.server.port, "INFO")
        sections, _ = harness.parse_info(out)
        self.assertTrue(sections, out)


@unittest.skipIf(harness.redis is None, "python3-redis not installed")
class RedisPyTest(harness.ServerTestCase, unittest.TestCase):

    def setUp(self):
        super().setUp()
        self.r = self.server.client()

    def tearDown(self):
        self.r.close()
        super().tearDown()

    def cmd(self, *args):
        return self.r.execute_command(*args)

    def d(self, *args):
        reply = self.cmd(*args)
        self.assertEqual(first_field(reply), "result", "first field of %r: %r" % (args, reply))
        return as_dict(reply)

    def test_ping(self):
        self.assertTrue(self.r.ping())

    def test_claim_unclaim_claimof(self):
        won = self.cmd("CLAIM", "order:1", "worker-a")
        self.assertEqual(won[::2], CLAIM_FIELDS)
        won = as_dict(won)
        self.assertEqual(won["result"], "won")
        self.assertEqual(won["key"], "order:1")
        self.assertEqual(won["owner"], "worker-a")
        self.assertEqual(won["expires"], -1)
        self.assertGreater(won["since"], 1_600_000_000_000)
        again = self.d("CLAIM", "order:1", "worker-a")
        self.assertEqual(again["result"], "again")
        self.assertEqual(again["since"], won["since"])
        held = self.d("CLAIM", "order:1", "worker-b")
        self.assertEqual(held["result"], "held")
        self.assertEqual(held["owner"], "worker-a")
        self.assertEqual(held["since"], won["since"])
        of = self.d("CLAIMOF", "order:1")
        self.assertEqual((of["result"], of["owner"], of["expires"]), ("held", "worker-a", -1))
        self.assertEqual(self.d("UNCLAIM", "order:1", "worker-b")["result"], "not_holder")
        rel = self.d("UNCLAIM", "order:1", "worker-a")
        self.assertEqual((rel["result"], rel["key"]), ("released", "order:1"))
        self.assertEqual(self.d("CLAIMOF", "order:1")["result"], "free")
        self.assertEqual(self.d("CLAIM", "order:1", "worker-b")["result"], "won")

    def test_claim_ttl_sets_expiry(self):
        won = self.d("CLAIM", "ttl:1", "w", "TTL", "60000")
        self.assertEqual(won["result"], "won")
        self.assertEqual(won["expires"] - won["since"], 60000)

    def test_account_transfer_balance(self):
        created = self.d("ACCOUNT", "bank", "MIN", "-inf")
        self.assertEqual((created["result"], created["key"]), ("created", "bank"))
        self.assertEqual((created["min"], created["max"]), ("-inf", "+inf"))
        self.assertEqual(self.d("ACCOUNT", "bank", "MIN", "-inf")["result"], "again")
        self.assertIsInstance(self.cmd_error("ACCOUNT", "bank", "MIN", "0"), Exception)
        self.assertEqual(self.d("ACCOUNT", "alice", "MAX", "100")["result"], "created")
        ok = self.cmd("TRANSFER", "t1", "bank", "alice", "60")
        self.assertEqual(ok[::2], TRANSFER_FIELDS)
        ok = as_dict(ok)
        self.assertEqual((ok["result"], ok["id"], ok["amount"]), ("ok", "t1", 60))
        self.assertEqual(self.d("TRANSFER", "t1", "bank", "alice", "60")["result"], "again")
        self.assertEqual(self.d("TRANSFER", "t1", "bank", "alice", "61")["result"], "id_conflict")
        self.assertEqual(self.d("TRANSFER", "t2", "bank", "alice", "41")["result"], "over_max")
        self.assertEqual(self.d("TRANSFER", "t3", "alice", "bank", "61")["result"], "insufficient")
        self.assertEqual(self.d("TRANSFER", "t4", "alice", "nobody", "1")["result"], "no_account")
        bal = self.d("BALANCE", "alice")
        self.assertEqual((bal["result"], bal["balance"], bal["reserved"]), ("ok", 60, 0))
        self.assertEqual((bal["min"], bal["max"]), (0, 100))
        self.assertEqual(self.d("BALANCE", "bank")["balance"], -60)
        self.assertEqual(self.d("BALANCE", "nobody")["result"], "no_account")
        # The first refusal of an id is final even after funds arrive.
        self.assertEqual(self.d("TRANSFER", "t5", "bank", "alice", "10")["result"], "ok")
        self.assertEqual(self.d("TRANSFER", "t3", "alice", "bank", "61")["result"], "insufficient")

    def cmd_error(self, *args):
        try:
            self.cmd(*args)
        except harness.redis.ResponseError as e:
            return e
        return None

    def test_s1_signin_tour(self):
        self.assertEqual(self.d("ACCOUNT", "pool", "MIN", "-inf")["result"], "created")
        self.assertEqual(self.d("ACCOUNT", "user:1")["result"], "created")
        args = ("TRANSFER", "signin:1", "pool", "user:1", "25", "PER", "day", "AT", "08:00", "TZ",
                "+08:00")
        ok = self.d(*args)
        self.assertEqual(ok["result"], "ok")
        # The window starts at 08:00 +08:00 = 00:00 UTC, and the id lasts one day.
        self.assertEqual(ok["window"] % 86_400_000, 0)
        self.assertEqual(ok["expires"] - ok["window"], 86_400_000)
        self.assertLessEqual(ok["window"], ok["timestamp"])
        self.assertLess(ok["timestamp"], ok["expires"])
        self.assertEqual(self.d(*args)["result"], "again")
        self.assertEqual(self.d("BALANCE", "user:1")["balance"], 25)
        self.assertEqual(self.d("BALANCE", "pool")["balance"], -25)

    def test_s5_draw_tour(self):
        self.assertEqual(self.d("ACCOUNT", "supply:c1", "MIN", "-inf")["result"], "created")
        self.assertEqual(self.d("ACCOUNT", "stock:c1")["result"], "created")
        self.assertEqual(self.d("ACCOUNT", "won:c1")["result"], "created")
        self.assertEqual(self.d("TRANSFER", "restock:c1", "supply:c1", "stock:c1", "2")["result"],
                         "ok")
        outcomes = [self.d("TRANSFER", "draw:c1:%s" % u, "stock:c1", "won:c1", "1")["result"]
                    for u in ("u1", "u2", "u1", "u3", "u3")]
        self.assertEqual(outcomes, ["ok", "ok", "again", "insufficient", "insufficient"])
        self.assertEqual(self.d("BALANCE", "stock:c1")["balance"], 0)
        self.assertEqual(self.d("BALANCE", "won:c1")["balance"], 2)

    def test_reserve_commit_cancel(self):
        self.d("ACCOUNT", "rv:src", "MAX", "100")
        self.d("ACCOUNT", "rv:dst", "MAX", "50")
        self.d("ACCOUNT", "rv:bank", "MIN", "-inf")
        self.d("TRANSFER", "rv:fund", "rv:bank", "rv:src", "100")
        pending = self.d("RESERVE", "rv:1", "rv:src", "rv:dst", "30", "TIMEOUT", "60000")
        self.assertEqual((pending["result"], pending["id"], pending["amount"]),
                         ("pending", "rv:1", 30))
        self.assertEqual(pending["expires"] - pending["timestamp"], 60000)
        bal = self.d("BALANCE", "rv:src")
        self.assertEqual((bal["balance"], bal["reserved"]), (100, 30))
        # The pending amount counts against both bounds.
        self.assertEqual(self.d("TRANSFER", "rv:x", "rv:src", "rv:bank", "71")["result"],
                         "insufficient")
        self.assertEqual(self.d("TRANSFER", "rv:y", "rv:bank", "rv:dst", "21")["result"],
                         "over_max")
        self.assertEqual(self.d("COMMIT", "rv:1")["result"], "committed")
        self.assertEqual(self.d("COMMIT", "rv:1")["result"], "again")
        self.assertEqual(self.d("BALANCE", "rv:src")["balance"], 70)
        self.assertEqual(self.d("BALANCE", "rv:src")["reserved"], 0)
        self.assertEqual(self.d("BALANCE", "rv:dst")["balance"], 30)
        self.d("RESERVE", "rv:2", "rv:src", "rv:dst", "10", "TIMEOUT", "60000")
        self.assertEqual(self.d("CANCEL", "rv:2")["result"], "cancelled")
        self.assertEqual(self.d("BALANCE", "rv:src")["balance"], 70)
        self.assertEqual(self.d("BALANCE", "rv:src")["reserved"], 0)
        self.assertEqual(self.d("COMMIT", "rv:none")["result"], "no_transfer")
        self.d("RESERVE", "rv:3", "rv:src", "rv:dst", "10", "TIMEOUT", "1")
        import time
        time.sleep(0.05)
        self.assertEqual(self.d("COMMIT", "rv:3")["result"], "timed_out")
        self.assertEqual(self.d("BALANCE", "rv:src")["balance"], 70)
        self.assertEqual(self.d("BALANCE", "rv:src")["reserved"], 0)

    def test_history_and_claimlog(self):
        self.d("ACCOUNT", "h:src", "MIN", "-inf")
        self.d("ACCOUNT", "h:dst")
        for i in range(3):
            self.d("TRANSFER", "h%d" % i, "h:src", "h:dst", str(i + 1))
        hist = self.d("HISTORY", "h:dst")
        self.assertEqual(hist["result"], "ok")
        self.assertEqual(len(hist["entries"]), 3)
        self.assertEqual(len(self.d("HISTORY", "h:dst", "COUNT", "2")["entries"]), 2)
        self.d("CLAIM", "cl:1", "a")
        self.d("UNCLAIM", "cl:1", "a")
        self.d("CLAIM", "cl:1", "b")
        log = self.d("CLAIMLOG", "cl:1")
        self.assertEqual(log["result"], "ok")
        self.assertGreaterEqual(len(log["entries"]), 2)

    def test_multi_exec(self):
        self.d("ACCOUNT", "m:src", "MIN", "-inf")
        self.d("ACCOUNT", "m:a")
        self.assertEqual(self.cmd("MULTI"), "OK")
        self.assertEqual(self.cmd("CLAIM", "m:k", "me"), "QUEUED")
        self.assertEqual(self.cmd("TRANSFER", "m:t1", "m:src", "m:a", "5"), "QUEUED")
        ex = [as_dict(e) for e in self.cmd("EXEC")]
        self.assertEqual([r["result"] for r in ex], ["won", "ok"])
        self.assertEqual(ex[0]["key"], "m:k")
        self.assertEqual(ex[1]["id"], "m:t1")
        # A refusal rolls the whole group back; one element per queued command.
        self.cmd("MULTI")
        self.cmd("CLAIM", "m:k2", "me")
        self.cmd("TRANSFER", "m:t2", "m:a", "m:src", "999")
        self.cmd("CLAIM", "m:k3", "me")
        ex = [as_dict(e) for e in self.cmd("EXEC")]
        self.assertEqual([r["result"] for r in ex], ["rolled_back", "insufficient", "skipped"])
        self.assertEqual(ex[0], {"result": "rolled_back", "key": "m:k2"})
        self.assertEqual(ex[1].get("failed"), 1)
        self.assertEqual(ex[1]["id"], "m:t2")
        self.assertEqual(ex[2], {"result": "skipped", "key": "m:k3"})
        # The connection is still in step: the next command gets its own reply.
        self.assertTrue(self.r.ping())
        self.assertEqual(self.d("CLAIMOF", "m:k2")["result"], "free")
        self.assertEqual(self.d("CLAIMOF", "m:k3")["result"], "free")
        self.assertEqual(self.d("BALANCE", "m:a")["balance"], 5)

    def test_select(self):
        self.assertTrue(self.r.execute_command("SELECT", "0"))
        with self.assertRaises(harness.redis.ResponseError):
            self.r.execute_command("SELECT", "1")

    def test_client_setname_id_and_info(self):
        self.assertTrue(self.r.execute_command("CLIENT", "SETNAME", "itest"))
        cid = self.r.execute_command("CLIENT", "ID")
        self.assertIsInstance(cid, int)
        other = self.server.client()
        try:
            self.assertNotEqual(other.execute_command("CLIENT", "ID"), cid)
        finally:
            other.close()
        info = self.r.info()
        self.assertIsInstance(info, dict)
        self.assertTrue(info)
        # Each write is covered by an fdatasync (--fsync always), and INFO counts them.
        before = self.r.info("persistence")["fsyncs"]
        for i in range(3):
            self.cmd("CLAIM", "info:%d" % i, "o")
        after = self.r.info("persistence")
        self.assertGreaterEqual(after["fsyncs"], before + 1, after)
        self.assertGreaterEqual(after["records_per_fsync"], 1.0, after)

    def test_client_name_on_connect(self):
        c = self.server.client(client_name="named")
        try:
            self.assertTrue(c.ping())
        finally:
            c.close()

    def test_unknown_command_and_wrong_arity(self):
        with self.assertRaisesRegex(harness.redis.ResponseError, "(?i)unknown|ERR"):
            self.cmd("NOSUCHCOMMAND", "x")
        with self.assertRaises(harness.redis.ResponseError):
            self.cmd("CLAIM", "onlykey")
        with self.assertRaises(harness.redis.ResponseError):
            self.cmd("TRANSFER", "id", "a", "b")
        self.assertTrue(self.r.ping())  # the connection survives an error reply


class RawProtocolTest(harness.ServerTestCase, unittest.TestCase):

    def test_hello3_map_and_resp3_replies(self):
        with self.server.raw() as c:
            hello = c.call("HELLO", "3")
            self.assertIsInstance(hello, dict, hello)
            self.assertEqual(hello.get("proto"), 3)
            self.assertIn("server", hello)
            claim = c.call("CLAIM", "r3:k", "alice")
            self.assertIsInstance(claim, dict, claim)
            self.assertEqual(list(claim), CLAIM_FIELDS)
            self.assertEqual(claim["result"], "won")
            self.assertIsInstance(claim["since"], int)
            acc = c.call("ACCOUNT", "r3:a")
            self.assertEqual((acc["result"], acc["min"], acc["max"]), ("created", 0, "+inf"))
            bal = c.call("BALANCE", "r3:a")
            self.assertEqual((bal["result"], bal["balance"]), ("ok", 0))
            self.assertEqual(c.call("PING"), "PONG")
            err = c.call("NOSUCHCOMMAND")
            self.assertIsInstance(err, RespError)
            hello2 = c.call("HELLO", "2")
            self.assertIsInstance(hello2, list)
            claim = c.call("CLAIM", "r3:k", "bob")
            self.assertIsInstance(claim, list)
            self.assertEqual(as_dict(claim)["result"], "held")

    def test_hello_unsupported_version(self):
        with self.server.raw() as c:
            err = c.call("HELLO", "4")
            self.assertIsInstance(err, RespError)
            self.assertEqual(c.call("PING"), "PONG")

    def test_quit(self):
        with self.server.raw() as c:
            self.assertEqual(c.call("QUIT"), "OK")
            self.assertTrue(c.closed_by_peer(5))

    def test_pipeline_1000_in_one_write(self):
        with self.server.raw() as c:
            frames = []
            for i in range(1000):
                if i % 3 == 2:
                    frames.append(harness.encode("PING"))
                else:
                    frames.append(harness.encode("CLAIM", "pipe:%d" % i, "o%d" % i))
            c.send(b"".join(frames))
            for i in range(1000):
                reply = c.read_reply()
                if i % 3 == 2:
                    self.assertEqual(reply, "PONG", i)
                else:
                    d = as_dict(reply)
                    self.assertEqual((d["result"], d["key"], d["owner"]),
                                     ("won", "pipe:%d" % i, "o%d" % i))

    def test_inline_ping(self):
        with self.server.raw() as c:
            c.send(b"PING\r\n")
            self.assertEqual(c.read_reply(), "PONG")

    def test_split_frames_across_writes(self):
        # A command delivered byte by byte must still be understood.
        import time
        with self.server.raw() as c:
            frame = harness.encode("CLAIM", "split:k", "someone")
            for i in range(len(frame)):
                c.send(frame[i:i + 1])
                if i % 7 == 0:
                    time.sleep(0.001)
            self.assertEqual(as_dict(c.read_reply())["result"], "won")


class AuthTest(harness.ServerTestCase, unittest.TestCase):
    server_kwargs = {"requirepass": "s3cret"}

    def test_noauth_wrongpass_then_ok(self):
        with self.server.raw() as c:
            err = c.call("CLAIM", "auth:k", "x")
            self.assertIsInstance(err, RespError)
            self.assertEqual(err.code, "NOAUTH", err)
            err = c.call("PING")
            self.assertIsInstance(err, RespError)
            self.assertEqual(err.code, "NOAUTH", err)
            err = c.call("AUTH", "wrong")
            self.assertIsInstance(err, RespError)
            self.assertEqual(err.code, "WRONGPASS", err)
            err = c.call("AUTH", "default", "wrong")
            self.assertEqual(getattr(err, "code", None), "WRONGPASS", err)
            self.assertEqual(c.call("AUTH", "s3cret"), "OK")
            self.assertEqual(c.call("PING"), "PONG")
            self.assertEqual(as_dict(c.call("CLAIMOF", "auth:k"))["result"], "free")
        with self.server.raw() as c:
            self.assertEqual(c.call("AUTH", "default", "s3cret"), "OK")
        with self.server.raw() as c:
            hello = c.call("HELLO", "3", "AUTH", "default", "s3cret")
            self.assertIsInstance(hello, dict, hello)
            self.assertEqual(c.call("PING"), "PONG")

    @unittest.skipIf(harness.redis is None, "python3-redis not installed")
    def test_redis_py_password(self):
        r = self.server.client(password="s3cret")
        try:
            self.assertTrue(r.ping())
            self.assertEqual(as_dict(r.execute_command("CLAIM", "auth:py", "me"))["result"], "won")
        finally:
            r.close()
        bad = self.server.client(password="nope")
        try:
            with self.assertRaises(harness.redis.exceptions.RedisError):
                bad.ping()
        finally:
            bad.close()

    @unittest.skipIf(shutil.which("redis-cli") is None, "redis-cli not installed")
    def test_redis_cli_password(self):
        rc, out = redis_cli(self.server.port, "PING")
        self.assertIn("NOAUTH", out)
        rc, out = redis_cli(self.server.port, "PING", password="s3cret")
        self.assertEqual(out.strip(), "PONG")


if __name__ == "__main__":
    unittest.main()
