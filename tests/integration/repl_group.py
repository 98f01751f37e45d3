"""A three-process replicated group on loopback, its raft traffic through RaftProxy.

Each node is a real `exactly serve` in its own temp dir, started and stopped by PID
(harness.Server). Clients speak RESP to the nodes directly; only raft traffic goes
through the proxy (repl_proxy.py), so a partition cuts the nodes from each other
while every node still answers clients, as a switch failure between racks would.
"""

import os
import signal
import time

import harness
from harness import RespError
from repl_proxy import BIND_HOST, RaftProxy


def info(port, section="replication", timeout=2.0):
    """INFO `section` of the node on `port` as a dict ({} if it does not answer)."""
    try:
        with harness.RawConnection(port, timeout=timeout) as c:
            text = c.call("INFO", section)
    except (OSError, harness.ConnectionClosed):
        return {}
    if not isinstance(text, str):
        return {}
    return harness.parse_info(text)[1]


def call_once(port, *args, timeout=5.0):
    """One command on a fresh connection; None if the node cannot be reached."""
    try:
        with harness.RawConnection(port, timeout=timeout) as c:
            return c.call(*args)
    except (OSError, harness.ConnectionClosed):
        return None


class Group:
    """Three voters; `unsafe` is a list of the hidden negative-control flags."""

    def __init__(self, tmp, n=3, unsafe=()):
        self.tmp = tmp
        self.ids = list(range(1, n + 1))
        self.resp = {i: harness.free_port() for i in self.ids}
        self.raft = {i: harness.free_port() for i in self.ids}
        self.proxy = RaftProxy(self.raft)
        peers = ",".join("%d=127.0.0.1:%d@127.0.0.1:%d" % (i, self.resp[i], self.raft[i])
                         for i in self.ids)
        env = {"EXACTLY_UNSAFE_TEST_FLAGS": "1"} if unsafe else {}
        self.servers = {}
        self.stopped = set()  # SIGSTOPped node ids
        for i in self.ids:
            args = ["--node-id", str(i), "--raft-bind", "%s:%d" % (BIND_HOST, self.raft[i]),
                    "--peers", peers] + list(unsafe)
            self.servers[i] = harness.Server(os.path.join(tmp, "n%d" % i), port=self.resp[i],
                                             extra_args=args, env=env,
                                             log_path=os.path.join(tmp, "n%d.log" % i))

    def port_of(self, i):
        return self.resp[i]

    def node_of_port(self, port):
        for i, p in self.resp.items():
            if p == port:
                return i
        return None

    def start(self, i):
        self.servers[i].start()

    def start_all(self):
        for i in self.ids:
            self.start(i)

    def running(self, i):
        return self.servers[i].running()

    def kill(self, i):
        self.cont(i)
        self.servers[i].kill()

    def stop(self, i):
        """SIGTERM (a clean stop), SIGKILL after a timeout."""
        self.cont(i)
        self.servers[i].stop()

    def sigstop(self, i):
        os.kill(self.servers[i].target_pid(), signal.SIGSTOP)
        self.stopped.add(i)

    def cont(self, i):
        if i in self.stopped:
            self.stopped.discard(i)
            if self.servers[i].running():
                os.kill(self.servers[i].target_pid(), signal.SIGCONT)

    def close(self):
        for i in self.ids:
            self.cont(i)
            self.servers[i].kill()
        self.proxy.close()

    def live(self):
        return [i for i in self.ids if self.running(i) and i not in self.stopped]

    def leader(self, among=None, timeout=20.0):
        """Id of a node that says it leads and answers a data command, within timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i in among or self.live():
                if not self.running(i) or i in self.stopped:
                    continue
                if info(self.resp[i]).get("role") != "leader":
                    continue
                reply = call_once(self.resp[i], "CLAIMOF", "probe", timeout=2.0)
                if reply is not None and not isinstance(reply, RespError):
                    return i
            time.sleep(0.05)
        raise AssertionError("no leader among %s within %.0fs" % (among or self.live(), timeout))

    def digests(self, i):
        return info(self.resp[i], "digest", timeout=10.0)

    def converged(self, timeout=30.0):
        """Waits until every running node reports the same committed LSN and digests;
        returns {node: INFO digest}, equal or not (the caller compares them)."""
        deadline = time.monotonic() + timeout
        seen = {}
        while time.monotonic() < deadline:
            seen = {i: self.digests(i) for i in self.live()}
            values = {(d.get("committed_lsn"), d.get("applied_lsn"), d.get("state_digest"),
                       d.get("committed_digest")) for d in seen.values()}
            if len(values) == 1 and all(seen.values()):
                return seen
            time.sleep(0.1)
        return seen
