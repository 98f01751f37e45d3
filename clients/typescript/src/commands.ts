// One builder per exactly command: the words to send and the reply's parser.
// The client, its transactions and its blocking pool all run these, so each
// command's syntax is written once. Options are named after the server's
// (`ttlMs` for TTL, `per`/`at`/`tz` for a calendar window); undefined is "not sent".

import * as r from './results';

/** An integer argument: a bigint, a safe integer number, or its decimal string. */
export type Int = bigint | number | string;

export interface Command<T> {
  readonly args: readonly string[];
  readonly parse: r.Parser<T>;
  /** True when the server may park the command (WAIT): it gets its own connection. */
  readonly blocking?: boolean;
}

/** What `iflock` takes: `[name, token]` or a held Lock. */
export type LockRef = readonly [string, Int] | { readonly name: string; readonly token: bigint | null };

export interface Window { per?: 'hour' | 'day' | 'week' | 'month'; at?: string; tz?: string }
export interface Guarded { iflock?: LockRef }
export interface ClaimOptions extends Window, Guarded {
  ttlMs?: Int; untilMs?: Int; persist?: boolean; note?: string;
}
export interface TransferOptions extends Window, Guarded { note?: string }
export interface LockOptions { leaseMs: Int; waitMs?: Int; requestId?: string }
export interface IdemBeginOptions extends Guarded {
  fingerprint?: string; leaseMs?: Int; ttlMs?: Int; waitMs?: Int;
}
export type LimitOptions =
  | { rate: Int; perMs: Int; burst?: Int; cost?: Int }
  | { window: Int; perMs: Int; cost?: Int };

export function int(v: Int): string {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) {
      throw new RangeError(`${v} is not a safe integer: pass a bigint or a decimal string`);
    }
    return String(v);
  }
  if (!/^-?[0-9]+$/.test(v)) throw new RangeError(`'${v}' is not a decimal integer`);
  return v;
}

function opt(args: string[], word: string, v: Int | string | undefined, asInt = true): void {
  if (v === undefined) return;
  args.push(word, asInt ? int(v as Int) : String(v));
}

function window(args: string[], o: Window): void {
  if (o.per !== undefined) {
    args.push('PER', o.per);
    if (o.at !== undefined) args.push('AT', o.at);
    if (o.tz !== undefined) args.push('TZ', o.tz);
  } else if (o.at !== undefined || o.tz !== undefined) {
    throw new TypeError('at and tz need per');
  }
}

function iflock(args: string[], o: Guarded): void {
  if (o.iflock === undefined) return;
  const [name, token] = Array.isArray(o.iflock)
    ? (o.iflock as readonly [string, Int])
    : [(o.iflock as { name: string }).name, (o.iflock as { token: bigint | null }).token];
  if (token === null || token === undefined) throw new TypeError('iflock needs a held lock');
  args.push('IFLOCK', name, int(token));
}

export const commands = {
  claim(key: string, owner: string, o: ClaimOptions = {}): Command<r.ClaimResult> {
    const args = ['CLAIM', key, owner];
    opt(args, 'TTL', o.ttlMs);
    opt(args, 'UNTIL', o.untilMs);
    window(args, o);
    if (o.persist) args.push('PERSIST');
    opt(args, 'NOTE', o.note, false);
    iflock(args, o);
    return { args, parse: r.parse.claim(key) };
  },
  unclaim(key: string, owner: string, o: Guarded = {}): Command<r.UnclaimResult> {
    const args = ['UNCLAIM', key, owner];
    iflock(args, o);
    return { args, parse: r.parse.unclaim(key) };
  },
  claimOf(key: string): Command<r.ClaimOfResult> {
    return { args: ['CLAIMOF', key], parse: r.parse.claimOf() };
  },
  claimLog(key: string, o: { count?: Int } = {}): Command<r.ClaimLogResult> {
    const args = ['CLAIMLOG', key];
    opt(args, 'COUNT', o.count);
    return { args, parse: r.parse.claimLog() };
  },
  account(key: string, o: { min?: r.Bound; max?: r.Bound } = {}): Command<r.AccountResult> {
    const args = ['ACCOUNT', key];
    if (o.min !== undefined) args.push('MIN', r.formatBound(o.min));
    if (o.max !== undefined) args.push('MAX', r.formatBound(o.max));
    return { args, parse: r.parse.account(key) };
  },
  transfer(id: string, from: string, to: string, amount: Int,
           o: TransferOptions = {}): Command<r.TransferResult> {
    const args = ['TRANSFER', id, from, to, int(amount)];
    window(args, o);
    opt(args, 'NOTE', o.note, false);
    iflock(args, o);
    return { args, parse: r.parse.transfer(id) };
  },
  reserve(id: string, from: string, to: string, amount: Int,
          o: Guarded & { timeoutMs: Int }): Command<r.TransferResult> {
    const args = ['RESERVE', id, from, to, int(amount), 'TIMEOUT', int(o.timeoutMs)];
    iflock(args, o);
    return { args, parse: r.parse.transfer(id) };
  },
  commit(id: string, o: Guarded = {}): Command<r.TransferResult> {
    const args = ['COMMIT', id];
    iflock(args, o);
    return { args, parse: r.parse.transfer(id) };
  },
  cancel(id: string, o: Guarded = {}): Command<r.TransferResult> {
    const args = ['CANCEL', id];
    iflock(args, o);
    return { args, parse: r.parse.transfer(id) };
  },
  balance(key: string): Command<r.BalanceResult> {
    return { args: ['BALANCE', key], parse: r.parse.balance(key) };
  },
  history(key: string, o: { count?: Int } = {}): Command<r.HistoryResult> {
    const args = ['HISTORY', key];
    opt(args, 'COUNT', o.count);
    return { args, parse: r.parse.history(key) };
  },
  lock(name: string, owner: string, o: LockOptions): Command<r.LockResult> {
    const args = ['LOCK', name, owner, 'LEASE', int(o.leaseMs)];
    opt(args, 'WAIT', o.waitMs);
    opt(args, 'ID', o.requestId, false);
    return { args, parse: r.parse.lock(name), blocking: o.waitMs !== undefined };
  },
  renew(name: string, token: Int, o: { leaseMs: Int }): Command<r.LockResult> {
    return { args: ['RENEW', name, int(token), 'LEASE', int(o.leaseMs)], parse: r.parse.lock(name) };
  },
  unlock(name: string, token: Int): Command<r.LockResult> {
    return { args: ['UNLOCK', name, int(token)], parse: r.parse.lock(name) };
  },
  fence(name: string, token: Int): Command<r.LockResult> {
    return { args: ['FENCE', name, int(token)], parse: r.parse.lock(name) };
  },
  idemBegin(key: string, o: IdemBeginOptions = {}): Command<r.IdemResult> {
    const args = ['IDEM', 'BEGIN', key];
    opt(args, 'FINGERPRINT', o.fingerprint, false);
    opt(args, 'LEASE', o.leaseMs);
    opt(args, 'TTL', o.ttlMs);
    opt(args, 'WAIT', o.waitMs);
    iflock(args, o);
    return { args, parse: r.parse.idem(key), blocking: o.waitMs !== undefined };
  },
  idemEnd(key: string, token: Int, response: string): Command<r.IdemResult> {
    return { args: ['IDEM', 'END', key, int(token), response], parse: r.parse.idem(key) };
  },
  idemAbort(key: string, token: Int): Command<r.IdemResult> {
    return { args: ['IDEM', 'ABORT', key, int(token)], parse: r.parse.idem(key) };
  },
  limit(key: string, o: LimitOptions): Command<r.LimitResult> {
    let args: string[];
    if ('rate' in o) {
      args = ['LIMIT', key, 'RATE', int(o.rate), 'PER', int(o.perMs)];
      opt(args, 'BURST', o.burst);
    } else {
      args = ['LIMIT', key, 'WINDOW', int(o.window), 'PER', int(o.perMs)];
    }
    opt(args, 'COST', o.cost);
    return { args, parse: r.parse.limit(key) };
  },
};
