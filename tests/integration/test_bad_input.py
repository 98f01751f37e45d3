"""Bad input: thousands of malformed frames and invalid commands change nothing.

Well-formed but invalid commands (unknown names, wrong arity, overflowing or
non-positive amounts, over-long keys and owners, bad TTL/UNTIL/PER/AT/TZ/COUNT)
must each be answered with an error on a connection that stays usable.
Malformed RESP (garbage bytes, huge or negative declared lengths, wrong element
types) may be answered with an error or by closing the connection, as Redis
does, but must never be executed, crash or wedge the server. Afterwards the
balances and claims of a fixed set of keys and INFO's table counts are exactly
what they were before. EXACTLY_BAD_INPUT_SEED replays a run.
"""

import os
import random
import re
import select
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402 - found through the line above when run by path
from harness import RespError, as_dict

INT64_OVER = "9223372036854775808"
ACCOUNTS = ["fx:a", "fx:b", "fx:src", "fx:new", "fx:new2"]
CLAIMS = ["fx:k1", "fx:k2", "fx:new"]


def bad_amounts(rng):
    fixed = [INT64_OVER, "99999999999999999999", "0", "-1", "-9223372036854775808", "1.5",
             "abc", "", " 5", "5 ", "0x10", "1e3", "--1", "18446744073709551616"]
    rand = ["-%d" % rng.randint(1, 10**12), str(rng.randint(2**63, 2**70)),
            "".join(rng.choice("0123456789abc.-+ ") for _ in range(rng.randint(2, 8))) + "x"]
    return fixed + rand


def bad_bound(text):
    """True if `text` cannot be an account bound (bounds may be zero or negative)."""
    return re.fullmatch(r"-?\d+", text) is None or not -2**63 <= int(text) < 2**63


def invalid_commands(rng):
    """Commands that must each be refused with an error and change nothing."""
    cmds = []
    long_key = "k" * 513
    long_owner = "o" * 257
    long_note = "n" * 1025
    # Unknown commands and wrong arity.
    for _ in range(50):
        name = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(rng.randint(3, 12)))
        if name not in ("CLAIM", "ACCOUNT", "BALANCE", "COMMIT", "CANCEL", "HISTORY", "CLAIMOF",
                        "CLAIMLOG", "RESERVE", "TRANSFER", "UNCLAIM", "LIMIT", "LOCK", "IDEM"):
            cmds.append([name, "fx:k2", "x"])
    cmds += [["CLAIM"], ["CLAIM", "fx:new"], ["UNCLAIM"], ["UNCLAIM", "fx:k1"], ["CLAIMOF"],
             ["CLAIMOF", "fx:k1", "extra"], ["CLAIMLOG"], ["ACCOUNT"], ["BALANCE"],
             ["BALANCE", "fx:a", "extra"], ["HISTORY"], ["TRANSFER"], ["TRANSFER", "t"],
             ["TRANSFER", "t", "fx:src"], ["TRANSFER", "t", "fx:src", "fx:b"], ["RESERVE"],
             ["RESERVE", "r", "fx:src", "fx:b", "5"], ["COMMIT"], ["COMMIT", "a", "b"],
             ["CANCEL"], ["CANCEL", "a", "b"], ["SELECT"], ["SELECT", "abc"],
             ["SELECT", "-1"], ["SELECT", "1"], ["CLIENT"], ["CLIENT", "NOSUCHSUB"], ["EXEC"],
             ["HELLO", "abc"], ["HELLO", "4"]]
    # Amounts.
    for amount in bad_amounts(rng):
        cmds.append(["TRANSFER", "bad:%d" % len(cmds), "fx:src", "fx:b", amount])
        cmds.append(["RESERVE", "badr:%d" % len(cmds), "fx:src", "fx:b", amount, "TIMEOUT",
                     "1000"])
        if bad_bound(amount):
            cmds.append(["ACCOUNT", "fx:new2", "MIN", amount])
            cmds.append(["ACCOUNT", "fx:new2", "MAX", amount])
    # Lengths: keys 1..512 bytes, owners and ids 1..256, notes up to 1024.
    cmds += [["CLAIM", long_key, "o"], ["CLAIM", "fx:new", long_owner], ["CLAIM", "", "o"],
             ["CLAIM", "fx:new", ""], ["UNCLAIM", long_key, "o"], ["CLAIMOF", long_key],
             ["ACCOUNT", long_key], ["ACCOUNT", ""], ["BALANCE", long_key],
             ["TRANSFER", long_owner, "fx:src", "fx:b", "5"],
             ["TRANSFER", "", "fx:src", "fx:b", "5"],
             ["TRANSFER", "t:long", long_key, "fx:b", "5"],
             ["TRANSFER", "t:long2", "fx:src", long_key, "5"],
             ["CLAIM", "fx:new", "o", "NOTE", long_note],
             ["TRANSFER", "t:note", "fx:src", "fx:b", "5", "NOTE", long_note],
             ["CLAIM", "k" * rng.randint(514, 4096), "o"],
             ["CLAIM", "fx:new", "o" * rng.randint(258, 4096)]]
    # Time options.
    bad_ttls = ["-1", "abc", "", INT64_OVER, str(100 * 365 * 24 * 3600 * 1000 + 1), "1.5"]
    for ttl in bad_ttls:
        cmds.append(["CLAIM", "fx:new", "o", "TTL", ttl])
        cmds.append(["RESERVE", "rt:%d" % len(cmds), "fx:src", "fx:b", "5", "TIMEOUT", ttl])
    for until in ["-5", "abc", "253402300800000", INT64_OVER]:
        cmds.append(["CLAIM", "fx:new", "o", "UNTIL", until])
    per_bad = [["PER"], ["PER", "year"], ["PER", "days"], ["PER", ""], ["PER", "day", "AT"],
               ["PER", "day", "AT", "25:00"], ["PER", "day", "AT", "08:60"],
               ["PER", "day", "AT", "8"], ["PER", "day", "AT", "-1:00"],
               ["PER", "day", "AT", "ab:cd"], ["PER", "day", "TZ"],
               ["PER", "day", "TZ", "+14:01"], ["PER", "day", "TZ", "-15:00"],
               ["PER", "day", "TZ", "+8"], ["PER", "day", "TZ", "UTC"],
               ["PER", "day", "TZ", "+08:99"], ["TTL"], ["UNTIL"],
               ["TTL", "1000", "UNTIL", "4102444800000"], ["TTL", "1000", "PER", "day"],
               ["BOGUS"], ["NOTE"]]
    for opts in per_bad:
        cmds.append(["CLAIM", "fx:new", "o"] + opts)
        if opts[0] == "PER":
            cmds.append(["TRANSFER", "tp:%d" % len(cmds), "fx:src", "fx:b", "5"] + opts)
    cmds += [["TRANSFER", "t:x", "fx:src", "fx:b", "5", "BOGUS"],
             ["TRANSFER", "t:y", "fx:src", "fx:b", "5", "TTL", "1000"],
             ["ACCOUNT", "fx:new2", "MIN", "5", "MAX", "3"], ["ACCOUNT", "fx:new2", "MAX", "-inf"],
             ["ACCOUNT", "fx:new2", "MIN", "+inf"], ["ACCOUNT", "fx:new2", "BOGUS", "1"],
             ["ACCOUNT", "fx:new2", "MIN"], ["ACCOUNT", "fx:a", "MIN", "5"],
             ["ACCOUNT", "fx:src", "MIN", "0"]]
    for count in ["-1", "abc", "1001", INT64_OVER, ""]:
        cmds.append(["CLAIMLOG", "fx:k1", "COUNT", count])
        cmds.append(["HISTORY", "fx:a", "COUNT", count])
    # Random arity and argument mutations of otherwise plausible commands.
    for _ in range(300):
        base = rng.choice([["TRANSFER", "m:%d" % rng.randrange(10**6), "fx:src", "fx:b"],
                           ["CLAIM", "fx:new", "o", rng.choice(["TTL", "UNTIL", "PER"])],
                           ["ACCOUNT", "fx:new2", rng.choice(["MIN", "MAX"])]])
        base.append(rng.choice(bad_amounts(rng)))
        if base[0] == "ACCOUNT" and not bad_bound(base[-1]):
            continue
        if base[0] == "CLAIM" and base[3] == "UNTIL" and base[-1] == "0":
            continue  # a time in the past is a valid (already expired) claim
        if base[0] == "CLAIM" and base[3] == "PER":
            base[-1] = rng.choice(["yr", "", "0", "-day", "dayy"])
        cmds.append(base)
    return cmds


def protocol_frames(rng, count):
    """(frame, strict) pairs: strict frames must get an error or a close promptly.

    Replies to a frame must all be errors, except where strict is None.
    """
    fixed = [
        (b"*1000000000\r\n", False),
        (b"*1\r\n$9999999999\r\n", True),
        (b"*2\r\n$5\r\nCLAIM\r\n$99999999999999999999\r\n", True),
        (b"*-5\r\n", False),
        (b"*1\r\n$-3\r\n", True),
        (b"*abc\r\n", True),
        (b"*1\r\n$abc\r\n", True),
        (b"*2\r\n:1\r\n:2\r\n", True),
        (b"*1\r\n*1\r\n$4\r\nPING\r\n", True),
        (b"*2\r\n$5\r\nCLAIM\r\n$-1\r\n", True),
        (b"*3\r\n$5\r\nCLAIM\r\n+fx:new\r\n+o\r\n", True),
        (b"*1\r\n$4\r\nPINGXX\r\n", None),  # Redis answers PONG: either is fine
        (b"*3\r\n$5\r\nCLAIM\r\n$6\r\nfx:new\r\n$1\r\no", False),
        (b"*" + b"9" * 30 + b"\r\n", True),
        (b"$5\r\nhellx\r\n", False),
        (b"a" * 70000, False),
        (b"*1\r\n$" + b"1" * 25 + b"\r\n", True),
        (b"\x00\xff\xfe\r\n", False),
    ]
    frames = list(fixed)
    tokens = [b"*", b"$", b"-", b"+", b":", b"%", b"~", b"\r\n", b"\n", b"\r", b"0", b"1", b"3",
              b"-1", b"99999999999", b"CLAIMX", b"XFER", b"fx:new", b"\x00", b" ", b"\"",
              b"'"]
    while len(frames) < count:
        kind = rng.random()
        if kind < 0.4:
            frame = bytes(rng.randrange(256) for _ in range(rng.randint(1, 300)))
        elif kind < 0.8:
            frame = b"".join(rng.choice(tokens) for _ in range(rng.randint(1, 40)))
        else:
            # A well-formed frame with one byte replaced.
            # The name of an unknown command, so that no single change makes it valid.
            good = harness.encode("NOSUCHCM", "fx:new", "p:%d" % len(frames))
            cut = rng.randrange(1, len(good))
            frame = good[:cut] + bytes([rng.randrange(256)]) + good[cut + 1:]
        frames.append((frame, False))
    return frames


class BadInputTest(harness.ServerTestCase, unittest.TestCase):

    def setUp(self):
        super().setUp()
        with self.server.raw() as c:
            setup = [("ACCOUNT", "fx:src", "MIN", "-inf"), ("ACCOUNT", "fx:a", "MAX", "1000"),
                     ("ACCOUNT", "fx:b"), ("TRANSFER", "fx:fund", "fx:src", "fx:a", "100"),
                     ("CLAIM", "fx:k1", "o1")]
            for cmd in setup:
                reply = as_dict(c.call(*cmd))
                self.assertIn(reply["result"], ("created", "ok", "won"), cmd)

    def state(self):
        with self.server.raw() as c:
            balances = {k: as_dict(c.call("BALANCE", k)) for k in ACCOUNTS}
            claims = {k: as_dict(c.call("CLAIMOF", k)) for k in CLAIMS}
            info = c.call("INFO")
        self.assertIsInstance(info, str, info)
        _, fields = harness.parse_info(info)
        counts = {k: v for k, v in fields.items()
                  if re.search(r"claim|account|transfer|reserv|pending", k, re.I)
                  and re.fullmatch(r"-?\d+", v.strip())
                  and not re.search(r"command|calls|usec|bytes|conn|client", k, re.I)}
        # Nothing refused may reach the journal either.
        for k in ("applied_lsn", "durable_lsn", "journal_records"):
            if k in fields:
                counts[k] = fields[k]
        return balances, claims, counts

    def assert_serving(self):
        self.assertTrue(self.server.running(), "server died:\n" + self.server.log_tail())
        with self.server.raw(timeout=10) as c:
            self.assertEqual(c.call("PING"), "PONG")

    def test_bad_input_changes_nothing(self):
        seed = int(os.environ.get("EXACTLY_BAD_INPUT_SEED") or random.randrange(1 << 30))
        print("\n[test_bad_input] seed=%d" % seed, file=sys.stderr)
        rng = random.Random(seed)
        before = self.state()
        self.assertEqual(before[0]["fx:new"]["result"], "no_account")
        self.assertEqual(before[1]["fx:new"]["result"], "free")
        if not before[2]:
            print("[test_bad_input] INFO shows no claim/account counts", file=sys.stderr)

        cmds = invalid_commands(rng)
        not_errors = []
        with self.server.raw(timeout=30) as c:
            for start in range(0, len(cmds), 200):
                chunk = cmds[start:start + 200]
                c.send(b"".join(harness.encode(*cmd) for cmd in chunk) + harness.encode("PING"))
                for cmd in chunk:
                    reply = c.read_reply()
                    if not isinstance(reply, RespError):
                        not_errors.append((cmd, reply))
                self.assertEqual(c.read_reply(), "PONG")
        self.assertEqual([(short(cmd), reply) for cmd, reply in not_errors], [],
                         "invalid commands answered without an error (seed=%d)" % seed)
        self.assert_serving()

        frames = protocol_frames(rng, 2500)
        problems = []
        for start in range(0, len(frames), 250):
            problems += self.fire(frames[start:start + 250])
            self.assert_serving()
        self.assertEqual(problems, [], "malformed frames mishandled (seed=%d)" % seed)

        after = self.state()
        self.assertEqual(after[0], before[0], "balances changed")
        self.assertEqual(after[1], before[1], "claims changed")
        self.assertEqual(after[2], before[2], "INFO counts changed")
        rc, out = harness.check(self.data_dir)
        self.assertEqual(rc, 0, out)

    def fire(self, frames, window=1.0):
        """Sends each frame on its own connection and watches the answers together."""
        socks = []
        for frame, strict in frames:
            s = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
            try:
                s.sendall(frame)
            except OSError:
                pass  # the server closed while we were writing: a fine answer
            s.setblocking(False)
            socks.append([s, frame, strict, bytearray(), False])
        deadline = time.monotonic() + window
        open_socks = {id(e[0]): e for e in socks}
        while open_socks and time.monotonic() < deadline:
            ready, _, _ = select.select([e[0] for e in open_socks.values()], [], [],
                                        max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            for s in ready:
                e = open_socks[id(s)]
                try:
                    chunk = s.recv(1 << 16)
                except OSError:
                    chunk = b""
                if chunk:
                    e[3] += chunk
                else:
                    e[4] = True
                    del open_socks[id(s)]
        problems = []
        for s, frame, strict, data, closed in socks:
            s.close()
            replies = data.split(b"\r\n")
            # Plain connections speak RESP2, where every error is one `-` line.
            non_errors = [r for r in replies[:-1] if r and not r.startswith(b"-")]
            if non_errors and strict is not None:
                problems.append((frame[:60], "non-error reply", bytes(data[:120])))
            elif strict and not data and not closed:
                problems.append((frame[:60], "no error and no close within %.0fs" % window, b""))
        return problems


def short(cmd):
    return [a if len(a) <= 40 else a[:20] + "...(%d bytes)" % len(a) for a in cmd]


if __name__ == "__main__":
    unittest.main()
