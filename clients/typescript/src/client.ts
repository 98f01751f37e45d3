// The client: `Exactly` (one method per command), transactions, fenced locks.

import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import Redis, { RedisOptions } from 'ioredis';

import { Command, commands as c, ClaimOptions, Guarded, IdemBeginOptions, Int, LimitOptions,
         TransferOptions } from './commands';
import { Bound, ExactlyError, GroupResult, LockResult, Outcome, Result } from './results';

type Mode = 'promise' | 'tx';
type Out<M extends Mode, T> = M extends 'tx' ? Transaction : Promise<T>;

/** The command methods, written once: `Exactly` runs them, `Transaction` queues them. */
abstract class Api<M extends Mode> {
  protected abstract submit<T>(command: Command<T>): Out<M, T>;

  /** CLAIM: won | again | held (owner is the holder). */
  claim(key: string, owner: string, o?: ClaimOptions) { return this.submit(c.claim(key, owner, o)); }
  /** UNCLAIM: released | not_holder. */
  unclaim(key: string, owner: string, o?: Guarded) { return this.submit(c.unclaim(key, owner, o)); }
  /** CLAIMOF: held (with owner) | free. */
  claimOf(key: string) { return this.submit(c.claimOf(key)); }
  /** CLAIMLOG: newest events first. */
  claimLog(key: string, o?: { count?: Int }) { return this.submit(c.claimLog(key, o)); }
  /** ACCOUNT: created | again; bounds are bigints or +-Infinity (default 0..+inf). */
  account(key: string, o?: { min?: Bound; max?: Bound }) { return this.submit(c.account(key, o)); }
  /** TRANSFER once per id: ok | again | insufficient | over_max | no_account | id_conflict. */
  transfer(id: string, from: string, to: string, amount: Int, o?: TransferOptions) {
    return this.submit(c.transfer(id, from, to, amount, o));
  }
  /** RESERVE: pending | again | a transfer refusal; settled by commit, cancel or timeout. */
  reserve(id: string, from: string, to: string, amount: Int, o: Guarded & { timeoutMs: Int }) {
    return this.submit(c.reserve(id, from, to, amount, o));
  }
  /** COMMIT: committed | again | timed_out | no_transfer. */
  commit(id: string, o?: Guarded) { return this.submit(c.commit(id, o)); }
  /** CANCEL: cancelled | again | timed_out | no_transfer. */
  cancel(id: string, o?: Guarded) { return this.submit(c.cancel(id, o)); }
  /** BALANCE: ok | no_account. */
  balance(key: string) { return this.submit(c.balance(key)); }
  /** HISTORY: newest movements first. */
  history(key: string, o?: { count?: Int }) { return this.submit(c.history(key, o)); }
  /** LOCK: acquired | reentered | busy. Prefer withLock(), which always sends an ID. */
  acquire(name: string, owner: string, o: { leaseMs: Int; waitMs?: Int; requestId?: string }) {
    return this.submit(c.lock(name, owner, o));
  }
  /** RENEW: renewed | stale. */
  renew(name: string, token: Int, o: { leaseMs: Int }) { return this.submit(c.renew(name, token, o)); }
  /** UNLOCK one level: released (depth left) | stale. */
  unlock(name: string, token: Int) { return this.submit(c.unlock(name, token)); }
  /** FENCE: valid | stale. */
  fence(name: string, token: Int) { return this.submit(c.fence(name, token)); }
  /** IDEM BEGIN: run (with token) | running | done (with response) | mismatch. */
  idemBegin(key: string, o?: IdemBeginOptions) { return this.submit(c.idemBegin(key, o)); }
  /** IDEM END: done | stale. */
  idemEnd(key: string, token: Int, response: string) {
    return this.submit(c.idemEnd(key, token, response));
  }
  /** IDEM ABORT: released | stale. */
  idemAbort(key: string, token: Int) { return this.submit(c.idemAbort(key, token)); }
  /** LIMIT: allowed | limited (rate: GCRA; window: fixed window). */
  limit(key: string, o: LimitOptions) { return this.submit(c.limit(key, o)); }
}

function toError(e: unknown): unknown {
  if (e && typeof e === 'object' && (e as Error).name === 'ReplyError') {
    return new ExactlyError((e as Error).message);
  }
  return e;
}

// Connections for commands the server may park (WAIT): a parked command holds its
// connection's later replies back, so it never shares the main one.
const kIdleBlockingMax = 16;

export interface ExactlyOptions extends RedisOptions {}

/**
 * A client for one exactly server over ioredis: `new Exactly('redis://127.0.0.1:7379')`.
 *
 * Integers travel as strings (`stringNumbers`) and come back as bigint where they
 * can pass 2^53, so amounts and tokens are exact. Commands with `waitMs` run on
 * a connection of their own (a parked command would delay every later reply on
 * a shared one). ioredis has no read timeout by default; if you set
 * `commandTimeout`, keep it above every `waitMs`.
 */
export class Exactly extends Api<'promise'> {
  readonly redis: Redis;
  private readonly idle: Redis[] = [];

  constructor(url: string = 'redis://127.0.0.1:7379', options: ExactlyOptions = {}) {
    super();
    this.redis = new Redis(url, { ...options, stringNumbers: true });
  }

  /** Closes the connections. */
  async close(): Promise<void> {
    for (const r of this.idle.splice(0)) r.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /** Runs one command and parses its reply. */
  async run<T>(command: Command<T>): Promise<T> {
    if (command.blocking) return this.runBlocking(command);
    try {
      return command.parse(await this.redis.call(command.args[0], ...command.args.slice(1)));
    } catch (e) {
      throw toError(e);
    }
  }

  private async runBlocking<T>(command: Command<T>): Promise<T> {
    const conn = this.idle.pop() ?? this.redis.duplicate();
    let healthy = true;
    try {
      return command.parse(await conn.call(command.args[0], ...command.args.slice(1)));
    } catch (e) {
      healthy = (e as Error)?.name === 'ReplyError';
      throw toError(e);
    } finally {
      if (healthy && this.idle.length < kIdleBlockingMax) this.idle.push(conn);
      else conn.disconnect();
    }
  }

  protected submit<T>(command: Command<T>): Promise<T> {
    return this.run(command);
  }

  /** Sends any command as it is and returns the raw reply. */
  async execute(...args: string[]): Promise<unknown> {
    try {
      return await this.redis.call(args[0], ...args.slice(1));
    } catch (e) {
      throw toError(e);
    }
  }

  /** A MULTI/EXEC group: queue with its methods, then `await tx.exec()`. */
  transaction(): Transaction {
    return new Transaction(this);
  }

  /** A Lock on `name`; see withLock(), which is what most code wants. */
  lock(name: string, o: LockWith): Lock {
    const owner = o.owner ?? heldOwners.getStore()?.get(name) ?? newOwner();
    return new Lock(this, name, owner, o);
  }

  /**
   * Runs `fn` holding lock `name`, and always unlocks, also when `fn` throws.
   * LOCK always carries a fresh ID, so a resend (ioredis resends unanswered
   * commands after a reconnect) is answered with the first grant instead of
   * re-entering. Throws LockBusy if the lock stays busy for `waitMs`; LockLost if
   * the lease ended before the unlock (never instead of `fn`'s own error).
   * Nested withLock calls on the same name in one async flow re-enter.
   */
  async withLock<T>(name: string, o: LockWith, fn: (lock: Lock) => Promise<T> | T): Promise<T> {
    const lock = this.lock(name, o);
    await lock.acquire();
    const owners = new Map(heldOwners.getStore() ?? []);
    owners.set(name, lock.owner);
    let value: T;
    try {
      value = await heldOwners.run(owners, () => fn(lock));
    } catch (e) {
      await lock.release().catch(() => undefined);
      throw e;
    }
    await lock.release();
    return value;
  }
}

export interface LockWith { leaseMs: Int; waitMs?: Int; owner?: string }

const heldOwners = new AsyncLocalStorage<Map<string, string>>();
const newOwner = () => `${hostname()}:${process.pid}:${randomUUID()}`;

export class LockBusy extends ExactlyError {
  constructor(readonly lock: LockResult) {
    super(`BUSY lock '${lock.name}' is held by '${lock.holder}'`);
    this.name = 'LockBusy';
  }
}

export class LockLost extends ExactlyError {
  constructor(readonly lockName: string, readonly token: bigint) {
    super(`STALE lock '${lockName}' token ${token} was lost before release`);
    this.name = 'LockLost';
  }
}

const kLockAttempts = 3;

/** A lease on one lock name; `token` is the fencing token while held. */
export class Lock {
  readonly requestId = randomUUID();
  token: bigint | null = null;
  result: LockResult | null = null;

  constructor(private readonly ex: Exactly, readonly name: string, readonly owner: string,
              private readonly o: LockWith) {}

  /** LOCK with this lock's request id; resent on connection failures. */
  async acquire(): Promise<LockResult> {
    const command = c.lock(this.name, this.owner, { leaseMs: this.o.leaseMs,
                                                    waitMs: this.o.waitMs,
                                                    requestId: this.requestId });
    let result: LockResult | undefined;
    for (let attempt = 1; result === undefined; attempt++) {
      try {
        result = await this.ex.run(command);
      } catch (e) {
        if (e instanceof ExactlyError || attempt >= kLockAttempts) throw e;
      }
    }
    if (result.result !== Outcome.ACQUIRED && result.result !== Outcome.REENTERED) {
      throw new LockBusy(result);
    }
    this.result = result;
    this.token = result.token;
    return result;
  }

  /** RENEW to now + leaseMs; false when the token no longer holds the lock. */
  async renew(leaseMs: Int = this.o.leaseMs): Promise<boolean> {
    const r = await this.ex.renew(this.name, this.held(), { leaseMs });
    if (r.result === Outcome.RENEWED) this.result = r;
    return r.result === Outcome.RENEWED;
  }

  /** FENCE: true while the token holds the lock. */
  async valid(): Promise<boolean> {
    return (await this.ex.fence(this.name, this.held())).result === Outcome.VALID;
  }

  /** UNLOCK one level; throws LockLost if the lease had ended. */
  async release(): Promise<LockResult> {
    const token = this.held();
    this.token = null;
    const r = await this.ex.unlock(this.name, token);
    if (r.result !== Outcome.RELEASED) throw new LockLost(this.name, token);
    return r;
  }

  private held(): bigint {
    if (this.token === null) throw new ExactlyError(`ERR lock '${this.name}' is not held`);
    return this.token;
  }
}

/** Queued commands for one MULTI/EXEC; methods return the transaction (chainable). */
export class Transaction extends Api<'tx'> {
  readonly commands: Command<Result>[] = [];

  constructor(private readonly ex: Exactly) {
    super();
  }

  protected submit<T>(command: Command<T>): Transaction {
    this.commands.push(command as unknown as Command<Result>);
    return this;
  }

  /** MULTI, the commands, EXEC: one typed result (or ExactlyError) per command. */
  async exec(): Promise<GroupResult> {
    if (this.commands.length === 0) return Object.freeze({ executed: true, results: [], failed: null });
    const multi = this.ex.redis.multi();
    for (const command of this.commands) multi.call(command.args[0], ...command.args.slice(1));
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await multi.exec();
    } catch (e) {
      throw toError(e);
    }
    if (replies === null) throw new ExactlyError('ERR EXEC answered no results');
    const results = replies.map(([err, value], i): Result | Error =>
      err ? (toError(err) as Error) : this.commands[i].parse(value));
    const failed = results.find((r) => r instanceof Error || r.failed) ?? null;
    const executed = failed === null && results.every(
      (r) => !(r instanceof Error) && r.result !== Outcome.ROLLED_BACK && r.result !== Outcome.SKIPPED);
    return Object.freeze({ executed, results: Object.freeze(results), failed });
  }
}
