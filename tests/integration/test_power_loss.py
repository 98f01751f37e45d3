"""Simulated power loss: kill -9 at a random point, keep only what was synced.

The server runs with the power-loss layer (tests/support/powerloss, LD_PRELOAD),
which keeps in a shadow dir what the disk would hold after a power cut: file
bytes as of their last fsync/fdatasync, directory entries (creations, renames,
unlinks) as of the last fsync of the directory. Each seed:
  1. a plain run creates the accounts and stops cleanly (they are durable);
  2. CYCLES times: the server starts under the layer (snapshots every MiB, and
     sometimes an explicit SNAPSHOT, so the forked writer and its rename are
     cut too), writers send unique TRANSFERs and CLAIMs, and after a seeded
     random pause the whole process group is killed with SIGKILL; the data dir
     is then rebuilt from the shadow, as the disk would look after the cut,
     and `exactly check` must accept it;
  3. a plain restart: every acknowledged write is there, every transfer id is
     applied once (faults.verify).
On odd seeds the rebuild also keeps a seeded random prefix of each file's
unsynced bytes, as a kernel that wrote some dirty pages back before the cut
would: recovery then meets torn tails. EXACTLY_POWERLOSS_WRITEBACK=prefix does
so on every seed, =scatter keeps random unsynced pages instead (a write-back
in any order), which recovery cuts as a torn last write: see
test_out_of_order_writeback_of_unsynced_records_restarts.

Negative control: the same with `--fsync no` must be caught losing acknowledged
writes, which proves the layer really drops unsynced data and the checker sees it.
With `--fsync everysec` the writes lost must all have been answered within the
last 1.5 s before the cut (its documented promise: the last second).

EXACTLY_POWERLOSS_SEEDS (default 12; make soak: 1000) and
EXACTLY_POWERLOSS_SEED (the first seed; seed i+1 follows seed i) replay a run.
"""

import os
import random
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faults  # noqa: E402 - found through the line above when run by path
import harness  # noqa: E402
from harness import as_dict

CYCLES = 2
PAUSE_S = (0.02, 0.5)
CHUNK = 1 << 20
PAGE = 4096


def layer_path():
    """The LD_PRELOAD library: $EXACTLY_POWERLOSS_LIB or build/tests/ beside the binary."""
    return os.environ.get("EXACTLY_POWERLOSS_LIB") or os.path.join(
        os.path.dirname(harness.binary()), "tests", "libexactly_powerloss.so")


def read_table(path, fields):
    """Lines of `fields` words; a last line cut by a kill (no newline) is skipped."""
    rows = []
    try:
        with open(path) as f:
            for line in f:
                if line.endswith("\n") and len(line.split(" ", fields - 1)) == fields:
                    rows.append(line[:-1].split(" ", fields - 1))
    except FileNotFoundError:
        pass
    return rows


def first_difference(a, b):
    """Offset of the first byte where files a and b differ (None if equal), reading
    both in chunks; sparse 64 MiB segments read fast."""
    with open(a, "rb") as fa, open(b, "rb") as fb:
        offset = 0
        while True:
            x, y = fa.read(CHUNK), fb.read(CHUNK)
            if x != y:
                n = min(len(x), len(y))
                i = next((k for k in range(n) if x[k] != y[k]), n)
                return offset + i
            if not x:
                return None
            offset += len(x)


def rebuild(shadow, data_dir, rng=None, writeback=None):
    """Replaces the data dir by what the shadow says a power cut leaves.

    `writeback` says what else of the bytes written after a file's last sync
    reached the disk (only for a file that is still the same file in the data
    dir): None, nothing; "prefix", a random prefix of them; "scatter", random
    pages among the first 64 KiB of them (a write-back in any order); "holes",
    all of them except the page they start in. Returns (files kept, files
    written back).
    """
    if os.path.exists(os.path.join(shadow, "datadir-absent")):
        # The data dir was created and its parent never fsynced: no data dir.
        shutil.rmtree(data_dir, ignore_errors=True)
        shutil.rmtree(shadow)
        return 0, 0
    entries = read_table(os.path.join(shadow, "dirents"), 2)
    inodes = {}
    for dev, ino, ident in read_table(os.path.join(shadow, "inodes"), 3):
        inodes[(int(dev), int(ino))] = ident
    staged = os.path.join(shadow, "rebuilt")
    os.mkdir(staged)
    written_back = 0
    for ident, name in entries:
        src = os.path.join(shadow, "data", ident)
        dst = os.path.join(staged, name)
        if not os.path.exists(src):
            open(dst, "wb").close()  # named durably, never synced: empty
            continue
        shutil.move(src, dst)  # same file system: a rename
        live = os.path.join(data_dir, name)
        if writeback is None or not os.path.exists(live):
            continue
        st = os.stat(live)
        if inodes.get((st.st_dev, st.st_ino)) != ident:
            continue
        at = first_difference(dst, live)
        if at is not None:
            write_back(live, dst, at, st.st_size, rng, writeback)
            written_back += 1
    shutil.rmtree(data_dir)
    os.rename(staged, data_dir)
    shutil.rmtree(shadow)
    return len(entries), written_back


def write_back(live, durable, at, size, rng, mode):
    """Copies some of live[at:] into durable, as `mode` says (see rebuild)."""
    if mode == "prefix":
        ranges = [(at, min(size, at + rng.randrange(0, 1 << 16)))]
    elif mode == "scatter":
        first = at - at % PAGE
        ranges = [(max(p, at), p + PAGE) for p in range(first, min(size, at + (1 << 16)), PAGE)
                  if rng.random() < 0.5]
    elif mode == "holes":
        ranges = [(at - at % PAGE + PAGE, min(size, at + (4 << 20)))]
    else:
        raise ValueError("unknown write-back mode %r" % mode)
    with open(live, "rb") as f, open(durable, "r+b") as out:
        for begin, end in ranges:
            if begin < end:
                f.seek(begin)
                out.seek(begin)
                out.write(f.read(end - begin))


@unittest.skipUnless(os.path.exists(layer_path()), "power-loss layer not built: " + layer_path())
class PowerLossTest(faults.FaultTestCase):

    def layer_env(self, data_dir, shadow):
        return {"LD_PRELOAD": layer_path(), "EXACTLY_POWERLOSS_DATA": data_dir,
                "EXACTLY_POWERLOSS_SHADOW": shadow}

    def run_seed(self, seed, fsync=None, cycles=CYCLES, writeback=None):
        """One seed; returns (verify report, figures)."""
        rng = random.Random(seed)
        base = os.path.join(self.tmp, "seed-%d%s" % (seed, "-" + fsync if fsync else ""))
        os.mkdir(base)
        data_dir, shadow = os.path.join(base, "data"), os.path.join(base, "shadow")
        plain = self.server(data_dir).start()
        port = plain.port
        with plain.raw() as c:
            faults.setup_accounts(c)
        self.assertEqual(plain.stop(), 0)
        history, figures = [], {"snapshots": 0, "files": 0, "written_back": 0}
        for cycle in range(cycles):
            s = self.server(data_dir, port=port, fsync=fsync, env=self.layer_env(data_dir, shadow),
                            extra_args=["--snapshot-every-mb", "1"]).start()
            if history:
                with s.raw(timeout=60) as c:
                    report = faults.verify(c, history)
                self.assertEqual(report.lost, [], "seed %d cycle %d: %s" % (seed, cycle, report))
            # Sometimes deep pipelines of claims with 1 KiB notes: batches of many
            # pages, so that a partial write-back can leave holes inside one batch.
            deep = rng.random() < 0.4
            w = faults.Workload(port, rng.choice([1, 2, 4]), prefix="s%dc%d-" % (seed, cycle),
                                depth=rng.choice([16, 64]) if deep else 1,
                                note_bytes=1000 if deep else 0)
            w.start()
            pause = rng.uniform(*PAUSE_S)
            if rng.random() < 0.5:
                time.sleep(pause / 2)
                with s.raw(timeout=10) as c:
                    reply = c.call("SNAPSHOT")
                figures["snapshots"] += not isinstance(reply, harness.RespError)
                pause = rng.uniform(0, pause / 2)
            time.sleep(pause)
            s.power_off()
            self.assertTrue(w.join(30), "a writer hung after the power cut")
            self.assertEqual(w.outcomes.unexpected, [])
            self.assertEqual([e for e in w.outcomes.errors if "IOERR" in e[1]], [])
            history.append(w.outcomes)
            files, back = rebuild(shadow, data_dir, rng, writeback)
            figures["files"] += files
            figures["written_back"] += back
            rc, out = harness.check(data_dir)
            self.assertEqual(rc, 0, "seed %d cycle %d: exactly check failed:\n%s" %
                             (seed, cycle, out))
        s = self.server(data_dir, port=port).start()
        with s.raw(timeout=60) as c:
            report = faults.verify(c, history, retry_unknown=fsync is None)
        self.assertEqual(s.stop(), 0)
        if not (self._failed_or_keep()):
            shutil.rmtree(base, ignore_errors=True)
        return report, figures

    def _failed_or_keep(self):
        return harness.ServerTestCase._failed(self) or bool(os.environ.get("EXACTLY_KEEP_TMP"))

    def test_acknowledged_writes_survive_power_loss(self):
        count = int(os.environ.get("EXACTLY_POWERLOSS_SEEDS") or 12)
        first = int(os.environ.get("EXACTLY_POWERLOSS_SEED") or random.randrange(1 << 30))
        writeback = os.environ.get("EXACTLY_POWERLOSS_WRITEBACK")
        print("\n[power_loss] seeds %d..%d (EXACTLY_POWERLOSS_SEED=%d EXACTLY_POWERLOSS_SEEDS=%d "
              "to replay)" % (first, first + count - 1, first, count), file=sys.stderr)
        acked = lost = unknown = applied = snapshots = written_back = 0
        started = time.monotonic()
        for seed in range(first, first + count):
            report, figures = self.run_seed(
                seed, writeback=writeback or ("prefix" if seed % 2 else None))
            self.assertEqual(report.lost, [], "seed %d: acknowledged writes lost: %s\n%s" %
                             (seed, report, report.lost[:5]))
            self.assertTrue(report.total_ok, "seed %d: %s" % (seed, report))
            acked += report.acked
            lost += len(report.lost)
            unknown += report.unknown
            applied += report.unknown_applied
            snapshots += figures["snapshots"]
            written_back += figures["written_back"]
        print("[power_loss] %d seeds x %d cuts in %.0fs: %d acknowledged writes checked, %d lost, "
              "%d unknown at the cut (%d had been applied), %d explicit snapshots, "
              "%d files with a partial write-back" %
              (count, CYCLES, time.monotonic() - started, acked, lost, unknown, applied,
               snapshots, written_back), file=sys.stderr)
        self.assertGreater(acked, count, "too little load reached the server")

    def test_out_of_order_writeback_of_unsynced_records_restarts(self):
        """A cut while one write of several records awaits its sync, after the disk
        got every page of that write but the first, must restart.

        None of those records was acknowledged, so they are a torn tail to cut.
        Each record header names where its write began (journal version 2), so
        recovery sees that the valid records after the hole belong to the very
        write that holds it, which never finished its sync, and cuts it instead
        of refusing to start (case 5a of docs/journal_format.md).
        """
        data_dir = os.path.join(self.tmp, "data")
        shadow = os.path.join(self.tmp, "shadow")
        env = self.layer_env(data_dir, shadow)
        # Sync 1 is the new segment's header; sync 2 (the first batch) is slowed
        # so that four more batches queue behind it and go out in one write; the
        # sync of that write (3) never returns.
        env.update({"EXACTLY_POWERLOSS_HANG_AT_SYNC": "3", "EXACTLY_POWERLOSS_SYNC_DELAY_MS": "800"})
        s = self.server(data_dir, env=env).start()
        first = s.raw(timeout=30)
        first.send_command("CLAIM", "first", "me")
        time.sleep(0.2)
        queued = []
        for i in range(4):
            c = s.raw(timeout=30)
            c.send(b"".join(harness.encode("CLAIM", "q:%d:%d" % (i, k), "me", "NOTE", "n" * 1000)
                            for k in range(8)))
            queued.append(c)
            time.sleep(0.05)  # one loop turn each: four batches, four records
        self.assertEqual(as_dict(first.read_reply())["result"], "won")
        time.sleep(0.5)  # the four records are written; their sync hangs
        self.assertFalse(any(harness.has_pending_reply(c) for c in queued),
                         "a record was acknowledged before its sync")
        s.power_off()
        for c in queued + [first]:
            c.close()
        rebuild(shadow, data_dir, writeback="holes")
        rc, out = harness.check(data_dir)
        self.assertEqual(rc, 0, "exactly check after the cut:\n%s" % out)
        s = self.server(data_dir, port=s.port).start()
        with s.raw() as c:
            d = harness.call_dict(c, "CLAIMOF", "first")
            self.assertEqual((d["result"], d["owner"]), ("held", "me"))

    def test_data_dir_created_at_first_start_survives_power_loss(self):
        """The first start creates the data dir; what it acknowledges there must
        survive a cut.

        The data dir's own name lives in its parent: `exactly serve` made it
        (std::filesystem in server/serve.cc) and fsynced only the dir itself, so a
        cut soon after a first start could leave no data dir and lose every
        acknowledged write. The journal's CreateDir now fsyncs the parent.
        """
        parent = os.path.join(self.tmp, "fresh")
        os.mkdir(parent)
        data_dir, shadow = os.path.join(parent, "data"), os.path.join(self.tmp, "shadow")
        s = self.server(data_dir, env=self.layer_env(data_dir, shadow), make_dir=False,
                        log_path=os.path.join(self.tmp, "fresh.log")).start()
        with s.raw() as c:
            self.assertEqual(harness.call_dict(c, "CLAIM", "first", "me")["result"], "won")
        s.power_off()
        rebuild(shadow, data_dir)
        s = self.server(data_dir, port=s.port).start()
        with s.raw() as c:
            d = harness.call_dict(c, "CLAIMOF", "first")
        self.assertEqual((d["result"], d.get("owner")), ("held", "me"),
                         "an acknowledged claim was lost with the data dir")

    def test_everysec_loses_at_most_the_last_second(self):
        """--fsync everysec under the same layer: an acknowledged write may be lost
        only if it was answered within the last sync interval (1 s, plus a
        margin for the sync itself) before the cut."""
        seed = int(os.environ.get("EXACTLY_POWERLOSS_SEED") or random.randrange(1 << 30))
        rng = random.Random(seed)
        data_dir, shadow = os.path.join(self.tmp, "data"), os.path.join(self.tmp, "shadow")
        plain = self.server(data_dir).start()
        with plain.raw() as c:
            faults.setup_accounts(c)
        self.assertEqual(plain.stop(), 0)
        s = self.server(data_dir, port=plain.port, fsync="everysec",
                        env=self.layer_env(data_dir, shadow)).start()
        w = faults.Workload(s.port, 2, prefix="es").start()
        time.sleep(rng.uniform(2.5, 3.5))
        cut_at = time.monotonic()
        s.power_off()
        self.assertTrue(w.join(30))
        rebuild(shadow, data_dir)
        s = self.server(data_dir, port=s.port).start()
        with s.raw(timeout=60) as c:
            report = faults.verify(c, [w.outcomes], retry_unknown=False)
        answered = {op: t for op, _, t in w.outcomes.acked}
        ages = sorted(cut_at - answered[op] for op, _ in report.lost)
        print("\n[power_loss] everysec, seed %d: %s; lost ones answered %.2f..%.2fs before the cut"
              % (seed, report, ages[0] if ages else 0, ages[-1] if ages else 0), file=sys.stderr)
        self.assertGreater(report.acked, 0)
        self.assertLess(ages[-1] if ages else 0, 1.5,
                        "seed %d: everysec lost a write acknowledged long before the cut" % seed)

    def test_control_fsync_no_loses_acknowledged_writes(self):
        """Negative control: without syncs the layer must lose acknowledged writes."""
        seed = int(os.environ.get("EXACTLY_POWERLOSS_SEED") or random.randrange(1 << 30))
        caught = 0
        for attempt in range(3):
            report, _ = self.run_seed(seed + attempt, fsync="no", cycles=1)
            print("\n[power_loss] control --fsync no, seed %d: %s" % (seed + attempt, report),
                  file=sys.stderr)
            if report.lost:
                caught += 1
                break
        self.assertGreater(caught, 0, "--fsync no lost nothing under the power-loss layer: "
                           "the layer or the checker cannot fail")


if __name__ == "__main__":
    unittest.main()
