"""Reply parsing without a server: RESP3 maps (redis-py 5 with protocol=3) and RESP2
flat lists give the same typed results."""

import math
import unittest

import support  # noqa: F401 - puts the library on sys.path
from exactly import Outcome
from exactly import results as r


class ParseTest(unittest.TestCase):

    def test_resp2_and_resp3_give_the_same_result(self):
        flat = ["result", "ok", "balance", 9223372036854775807, "reserved", 0, "min", "-inf",
                "max", "+inf", "incoming", 0]
        as_map = dict(zip(flat[::2], flat[1::2]))
        for reply in (flat, as_map):
            b = r.balance_parser("k")(reply)
            self.assertEqual((b.result, b.balance, b.min, b.max),
                             (Outcome.OK, 9223372036854775807, -math.inf, math.inf))

    def test_nested_entries_as_maps_and_bytes(self):
        reply = {b"result": b"ok", b"entries": [
            {b"event": b"won", b"owner": b"a", b"at": 5, b"expires": -1, b"window": -1,
             b"note": b""}]}
        log = r.claimlog_parser(reply)
        self.assertEqual(log.entries[0].event, "won")
        self.assertIsNone(log.entries[0].expires)

    def test_group_element_fields(self):
        e = r.transfer_parser("t")(["result", "rolled_back", "id", "t"])
        self.assertEqual((e.result, e.id, e.amount, e.failed), (Outcome.ROLLED_BACK, "t", None, False))
        refused = r.claim_parser("k")(["result", "held", "key", "k", "owner", "b", "failed", 1])
        self.assertTrue(refused.failed)

    def test_bounds(self):
        self.assertEqual(r.format_bound(-math.inf), "-inf")
        self.assertEqual(r.format_bound(7), "7")
        self.assertEqual(r.parse_bound("-9223372036854775808"), -9223372036854775808)


if __name__ == "__main__":
    unittest.main()
