"""The asyncio twin against the real server: the same methods and results."""

import asyncio
import math
import unittest

import support
from exactly import LockBusy, Outcome
from exactly.aio import AsyncExactly

INT64_MAX = 9223372036854775807


class AsyncTest(support.ServerCase):

    def run_async(self, coro):
        return asyncio.run(coro)

    def test_commands(self):
        async def body():
            async with AsyncExactly(self.url) as ex:
                self.assertTrue(await ex.ping())
                won = await ex.claim(self.k("c"), "a", ttl_ms=60_000)
                self.assertEqual((won.result, won.owner), (Outcome.WON, "a"))
                self.assertIs((await ex.claim(self.k("c"), "b")).result, Outcome.HELD)
                self.assertIs((await ex.unclaim(self.k("c"), "a")).result, Outcome.RELEASED)
                bank, big = self.k("bank"), self.k("big")
                self.assertEqual((await ex.account(bank, min=-math.inf)).min, -math.inf)
                await ex.account(big)
                t = await ex.transfer(self.k("t"), bank, big, INT64_MAX)
                self.assertEqual((t.result, t.amount), (Outcome.OK, INT64_MAX))
                self.assertEqual((await ex.balance(big)).balance, INT64_MAX)
                self.assertIs((await ex.transfer(self.k("t"), bank, big, INT64_MAX)).result,
                              Outcome.AGAIN)
                run = await ex.idem_begin(self.k("i"))
                self.assertIs(run.result, Outcome.RUN)
                self.assertIs((await ex.idem_end(self.k("i"), run.token, "r")).result,
                              Outcome.DONE)
                self.assertTrue((await ex.limit(self.k("l"), window=1, per_ms=1000)).allowed)
                self.assertFalse((await ex.limit(self.k("l"), window=1, per_ms=1000)).allowed)
        self.run_async(body())

    def test_lock_and_waiters(self):
        async def body():
            async with AsyncExactly(self.url) as ex:
                name = self.k("l")
                order = []

                async def worker(i):
                    async with ex.lock(name, lease_ms=10_000, wait_ms=10_000) as held:
                        order.append(held.token)
                        await asyncio.sleep(0.02)

                await asyncio.gather(*(worker(i) for i in range(5)))
                self.assertEqual(len(order), 5)
                self.assertEqual(order, sorted(order))
                self.assertEqual(len(set(order)), 5)
                with self.assertRaises(ZeroDivisionError):
                    async with ex.lock(name, lease_ms=10_000) as held:
                        token = held.token
                        1 / 0
                self.assertIs((await ex.fence(name, token)).result, Outcome.STALE)
                async with ex.lock(name, lease_ms=10_000, owner="x"):
                    with self.assertRaises(LockBusy):
                        async with ex.lock(name, lease_ms=10_000, owner="y"):
                            pass
        self.run_async(body())

    def test_transaction(self):
        async def body():
            async with AsyncExactly(self.url) as ex:
                async with ex.transaction() as tx:
                    tx.claim(self.k("a"), "x")
                    tx.claim(self.k("b"), "x")
                self.assertTrue(tx.result.executed)
                self.assertEqual([r.result for r in tx.result.results],
                                 [Outcome.WON, Outcome.WON])
                await ex.claim(self.k("held"), "bob")
                tx = ex.transaction()
                tx.claim(self.k("c"), "x")
                tx.claim(self.k("held"), "x")
                g = await tx.execute()
                self.assertFalse(g.executed)
                self.assertEqual([r.result for r in g.results],
                                 [Outcome.ROLLED_BACK, Outcome.HELD])
        self.run_async(body())


if __name__ == "__main__":
    unittest.main()
