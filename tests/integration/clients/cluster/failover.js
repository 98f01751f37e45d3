// A writer through a cluster-aware Node.js client (ioredis Cluster or node-redis
// createCluster) for tests/integration/test_cluster_clients.py. The client is given
// one follower's address only and finds the leader itself; the test kills the leader
// and the client must follow the failover with nothing but its own retry options.
//
// Usage: node failover.js ioredis|node-redis HOST PORT PREFIX KILL_FILE
// Prints one JSON object per line on stdout:
//   {"setup": {...}}                          replies to ACCOUNT, CLAIM and LOCK
//   {"op": "transfer"|"claim", "id", "ok", "reply"|"error", "t0", "t1"}   each write
//   {"after": {...}}                          FENCE, LOCK by another owner, RENEW
//   {"done": true}
// Once KILL_FILE exists (the test writes it after kill -9 of the leader), the writer
// goes on until AFTER_ACKS writes are acknowledged or AFTER_MS have passed.
'use strict';

const path = require('path');

const [, , library, host, portText, prefix, killFile] = process.argv;
const port = Number(portText);
const fs = require('fs');
const AFTER_ACKS = 40;
const AFTER_MS = 30000;
const TOTAL_MS = 90000;

const key = (s) => `${prefix}:${s}`;

function print(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// exactly answers field/value pairs: a flat array in RESP2, a map in RESP3.
function fields(reply) {
  if (reply instanceof Map) return Object.fromEntries(reply);
  if (Array.isArray(reply)) {
    const out = {};
    for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
    return out;
  }
  if (reply && typeof reply === 'object') return reply;
  return { value: String(reply) };
}

// The client's generic command call, routed by the command's first key.
async function makeClient() {
  const modules = path.join(__dirname, 'node_modules');
  if (library === 'ioredis') {
    const { Cluster } = require(path.join(modules, 'ioredis'));
    // The standard retry options: MOVED is followed at once, TRYAGAIN, CLUSTERDOWN and
    // a closed connection are retried every 100 ms with the slots refreshed, up to
    // maxRedirections times per command.
    const cluster = new Cluster([{ host, port }], {
      maxRedirections: 100,
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      retryDelayOnTryAgain: 100,
      slotsRefreshTimeout: 1000,
      redisOptions: { connectTimeout: 1000 },
    });
    cluster.on('error', () => {});
    await new Promise((resolve, reject) => {
      cluster.once('ready', resolve);
      cluster.once('end', () => reject(new Error('cluster ended before ready')));
    });
    return {
      call: (args) => cluster.call(...args),
      close: () => cluster.disconnect(),
    };
  }
  const { createCluster } = require(path.join(modules, 'redis'));
  // node-redis follows MOVED (maxCommandRedirections) and refreshes the topology
  // when a node's connection keeps failing (topologyRefreshOnReconnectionAttemptStrategy);
  // it hands a lost connection's error to the caller, which moves on.
  const cluster = createCluster({
    rootNodes: [{ socket: { host, port } }],
    maxCommandRedirections: 100,
    topologyRefreshOnReconnectionAttemptStrategy: 200,
    defaults: { socket: { connectTimeout: 1000, reconnectStrategy: (retries) => Math.min(retries * 50, 200) } },
  });
  cluster.on('error', () => {});
  await cluster.connect();
  return {
    call: (args) => cluster.sendCommand(args[1], false, args),
    close: () => cluster.destroy(),
  };
}

async function main() {
  const client = await makeClient();
  const setup = {};
  setup.bank = fields(await client.call(['ACCOUNT', key('bank'), 'MIN', '-inf'])).result;
  setup.dst = fields(await client.call(['ACCOUNT', key('dst')])).result;
  setup.claim = fields(await client.call(['CLAIM', key('c0'), 'owner0'])).result;
  const lock = fields(await client.call(['LOCK', key('lock'), 'w1', 'LEASE', '120000', 'ID', 'lock-req-1']));
  setup.lock = lock.result;
  setup.token = lock.token;
  print({ setup });

  const started = Date.now();
  let killedAt = null;
  let acksAfter = 0;
  for (let i = 1; Date.now() - started < TOTAL_MS; i++) {
    if (killedAt === null && fs.existsSync(killFile)) killedAt = Date.now();
    if (killedAt !== null && (acksAfter >= AFTER_ACKS || Date.now() - killedAt > AFTER_MS)) break;
    const isClaim = i % 5 === 0;
    const id = isClaim ? key(`k${i}`) : key(`t${i}`);
    const args = isClaim
      ? ['CLAIM', id, `owner${i}`]
      : ['TRANSFER', id, key('bank'), key('dst'), '1'];
    const t0 = Date.now();
    const record = { op: isClaim ? 'claim' : 'transfer', id, t0 };
    try {
      const result = fields(await client.call(args)).result;
      record.reply = result;
      record.ok = isClaim ? result === 'won' || result === 'again' : result === 'ok' || result === 'again';
    } catch (err) {
      record.ok = false;
      record.error = String(err && err.message ? err.message : err);
    }
    record.t1 = Date.now();
    if (record.ok && killedAt !== null) acksAfter++;
    print(record);
  }

  const after = {};
  const attempt = async (name, args) => {
    try {
      after[name] = fields(await client.call(args));
    } catch (err) {
      after[name] = { error: String(err.message || err) };
    }
  };
  await attempt('fence', ['FENCE', key('lock'), String(setup.token)]);
  await attempt('other', ['LOCK', key('lock'), 'w2', 'LEASE', '1000']);
  await attempt('renew', ['RENEW', key('lock'), String(setup.token), 'LEASE', '120000']);
  print({ after });
  print({ done: true });
  await client.close();
}

main().then(
  () => process.exit(0),
  (err) => {
    print({ fatal: String(err && err.stack ? err.stack : err) });
    process.exit(1);
  },
);
