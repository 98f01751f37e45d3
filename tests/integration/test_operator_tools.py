"""The Redis tools operators reach for, run against the real server: redis-cli's
CLIENT LIST / INFO / KILL, DBSIZE, `redis-cli --stat` under load, `--latency-history`,
and the COMMAND DOCS argument specs that redis-cli turns into HELP text."""

import os
import re
import shutil
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402 - found through the line above when run by path
from harness import RespError, as_dict


def cli(port, *args, timeout=30):
    p = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port)] + [str(a) for a in args],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return p.stdout.decode("utf-8", "replace")


def in_terminal(command, seconds=None, input_bytes=b""):
    """Runs a redis-cli command line in a terminal (script(1) gives it a pty, as an
    operator's shell would: --stat and --latency-history print only there), stopped
    with SIGINT after `seconds`; its output without terminal escapes."""
    if seconds is not None:
        command = "timeout -s INT %s %s" % (seconds, command)
    env = dict(os.environ, TERM="dumb")  # no cursor-position queries from linenoise
    p = subprocess.run(["script", "-qec", command, "/dev/null"], input=input_bytes,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60, env=env)
    out = p.stdout.decode("utf-8", "replace")
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out).replace("\r", "")


def cli_for(port, seconds, *args):
    """A redis-cli mode that never ends by itself, run for `seconds`."""
    return in_terminal("redis-cli -h 127.0.0.1 -p %d %s" % (port, " ".join(args)), seconds)


def client_lines(text):
    """CLIENT LIST text -> [{field: value}] per line."""
    out = []
    for line in text.strip().splitlines():
        out.append(dict(f.split("=", 1) for f in line.split() if "=" in f))
    return out


@unittest.skipIf(shutil.which("redis-cli") is None or shutil.which("script") is None,
                 "redis-cli or script (util-linux) not installed")
class OperatorToolsTest(harness.ServerTestCase, unittest.TestCase):

    def test_client_list_lists_the_tests_connections(self):
        conns = [self.server.raw() for _ in range(3)]
        try:
            for i, c in enumerate(conns):
                self.assertEqual(c.call("CLIENT", "SETNAME", "tool-%d" % i), "OK")
            conns[1].call("MULTI")
            conns[1].call("CLAIM", "k", "a")
            lines = client_lines(cli(self.server.port, "CLIENT", "LIST"))
            by_name = {line.get("name"): line for line in lines}
            for i in range(3):
                self.assertIn("tool-%d" % i, by_name, lines)
            self.assertEqual(len(lines), 4, lines)  # the three and redis-cli itself
            self.assertEqual(by_name["tool-1"]["flags"], "x")
            self.assertEqual(by_name["tool-1"]["multi"], "1")
            self.assertEqual(by_name["tool-0"]["flags"], "N")
            self.assertEqual(by_name["tool-0"]["cmd"], "client")
            for line in lines:
                self.assertRegex(line["addr"], r"^127\.0\.0\.1:\d+$")
                self.assertTrue(line["id"].isdigit())
                self.assertTrue(line["age"].isdigit())
            ids = [line["id"] for line in lines]
            self.assertEqual(ids, sorted(ids, key=int))
            one = client_lines(cli(self.server.port, "CLIENT", "LIST", "ID",
                                   by_name["tool-2"]["id"]))
            self.assertEqual([line["name"] for line in one], ["tool-2"])
            info = client_lines(conns[0].call("CLIENT", "INFO"))
            self.assertEqual(info[0]["name"], "tool-0")
            self.assertEqual(info[0]["id"], by_name["tool-0"]["id"])
        finally:
            for c in conns:
                c.close()

    def test_client_kill(self):
        victim, other = self.server.raw(), self.server.raw()
        try:
            victim.call("CLIENT", "SETNAME", "victim")
            lines = {l["name"]: l for l in client_lines(cli(self.server.port, "CLIENT", "LIST"))}
            self.assertEqual(cli(self.server.port, "CLIENT", "KILL", "ID", lines["victim"]["id"])
                             .strip(), "1")
            self.assertTrue(victim.closed_by_peer(timeout=5))
            self.assertEqual(other.call("PING"), "PONG")
            # The old form names the address; a wrong one is an error.
            other.call("CLIENT", "SETNAME", "other")
            lines = {l["name"]: l for l in client_lines(cli(self.server.port, "CLIENT", "LIST"))}
            self.assertEqual(cli(self.server.port, "CLIENT", "KILL", lines["other"]["addr"]).strip(),
                             "OK")
            self.assertTrue(other.closed_by_peer(timeout=5))
            self.assertIn("No such client", cli(self.server.port, "CLIENT", "KILL",
                                                "127.0.0.1:1"))
            self.assertEqual(cli(self.server.port, "CLIENT", "KILL", "ID", "999999").strip(), "0")
        finally:
            victim.close()
            other.close()

    def test_client_kill_withdraws_a_parked_lock(self):
        with self.server.raw() as holder, self.server.raw() as waiter:
            token = as_dict(holder.call("LOCK", "l", "a", "LEASE", 60000))["token"]
            waiter.call("CLIENT", "SETNAME", "waiter")
            waiter.send_command("LOCK", "l", "b", "LEASE", 60000, "WAIT", 30000)
            harness.wait_until(lambda: harness.info_field(self.server, "blocked_clients") == 1)
            lines = {l["name"]: l for l in client_lines(cli(self.server.port, "CLIENT", "LIST"))}
            self.assertEqual(lines["waiter"]["flags"], "b")
            cli(self.server.port, "CLIENT", "KILL", "ID", lines["waiter"]["id"])
            self.assertTrue(harness.wait_until(
                lambda: harness.info_field(self.server, "blocked_clients") == 0))
            self.assertEqual(as_dict(holder.call("UNLOCK", "l", token))["depth"], 0)
            # The killed waiter was never granted: the lock is free.
            self.assertEqual(as_dict(holder.call("LOCK", "l", "c", "LEASE", 1000))["result"],
                             "acquired")

    def test_dbsize_and_keyspace(self):
        self.assertEqual(cli(self.server.port, "DBSIZE").strip(), "0")
        with self.server.raw() as c:
            c.call("CLAIM", "a", "x")
            c.call("CLAIM", "b", "x")
            c.call("ACCOUNT", "acct")
            c.call("LOCK", "l", "x", "LEASE", 60000)
            self.assertEqual(c.call("DBSIZE"), 4)
            _, fields = harness.parse_info(c.call("INFO", "keyspace"))
            self.assertEqual(fields["db0"], "keys=4,expires=0,avg_ttl=0")

    def test_stat_prints_sane_numbers_under_load(self):
        stop = threading.Event()
        sent = [0]

        def load():
            with self.server.raw() as c:
                deadline = time.monotonic() + 20
                while not stop.is_set() and time.monotonic() < deadline:
                    for i in range(50):
                        c.send_command("CLAIM", "stat:%d" % (sent[0] + i), "w")
                    for _ in range(50):
                        c.read_reply()
                    sent[0] += 50

        with self.server.raw() as holder, self.server.raw() as waiter:
            holder.call("LOCK", "stat-lock", "a", "LEASE", 60000)
            waiter.send_command("LOCK", "stat-lock", "b", "LEASE", 60000, "WAIT", 30000)
            worker = threading.Thread(target=load)
            worker.start()
            try:
                out = cli_for(self.server.port, 5.5, "--stat", "-i", "1")
            finally:
                stop.set()
                worker.join(30)
        rows = re.findall(r"^(\d+)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+) \(\+(\d+)\)\s+(\d+)\s*$", out,
                          re.M)
        self.assertGreaterEqual(len(rows), 4, out)
        keys = [int(r[0]) for r in rows]
        requests = [int(r[4]) for r in rows]
        self.assertEqual(keys, sorted(keys), out)
        self.assertGreater(keys[-1], keys[0], out)
        self.assertEqual(requests, sorted(requests), out)
        self.assertGreater(max(int(r[5]) for r in rows[1:]), 0, out)
        for key_count, mem, clients, blocked, _, _, connections in rows:
            self.assertRegex(mem, r"^\d+(\.\d+)?[BKMG]$", out)
            self.assertGreaterEqual(int(clients), 4, out)  # holder, waiter, load, redis-cli
            self.assertEqual(int(blocked), 1, out)
            self.assertGreaterEqual(int(connections), int(clients), out)
        self.assertGreater(harness.info_field(self.server, "instantaneous_ops_per_sec"), 0)

    def test_latency_history(self):
        out = cli_for(self.server.port, 2.5, "--latency-history", "-i", "1")
        lines = re.findall(r"min: (\d+), max: (\d+), avg: ([\d.]+) \((\d+) samples\)", out)
        self.assertGreaterEqual(len(lines), 1, out)
        for low, high, avg, samples in lines:
            self.assertLessEqual(int(low), int(high))
            self.assertGreater(int(samples), 0)

    def test_command_docs_argument_specs(self):
        with self.server.raw() as c:
            docs = c.call("COMMAND", "DOCS", "CLAIM")
            claim = as_dict(docs[1])
            args = [as_dict(a) for a in claim["arguments"]]
            self.assertEqual([(a["name"], a["type"]) for a in args[:2]],
                             [("key", "key"), ("owner", "string")])
            persist = [a for a in args if a.get("token") == "PERSIST"][0]
            self.assertEqual((persist["type"], persist["flags"]), ("pure-token", ["optional"]))
            self.assertNotIsInstance(c.call("COMMAND", "DOCS"), RespError)

    def test_redis_cli_help_shows_the_arguments(self):
        # redis-cli builds `HELP cmd` from COMMAND DOCS; it needs a terminal, which
        # script(1) gives it.
        out = in_terminal("redis-cli -h 127.0.0.1 -p %d" % self.server.port,
                          input_bytes=b"help CLAIM\nhelp LIMIT\nquit\n")
        self.assertIn("CLAIM key owner [TTL ms|UNTIL unix-ms|PER hour|day|week|month [AT hh:mm] "
                      "[TZ \u00b1hh:mm]] [PERSIST] [NOTE text] [IFLOCK name token]", out)
        self.assertIn("LIMIT key RATE n PER ms [BURST b] [COST c]|key WINDOW n PER ms [COST c]",
                      out)


if __name__ == "__main__":
    unittest.main()
