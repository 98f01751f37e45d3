"""What a client sends can never stop writes or desync the connection.

Each test reproduces a defect found by trying exactly as a new user would:
- 60 clients each EXEC a MULTI of 1,000 large CLAIMs at once: the turn's batch
  became one ~100 MB journal record, the journal refused it and the server
  latched fail-stop. Batches are now cut by bytes; nothing reaches -IOERR.
- EXEC answered one wrapper reply, so client transaction APIs read one reply
  where they expected N (phpredis then desynced the connection). EXEC now
  answers one element per queued command; the raw wire shape is checked here,
  the clients' own APIs in test_transactions.py.
- The largest group the limits allow still fits one journal record (a command
  that would take a group past it is refused while queued, with -ERR).
- A restart right after SIGTERM while a snapshot child was writing failed: the
  child held the data dir's lock. The child now dies with the server.
- --maxmemory: commands that may add records answer -OOM and change nothing.
"""

import os
import shutil
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import RespError, call_dict, encode  # noqa: E402


class HardeningTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="exactly-hardening-")
        self.servers = []

    def tearDown(self):
        for server in self.servers:
            server.stop()
        if not os.environ.get("EXACTLY_KEEP_TMP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, name="data", **kwargs):
        server = harness.Server(os.path.join(self.tmp, name), **kwargs)
        self.servers.append(server)
        return server.start()

    def info(self, conn, section):
        text = conn.call("INFO", section)
        if isinstance(text, bytes):
            text = text.decode()
        fields = {}
        for line in text.splitlines():
            if ":" in line and not line.startswith("#"):
                key, value = line.split(":", 1)
                fields[key] = value
        return fields

    def test_sixty_big_groups_at_once_never_stop_writes(self):
        server = self.start()
        clients = 60
        per_group = 1000
        note = "n" * 1024
        owner = "o" * 250
        frames = []
        for c in range(clients):
            parts = [encode("MULTI")]
            for i in range(per_group):
                key = ("k%02d-%04d-" % (c, i)).ljust(500, "x")
                parts.append(encode("CLAIM", key, owner, "NOTE", note))
            frames.append(b"".join(parts))
        conns = [server.raw(timeout=120) for _ in range(clients)]
        try:
            for conn, frame in zip(conns, frames):
                conn.send(frame)
            for conn in conns:
                for expected in ["OK"] + ["QUEUED"] * per_group:
                    self.assertEqual(conn.read_reply(), expected)
            # Every client sends EXEC in the same instant.
            exec_frame = encode("EXEC")
            barrier = threading.Barrier(clients)
            replies = [None] * clients

            def fire(n):
                barrier.wait()
                conns[n].send(exec_frame)
                replies[n] = conns[n].read_reply()

            threads = [threading.Thread(target=fire, args=(n,)) for n in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(180)
            for n, reply in enumerate(replies):
                elements = harness.exec_dicts(reply)
                self.assertEqual(len(elements), per_group, "client %d" % n)
                self.assertTrue(all(e["result"] == "won" for e in elements), "client %d" % n)
        finally:
            for conn in conns:
                conn.close()
        with server.raw() as conn:
            persistence = self.info(conn, "persistence")
            self.assertEqual(persistence["storage_failed"], "0")
            self.assertEqual(call_dict(conn, "CLAIM", "after", "me")["result"], "won")
            stats = self.info(conn, "stats")
            # More than one record: the turn was cut into batches by bytes.
            self.assertGreater(int(stats["journal_records"]), 2)
        server.stop()
        server.start()
        with server.raw() as conn:
            self.assertEqual(self.info(conn, "tables")["claims"], str(clients * per_group + 1))

    def test_exec_answers_one_element_per_command(self):
        server = self.start()
        for hello3 in (False, True):
            with server.raw(hello3=hello3) as conn:
                p = "r3:" if hello3 else "r2:"
                call_dict(conn, "ACCOUNT", p + "src", "MIN", "-inf")
                call_dict(conn, "ACCOUNT", p + "dst")
                self.assertEqual(conn.call("MULTI"), "OK")
                self.assertEqual(conn.call("CLAIM", p + "k", "me"), "QUEUED")
                self.assertEqual(conn.call("TRANSFER", p + "t1", p + "src", p + "dst", "5"),
                                 "QUEUED")
                self.assertEqual(conn.call("LOCK", p + "l", "me", "LEASE", "1000"), "QUEUED")
                reply = conn.call("EXEC")
                self.assertIsInstance(reply, list)
                self.assertEqual(len(reply), 3)
                if hello3:
                    self.assertTrue(all(isinstance(e, dict) for e in reply), reply)
                elements = harness.exec_dicts(reply)
                self.assertEqual([e["result"] for e in elements], ["won", "ok", "acquired"])
                # A rolled-back group: rolled_back before, the refusal with failed 1,
                # skipped after, each naming its command.
                conn.call("MULTI")
                conn.call("CLAIM", p + "k2", "me")
                conn.call("TRANSFER", p + "t2", p + "dst", p + "src", "999")
                conn.call("UNLOCK", p + "l", "1")
                elements = harness.exec_dicts(conn.call("EXEC"))
                self.assertEqual(elements[0], {"result": "rolled_back", "key": p + "k2"})
                self.assertEqual(elements[1]["result"], "insufficient")
                self.assertEqual(elements[1]["failed"], 1)
                self.assertEqual(elements[1]["id"], p + "t2")
                self.assertEqual(elements[2], {"result": "skipped", "name": p + "l"})
                self.assertEqual(call_dict(conn, "CLAIMOF", p + "k2")["result"], "free")
                # The connection is in step afterwards.
                self.assertEqual(conn.call("PING"), "PONG")
                for command in (["WATCH", "x"], ["UNWATCH"]):
                    error = conn.call(*command)
                    self.assertIsInstance(error, RespError)
                    self.assertIn("IFLOCK", str(error))

    def test_largest_group_the_limits_allow_fits_one_record(self):
        # 1,000 IDEM END with 512-byte keys and 64 KiB responses: the largest
        # journal record a group can make (about 66 MB against the 64 MiB
        # maximum). It must execute, and writes must go on afterwards.
        server = self.start()
        response = "r" * 65536
        keys = [("big%04d-" % i).ljust(512, "k") for i in range(1000)]
        with server.raw(timeout=120) as conn:
            conn.send(b"".join(encode("IDEM", "BEGIN", k) for k in keys))
            tokens = [str(harness.as_dict(conn.read_reply())["token"]) for _ in keys]
            parts = [encode("MULTI")]
            parts += [encode("IDEM", "END", k, t, response) for k, t in zip(keys, tokens)]
            parts.append(encode("EXEC"))
            conn.send(b"".join(parts))
            replies = [conn.read_reply() for _ in range(len(keys) + 2)]
            self.assertEqual(replies[:-1], ["OK"] + ["QUEUED"] * len(keys))
            elements = harness.exec_dicts(replies[-1])
            self.assertEqual(len(elements), len(keys))
            self.assertTrue(harness.exec_executed(elements), elements[:2])
            self.assertEqual(self.info(conn, "persistence")["storage_failed"], "0")
            self.assertEqual(call_dict(conn, "CLAIM", "after", "me")["result"], "won")
        server.stop()
        server.start()
        with server.raw(timeout=60) as conn:
            done = call_dict(conn, "IDEM", "BEGIN", keys[-1])
            self.assertEqual(done["result"], "done")
            self.assertEqual(len(done["response"]), len(response))

    def test_restart_right_after_sigterm_during_a_snapshot(self):
        server = self.start(extra_args=["--snapshot-every-mb", "0"])
        note = "n" * 1000
        with server.raw(timeout=120) as conn:
            batch = 5000
            for start in range(0, 150000, batch):
                conn.send(b"".join(encode("CLAIM", "s%07d" % i, "owner", "NOTE", note)
                                   for i in range(start, start + batch)))
                for _ in range(batch):
                    reply = conn.read_reply()
                    self.assertNotIsInstance(reply, RespError)
            self.assertIn("snapshot started", conn.call("SNAPSHOT"))
        children = harness._descendants(server.target_pid())
        self.assertTrue(children, "no snapshot child to race against")
        rc = server.stop()
        self.assertEqual(rc, 0)
        # The child is gone with its parent, and left the lock and the port.
        for pid in children:
            self.assertFalse(_alive(pid), "snapshot child %d outlived the server" % pid)
        server.start()
        with server.raw() as conn:
            self.assertEqual(self.info(conn, "tables")["claims"], "150000")
        self.assertIn("stopped by the shutdown", server.log_text())
        self.assertEqual(harness.check(server.data_dir)[0], 0)

    def test_maxmemory_refuses_growth_with_oom_and_changes_nothing(self):
        server = self.start(extra_args=["--maxmemory", "40mb"])
        note = "n" * 1024
        refused = None
        with server.raw(timeout=60) as conn:
            call_dict(conn, "CLAIM", "first", "me")
            for i in range(200000):
                reply = conn.call("CLAIM", "m%07d" % i, "owner", "NOTE", note)
                if isinstance(reply, RespError):
                    refused = (i, reply)
                    break
            self.assertIsNotNone(refused, "never refused past --maxmemory")
            i, error = refused
            self.assertEqual(error.code, "OOM")
            self.assertIn("maxmemory", str(error))
            self.assertEqual(call_dict(conn, "CLAIMOF", "m%07d" % i)["result"], "free")
            # Reads and commands that free state still run.
            self.assertEqual(call_dict(conn, "CLAIMOF", "first")["result"], "held")
            self.assertEqual(call_dict(conn, "UNCLAIM", "first", "me")["result"], "released")
            memory = self.info(conn, "memory")
            self.assertGreater(int(memory["used_memory"]), 40 * 1024 * 1024)
            self.assertEqual(int(memory["maxmemory"]), 40 * 1024 * 1024)
            self.assertGreater(int(memory["used_memory_rss"]), 0)
            self.assertGreater(int(self.info(conn, "stats")["oom_refusals"]), 0)
        # Control: without the bound the same claim is accepted.
        server.stop()
        server.extra_args = ["--maxmemory", "0"]
        server.start()
        with server.raw() as conn:
            self.assertEqual(call_dict(conn, "CLAIM", "m%07d" % i, "owner")["result"], "won")


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


if __name__ == "__main__":
    unittest.main()
