// An Express middleware: one execution per Idempotency-Key, repeats answered with
// the stored response.
//
//   app.post('/api/pay', express.json(), idempotency(ex), handler)
//
// IDEM BEGIN decides: the first request runs the handler and its response (status,
// body, content type) is stored with IDEM END when it has been sent; concurrent
// repeats wait on the server (WAIT, no polling) and every repeat is answered with
// the stored response plus `Idempotent-Replayed: true`. A response of 5xx, or a
// connection closed before the response finished, is aborted (IDEM ABORT) so that
// a retry runs again. The same key with another method, URL or body answers 422;
// one still running after `waitMs` answers 409 with Retry-After. Requests without
// the header pass through.

import { createHash } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

import type { Exactly } from './client';
import { Outcome } from './results';

export interface IdempotencyOptions {
  /** The request header carrying the key (default Idempotency-Key). */
  header?: string;
  /** Prefix of the IDEM keys (default "idem:"). */
  namespace?: string;
  /** How long a crashed runner holds the key (default 30 s). */
  leaseMs?: number;
  /** How long a response is kept (default 24 h). */
  ttlMs?: number;
  /** How long a concurrent repeat waits for the first (default 30 s). */
  waitMs?: number;
  /** Refuse a key reused for another method, URL or body (default true). */
  fingerprint?: boolean;
}

interface Stored { status: number; headers: Record<string, string>; body: string }

const kKeptHeaders = ['content-type', 'location', 'cache-control'];

function fingerprintOf(req: Request): string {
  const h = createHash('sha256');
  const body: unknown = req.body;
  h.update(`${req.method}\0${req.originalUrl}\0`);
  if (Buffer.isBuffer(body)) h.update(body);
  else if (body !== undefined) h.update(typeof body === 'string' ? body : JSON.stringify(body));
  return h.digest('hex').slice(0, 32);
}

function problem(res: Response, status: number, title: string): void {
  res.status(status).type('application/problem+json').send(JSON.stringify({ status, title }));
}

export function idempotency(ex: Exactly, o: IdempotencyOptions = {}) {
  const header = o.header ?? 'Idempotency-Key';
  const namespace = o.namespace ?? 'idem:';
  return async function idempotencyMiddleware(req: Request, res: Response, next: NextFunction) {
    const raw = req.get(header);
    if (!raw) return next();
    const key = namespace + raw;
    let begun;
    try {
      begun = await ex.idemBegin(key, {
        fingerprint: o.fingerprint === false ? undefined : fingerprintOf(req),
        leaseMs: o.leaseMs ?? 30_000, ttlMs: o.ttlMs ?? 86_400_000, waitMs: o.waitMs ?? 30_000,
      });
    } catch (e) {
      return next(e);
    }
    if (begun.result === Outcome.DONE) {
      const stored = JSON.parse(begun.response ?? '{}') as Stored;
      for (const [k, v] of Object.entries(stored.headers)) res.setHeader(k, v);
      res.setHeader('Idempotent-Replayed', 'true');
      return res.status(stored.status).end(Buffer.from(stored.body, 'base64'));
    }
    if (begun.result === Outcome.MISMATCH) {
      return problem(res, 422, 'idempotency key reused for another request');
    }
    if (begun.result === Outcome.RUNNING) {
      res.setHeader('Retry-After', '1');
      return problem(res, 409, 'a request with this idempotency key is running');
    }
    const token = begun.token as bigint;
    const chunks: Buffer[] = [];
    const keep = (chunk: unknown, encoding: unknown) => {
      if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
      chunks.push(Buffer.isBuffer(chunk) ? chunk
        : Buffer.from(chunk as string, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'));
    };
    const write = res.write.bind(res) as (...a: unknown[]) => boolean;
    const end = res.end.bind(res) as (...a: unknown[]) => Response;
    (res as unknown as { write: unknown }).write = (...a: unknown[]) => { keep(a[0], a[1]); return write(...a); };
    (res as unknown as { end: unknown }).end = (...a: unknown[]) => { keep(a[0], a[1]); return end(...a); };
    let settled = false;
    const settle = async (finished: boolean) => {
      if (settled) return;
      settled = true;
      try {
        if (!finished || res.statusCode >= 500) {
          await ex.idemAbort(key, token);
          return;
        }
        const headers: Record<string, string> = {};
        for (const h of kKeptHeaders) {
          const v = res.getHeader(h);
          if (v !== undefined) headers[h] = String(v);
        }
        const stored: Stored = { status: res.statusCode, headers,
                                 body: Buffer.concat(chunks).toString('base64') };
        await ex.idemEnd(key, token, JSON.stringify(stored));
      } catch {
        // The key's lease ends by itself; the response has gone out already.
      }
    };
    res.on('finish', () => { void settle(true); });
    res.on('close', () => { void settle(res.writableFinished); });
    next();
  };
}
