"""Rate limits against the real server: a fixed window under a burst, GCRA against a model.

- WINDOW under a burst (100 connections at the same moment, exactly 5 allowed)
  is scenarios.py's test_s3_limiter_hundred_concurrent_requests_five_allowed,
  run over RESP and HTTP.
- RATE (GCRA): a back-to-back burst from a full bucket allows exactly BURST; a
  seeded sequence of random arrival times is checked against a small
  reference model. The model takes the bucket's state from the server's own
  previous reply (`reset_ms` is the time until the bucket is full) and only the
  elapsed time from the client's clock, so only decisions too close to the
  boundary to call (within the clock jitter) are left unchecked.
See docs/commands.md (Rate limits).
"""

import math
import os
import random
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402 - found through the line above when run by path
from harness import as_dict


def d(conn, *args):
    r = harness.call_dict(conn, *args)
    for f in ("remaining", "retry_after_ms", "reset_ms"):
        r[f] = int(r[f])
    return r


RATE, PER, BURST = 10, 1000, 5
T = PER // RATE  # ms per token


class GcraTest(harness.ServerTestCase, unittest.TestCase):

    def limit(self, c, key, cost=1):
        return d(c, "LIMIT", key, "RATE", str(RATE), "PER", str(PER), "BURST", str(BURST),
                 "COST", str(cost))

    def check_fields(self, r, cost=1):
        """Relations that hold within one reply (reset_ms and retry_after_ms round up)."""
        self.assertTrue(0 <= r["reset_ms"] <= BURST * T, r)
        if r["result"] == "allowed":
            self.assertEqual(r["retry_after_ms"], 0, r)
            tokens = (BURST * T - r["reset_ms"]) / T
            self.assertIn(r["remaining"], (math.floor(tokens), math.floor(tokens + 0.01)), r)
        else:
            self.assertEqual(r["result"], "limited", r)
            self.assertGreater(r["retry_after_ms"], 0, r)
            self.assertLess(r["remaining"], cost, r)
            self.assertLessEqual(abs(r["retry_after_ms"] - (r["reset_ms"] - (BURST - cost) * T)),
                                 1, r)

    def test_burst_from_full_bucket(self):
        with self.server.raw() as c:
            n = 12
            c.send(b"".join(harness.encode("LIMIT", "b", "RATE", str(RATE), "PER", str(PER),
                                           "BURST", str(BURST)) for _ in range(n)))
            t0 = time.monotonic()
            replies = []
            for _ in range(n):
                r = as_dict(c.read_reply())
                replies.append({k: (v if k == "result" else int(v)) for k, v in r.items()})
            took_ms = (time.monotonic() - t0) * 1000
            allowed = [r for r in replies if r["result"] == "allowed"]
            # A pipeline is answered within a few ms; a refill (one per T ms) is the only slack.
            self.assertGreaterEqual(len(allowed), BURST, replies)
            self.assertLessEqual(len(allowed), BURST + int(took_ms // T) + 1, replies)
            self.assertEqual([r["remaining"] for r in replies[:BURST]], [4, 3, 2, 1, 0])
            for r in replies:
                self.check_fields(r)
            self.assertIsInstance(c.call("LIMIT", "b", "RATE", "10", "PER", "1000", "BURST", "5",
                                         "COST", "6"), harness.RespError)

    def test_random_arrivals_match_reference_model(self):
        seed = int(os.environ.get("EXACTLY_GCRA_SEED") or random.randrange(1 << 30))
        rng = random.Random(seed)
        where = "EXACTLY_GCRA_SEED=%d" % seed
        margin = 30  # ms of clock jitter between the client's and the server's view
        checked = agreed = 0
        model_tat = None  # the model's theoretical arrival time, on the client clock
        model_allowed = server_allowed = 0
        with self.server.raw() as c:
            prev, prev_at = None, None
            for i in range(40):
                cost = 2 if rng.random() < 0.2 else 1
                time.sleep(rng.choice((0.0, 0.0, rng.uniform(0, 0.25))))
                at = time.monotonic() * 1000
                r = self.limit(c, "g", cost)
                self.check_fields(r, cost)
                server_allowed += r["result"] == "allowed"
                # Whole-run model on the client clock (compared by counts below).
                tat = max(model_tat if model_tat is not None else at, at)
                if tat - at <= (BURST - cost) * T:
                    model_allowed += 1
                    model_tat = tat + cost * T
                else:
                    model_tat = tat
                # Step model from the server's previous reply: full bucket at start.
                slack = 0.0 if prev is None else max(0.0, prev["reset_ms"] - (at - prev_at))
                if abs(slack - (BURST - cost) * T) > margin:
                    checked += 1
                    want = "allowed" if slack <= (BURST - cost) * T else "limited"
                    self.assertEqual(r["result"], want, "%s step %d: slack %.1f ms, cost %d, "
                                     "reply %s, previous %s" % (where, i, slack, cost, r, prev))
                    agreed += 1
                    if want == "allowed" and prev is not None:
                        self.assertLessEqual(abs(r["reset_ms"] - (slack + cost * T)), margin,
                                             "%s step %d: %s" % (where, i, r))
                prev, prev_at = r, at
        self.assertGreater(checked, 20, "%s: too few decisions clear of the boundary" % where)
        self.assertLessEqual(abs(model_allowed - server_allowed), 3,
                             "%s: model allowed %d, server %d" % (where, model_allowed,
                                                                  server_allowed))


if __name__ == "__main__":
    unittest.main()
