"""The synchronous client against the real server: every method, every outcome,
typed fields, int64 at its edge, the lock context manager and transactions."""

import math
import threading
import time
import unittest

import support
from exactly import (AccountResult, BalanceResult, ClaimResult, Exactly, ExactlyError,
                     LockBusy, LockLost, Outcome, TransferResult)
from exactly import commands

INT64_MAX = 9223372036854775807


class ClientCase(support.ServerCase):

    def setUp(self):
        super().setUp()
        self.ex = Exactly(self.url)

    def tearDown(self):
        self.ex.close()


class ClaimsTest(ClientCase):

    def test_claim_outcomes_and_fields(self):
        key = self.k("order")
        won = self.ex.claim(key, "w1", ttl_ms=60_000, note="first")
        self.assertIsInstance(won, ClaimResult)
        self.assertIs(won.result, Outcome.WON)
        self.assertTrue(won.ok)
        self.assertEqual((won.key, won.owner), (key, "w1"))
        self.assertIsInstance(won.since, int)
        self.assertEqual(won.expires - won.since, 60_000)
        self.assertIsNone(won.window)
        self.assertIs(self.ex.claim(key, "w1").result, Outcome.AGAIN)
        held = self.ex.claim(key, "w2")
        self.assertIs(held.result, Outcome.HELD)
        self.assertFalse(held.ok)
        self.assertEqual(held.owner, "w1")
        self.assertEqual(held.result, "held")  # the enum compares equal to the word

    def test_claim_without_expiry_and_persist(self):
        key = self.k("k")
        self.assertIsNone(self.ex.claim(key, "a").expires)
        key2 = self.k("k2")
        self.ex.claim(key2, "a", ttl_ms=60_000)
        persisted = self.ex.claim(key2, "a", persist=True)
        self.assertIs(persisted.result, Outcome.AGAIN)
        self.assertIsNone(self.ex.claimof(key2).expires)

    def test_claim_per_window_and_until(self):
        r = self.ex.claim(self.k("daily"), "cron", per="day", at="08:00", tz="+08:00")
        self.assertIs(r.result, Outcome.WON)
        self.assertIsInstance(r.window, int)
        self.assertLessEqual(r.window, r.since)
        self.assertGreater(r.expires, r.since)
        until = int(time.time() * 1000) + 3_600_000
        self.assertEqual(self.ex.claim(self.k("until"), "a", until_ms=until).expires, until)
        with self.assertRaises(ValueError):
            commands.claim("k", "o", at="08:00")

    def test_unclaim_claimof_claimlog(self):
        key = self.k("k")
        self.assertIs(self.ex.claimof(key).result, Outcome.FREE)
        self.assertIsNone(self.ex.claimof(key).owner)
        self.ex.claim(key, "a", note="hello")
        of = self.ex.claimof(key)
        self.assertEqual((of.result, of.owner), (Outcome.HELD, "a"))
        self.assertIs(self.ex.unclaim(key, "b").result, Outcome.NOT_HOLDER)
        released = self.ex.unclaim(key, "a")
        self.assertEqual((released.result, released.key), (Outcome.RELEASED, key))
        log = self.ex.claimlog(key, count=5)
        self.assertIs(log.result, Outcome.OK)
        self.assertEqual([e.event for e in log.entries], ["released", "won"])
        self.assertEqual(log.entries[1].owner, "a")
        self.assertEqual(log.entries[1].note, "hello")
        self.assertIsInstance(log.entries[0].at, int)

    def test_error_reply_raises(self):
        with self.assertRaises(ExactlyError) as caught:
            self.ex.claim("", "a")
        self.assertEqual(caught.exception.code, "ERR")
        self.assertIn("key must be", str(caught.exception))


class LedgerTest(ClientCase):

    def accounts(self):
        bank, a, capped = self.k("bank"), self.k("a"), self.k("capped")
        self.ex.account(bank, min=-math.inf)
        self.ex.account(a)
        self.ex.account(capped, max=10)
        return bank, a, capped

    def test_account_bounds_are_typed(self):
        bank = self.ex.account(self.k("bank"), min=-math.inf)
        self.assertIsInstance(bank, AccountResult)
        self.assertIs(bank.result, Outcome.CREATED)
        self.assertEqual(bank.min, -math.inf)
        self.assertIsInstance(bank.min, float)
        self.assertEqual(bank.max, math.inf)
        plain = self.ex.account(self.k("plain"))
        self.assertEqual((plain.min, plain.max), (0, math.inf))
        self.assertIsInstance(plain.min, int)
        capped = self.ex.account(self.k("capped"), min=-5, max=500)
        self.assertEqual((capped.min, capped.max), (-5, 500))
        self.assertIs(self.ex.account(self.k("capped"), min=-5, max=500).result, Outcome.AGAIN)
        with self.assertRaises(ExactlyError):
            self.ex.account(self.k("capped"), max=7)
        with self.assertRaises(ValueError):
            self.ex.account(self.k("x"), max=1.5)

    def test_transfer_outcomes(self):
        bank, a, capped = self.accounts()
        ok = self.ex.transfer(self.k("t1"), bank, a, 100, note="pay")
        self.assertIsInstance(ok, TransferResult)
        self.assertEqual((ok.result, ok.id, ok.amount), (Outcome.OK, self.k("t1"), 100))
        self.assertIsInstance(ok.timestamp, int)
        self.assertIs(self.ex.transfer(self.k("t1"), bank, a, 100).result, Outcome.AGAIN)
        self.assertIs(self.ex.transfer(self.k("t1"), bank, a, 99).result, Outcome.ID_CONFLICT)
        self.assertIs(self.ex.transfer(self.k("t2"), a, bank, 101).result, Outcome.INSUFFICIENT)
        self.assertIs(self.ex.transfer(self.k("t3"), bank, capped, 11).result, Outcome.OVER_MAX)
        self.assertIs(self.ex.transfer(self.k("t4"), bank, self.k("none"), 1).result,
                      Outcome.NO_ACCOUNT)
        daily = self.ex.transfer(self.k("t5"), bank, a, 1, per="day", at="08:00", tz="+08:00")
        self.assertIs(daily.result, Outcome.OK)
        self.assertIsInstance(daily.window, int)

    def test_reserve_commit_cancel(self):
        bank, a, _ = self.accounts()
        held = self.ex.reserve(self.k("r1"), bank, a, 7, timeout_ms=60_000)
        self.assertIs(held.result, Outcome.PENDING)
        self.assertEqual(held.expires - held.timestamp, 60_000)
        self.assertIs(self.ex.reserve(self.k("r1"), bank, a, 7, timeout_ms=60_000).result,
                      Outcome.AGAIN)
        self.assertEqual(self.ex.balance(a).incoming, 7)
        self.assertIs(self.ex.commit(self.k("r1")).result, Outcome.COMMITTED)
        self.assertIs(self.ex.commit(self.k("r1")).result, Outcome.AGAIN)
        self.assertEqual(self.ex.balance(a).balance, 7)
        self.ex.reserve(self.k("r2"), bank, a, 3, timeout_ms=60_000)
        self.assertIs(self.ex.cancel(self.k("r2")).result, Outcome.CANCELLED)
        self.assertIs(self.ex.cancel(self.k("r2")).result, Outcome.AGAIN)
        self.assertIs(self.ex.commit(self.k("never")).result, Outcome.NO_TRANSFER)
        self.assertIs(self.ex.cancel(self.k("never")).result, Outcome.NO_TRANSFER)
        self.ex.reserve(self.k("r3"), bank, a, 3, timeout_ms=1)
        time.sleep(0.05)
        self.assertIs(self.ex.commit(self.k("r3")).result, Outcome.TIMED_OUT)

    def test_balance_and_history(self):
        bank, a, _ = self.accounts()
        self.ex.transfer(self.k("t1"), bank, a, 40, note="in")
        self.ex.reserve(self.k("r1"), a, bank, 15, timeout_ms=60_000)
        bal = self.ex.balance(a)
        self.assertIsInstance(bal, BalanceResult)
        self.assertEqual((bal.result, bal.balance, bal.reserved, bal.min, bal.max),
                         (Outcome.OK, 40, 15, 0, math.inf))
        self.assertIs(self.ex.balance(self.k("none")).result, Outcome.NO_ACCOUNT)
        hist = self.ex.history(a, count=10)
        self.assertIs(hist.result, Outcome.OK)
        self.assertEqual([m.kind for m in hist.entries], ["reserve", "transfer"])
        self.assertEqual((hist.entries[1].id, hist.entries[1].amount, hist.entries[1].balance,
                          hist.entries[1].note), (self.k("t1"), 40, 40, "in"))
        self.assertIs(self.ex.history(self.k("none")).result, Outcome.NO_ACCOUNT)

    def test_int64_max_round_trip(self):
        bank, big = self.k("bank"), self.k("big")
        self.ex.account(bank, min=-math.inf)
        self.ex.account(big, max=math.inf)
        r = self.ex.transfer(self.k("max"), bank, big, INT64_MAX)
        self.assertEqual((r.result, r.amount), (Outcome.OK, INT64_MAX))
        self.assertEqual(self.ex.balance(big).balance, INT64_MAX)
        self.assertEqual(self.ex.balance(bank).balance, -INT64_MAX)
        self.assertIs(self.ex.transfer(self.k("one-more"), bank, big, 1).result,
                      Outcome.OVER_MAX)
        edge = self.ex.account(self.k("edge"), min=-INT64_MAX - 1, max=INT64_MAX)
        self.assertEqual((edge.min, edge.max), (-INT64_MAX - 1, INT64_MAX))


class LocksTest(ClientCase):

    def test_lock_commands(self):
        name = self.k("l")
        got = self.ex.acquire(name, "a", lease_ms=60_000)
        self.assertIs(got.result, Outcome.ACQUIRED)
        self.assertIsInstance(got.token, int)
        self.assertEqual(got.depth, 1)
        again = self.ex.acquire(name, "a", lease_ms=60_000)
        self.assertEqual((again.result, again.token, again.depth),
                         (Outcome.REENTERED, got.token, 2))
        busy = self.ex.acquire(name, "b", lease_ms=60_000)
        self.assertEqual((busy.result, busy.token, busy.holder), (Outcome.BUSY, None, "a"))
        self.assertIs(self.ex.renew(name, got.token, lease_ms=30_000).result, Outcome.RENEWED)
        self.assertIs(self.ex.renew(name, got.token + 999, lease_ms=30_000).result,
                      Outcome.STALE)
        self.assertIs(self.ex.fence(name, got.token).result, Outcome.VALID)
        one = self.ex.unlock(name, got.token)
        self.assertEqual((one.result, one.depth), (Outcome.RELEASED, 1))
        self.assertEqual(self.ex.unlock(name, got.token).depth, 0)
        self.assertIs(self.ex.unlock(name, got.token).result, Outcome.STALE)
        self.assertIs(self.ex.fence(name, got.token).result, Outcome.STALE)
        # Tokens strictly increase per name.
        self.assertGreater(self.ex.acquire(name, "b", lease_ms=1000).token, got.token)

    def test_request_id_makes_a_resend_harmless(self):
        name = self.k("l")
        first = self.ex.acquire(name, "a", lease_ms=60_000, request_id="req-1")
        resend = self.ex.acquire(name, "a", lease_ms=60_000, request_id="req-1")
        self.assertEqual(resend, first)  # the first reply again: no re-entry
        self.assertEqual(self.ex.unlock(name, first.token).depth, 0)

    def test_wait_parks_until_unlocked(self):
        name = self.k("l")
        held = self.ex.acquire(name, "a", lease_ms=60_000)
        threading.Timer(0.3, lambda: self.ex.unlock(name, held.token)).start()
        t0 = time.monotonic()
        got = self.ex.acquire(name, "b", lease_ms=60_000, wait_ms=10_000)
        self.assertIs(got.result, Outcome.ACQUIRED)
        self.assertGreater(time.monotonic() - t0, 0.2)

    def test_lock_context_manager(self):
        name = self.k("l")
        sent = []
        real = self.ex._submit

        def spy(command):
            sent.append(command.args)
            return real(command)

        self.ex._submit = spy
        with self.ex.lock(name, lease_ms=60_000) as held:
            token = held.token
            self.assertIsInstance(token, int)
            self.assertTrue(held.valid())
            self.assertTrue(held.renew())
            with self.ex.lock(name, lease_ms=60_000) as inner:  # same thread: re-entry
                self.assertEqual(inner.token, held.token)
                self.assertEqual(inner.result.result, Outcome.REENTERED)
            self.assertTrue(held.valid())
            other = Exactly(self.url)
            with self.assertRaises(LockBusy) as caught:
                with other.lock(name, lease_ms=1000, owner="someone-else"):
                    pass
            other.close()
            self.assertEqual(caught.exception.result.holder, held.owner)
        self.assertIsNone(held.token)
        self.assertIs(self.ex.fence(name, token).result, Outcome.STALE)
        locks = [a for a in sent if a[0] == "LOCK"]
        self.assertEqual(len(locks), 2)
        for args in locks:
            self.assertIn("ID", args)
        self.assertNotEqual(locks[0][locks[0].index("ID") + 1], locks[1][locks[1].index("ID") + 1])

    def test_lock_released_when_the_block_raises(self):
        name = self.k("l")
        with self.assertRaises(RuntimeError):
            with self.ex.lock(name, lease_ms=60_000) as held:
                token = held.token
                raise RuntimeError("boom")
        self.assertIs(self.ex.fence(name, token).result, Outcome.STALE)
        self.assertIs(self.ex.acquire(name, "next", lease_ms=1000).result, Outcome.ACQUIRED)

    def test_lost_lease_is_reported(self):
        name = self.k("l")
        with self.assertRaises(LockLost):
            with self.ex.lock(name, lease_ms=50):
                time.sleep(0.15)
        # ... but never instead of the block's own exception.
        with self.assertRaises(KeyError):
            with self.ex.lock(name, lease_ms=50):
                time.sleep(0.15)
                raise KeyError("mine")

    def test_iflock_guards_a_command(self):
        bank, a = self.k("bank"), self.k("a")
        self.ex.account(bank, min=-math.inf)
        self.ex.account(a)
        with self.ex.lock(self.k("l"), lease_ms=60_000) as held:
            ok = self.ex.transfer(self.k("t1"), bank, a, 5, iflock=held)
            self.assertIs(ok.result, Outcome.OK)
            token = held.token
        stale = self.ex.transfer(self.k("t2"), bank, a, 5, iflock=(self.k("l"), token))
        self.assertEqual((stale.result, stale.id, stale.amount), (Outcome.STALE, self.k("t2"), None))
        self.assertIs(self.ex.claim(self.k("c"), "x", iflock=(self.k("l"), token)).result,
                      Outcome.STALE)


class IdemTest(ClientCase):

    def test_idem_outcomes(self):
        key = self.k("pay")
        run = self.ex.idem_begin(key, fingerprint="f1", lease_ms=10_000)
        self.assertIs(run.result, Outcome.RUN)
        self.assertIsInstance(run.token, int)
        self.assertGreater(run.token, 0)
        running = self.ex.idem_begin(key, fingerprint="f1")
        self.assertEqual((running.result, running.token), (Outcome.RUNNING, 0))
        self.assertIs(self.ex.idem_begin(key, fingerprint="f2").result, Outcome.MISMATCH)
        self.assertIs(self.ex.idem_end(key, run.token + 1, "x").result, Outcome.STALE)
        done = self.ex.idem_end(key, run.token, '{"status":"paid"}')
        self.assertEqual((done.result, done.response), (Outcome.DONE, '{"status":"paid"}'))
        later = self.ex.idem_begin(key, fingerprint="f1")
        self.assertEqual((later.result, later.response), (Outcome.DONE, '{"status":"paid"}'))

    def test_idem_abort_and_wait(self):
        key = self.k("job")
        run = self.ex.idem_begin(key)
        self.assertIs(self.ex.idem_abort(key, run.token + 1).result, Outcome.STALE)
        self.assertIs(self.ex.idem_abort(key, run.token).result, Outcome.RELEASED)
        second = self.ex.idem_begin(key)
        self.assertIs(second.result, Outcome.RUN)
        threading.Timer(0.2, lambda: self.ex.idem_end(key, second.token, "r")).start()
        waited = self.ex.idem_begin(key, wait_ms=10_000)
        self.assertEqual((waited.result, waited.response), (Outcome.DONE, "r"))


class LimitTest(ClientCase):

    def test_rate_and_window(self):
        key = self.k("rate")
        first = self.ex.limit(key, rate=2, per_ms=60_000)
        self.assertTrue(first.allowed)
        self.assertEqual((first.remaining, first.retry_after_ms), (1, 0))
        self.ex.limit(key, rate=2, per_ms=60_000)
        limited = self.ex.limit(key, rate=2, per_ms=60_000)
        self.assertIs(limited.result, Outcome.LIMITED)
        self.assertGreater(limited.retry_after_ms, 0)
        win = self.k("win")
        self.assertEqual(self.ex.limit(win, window=3, per_ms=60_000, cost=3).remaining, 0)
        over = self.ex.limit(win, window=3, per_ms=60_000)
        self.assertFalse(over.allowed)
        self.assertLessEqual(over.reset_ms, 60_000)
        with self.assertRaises(ValueError):
            self.ex.limit(win, per_ms=1)
        with self.assertRaises(ExactlyError):
            self.ex.limit(win, rate=1, per_ms=1000, cost=5)


class TransactionTest(ClientCase):

    def test_executed_group(self):
        bank, a = self.k("bank"), self.k("a")
        with self.ex.transaction() as tx:
            tx.account(bank, min=-math.inf)
            tx.account(a)
            tx.transfer(self.k("t1"), bank, a, 100)
            tx.claim(self.k("c"), "alice")
        g = tx.result
        self.assertTrue(g.executed)
        self.assertIsNone(g.failed)
        self.assertEqual([r.result for r in g.results],
                         [Outcome.CREATED, Outcome.CREATED, Outcome.OK, Outcome.WON])
        self.assertEqual(g.results[2].amount, 100)
        self.assertEqual(g.results[0].min, -math.inf)

    def test_rolled_back_group(self):
        bank, a = self.k("bank"), self.k("a")
        self.ex.account(bank, min=-math.inf)
        self.ex.account(a)
        self.ex.claim(self.k("held"), "bob")
        tx = self.ex.transaction()
        tx.transfer(self.k("t1"), bank, a, 5)
        tx.claim(self.k("held"), "alice")
        tx.acquire(self.k("l"), "alice", lease_ms=1000)
        g = tx.execute()
        self.assertFalse(g.executed)
        first, refused, after = g.results
        self.assertEqual((first.result, first.id), (Outcome.ROLLED_BACK, self.k("t1")))
        self.assertEqual((refused.result, refused.failed, refused.owner),
                         (Outcome.HELD, True, "bob"))
        self.assertIs(g.failed, refused)
        self.assertEqual((after.result, after.name), (Outcome.SKIPPED, self.k("l")))
        self.assertEqual(self.ex.balance(a).balance, 0)

    def test_empty_group(self):
        self.assertTrue(self.ex.transaction().execute().executed)


if __name__ == "__main__":
    unittest.main()
