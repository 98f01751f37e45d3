// The Express idempotency middleware under 20 simultaneous requests with one key,
// served by a real HTTP server: one execution, 20 identical responses.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { AddressInfo } from 'node:net';
import { request, Server } from 'node:http';
import { after, before, it } from 'node:test';
import express from 'express';

import { Exactly, idempotency } from '../index';
import { startServer, TestServer } from './server';

const CONCURRENT = 20;
let server: TestServer;
let ex: Exactly;
let http: Server;
let port: number;
let executions = 0;
let failures = 0;

before(async () => {
  server = await startServer();
  ex = new Exactly(server.url);
  const app = express();
  app.use(express.json());
  app.post('/pay', idempotency(ex, { waitMs: 20_000 }), async (req, res) => {
    const n = ++executions;
    await new Promise((r) => setTimeout(r, 300));  // slow work: the others arrive meanwhile
    res.status(201).json({ execution: n, amount: req.body.amount });
  });
  app.post('/fail', idempotency(ex), (_req, res) => {
    failures++;
    res.status(503).json({ error: 'try later' });
  });
  http = app.listen(0, '127.0.0.1');
  await new Promise((r) => http.once('listening', r));
  port = (http.address() as AddressInfo).port;
});

after(async () => {
  await new Promise((r) => http.close(r));
  await ex.close();
  await server.stop();
});

interface Reply { status: number; body: string; headers: Record<string, unknown> }

function post(path: string, headers: Record<string, string>, body: string): Promise<Reply> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent: false,
                          headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { data += c; });
      res.on('end', () => ok({ status: res.statusCode ?? 0, body: data, headers: res.headers }));
    });
    req.on('error', fail);
    req.end(body);
  });
}

it('20 requests at once with one key: one execution, 20 identical responses', async () => {
  const key = randomUUID();
  const before = executions;
  const replies = await Promise.all(Array.from({ length: CONCURRENT }, () =>
    post('/pay', { 'Idempotency-Key': key }, '{"amount":"9223372036854775807"}')));
  assert.equal(executions, before + 1);
  assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([201]));
  assert.equal(new Set(replies.map((r) => r.body)).size, 1);
  assert.deepEqual(JSON.parse(replies[0].body), { execution: before + 1, amount: '9223372036854775807' });
  assert.equal(new Set(replies.map((r) => r.headers['content-type'])).size, 1);
  assert.equal(replies.filter((r) => r.headers['idempotent-replayed'] === 'true').length,
               CONCURRENT - 1);
});

it('the same key with another body answers 422', async () => {
  const key = randomUUID();
  assert.equal((await post('/pay', { 'Idempotency-Key': key }, '{"amount":"1"}')).status, 201);
  assert.equal((await post('/pay', { 'Idempotency-Key': key }, '{"amount":"2"}')).status, 422);
});

it('requests without a key all run; a 5xx is aborted and runs again', async () => {
  const before = executions;
  await Promise.all([1, 2, 3].map(() => post('/pay', {}, '{"amount":"1"}')));
  assert.equal(executions, before + 3);
  const key = randomUUID();
  assert.equal((await post('/fail', { 'Idempotency-Key': key }, '{}')).status, 503);
  await new Promise((r) => setTimeout(r, 50));  // the abort follows the response
  assert.equal((await post('/fail', { 'Idempotency-Key': key }, '{}')).status, 503);
  assert.equal(failures, 2);
});
