// Runs the transaction scenario of test_transactions.py through a Node.js client's
// own MULTI/EXEC API and prints what the client handed back, as JSON on stdout.
//
// Usage: node tx_node.js ioredis|node-redis PORT PREFIX
// The groups (the Python test asserts on the output):
//   executed:    ACCOUNT P:bank MIN -inf, ACCOUNT P:a, TRANSFER P:t1 P:bank P:a 100, CLAIM P:k alice
//   rolled_back: TRANSFER P:t2 P:bank P:a 5, CLAIM P:held alice (bob holds it), LOCK P:l alice LEASE 5000
//   after:       ECHO after, CLAIMOF P:k, BALANCE P:a on the same connection.
'use strict';

const [, , library, port, prefix] = process.argv;
const p = (s) => `${prefix}:${s}`;

const executedGroup = [
  ['ACCOUNT', p('bank'), 'MIN', '-inf'],
  ['ACCOUNT', p('a')],
  ['TRANSFER', p('t1'), p('bank'), p('a'), '100'],
  ['CLAIM', p('k'), 'alice'],
];
const rolledBackGroup = [
  ['TRANSFER', p('t2'), p('bank'), p('a'), '5'],
  ['CLAIM', p('held'), 'alice'],
  ['LOCK', p('l'), 'alice', 'LEASE', '5000'],
];

// An element as JSON: errors become {error: message}.
function element(err, value) {
  if (err) return { error: String(err.message || err) };
  if (value instanceof Error) return { error: value.message };
  return { value };
}

async function withIoredis() {
  const Redis = require('ioredis');
  const r = new Redis({ host: '127.0.0.1', port: Number(port), lazyConnect: true,
                        maxRetriesPerRequest: 0, enableOfflineQueue: true });
  await r.connect();
  const run = async (group) => {
    const m = r.multi();
    for (const args of group) m.call(...args);
    const replies = await m.exec();
    return replies.map(([err, value]) => element(err, value));
  };
  const out = {};
  await r.call('CLAIM', p('held'), 'bob');
  out.executed = await run(executedGroup);
  out.rolled_back = await run(rolledBackGroup);
  out.after = [element(null, await r.call('ECHO', 'after')),
               element(null, await r.call('CLAIMOF', p('k'))),
               element(null, await r.call('BALANCE', p('a')))];
  r.disconnect();
  return out;
}

async function withNodeRedis() {
  const { createClient } = require('redis');
  const c = createClient({ url: `redis://127.0.0.1:${port}` });
  c.on('error', () => {});
  await c.connect();
  const run = async (group) => {
    let m = c.multi();
    for (const args of group) m = m.addCommand(args);
    const replies = await m.exec();
    return replies.map((value) => element(null, value));
  };
  const out = {};
  await c.sendCommand(['CLAIM', p('held'), 'bob']);
  out.executed = await run(executedGroup);
  out.rolled_back = await run(rolledBackGroup);
  out.after = [element(null, await c.sendCommand(['ECHO', 'after'])),
               element(null, await c.sendCommand(['CLAIMOF', p('k')])),
               element(null, await c.sendCommand(['BALANCE', p('a')]))];
  await c.quit();
  return out;
}

const runners = { ioredis: withIoredis, 'node-redis': withNodeRedis };
runners[library]().then(
  (out) => { process.stdout.write(JSON.stringify(out) + '\n'); },
  (err) => { process.stderr.write(`${library}: ${err && err.stack || err}\n`); process.exit(1); },
);
