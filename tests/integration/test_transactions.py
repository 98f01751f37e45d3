"""MULTI/EXEC through the clients' own transaction APIs against the real server.

EXEC answers one element per queued command, in order (RESP2: a flat field/value
array each; RESP3: a map each), so that redis-py `pipeline(transaction=True)`,
ioredis and node-redis `multi().exec()` and phpredis `multi()->exec()` hand back
N results without raising and leave nothing on the socket. Each client runs the
same two groups:

- executed: ACCOUNT P:bank MIN -inf, ACCOUNT P:a, TRANSFER P:t1 P:bank P:a 100,
  CLAIM P:k alice
- rolled back (bob holds P:held): TRANSFER P:t2 ..., CLAIM P:held alice (refused),
  LOCK P:l alice LEASE 5000

then more commands on the same connection, whose replies must be their own.
The Node.js and PHP runs are scripts under clients/ that print JSON; npm packages
come from clients/typescript/node_modules (scripts/install_deps.sh installs them).
"""

import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402 - found through the line above when run by path
from harness import RespError, as_dict

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_MODULES = os.path.join(harness.REPO_ROOT, "clients", "typescript", "node_modules")


def _pairs(value):
    """A RESP2 element (flat list) or a RESP3 one (dict) as a dict of str -> str."""
    if isinstance(value, dict):
        return {str(k): _text(v) for k, v in value.items()}
    if not isinstance(value, list) or len(value) % 2:
        raise AssertionError("element is not a field/value array: %r" % (value,))
    return {str(k): _text(v) for k, v in zip(value[::2], value[1::2])}


def _text(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, (list, dict)):
        return v
    return str(v)


class GroupChecks:
    """Assertions shared by every client: the elements of both groups."""

    def check_executed(self, elements, p):
        self.assertEqual(len(elements), 4, elements)
        bank, a, t1, claim = [_pairs(e) for e in elements]
        self.assertEqual(list(bank)[0], "result", bank)
        self.assertEqual((bank["result"], bank["key"]), ("created", p + ":bank"))
        self.assertEqual(bank["min"], "-inf")
        self.assertEqual((a["result"], a["key"]), ("created", p + ":a"))
        self.assertEqual((t1["result"], t1["id"], t1["amount"]), ("ok", p + ":t1", "100"))
        self.assertEqual((claim["result"], claim["key"], claim["owner"]),
                         ("won", p + ":k", "alice"))
        for e in (bank, a, t1, claim):
            self.assertNotIn("failed", e)

    def check_rolled_back(self, elements, p):
        self.assertEqual(len(elements), 3, elements)
        t2, held, lock = [_pairs(e) for e in elements]
        self.assertEqual((t2["result"], t2["id"]), ("rolled_back", p + ":t2"), t2)
        self.assertEqual((held["result"], held["key"], held["owner"], held["failed"]),
                         ("held", p + ":held", "bob", "1"), held)
        self.assertEqual((lock["result"], lock["name"]), ("skipped", p + ":l"), lock)
        self.assertNotIn("failed", t2)
        self.assertNotIn("failed", lock)

    def check_after(self, after, p):
        """ECHO, CLAIMOF P:k, BALANCE P:a on the same connection: their own replies,
        and nothing of the rolled-back group applied."""
        self.assertEqual(_text(after[0]), "after")
        claimof = _pairs(after[1])
        self.assertEqual((claimof["result"], claimof["owner"]), ("held", "alice"), claimof)
        balance = _pairs(after[2])
        self.assertEqual((balance["result"], balance["balance"]), ("ok", "100"), balance)


@unittest.skipIf(harness.redis is None, "python3-redis not installed")
class RedisPyPipelineTest(GroupChecks, harness.ServerTestCase, unittest.TestCase):

    def setUp(self):
        super().setUp()
        self.r = self.server.client()

    def tearDown(self):
        self.r.close()
        super().tearDown()

    def run_group(self, group):
        with self.r.pipeline(transaction=True) as pipe:
            for args in group:
                pipe.execute_command(*args)
            return pipe.execute()

    def test_executed_and_rolled_back_groups(self):
        p = "py"
        self.r.execute_command("CLAIM", p + ":held", "bob")
        executed = self.run_group([
            ("ACCOUNT", p + ":bank", "MIN", "-inf"), ("ACCOUNT", p + ":a"),
            ("TRANSFER", p + ":t1", p + ":bank", p + ":a", 100), ("CLAIM", p + ":k", "alice")])
        self.check_executed(executed, p)
        rolled_back = self.run_group([
            ("TRANSFER", p + ":t2", p + ":bank", p + ":a", 5), ("CLAIM", p + ":held", "alice"),
            ("LOCK", p + ":l", "alice", "LEASE", 5000)])
        self.check_rolled_back(rolled_back, p)
        self.check_after([self.r.echo("after"), self.r.execute_command("CLAIMOF", p + ":k"),
                          self.r.execute_command("BALANCE", p + ":a")], p)
        # The skipped LOCK never ran: the lock is free for anyone.
        lock = _pairs(self.r.execute_command("LOCK", p + ":l", "carol", "LEASE", 5000))
        self.assertEqual(lock["result"], "acquired")

    def test_identifying_fields_of_every_family(self):
        # A refusal at the end: every earlier element says rolled_back with its own field.
        p = "ids"
        self.r.execute_command("ACCOUNT", p + ":bank", "MIN", "-inf")
        self.r.execute_command("ACCOUNT", p + ":a")
        self.r.execute_command("CLAIM", p + ":held", "bob")
        group = [
            (("CLAIM", p + ":c", "alice"), "key", p + ":c"),
            (("ACCOUNT", p + ":new"), "key", p + ":new"),
            (("TRANSFER", p + ":t", p + ":bank", p + ":a", 1), "id", p + ":t"),
            (("RESERVE", p + ":r", p + ":bank", p + ":a", 1, "TIMEOUT", 60000), "id", p + ":r"),
            (("BALANCE", p + ":a"), "key", p + ":a"),
            (("LOCK", p + ":lk", "alice", "LEASE", 5000), "name", p + ":lk"),
            (("IDEM", "BEGIN", p + ":idem"), "key", p + ":idem"),
            (("CLAIM", p + ":held", "alice"), None, None),
        ]
        elements = self.run_group([args for args, _, _ in group])
        self.assertEqual(len(elements), len(group))
        for (args, field, value), element in zip(group[:-1], elements[:-1]):
            e = _pairs(element)
            self.assertEqual(e["result"], "rolled_back", (args, e))
            self.assertEqual(e[field], value, (args, e))
        self.assertEqual(_pairs(elements[-1])["failed"], "1")
        self.assertEqual(_pairs(self.r.execute_command("BALANCE", p + ":a"))["balance"], "0")
        self.assertEqual(_pairs(self.r.execute_command("CLAIMOF", p + ":c"))["result"], "free")

    def test_watch_points_to_iflock(self):
        for args in (("WATCH", "k"), ("UNWATCH",)):
            with self.assertRaises(harness.redis.ResponseError) as caught:
                self.r.execute_command(*args)
            self.assertIn("IFLOCK", str(caught.exception))
        self.assertTrue(self.r.ping())


class RawExecShapeTest(GroupChecks, harness.ServerTestCase, unittest.TestCase):
    """The wire itself, RESP2 and RESP3, where the client libraries hide it."""

    def exec_group(self, conn, group):
        self.assertEqual(conn.call("MULTI"), "OK")
        for args in group:
            self.assertEqual(conn.call(*args), "QUEUED", args)
        return conn.call("EXEC")

    def test_resp2_and_resp3_shapes(self):
        for hello3, p in ((False, "r2"), (True, "r3")):
            with self.server.raw(hello3=hello3) as c:
                c.call("CLAIM", p + ":held", "bob")
                executed = self.exec_group(c, [
                    ("ACCOUNT", p + ":bank", "MIN", "-inf"), ("ACCOUNT", p + ":a"),
                    ("TRANSFER", p + ":t1", p + ":bank", p + ":a", 100),
                    ("CLAIM", p + ":k", "alice")])
                self.assertIsInstance(executed, list)
                for e in executed:
                    self.assertIsInstance(e, dict if hello3 else list, e)
                self.check_executed(executed, p)
                rolled_back = self.exec_group(c, [
                    ("TRANSFER", p + ":t2", p + ":bank", p + ":a", 5),
                    ("CLAIM", p + ":held", "alice"), ("LOCK", p + ":l", "alice", "LEASE", 5000)])
                self.check_rolled_back(rolled_back, p)
                self.check_after([c.call("ECHO", "after"), c.call("CLAIMOF", p + ":k"),
                                  c.call("BALANCE", p + ":a")], p)

    def test_empty_group(self):
        with self.server.raw() as c:
            self.assertEqual(self.exec_group(c, []), [])
            self.assertEqual(c.call("PING"), "PONG")

    def test_execabort_still_answers_an_error(self):
        with self.server.raw() as c:
            self.assertEqual(c.call("MULTI"), "OK")
            self.assertEqual(c.call("CLAIM", "x", "alice"), "QUEUED")
            self.assertIsInstance(c.call("CLAIM", "x"), RespError)  # bad arity
            reply = c.call("EXEC")
            self.assertIsInstance(reply, RespError)
            self.assertEqual(reply.code, "EXECABORT")
            self.assertEqual(as_dict(c.call("CLAIMOF", "x"))["result"], "free")


def _run_json(cmd, env=None, timeout=60):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s" % (" ".join(cmd), p.returncode,
                                                     p.stderr.decode("utf-8", "replace")))
    return json.loads(p.stdout)


def _values(elements):
    """Client output elements ({value} or {error}) -> their values; errors fail."""
    out = []
    for e in elements:
        if "error" in e:
            raise AssertionError("the client reported an error element: %r" % (e,))
        out.append(e["value"])
    return out


@unittest.skipIf(shutil.which("node") is None, "node not installed")
class NodeMultiExecTest(GroupChecks, harness.ServerTestCase, unittest.TestCase):

    def run_node(self, library, p):
        if not os.path.isdir(os.path.join(NODE_MODULES, "ioredis")):
            self.fail("npm packages missing in %s (run scripts/install_deps.sh)" % NODE_MODULES)
        env = dict(os.environ, NODE_PATH=NODE_MODULES)
        return _run_json(["node", os.path.join(HERE, "clients", "tx_node.js"), library,
                          str(self.server.port), p], env=env)

    def check_library(self, library, p):
        out = self.run_node(library, p)
        self.check_executed(_values(out["executed"]), p)
        self.check_rolled_back(_values(out["rolled_back"]), p)
        self.check_after(_values(out["after"]), p)

    def test_ioredis(self):
        self.check_library("ioredis", "io")

    def test_node_redis(self):
        self.check_library("node-redis", "nr")


def _php_has_redis():
    if shutil.which("php") is None:
        return False
    p = subprocess.run(["php", "-r", "exit(extension_loaded('redis') ? 0 : 1);"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return p.returncode == 0


@unittest.skipIf(not _php_has_redis(), "php-cli with php-redis not installed")
class PhpRedisMultiExecTest(GroupChecks, harness.ServerTestCase, unittest.TestCase):

    def test_multi_exec_then_more_commands(self):
        p = "php"
        out = _run_json(["php", os.path.join(HERE, "clients", "tx_php.php"),
                         str(self.server.port), p])
        self.assertIsInstance(out["executed"], list, out)
        self.check_executed(_values(out["executed"]), p)
        self.assertEqual(_values(out["after_executed"]), ["after-executed"])
        self.check_rolled_back(_values(out["rolled_back"]), p)
        self.check_after(_values(out["after"]), p)


if __name__ == "__main__":
    unittest.main()
