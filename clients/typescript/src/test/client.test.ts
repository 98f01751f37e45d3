// The client against the real server: every method, every outcome, typed fields,
// int64 at its edge, withLock and transactions.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { Exactly, ExactlyError, LockBusy, LockLost, Outcome, commands } from '../index';
import { startServer, TestServer } from './server';

const INT64_MAX = 9223372036854775807n;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let server: TestServer;
let ex: Exactly;
const k = (name: string) => `${name}:${randomUUID().slice(0, 8)}`;

before(async () => {
  server = await startServer();
  ex = new Exactly(server.url);
});
after(async () => {
  await ex.close();
  await server.stop();
});

async function accounts() {
  const bank = k('bank'); const a = k('a'); const capped = k('capped');
  await ex.account(bank, { min: -Infinity });
  await ex.account(a);
  await ex.account(capped, { max: 10n });
  return { bank, a, capped };
}

describe('claims', () => {
  it('claim outcomes and typed fields', async () => {
    const key = k('order');
    const won = await ex.claim(key, 'w1', { ttlMs: 60_000, note: 'first' });
    assert.equal(won.result, Outcome.WON);
    assert.equal(won.key, key);
    assert.equal(won.owner, 'w1');
    assert.equal(typeof won.since, 'number');
    assert.equal(won.expires! - won.since!, 60_000);
    assert.equal(won.window, null);
    assert.ok(Object.isFrozen(won));
    assert.equal((await ex.claim(key, 'w1')).result, Outcome.AGAIN);
    const held = await ex.claim(key, 'w2');
    assert.equal(held.result, Outcome.HELD);
    assert.equal(held.owner, 'w1');
  });

  it('windows, persist, unclaim, claimOf, claimLog', async () => {
    const daily = await ex.claim(k('daily'), 'cron', { per: 'day', at: '08:00', tz: '+08:00' });
    assert.equal(daily.result, Outcome.WON);
    assert.equal(typeof daily.window, 'number');
    const key = k('k');
    assert.equal((await ex.claimOf(key)).result, Outcome.FREE);
    await ex.claim(key, 'a', { ttlMs: 60_000, note: 'hello' });
    assert.equal((await ex.claim(key, 'a', { persist: true })).result, Outcome.AGAIN);
    const of = await ex.claimOf(key);
    assert.deepEqual([of.result, of.owner, of.expires], [Outcome.HELD, 'a', null]);
    assert.equal((await ex.unclaim(key, 'b')).result, Outcome.NOT_HOLDER);
    assert.equal((await ex.unclaim(key, 'a')).result, Outcome.RELEASED);
    const log = await ex.claimLog(key, { count: 5 });
    assert.deepEqual(log.entries.map((e) => e.event), ['released', 'persisted', 'won']);
    assert.equal(log.entries[2].note, 'hello');
    assert.throws(() => commands.claim('k', 'o', { at: '08:00' }), TypeError);
  });

  it('error replies reject with ExactlyError', async () => {
    await assert.rejects(ex.claim('', 'a'), (e: unknown) =>
      e instanceof ExactlyError && e.code === 'ERR' && /key must be/.test(e.message));
  });
});

describe('ledger', () => {
  it('account bounds are bigint or Infinity', async () => {
    const bank = await ex.account(k('bank'), { min: -Infinity });
    assert.equal(bank.result, Outcome.CREATED);
    assert.equal(bank.min, -Infinity);
    assert.equal(bank.max, Infinity);
    const plain = await ex.account(k('plain'));
    assert.equal(plain.min, 0n);
    const key = k('capped');
    const capped = await ex.account(key, { min: -5n, max: 500 });
    assert.deepEqual([capped.min, capped.max], [-5n, 500n]);
    assert.equal((await ex.account(key, { min: -5n, max: 500n })).result, Outcome.AGAIN);
    await assert.rejects(ex.account(key, { max: 7n }), ExactlyError);
    assert.throws(() => commands.account('x', { max: 1.5 }), RangeError);
  });

  it('transfer outcomes', async () => {
    const { bank, a, capped } = await accounts();
    const t1 = k('t1');
    const ok = await ex.transfer(t1, bank, a, 100, { note: 'pay' });
    assert.deepEqual([ok.result, ok.id, ok.amount], [Outcome.OK, t1, 100n]);
    assert.equal(typeof ok.timestamp, 'number');
    assert.equal((await ex.transfer(t1, bank, a, 100n)).result, Outcome.AGAIN);
    assert.equal((await ex.transfer(t1, bank, a, 99n)).result, Outcome.ID_CONFLICT);
    assert.equal((await ex.transfer(k('t2'), a, bank, 101n)).result, Outcome.INSUFFICIENT);
    assert.equal((await ex.transfer(k('t3'), bank, capped, 11n)).result, Outcome.OVER_MAX);
    assert.equal((await ex.transfer(k('t4'), bank, k('none'), 1n)).result, Outcome.NO_ACCOUNT);
    assert.throws(() => commands.transfer('t', 'a', 'b', 2 ** 60), RangeError);
  });

  it('reserve, commit, cancel, timeout', async () => {
    const { bank, a } = await accounts();
    const r1 = k('r1');
    const held = await ex.reserve(r1, bank, a, 7n, { timeoutMs: 60_000 });
    assert.equal(held.result, Outcome.PENDING);
    assert.equal(held.expires! - held.timestamp!, 60_000);
    assert.equal((await ex.reserve(r1, bank, a, 7n, { timeoutMs: 60_000 })).result, Outcome.AGAIN);
    assert.equal((await ex.balance(a)).incoming, 7n);
    assert.equal((await ex.commit(r1)).result, Outcome.COMMITTED);
    assert.equal((await ex.commit(r1)).result, Outcome.AGAIN);
    const r2 = k('r2');
    await ex.reserve(r2, bank, a, 3n, { timeoutMs: 60_000 });
    assert.equal((await ex.cancel(r2)).result, Outcome.CANCELLED);
    assert.equal((await ex.cancel(r2)).result, Outcome.AGAIN);
    assert.equal((await ex.commit(k('never'))).result, Outcome.NO_TRANSFER);
    assert.equal((await ex.cancel(k('never'))).result, Outcome.NO_TRANSFER);
    const r3 = k('r3');
    await ex.reserve(r3, bank, a, 3n, { timeoutMs: 1 });
    await sleep(50);
    assert.equal((await ex.commit(r3)).result, Outcome.TIMED_OUT);
  });

  it('balance and history', async () => {
    const { bank, a } = await accounts();
    const t1 = k('t1');
    await ex.transfer(t1, bank, a, 40n, { note: 'in' });
    await ex.reserve(k('r'), a, bank, 15n, { timeoutMs: 60_000 });
    const bal = await ex.balance(a);
    assert.deepEqual([bal.result, bal.balance, bal.reserved, bal.min, bal.max],
                     [Outcome.OK, 40n, 15n, 0n, Infinity]);
    assert.equal((await ex.balance(k('none'))).result, Outcome.NO_ACCOUNT);
    const hist = await ex.history(a, { count: 10 });
    assert.deepEqual(hist.entries.map((m) => m.kind), ['reserve', 'transfer']);
    assert.deepEqual([hist.entries[1].id, hist.entries[1].amount, hist.entries[1].note], [t1, 40n, 'in']);
    assert.equal((await ex.history(k('none'))).result, Outcome.NO_ACCOUNT);
  });

  it('int64 max round trip, exactly', async () => {
    const bank = k('bank'); const big = k('big');
    await ex.account(bank, { min: -Infinity });
    await ex.account(big, { max: Infinity });
    const t = await ex.transfer(k('max'), bank, big, INT64_MAX);
    assert.deepEqual([t.result, t.amount], [Outcome.OK, INT64_MAX]);
    assert.equal((await ex.balance(big)).balance, INT64_MAX);
    assert.equal((await ex.balance(bank)).balance, -INT64_MAX);
    assert.equal((await ex.transfer(k('more'), bank, big, 1n)).result, Outcome.OVER_MAX);
    // A value past 2^53 that a JavaScript number would round.
    const bank2 = k('bank2'); const odd = k('odd');
    await ex.account(bank2, { min: -Infinity });
    await ex.account(odd);
    await ex.transfer(k('odd-t'), bank2, odd, 9007199254740993n);
    assert.equal((await ex.balance(odd)).balance, 9007199254740993n);
    const edge = await ex.account(k('edge'), { min: -INT64_MAX - 1n, max: INT64_MAX });
    assert.deepEqual([edge.min, edge.max], [-INT64_MAX - 1n, INT64_MAX]);
  });
});

describe('locks', () => {
  it('lock commands', async () => {
    const name = k('l');
    const got = await ex.acquire(name, 'a', { leaseMs: 60_000 });
    assert.equal(got.result, Outcome.ACQUIRED);
    assert.equal(typeof got.token, 'bigint');
    assert.equal(got.depth, 1);
    const again = await ex.acquire(name, 'a', { leaseMs: 60_000 });
    assert.deepEqual([again.result, again.token, again.depth], [Outcome.REENTERED, got.token, 2]);
    const busy = await ex.acquire(name, 'b', { leaseMs: 60_000 });
    assert.deepEqual([busy.result, busy.token, busy.holder], [Outcome.BUSY, null, 'a']);
    assert.equal((await ex.renew(name, got.token!, { leaseMs: 30_000 })).result, Outcome.RENEWED);
    assert.equal((await ex.renew(name, got.token! + 999n, { leaseMs: 1 })).result, Outcome.STALE);
    assert.equal((await ex.fence(name, got.token!)).result, Outcome.VALID);
    assert.equal((await ex.unlock(name, got.token!)).depth, 1);
    assert.equal((await ex.unlock(name, got.token!)).depth, 0);
    assert.equal((await ex.unlock(name, got.token!)).result, Outcome.STALE);
    assert.equal((await ex.fence(name, got.token!)).result, Outcome.STALE);
  });

  it('a request id makes a resend answer the first reply', async () => {
    const name = k('l');
    const first = await ex.acquire(name, 'a', { leaseMs: 60_000, requestId: 'req-1' });
    const resend = await ex.acquire(name, 'a', { leaseMs: 60_000, requestId: 'req-1' });
    assert.deepEqual(resend, first);
  });

  it('withLock: token, re-entry, busy, release on throw, always an ID', async () => {
    const name = k('l');
    const sent: string[][] = [];
    const run = ex.run.bind(ex);
    ex.run = (command) => { sent.push([...command.args]); return run(command); };
    let token: bigint | null = null;
    try {
      await ex.withLock(name, { leaseMs: 60_000 }, async (lock) => {
        token = lock.token;
        assert.equal(typeof token, 'bigint');
        assert.ok(await lock.valid());
        assert.ok(await lock.renew());
        await ex.withLock(name, { leaseMs: 60_000 }, async (inner) => {
          assert.equal(inner.token, token);
          assert.equal(inner.result!.result, Outcome.REENTERED);
        });
        // Another flow of the same process is another owner.
        await assert.rejects(ex.withLock(name, { leaseMs: 1000, owner: 'other' }, () => 1),
                             (e: unknown) => e instanceof LockBusy && e.lock.holder === lock.owner);
      });
    } finally {
      ex.run = run;
    }
    assert.equal((await ex.fence(name, token!)).result, Outcome.STALE);
    const locks = sent.filter((a) => a[0] === 'LOCK');
    assert.equal(locks.length, 3);
    for (const a of locks) assert.ok(a.includes('ID'), a.join(' '));
    await assert.rejects(ex.withLock(name, { leaseMs: 60_000 }, async (lock) => {
      token = lock.token;
      throw new Error('boom');
    }), /boom/);
    assert.equal((await ex.fence(name, token!)).result, Outcome.STALE);
    assert.equal((await ex.acquire(name, 'next', { leaseMs: 1000 })).result, Outcome.ACQUIRED);
  });

  it('a lost lease is reported, never instead of the callback error', async () => {
    await assert.rejects(ex.withLock(k('l'), { leaseMs: 50 }, () => sleep(150)), LockLost);
    await assert.rejects(ex.withLock(k('l'), { leaseMs: 50 }, async () => {
      await sleep(150);
      throw new Error('mine');
    }), /mine/);
  });

  it('waiters park on their own connections, FIFO, without blocking other commands', async () => {
    const name = k('l');
    const order: bigint[] = [];
    const workers = Array.from({ length: 5 }, () =>
      ex.withLock(name, { leaseMs: 10_000, waitMs: 10_000 }, async (lock) => {
        order.push(lock.token!);
        assert.equal((await ex.claimOf(k('x'))).result, Outcome.FREE);  // the main connection
        await sleep(20);
      }));
    await Promise.all(workers);
    assert.equal(order.length, 5);
    assert.deepEqual([...order].sort((x, y) => (x < y ? -1 : 1)), order);
  });

  it('iflock guards a command', async () => {
    const { bank, a } = await accounts();
    const name = k('l');
    let token: bigint | null = null;
    await ex.withLock(name, { leaseMs: 60_000 }, async (lock) => {
      token = lock.token;
      assert.equal((await ex.transfer(k('t1'), bank, a, 5n, { iflock: lock })).result, Outcome.OK);
    });
    const stale = await ex.transfer(k('t2'), bank, a, 5n, { iflock: [name, token!] });
    assert.deepEqual([stale.result, stale.amount], [Outcome.STALE, null]);
  });
});

describe('idempotency keys and limits', () => {
  it('idem outcomes', async () => {
    const key = k('pay');
    const run = await ex.idemBegin(key, { fingerprint: 'f1', leaseMs: 10_000 });
    assert.equal(run.result, Outcome.RUN);
    assert.equal(typeof run.token, 'bigint');
    assert.deepEqual([(await ex.idemBegin(key, { fingerprint: 'f1' })).result], [Outcome.RUNNING]);
    assert.equal((await ex.idemBegin(key, { fingerprint: 'f2' })).result, Outcome.MISMATCH);
    assert.equal((await ex.idemEnd(key, run.token! + 1n, 'x')).result, Outcome.STALE);
    const done = await ex.idemEnd(key, run.token!, '{"status":"paid"}');
    assert.deepEqual([done.result, done.response], [Outcome.DONE, '{"status":"paid"}']);
    assert.equal((await ex.idemBegin(key, { fingerprint: 'f1' })).response, '{"status":"paid"}');
    const job = k('job');
    const r = await ex.idemBegin(job);
    assert.equal((await ex.idemAbort(job, r.token! + 1n)).result, Outcome.STALE);
    assert.equal((await ex.idemAbort(job, r.token!)).result, Outcome.RELEASED);
    const second = await ex.idemBegin(job);
    setTimeout(() => { void ex.idemEnd(job, second.token!, 'r'); }, 100);
    const waited = await ex.idemBegin(job, { waitMs: 10_000 });
    assert.deepEqual([waited.result, waited.response], [Outcome.DONE, 'r']);
  });

  it('limit', async () => {
    const key = k('rate');
    const first = await ex.limit(key, { rate: 2, perMs: 60_000 });
    assert.deepEqual([first.allowed, first.remaining, first.retryAfterMs], [true, 1, 0]);
    await ex.limit(key, { rate: 2, perMs: 60_000 });
    const limited = await ex.limit(key, { rate: 2, perMs: 60_000 });
    assert.equal(limited.result, Outcome.LIMITED);
    assert.ok(limited.retryAfterMs! > 0);
    const win = k('win');
    assert.equal((await ex.limit(win, { window: 3, perMs: 60_000, cost: 3 })).remaining, 0);
    assert.equal((await ex.limit(win, { window: 3, perMs: 60_000 })).allowed, false);
  });
});

describe('transactions', () => {
  it('executed group', async () => {
    const bank = k('bank'); const a = k('a');
    const g = await ex.transaction().account(bank, { min: -Infinity }).account(a)
      .transfer(k('t1'), bank, a, INT64_MAX).claim(k('c'), 'alice').exec();
    assert.equal(g.executed, true);
    assert.equal(g.failed, null);
    assert.deepEqual(g.results.map((r) => (r as { result: string }).result),
                     [Outcome.CREATED, Outcome.CREATED, Outcome.OK, Outcome.WON]);
    assert.equal((g.results[2] as unknown as { amount: bigint }).amount, INT64_MAX);
  });

  it('rolled-back group', async () => {
    const { bank, a } = await accounts();
    const held = k('held');
    await ex.claim(held, 'bob');
    const t1 = k('t1'); const l = k('l');
    const tx = ex.transaction();
    tx.transfer(t1, bank, a, 5n);
    tx.claim(held, 'alice');
    tx.acquire(l, 'alice', { leaseMs: 1000 });
    const g = await tx.exec();
    assert.equal(g.executed, false);
    const [first, refused, skipped] = g.results as unknown as { result: string; failed: boolean;
                                                     id?: string; name?: string; owner?: string }[];
    assert.deepEqual([first.result, first.id], [Outcome.ROLLED_BACK, t1]);
    assert.deepEqual([refused.result, refused.failed, refused.owner], [Outcome.HELD, true, 'bob']);
    assert.equal(g.failed, refused);
    assert.deepEqual([skipped.result, skipped.name], [Outcome.SKIPPED, l]);
    assert.equal((await ex.balance(a)).balance, 0n);
  });
});
