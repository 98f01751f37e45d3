"""Idempotency keys against the real server: one run per key, the reply stored.

- 50 connections sending `IDEM BEGIN ... WAIT` for one key at the same moment
  (one runs, 49 park and get its response) is scenarios.py's
  test_s3_fifty_concurrent_idem_begins_run_once, run over RESP and HTTP.
- A different fingerprint while the key runs answers `mismatch`.
- A runner whose lease ends loses the key: a retry runs with a fresh token, a
  parked waiter becomes the runner, and the old runner's END is `stale`.
See docs/commands.md (Idempotency keys).
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402 - found through the line above when run by path


d = harness.call_dict


class IdemTest(harness.ServerTestCase, unittest.TestCase):

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
