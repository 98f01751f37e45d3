"""`exactly check` on a replica's data dir (docs/replication.md, "Checking a replica offline").

A real three-process group (repl_group.py) takes more than 1024 batches, so every
node snapshots its engine and keeps entries after the snapshot; the group is stopped
(cleanly, or by kill -9 of every node, which leaves open segments), and `exactly
check` runs on each node's dir with nothing running. The three digests it prints
must be equal, and equal to the live INFO digest read before the stop. The negative
controls damage one dir (a byte flipped in a batch, a segment cut short, a segment
removed) and require the check to name the damaged file and exit 1, while the
intact dirs still check clean.
"""

import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402 - found through the line above when run by path
from harness import as_dict  # noqa: E402
from repl_group import Group  # noqa: E402

WRITES = 1150  # past the raft log's snapshot threshold of 1024 entries


def check(data_dir, *extra):
    p = subprocess.run([harness.binary(), "check", "--dir", data_dir] + list(extra),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def field(output, name):
    m = re.search(r"^%s:(\S+)$" % re.escape(name), output, re.M)
    return m.group(1) if m else None


def batches(path):
    """(offset, end) of each batch of a raft segment (layout in src/replica/raft_dir_reader.h)."""
    with open(path, "rb") as f:
        data = f.read()
    out, at = [], 8
    while at + 16 <= len(data):
        n = struct.unpack_from("<Q", data, at + 8)[0]
        if n == 0:
            break
        size = sum(struct.unpack_from("<I", data, at + 16 + 16 * i + 12)[0] for i in range(n))
        end = at + 16 + 16 * n + size
        out.append((at, end))
        at = end
    return out


def layout(output):
    """(snapshot index, [(segment, first index, last index)]) from a check's output."""
    snapshot = re.search(r"(?m)^snapshot: \S+, index (\d+)", output)
    spans = [(m.group(1), int(m.group(2)), int(m.group(3)))
             for m in re.finditer(r"(?m)^segment: (\S+), entries (\d+)\.\.(\d+)", output)]
    return (int(snapshot.group(1)) if snapshot else 0), spans


def holding_next(output):
    """The segment holding the entry right after the snapshot, and the one after it."""
    snapshot_index, spans = layout(output)
    for k, (name, first, last) in enumerate(spans):
        if first <= snapshot_index + 1 <= last:
            return name, (spans[k + 1][0] if k + 1 < len(spans) else None)
    return None, None


def segments(raft_dir):
    """Segment files of `raft_dir` that hold batches, oldest first (closed, then open)."""
    names = sorted(os.listdir(raft_dir))
    closed = [n for n in names if re.fullmatch(r"\d{16}-\d{16}", n)]
    opened = sorted((n for n in names if n.startswith("open-")), key=lambda n: int(n[5:]))
    return [n for n in closed + opened if batches(os.path.join(raft_dir, n))]


class ReplicaCheckTest(unittest.TestCase):

    def setUp(self):
        if not os.path.exists(harness.binary()):
            self.skipTest("server binary not built: %s" % harness.binary())
        self.tmp = tempfile.mkdtemp(prefix="exactly-replica-check-")
        self.group = Group(self.tmp)

    def tearDown(self):
        self.group.close()
        if os.environ.get("EXACTLY_KEEP_TMP") != "1":
            shutil.rmtree(self.tmp, ignore_errors=True)

    def dir_of(self, i):
        return self.group.servers[i].data_dir

    def write_and_converge(self):
        """Writes through the leader; returns the live INFO digest all nodes agree on."""
        g = self.group
        g.start_all()
        port = g.port_of(g.leader())
        with harness.RawConnection(port) as c:
            self.assertEqual(as_dict(c.call("ACCOUNT", "src", "MIN", "-inf"))["result"],
                             "created")
            self.assertEqual(as_dict(c.call("ACCOUNT", "dst"))["result"], "created")
            for n in range(WRITES):
                if n % 3 == 0:
                    r = as_dict(c.call("TRANSFER", "t%d" % n, "src", "dst", "1"))
                    self.assertEqual(r["result"], "ok", r)
                else:
                    r = as_dict(c.call("CLAIM", "k%d" % n, "owner%d" % (n % 5)))
                    self.assertEqual(r["result"], "won", r)
        seen = g.converged()
        values = {(d.get("applied_lsn"), d.get("state_digest")) for d in seen.values()}
        self.assertEqual(len(seen), 3, seen)
        self.assertEqual(len(values), 1, "the live replicas disagree: %s" % seen)
        live = next(iter(seen.values()))
        self.assertEqual(int(live["applied_lsn"]), WRITES + 2)
        return live

    def check_all_equal(self, live):
        """Runs the check on every dir; each must pass with the live digest."""
        outputs = self.outputs = {}
        for i in self.group.ids:
            rc, out = check(self.dir_of(i))
            self.assertEqual(rc, 0, "node %d's dir:\n%s" % (i, out))
            self.assertIn("replica raft log", out)
            self.assertRegex(out, r"(?m)^snapshot: snapshot-\d+-\d+-\d+, index \d+",
                             "node %d took no snapshot:\n%s" % (i, out))
            outputs[i] = out
        digests = {i: (field(o, "applied_lsn"), field(o, "state_digest"))
                   for i, o in outputs.items()}
        self.assertEqual(set(digests.values()), {(live["applied_lsn"], live["state_digest"])},
                         "offline digests %s, live %s" % (digests, live))
        return outputs

    def test_stopped_replicas_check_to_the_live_digest(self):
        live = self.write_and_converge()
        for i in self.group.ids:
            self.group.stop(i)
        self.check_all_equal(live)
        # The layout is detected, and the raft dir itself can be named too.
        rc, out = check(os.path.join(self.dir_of(1), "raft"))
        self.assertEqual(rc, 0, out)
        self.assertEqual(field(out, "state_digest"), live["state_digest"])
        rc, out = check(self.dir_of(1), "--layout", "journal")
        self.assertEqual(rc, 0, out)
        self.assertNotIn("state_digest", out)  # the (empty) single-node journal instead

    def test_killed_replicas_check_and_damage_is_caught(self):
        live = self.write_and_converge()
        for i in self.group.ids:
            self.group.kill(i)  # kill -9: open segments stay open
        self.check_all_equal(live)

        # Negative controls, one dir each; the check must name the damaged file.
        raft = {i: os.path.join(self.dir_of(i), "raft") for i in self.group.ids}

        # 1: a byte flipped inside the data of a batch that has batches after it.
        name = segments(raft[1])[-1]
        path = os.path.join(raft[1], name)
        spans = batches(path)
        self.assertGreaterEqual(len(spans), 3, name)
        start, end = spans[len(spans) // 2]
        with open(path, "r+b") as f:
            f.seek(end - 3)
            b = f.read(1)
            f.seek(end - 3)
            f.write(bytes([b[0] ^ 0x10]))
        rc, out = check(self.dir_of(1))
        self.assertEqual(rc, 1, out)
        self.assertTrue(out.startswith("corrupt: "), out)
        self.assertIn("%s at byte %d" % (name, start), out)
        self.assertIn("checksum mismatch", out)

        # 2: a segment cut short in the middle of a batch.
        name = segments(raft[2])[0]
        path = os.path.join(raft[2], name)
        with open(path, "r+b") as f:
            f.truncate(batches(path)[-1][1] - 5)
        rc, out = check(self.dir_of(2))
        self.assertEqual(rc, 1, out)
        self.assertTrue(out.startswith("corrupt: "), out)
        self.assertIn(name, out)

        # 3: the segment holding the entry right after the snapshot removed: the log
        # cannot do without it (the open segments after it are numbered from the
        # snapshot on, so the batch numbers inside the entries tell the gap).
        victim, after = holding_next(self.outputs[3])
        self.assertIsNotNone(after, "entries after the snapshot span two segments:\n%s" %
                             self.outputs[3])
        os.remove(os.path.join(raft[3], victim))
        rc, out = check(self.dir_of(3))
        self.assertEqual(rc, 1, "removing %s went unreported:\n%s" % (victim, out))
        self.assertIn("missing", out)

    def test_dropped_segment_of_a_stopped_replica_is_caught(self):
        live = self.write_and_converge()
        for i in self.group.ids:
            self.group.stop(i)
        self.check_all_equal(live)
        victim, after = holding_next(self.outputs[1])
        self.assertIsNotNone(after, "entries after the snapshot span two segments:\n%s" %
                             self.outputs[1])
        os.remove(os.path.join(self.dir_of(1), "raft", victim))
        rc, out = check(self.dir_of(1))
        self.assertEqual(rc, 1, "removing %s went unreported:\n%s" % (victim, out))
        self.assertIn(after, out)
        self.assertIn("are missing", out)
        rc, out = check(self.dir_of(2))  # its peers' dirs are untouched
        self.assertEqual(rc, 0, out)

if __name__ == "__main__":
    unittest.main()
