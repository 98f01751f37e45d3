"""Hostile clients cannot take the server's memory or its other clients' turn.

The server runs with --maxmemory-clients 64mb. Three kinds of hostile load:
  - thousands of slowloris connections, each sending a command a byte at a time;
  - 50 clients that pipeline PING, CLAIMOF and a 512-byte ECHO and never read;
  - clients that declare a 2,000,000,000-byte bulk string and send a little of it.
While each runs, asserted: the server's RSS (VmRSS in /proc/<pid>/status) stays
under a bound (its RSS before, plus the 64 MiB client bound, plus a per-
connection allowance, plus slack), and a normal client's PING and CLAIM answer
within a generous timeout. Timings are measured and printed, not asserted
beyond that timeout.
Negative controls: the RSS probe sees growth that is real (90 MB of stored
IDEM responses), and with --maxmemory-clients 4mb the non-readers are
disconnected (evicted_clients > 0) while the normal client is not.
"""

import os
import resource
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faults  # noqa: E402 - found through the line above when run by path
import floods  # noqa: E402
import harness  # noqa: E402
from harness import as_dict

MIB = 1 << 20
CLIENT_BOUND = "64mb"
CLIENT_BOUND_BYTES = 64 * MIB
SLOWLORIS = int(os.environ.get("EXACTLY_SLOWLORIS") or 3000)
NON_READERS = 50
HUGE_DECLARED = 200
PER_CONNECTION_BYTES = 64 * 1024  # allowance for each connection's fixed cost
SLACK_BYTES = 64 * MIB
ANSWER_WITHIN_S = 2.0
LOAD_S = 4.0


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for pid %d" % pid)


class Probe(threading.Thread):
    """Samples the server's RSS and a normal client's PING and CLAIM latency."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server, self.pid = server, server.target_pid()
        self.stop_event = threading.Event()
        self.max_rss = 0
        self.latencies = []
        self.failures = []

    def run(self):
        seq = 0
        try:
            conn = self.server.raw(timeout=ANSWER_WITHIN_S)
        except OSError as e:
            self.failures.append("connect: %s" % e)
            return
        with conn:
            while not self.stop_event.is_set():
                self.max_rss = max(self.max_rss, rss_bytes(self.pid))
                seq += 1
                t0 = time.monotonic()
                try:
                    pong = conn.call("PING")
                    won = conn.call("CLAIM", "probe:%d" % seq, "probe")
                except OSError as e:
                    self.failures.append("normal client: %s" % e)
                    return
                self.latencies.append(time.monotonic() - t0)
                if pong != "PONG" or as_dict(won)["result"] != "won":
                    self.failures.append("normal client got %r / %r" % (pong, won))
                time.sleep(0.05)

    def finish(self):
        self.stop_event.set()
        self.join(30)
        return self


def raise_fd_limit(wanted):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class HostileClientsTest(faults.FaultTestCase):

    def setUp(self):
        super().setUp()
        # The server inherits the limit from this process.
        limit = raise_fd_limit(SLOWLORIS + 1024)
        if limit < SLOWLORIS + 256:
            self.skipTest("cannot raise the open-file limit to %d (got %d)" %
                          (SLOWLORIS + 256, limit))
        self.sockets = []

    def tearDown(self):
        for s in self.sockets:
            s.close()
        super().tearDown()

    def start(self, bound=CLIENT_BOUND):
        return self.server(os.path.join(self.tmp, "data"),
                           extra_args=["--maxmemory-clients", bound]).start()

    def connect_many(self, server, n):
        return floods.connect_many(server.port, n, self.sockets)

    def under_load(self, server, name, load, connections):
        """Runs `load(stop_event)` for LOAD_S with the probe; asserts the bounds."""
        pid = server.target_pid()
        baseline = rss_bytes(pid)
        probe = Probe(server)
        probe.start()
        stop = threading.Event()
        loader = threading.Thread(target=load, args=(stop,), daemon=True)
        loader.start()
        time.sleep(LOAD_S)
        stop.set()
        loader.join(30)
        probe.finish()
        bound = baseline + CLIENT_BOUND_BYTES + PER_CONNECTION_BYTES * connections + SLACK_BYTES
        worst = max(probe.latencies, default=float("inf"))
        print("\n[hostile] %s: RSS %.0f MiB before, %.0f MiB at most (bound %.0f MiB); "
              "normal client: %d round trips, slowest %.3fs" %
              (name, baseline / MIB, probe.max_rss / MIB, bound / MIB, len(probe.latencies),
               worst), file=sys.stderr)
        self.assertEqual(probe.failures, [], "the normal client failed under %s" % name)
        self.assertGreater(len(probe.latencies), 3, "the normal client hardly got a turn")
        self.assertLess(worst, ANSWER_WITHIN_S)
        self.assertLess(probe.max_rss, bound, "RSS past its bound under %s" % name)
        return probe

    def test_thousands_of_slowloris_connections(self):
        server = self.start()
        conns = self.connect_many(server, SLOWLORIS)
        command = harness.encode("CLAIM", "slow:key", "slow:owner")

        def load(stop):
            at = 0
            while not stop.is_set() and at < len(command):
                for s in conns:
                    try:
                        s.send(command[at:at + 1])
                    except OSError:
                        pass
                at += 1
                stop.wait(0.2)

        self.under_load(server, "%d slowloris connections" % SLOWLORIS, load, SLOWLORIS)

    def test_clients_that_pipeline_and_never_read(self):
        server = self.start()
        conns = self.connect_many(server, NON_READERS)
        chunk = (harness.encode("PING") + harness.encode("CLAIMOF", "k") +
                 harness.encode("ECHO", "e" * 512)) * 64
        sent = [0]

        def load(stop):
            sent[0] = floods.flood_without_reading(conns, chunk, stop.is_set)

        self.under_load(server, "%d clients that never read" % NON_READERS, load, NON_READERS)
        print("[hostile] the non-readers sent %.0f MiB" % (sent[0] / MIB), file=sys.stderr)
        self.assertGreater(sent[0], 8 * MIB, "the non-readers hardly sent anything")
        self.assertLessEqual(harness.info_field(server, "mem_clients_normal"),
                             CLIENT_BOUND_BYTES + 4 * MIB)

    def test_huge_declared_bulk_lengths(self):
        server = self.start()
        conns = self.connect_many(server, HUGE_DECLARED)
        head = b"*2\r\n$4\r\nECHO\r\n$2000000000\r\n"
        body = b"x" * 65536

        def load(stop):
            for s in conns:
                try:
                    s.sendall(head)
                except OSError:
                    pass
            while not stop.is_set():
                for s in conns:
                    try:
                        s.send(body, socket.MSG_DONTWAIT)
                    except OSError:
                        pass  # full (the server need not read it) or closed: both fine
                stop.wait(0.1)

        self.under_load(server, "%d clients declaring 2 GB bulks" % HUGE_DECLARED, load,
                        HUGE_DECLARED)

    def test_control_rss_probe_sees_real_growth(self):
        """Negative control: state that really grows shows in the probe."""
        server = self.start()
        pid = server.target_pid()
        baseline = rss_bytes(pid)
        with server.raw(timeout=60) as c:
            for r in range(30):
                keys = ["grow:%d:%d" % (r, i) for i in range(50)]
                begins = faults.pipeline(c, [("IDEM", "BEGIN", k) for k in keys])
                ends = faults.pipeline(c, [("IDEM", "END", k, str(as_dict(b)["token"]), "v" * 60000)
                                           for k, b in zip(keys, begins)])
                self.assertTrue(all(as_dict(e)["result"] == "done" for e in ends))
        grown = rss_bytes(pid) - baseline
        print("\n[hostile] control: 90 MB of IDEM responses grew RSS by %.0f MiB" % (grown / MIB),
              file=sys.stderr)
        self.assertGreater(grown, 60 * MIB)

    def test_control_small_bound_disconnects_the_non_readers(self):
        """Negative control: with a 4 MiB bound the same non-readers are disconnected."""
        server = self.start(bound="4mb")
        conns = self.connect_many(server, NON_READERS)
        chunk = (harness.encode("PING") + harness.encode("ECHO", "e" * 512)) * 64
        floods.flood_without_reading(
            conns, chunk, lambda: harness.info_field(server, "evicted_clients") > 0,
            deadline_s=10)
        self.assertGreater(harness.info_field(server, "evicted_clients"), 0)
        with server.raw(timeout=ANSWER_WITHIN_S) as c:
            self.assertEqual(c.call("PING"), "PONG")


if __name__ == "__main__":
    unittest.main()
