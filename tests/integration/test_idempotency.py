"""Idempotency keys against the real server: one run per key, the reply stored.

- 50 connections send `IDEM BEGIN` for the same key at the same moment with
  `WAIT`: exactly one answers `run`; the others are parked, and when the runner
  ends, all 49 answer `done` with its response. A different fingerprint
  answers `mismatch`.
- A runner whose lease ends loses the key: a retry runs with a fresh token, a
  parked waiter becomes the runner, and the old runner's END is `stale`.
See docs/commands.md (Idempotency keys).
"""

import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402 - found through the line above when run by path

CLIENTS = 50


d = harness.call_dict


class IdemTest(harness.ServerTestCase, unittest.TestCase):

    def test_fifty_concurrent_begins_run_once(self):
        conns = [self.server.raw(timeout=20) for _ in range(CLIENTS)]
        barrier = threading.Barrier(CLIENTS)
        replies = [None] * CLIENTS
        runner_seen = threading.Event()
        release = threading.Event()
        errors = []

        def client(i):
            try:
                barrier.wait(10)
                r = d(conns[i], "IDEM", "BEGIN", "same-key", "FINGERPRINT", "fp-1",
                      "LEASE", "10000", "WAIT", "5000")
                replies[i] = r
                if r["result"] == "run":
                    runner_seen.set()
                    release.wait(10)  # the test ends the run once all others are parked
                    replies[i] = (r, d(conns[i], "IDEM", "END", "same-key", r["token"],
                                       '{"paid":42}'))
            except Exception as e:  # noqa: BLE001 - reported by the main thread
                errors.append((i, repr(e)))

        threads = [threading.Thread(target=client, args=(i,), daemon=True)
                   for i in range(CLIENTS)]
        try:
            for t in threads:
                t.start()
            self.assertTrue(runner_seen.wait(10), "nobody was told to run: %s" % errors)
            # Everyone else is parked on the server, not answered `running`.
            parked = harness.wait_until(
                lambda: harness.info_field(self.server, "waiters") == CLIENTS - 1, timeout=5)
            self.assertTrue(parked, "waiters: %s, replies so far: %s" % (
                harness.info_field(self.server, "waiters"), [r for r in replies if r]))
            release.set()
            for t in threads:
                t.join(20)
            self.assertEqual(errors, [])
            runs = [r for r in replies if isinstance(r, tuple)]
            self.assertEqual(len(runs), 1, "exactly one `run` expected")
            begin, end = runs[0]
            self.assertEqual((end["result"], end["response"]), ("done", '{"paid":42}'))
            others = [r for r in replies if not isinstance(r, tuple)]
            self.assertEqual(len(others), CLIENTS - 1)
            for r in others:
                self.assertEqual((r["result"], r["response"]), ("done", '{"paid":42}'), r)
            with self.server.raw() as c:
                late = d(c, "IDEM", "BEGIN", "same-key", "FINGERPRINT", "fp-1")
                self.assertEqual((late["result"], late["response"]), ("done", '{"paid":42}'))
                other = d(c, "IDEM", "BEGIN", "same-key", "FINGERPRINT", "fp-2", "WAIT", "1000")
                self.assertEqual(other["result"], "mismatch")
                repeat = d(c, "IDEM", "END", "same-key", begin["token"], '{"paid":42}')
                self.assertEqual(repeat["result"], "done")
        finally:
            release.set()
            for c in conns:
                c.close()

    def test_mismatch_while_running(self):
        with self.server.raw() as a, self.server.raw() as b:
            r = d(a, "IDEM", "BEGIN", "k", "FINGERPRINT", "body-1")
            self.assertEqual(r["result"], "run")
            self.assertEqual(d(b, "IDEM", "BEGIN", "k", "FINGERPRINT", "body-2")["result"],
                             "mismatch")
            self.assertEqual(d(b, "IDEM", "BEGIN", "k", "FINGERPRINT", "body-1")["result"],
                             "running")

    def test_runner_lease_end_lets_a_retry_run(self):
        with self.server.raw() as a, self.server.raw() as b:
            first = d(a, "IDEM", "BEGIN", "job", "LEASE", "300")
            self.assertEqual(first["result"], "run")
            self.assertEqual(d(b, "IDEM", "BEGIN", "job")["result"], "running")
            # A parked duplicate becomes the runner when the lease ends (the runner "died").
            second = d(b, "IDEM", "BEGIN", "job", "LEASE", "10000", "WAIT", "5000")
            self.assertEqual(second["result"], "run", second)
            self.assertGreater(int(second["token"]), int(first["token"]))
            self.assertEqual(d(a, "IDEM", "END", "job", first["token"], "late")["result"], "stale")
            done = d(b, "IDEM", "END", "job", second["token"], "ok-2")
            self.assertEqual((done["result"], done["response"]), ("done", "ok-2"))
            # Without WAIT: the lease ends, the next BEGIN runs.
            r1 = d(a, "IDEM", "BEGIN", "job2", "LEASE", "200")
            self.assertEqual(r1["result"], "run")
            self.assertTrue(harness.wait_until(
                lambda: d(b, "IDEM", "BEGIN", "job2", "LEASE", "10000")["result"] == "run",
                timeout=5, interval=0.05), "the key stayed with a dead runner")
            self.assertEqual(d(a, "IDEM", "ABORT", "job2", r1["token"])["result"], "stale")


if __name__ == "__main__":
    unittest.main()
