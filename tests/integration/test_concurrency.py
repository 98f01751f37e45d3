"""Many connections at once: 1,000 connections claim 10 keys in one go; exactly one
of each claim wins, and every connection also gets its PING answered.

The SCENARIOS races (S1's sign-ins, S2's bindings, S4's transfers, S5's draws and
the others) are scenarios.py's, run over RESP by test_resp_scenarios.py and over
HTTP by test_http_scenarios.py.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402 - found through the line above when run by path
from harness import as_dict


class ConcurrencyTest(harness.ServerTestCase, unittest.TestCase):

    def setUp(self):
        super().setUp()
        self.c = self.server.raw()

    def tearDown(self):
        self.c.close()
        super().tearDown()

    def d(self, *args):
        return as_dict(self.c.call(*args))

    def test_thousand_connections_at_once(self):
        conns = [self.server.raw(timeout=60) for _ in range(1000)]
        try:
            for i, c in enumerate(conns):
                c.send(harness.encode("CLAIM", "many:%d" % (i % 10), "c%d" % i) +
                       harness.encode("PING"))
            winners = {}
            for i, c in enumerate(conns):
                d = as_dict(c.read_reply())
                self.assertEqual(c.read_reply(), "PONG")
                if d["result"] == "won":
                    self.assertNotIn(d["key"], winners)
                    winners[d["key"]] = d["owner"]
                else:
                    self.assertEqual(d["result"], "held")
            self.assertEqual(len(winners), 10)
        finally:
            for c in conns:
                c.close()
        for key, owner in winners.items():
            self.assertEqual(self.d("CLAIMOF", key)["owner"], owner)


if __name__ == "__main__":
    unittest.main()
