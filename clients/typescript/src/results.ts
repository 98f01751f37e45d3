// Typed results: the Outcome words and one frozen object type per reply shape.
//
// Every exactly reply is a list of named fields whose first, `result`, is the
// outcome word. The client asks ioredis for integers as strings (`stringNumbers`),
// so nothing is rounded through a JavaScript number on the way:
// - amounts, balances and tokens are `bigint` (exact over the whole int64/uint64);
// - times are unix ms as `number` (exact until the year 287396), `null` for none (-1);
// - bounds are `bigint`, or `Infinity` / `-Infinity` for `+inf` / `-inf`;
// - counts (depth, remaining, retryAfterMs, resetMs) are `number`.
// Fields a reply does not carry are `null` (an IFLOCK refusal answers only
// `result stale`; an element of a rolled-back group carries its identifying field).

export const Outcome = {
  WON: 'won', AGAIN: 'again', HELD: 'held', RELEASED: 'released', NOT_HOLDER: 'not_holder',
  FREE: 'free',
  CREATED: 'created', OK: 'ok', INSUFFICIENT: 'insufficient', OVER_MAX: 'over_max',
  NO_ACCOUNT: 'no_account', ID_CONFLICT: 'id_conflict', PENDING: 'pending',
  COMMITTED: 'committed', CANCELLED: 'cancelled', TIMED_OUT: 'timed_out',
  NO_TRANSFER: 'no_transfer',
  EXECUTED: 'executed', ROLLED_BACK: 'rolled_back', SKIPPED: 'skipped',
  ACQUIRED: 'acquired', REENTERED: 'reentered', BUSY: 'busy', RENEWED: 'renewed',
  VALID: 'valid', STALE: 'stale',
  RUN: 'run', RUNNING: 'running', DONE: 'done', MISMATCH: 'mismatch',
  ALLOWED: 'allowed', LIMITED: 'limited',
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

const kOutcomes: ReadonlySet<string> = new Set(Object.values(Outcome));

/** An account bound: a bigint, or Infinity / -Infinity. */
export type Bound = bigint | number;

export interface Result {
  readonly result: Outcome;
  /** True for the refused command of a rolled-back group. */
  readonly failed: boolean;
}

export interface ClaimResult extends Result {
  readonly key: string | null; readonly owner: string | null; readonly since: number | null;
  readonly expires: number | null; readonly window: number | null;
}
export interface UnclaimResult extends Result { readonly key: string | null }
export interface ClaimOfResult extends Result {
  readonly owner: string | null; readonly since: number | null; readonly expires: number | null;
}
export interface ClaimEvent {
  readonly event: string; readonly owner: string | null; readonly at: number | null;
  readonly expires: number | null; readonly window: number | null; readonly note: string;
}
export interface ClaimLogResult extends Result { readonly entries: readonly ClaimEvent[] }
export interface AccountResult extends Result {
  readonly key: string | null; readonly min: Bound | null; readonly max: Bound | null;
}
export interface TransferResult extends Result {
  readonly id: string | null; readonly amount: bigint | null; readonly timestamp: number | null;
  readonly window: number | null; readonly expires: number | null;
}
export interface BalanceResult extends Result {
  readonly key: string | null; readonly balance: bigint | null; readonly reserved: bigint | null;
  readonly min: Bound | null; readonly max: Bound | null; readonly incoming: bigint | null;
}
export interface Movement {
  readonly id: string; readonly amount: bigint; readonly balance: bigint;
  readonly at: number | null; readonly kind: string; readonly note: string;
}
export interface HistoryResult extends Result {
  readonly key: string | null; readonly entries: readonly Movement[];
}
export interface LockResult extends Result {
  /** The fencing token; null when busy. */
  readonly name: string | null; readonly token: bigint | null; readonly depth: number | null;
  readonly expires: number | null; readonly holder: string | null;
}
export interface IdemResult extends Result {
  readonly key: string | null; readonly token: bigint | null; readonly response: string | null;
}
export interface LimitResult extends Result {
  readonly key: string | null; readonly allowed: boolean; readonly remaining: number | null;
  readonly retryAfterMs: number | null; readonly resetMs: number | null;
}

/** EXEC of a transaction: one typed result (or error) per queued command. */
export interface GroupResult {
  readonly executed: boolean;
  readonly results: readonly (Result | Error)[];
  /** The refused command's result or error; null when executed. */
  readonly failed: Result | Error | null;
}

export class ExactlyError extends Error {
  /** The error reply's code: ERR, IOERR, NOAUTH, ... */
  readonly code: string;
  constructor(message: string) {
    super(message);
    this.name = 'ExactlyError';
    const first = message.split(' ', 1)[0];
    this.code = /^[A-Z]+$/.test(first) ? first : 'ERR';
  }
}

// Reading replies.

type Fields = Record<string, unknown>;

function text(v: unknown): string {
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return String(v);
}

/** A reply (RESP2 flat array or RESP3 map) as an object keyed by field name. */
export function fields(reply: unknown): Fields {
  if (reply instanceof Map) return Object.fromEntries([...reply].map(([k, v]) => [text(k), v]));
  if (!Array.isArray(reply) || reply.length % 2 !== 0) {
    throw new ExactlyError(`ERR not a field/value reply: ${JSON.stringify(reply)}`);
  }
  const out: Fields = {};
  for (let i = 0; i < reply.length; i += 2) out[text(reply[i])] = reply[i + 1];
  return out;
}

const has = (f: Fields, k: string) => f[k] !== undefined && f[k] !== null;
const big = (f: Fields, k: string): bigint | null => (has(f, k) ? BigInt(text(f[k])) : null);
const num = (f: Fields, k: string): number | null => (has(f, k) ? Number(text(f[k])) : null);
const str = (f: Fields, k: string): string | null => (has(f, k) ? text(f[k]) : null);
const name = (f: Fields, k: string): string | null => str(f, k) || null;
function time(f: Fields, k: string): number | null {
  const t = num(f, k);
  return t === null || t === -1 ? null : t;
}

export function parseBound(v: unknown): Bound | null {
  if (v === undefined || v === null) return null;
  const s = text(v);
  if (s === '-inf') return -Infinity;
  if (s === '+inf' || s === 'inf') return Infinity;
  return BigInt(s);
}

export function formatBound(b: Bound): string {
  if (typeof b === 'bigint') return b.toString();
  if (b === Infinity) return '+inf';
  if (b === -Infinity) return '-inf';
  if (Number.isSafeInteger(b)) return String(b);
  throw new RangeError(`a bound is a bigint, a safe integer or +-Infinity, got ${b}`);
}

function base(f: Fields): Result {
  const word = text(f.result);
  if (!kOutcomes.has(word)) throw new ExactlyError(`ERR unknown outcome '${word}'`);
  return { result: word as Outcome, failed: has(f, 'failed') && text(f.failed) === '1' };
}

function entries(f: Fields): Fields[] {
  return Array.isArray(f.entries) ? f.entries.map(fields) : [];
}

export type Parser<T> = (reply: unknown) => T;

const frozen = <T>(o: T): T => Object.freeze(o);

export const parse = {
  claim: (key: string): Parser<ClaimResult> => (reply) => {
    const f = fields(reply);
    return frozen({ ...base(f), key: str(f, 'key') ?? key, owner: name(f, 'owner'),
                    since: time(f, 'since'), expires: time(f, 'expires'),
                    window: time(f, 'window') });
  },
  unclaim: (key: string): Parser<UnclaimResult> => (reply) => {
    const f = fields(reply);
    return frozen({ ...base(f), key: str(f, 'key') ?? key });
  },
  claimOf: (): Parser<ClaimOfResult> => (reply) => {
    const f = fields(reply);
    return frozen({ ...base(f), owner: name(f, 'owner'), since: time(f, 'since'),
                    expires: time(f, 'expires') });
  },
  claimLog: (): Parser<ClaimLogResult> => (reply) => {
    const f = fields(reply);
    return frozen({ ...base(f), entries: frozen(entries(f).map((e) => frozen({
      event: str(e, 'event') ?? '', owner: name(e, 'owner'), at: time(e, 'at'),
      expires: time(e, 'expires'), window: time(e, 'window'), note: str(e, 'note') ?? '' }))) });
  },
  account: (key: string): Parser<AccountResult> => (reply) => {
    const f = fields(reply);
    return frozen({ ...base(f), key: str(f, 'key') ?? key, min: parseBound(f.min),
                    max: parseBound(f.max) });
  },
  transfer: (id: string): Parser<TransferResult> => (reply) => {
    const f = fields(reply);
    return frozen({ ...base(f), id: str(f, 'id') ?? id, amount: big(f, 'amount'),
                    timestamp: time(f, 'timestamp'), window: time(f, 'window'),
                    expires: time(f, 'expires') });
  },
  balance: (key: string): Parser<BalanceResult> => (reply) => {
    const f = fields(reply);
    return frozen({ ...base(f), key: str(f, 'key') ?? key, balance: big(f, 'balance'),
                    reserved: big(f, 'reserved'), min: parseBound(f.min),
                    max: parseBound(f.max), incoming: big(f, 'incoming') });
  },
  history: (key: string): Parser<HistoryResult> => (reply) => {
    const f = fields(reply);
    return frozen({ ...base(f), key: str(f, 'key') ?? key, entries: frozen(entries(f).map(
      (e) => frozen({ id: str(e, 'id') ?? '', amount: big(e, 'amount') ?? 0n,
                      balance: big(e, 'balance') ?? 0n, at: time(e, 'at'),
                      kind: str(e, 'kind') ?? '', note: str(e, 'note') ?? '' }))) });
  },
  lock: (lockName: string): Parser<LockResult> => (reply) => {
    const f = fields(reply);
    const token = big(f, 'token');
    return frozen({ ...base(f), name: str(f, 'name') ?? lockName,
                    token: token === -1n ? null : token, depth: num(f, 'depth'),
                    expires: time(f, 'expires'), holder: name(f, 'holder') });
  },
  idem: (key: string): Parser<IdemResult> => (reply) => {
    const f = fields(reply);
    return frozen({ ...base(f), key: str(f, 'key') ?? key, token: big(f, 'token'),
                    response: str(f, 'response') });
  },
  limit: (key: string): Parser<LimitResult> => (reply) => {
    const f = fields(reply);
    const b = base(f);
    return frozen({ ...b, key: str(f, 'key') ?? key, allowed: b.result === Outcome.ALLOWED,
                    remaining: num(f, 'remaining'), retryAfterMs: num(f, 'retry_after_ms'),
                    resetMs: num(f, 'reset_ms') });
  },
};
