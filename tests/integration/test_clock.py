"""The clock going backwards across a restart (Debian's faketime, libfaketime).

A run under `faketime -f +1d` logs timestamps a day ahead; the next run on the
real clock is then a day behind the journal. Asserted:
  - batch timestamps never go backwards: a CLAIM's `since` after the restart
    is not earlier than the last one logged, and a `TRANSFER ... PER day` of the
    same id answers `again` in the same window, so it is never paid twice;
  - the server says so: at start on stderr, and in INFO server as
    clock_behind_ms (> 0 while behind, 0 when not);
  - behind by more than --max-clock-behind (default 60000 ms) it refuses to
    start (exit code 2, a message naming --max-clock-behind) unless started
    with --allow-clock-behind or a larger bound.
Negative controls: a run a day further ahead is in a new window and the same
transfer id is paid again there (so `again` can fail), and a run ahead of the
journal reports clock_behind_ms:0 and starts without flags.
"""

import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faults  # noqa: E402 - found through the line above when run by path
import harness  # noqa: E402

DAY_MS = 24 * 3600 * 1000


def faketime(offset):
    """A wrapper running the server with its wall clock moved by `offset` ("+1d", "-10m")."""
    return ["faketime", "-m", "-f", offset]


# Only the wall clock moves: timers and idle timeouts keep the real monotonic clock.
FAKETIME_ENV = {"FAKETIME_DONT_FAKE_MONOTONIC": "1"}


@unittest.skipIf(shutil.which("faketime") is None, "faketime not installed (Debian: faketime)")
class ClockTest(faults.FaultTestCase):

    def run_server(self, data_dir, offset=None, extra_args=None, port=None):
        wrapper = faketime(offset) if offset else None
        return self.server(data_dir, port=port, wrapper=wrapper, env=FAKETIME_ENV,
                           extra_args=extra_args).start()

    def transfer(self, c, tid="sub:alice"):
        return harness.call_dict(c, "TRANSFER", tid, "payer", "payee", "100", "PER", "day")

    def balance(self, c):
        return harness.call_dict(c, "BALANCE", "payee")["balance"]

    def test_per_day_transfer_is_not_paid_twice_when_the_clock_goes_back(self):
        data_dir = os.path.join(self.tmp, "data")
        s = self.run_server(data_dir, offset="+1d")
        with s.raw() as c:
            self.assertEqual(harness.call_dict(c, "ACCOUNT", "payer", "MIN", "-inf")["result"],
                             "created")
            self.assertEqual(harness.call_dict(c, "ACCOUNT", "payee")["result"], "created")
            paid = self.transfer(c)
            self.assertEqual(paid["result"], "ok")
            since_ahead = harness.call_dict(c, "CLAIM", "ahead", "me")["since"]
        self.assertEqual(s.stop(), 0)

        # The real clock: a day behind the journal.
        s = self.run_server(data_dir, extra_args=["--allow-clock-behind"], port=s.port)
        with s.raw() as c:
            again = self.transfer(c)
            self.assertEqual(again["result"], "again", "paid twice in one window: %s" % again)
            self.assertEqual(again["window"], paid["window"])
            self.assertEqual(self.balance(c), 100)
            since_behind = harness.call_dict(c, "CLAIM", "behind", "me")["since"]
            self.assertGreaterEqual(since_behind, since_ahead, "a batch timestamp went backwards")
        self.assertEqual(s.stop(), 0)

        # Control: two days ahead is the next window, where the same id pays again.
        s = self.run_server(data_dir, offset="+2d", port=s.port)
        with s.raw() as c:
            later = self.transfer(c)
            self.assertEqual(later["result"], "ok", later)
            self.assertEqual(later["window"], paid["window"] + DAY_MS)
            self.assertEqual(self.balance(c), 200)

    def test_clock_behind_is_reported_and_bounded(self):
        data_dir = os.path.join(self.tmp, "data")
        s = self.run_server(data_dir, offset="+10m")
        with s.raw() as c:
            self.assertEqual(harness.call_dict(c, "CLAIM", "k", "me")["result"], "won")
        self.assertEqual(harness.info_field(s, "clock_behind_ms"), 0)
        port = s.port
        self.assertEqual(s.stop(), 0)

        # Ten minutes behind, past the default bound of 60 s: refused.
        refused = self.server(data_dir, port=port, env=FAKETIME_ENV)
        with self.assertRaises(harness.ServerError) as raised:
            refused.start()
        self.assertEqual(refused.proc.returncode, 2)
        self.assertIn("--max-clock-behind", str(raised.exception))

        for args in (["--allow-clock-behind"], ["--max-clock-behind", "3600000"]):
            with self.subTest(args=args):
                s = self.run_server(data_dir, extra_args=args, port=port)
                behind = harness.info_field(s, "clock_behind_ms")
                self.assertGreater(behind, 8 * 60 * 1000, "INFO server: clock_behind_ms")
                self.assertLess(behind, 12 * 60 * 1000)
                this_start = s.log_text().rsplit("=== start", 1)[-1]
                self.assertIn("clock is", this_start)
                self.assertIn("behind", this_start)
                self.assertEqual(s.stop(), 0)

        # Control: a clock ahead of the journal is not behind and needs no flag.
        s = self.run_server(data_dir, offset="+20m", port=port)
        self.assertEqual(harness.info_field(s, "clock_behind_ms"), 0)
        self.assertEqual(s.stop(), 0)


if __name__ == "__main__":
    unittest.main()
