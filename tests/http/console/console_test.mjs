// The web console end to end: the real exactly binary on free ports in a temp dir,
// its page (GET /) in Debian's headless Chromium driven by playwright-core.
// Commands go through the HTTP API (ACCOUNT, TRANSFER, CLAIM, LOCK with a waiter,
// IDEM BEGIN, LIMIT); the test then sees, in the page's DOM, the ops/s and commit
// latency numbers move, each table show the new rows, a search by key narrow the
// claims, and no request leave for anywhere but the server. A read-only console
// sends no POST and shows no command form; a second server with --console-writes
// shows the form, and a command sent from it lands. A screenshot of the page is
// saved in the test's output dir and its path printed.
//
// Usage: node console_test.mjs   (EXACTLY_BINARY, default build/exactly;
// EXACTLY_TEST_OUTPUT, default build/test-output; CHROMIUM, default /usr/bin/chromium)
import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const binary = process.env.EXACTLY_BINARY || join(root, "build", "exactly");
const outputDir = process.env.EXACTLY_TEST_OUTPUT || join(root, "build", "test-output");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const tmp = mkdtempSync(join(tmpdir(), "exactly-console-"));
const servers = [];
let context = null;

function log(...args) { console.log("console_test:", ...args); }

function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

async function until(what, check, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await check();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

async function startServer(name, extraArgs = []) {
  const port = await freePort();
  const httpPort = await freePort();
  const dir = join(tmp, name);
  mkdirSync(dir);
  const child = spawn(binary, ["serve", "--dir", dir, "--port", String(port), "--http-port",
    String(httpPort), ...extraArgs], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => { stderr += chunk; });
  const server = { child, port, httpPort, base: `http://127.0.0.1:${httpPort}`, log: () => stderr };
  servers.push(server);
  await until(`${name} to answer HTTP`, async () => (await fetch(server.base + "/v1/stats")).ok);
  return server;
}

async function post(server, command, body) {
  let response;
  try {
    response = await fetch(`${server.base}/v1/${command}`, {
      method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" },
    });
  } catch (error) {
    throw new Error(`${command} ${JSON.stringify(body)}: ${error.cause || error}`);
  }
  const reply = await response.json();
  assert.equal(response.status, 200, `${command} ${JSON.stringify(body)} -> ${JSON.stringify(reply)}`);
  return reply;
}

const text = (page, selector) => page.locator(selector).innerText();

// The cells of the table shown, as rows of {column: text}; null while another
// table than `table` (when given) is shown.
async function tableRows(page, table) {
  return page.evaluate((table) => {
    if (table && document.getElementById("table").dataset.table !== table) return null;
    const head = [...document.querySelectorAll("#table thead th")].map((th) => th.textContent);
    return [...document.querySelectorAll("#table-body tr")].filter((tr) => tr.dataset.key !== undefined)
      .map((tr) => Object.fromEntries([...tr.cells].map((td, i) => [head[i], td.textContent])));
  }, table);
}

async function rowsOf(page, table, predicate, what) {
  await page.click(`#tab-${table}`);
  return until(what, async () => {
    const rows = await tableRows(page, table);
    return rows && predicate(rows) ? rows : false;
  });
}

async function main() {
  const userDataDir = join(tmp, "chromium-profile");  // fresh, removed with tmp
  mkdirSync(userDataDir);
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });

  // ---- a read-only console ------------------------------------------------------
  const server = await startServer("readonly");
  const page = context.pages()[0] || await context.newPage();
  const foreign = [];
  const posts = [];
  await page.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.host !== `127.0.0.1:${server.httpPort}`) {
      foreign.push(url.href);
      return route.abort();
    }
    if (route.request().method() !== "GET") posts.push(url.href);
    return route.continue();
  });
  const pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  await page.goto(server.base + "/");
  await until("the page to go live", async () => (await text(page, "#status")) === "live");
  assert.equal(await text(page, "#mode"), "read-only");
  assert.equal(await page.locator("#writes").isVisible(), false, "a read-only console shows a command form");
  await rowsOf(page, "claims", (rows) => rows.length === 0, "an empty claims table");

  // Commands through the API, and a steady load for the charts.
  await post(server, "account", { key: "acct:alice" });
  await post(server, "account", { key: "acct:bob", min: "-inf" });
  await post(server, "transfer", { id: "t-1", from: "acct:bob", to: "acct:alice", amount: "1250" });
  const lock = await post(server, "lock", { name: "lock:job", owner: "worker-1", lease_ms: 60000 });
  assert.equal(lock.result, "acquired");
  // A second owner waits on the lock: its response is held until granted.
  const waiting = post(server, "lock", { name: "lock:job", owner: "worker-2", lease_ms: 60000, wait_ms: 60000 });
  waiting.catch(() => {});  // awaited below; a failure before then is reported there
  await post(server, "idem/begin", { key: "order:42", fingerprint: "f00d" });
  await post(server, "limit", { key: "ip:10.0.0.1", rate: 1, per_ms: 3600000 });
  let load = true;
  let sent = 0;
  const loader = (async () => {
    while (load) {
      const batch = [];
      for (let i = 0; i < 8; ++i, ++sent) batch.push(post(server, "claim", { key: `phone:${sent}`, owner: `u${sent % 7}` }));
      await Promise.all(batch);
      await sleep(20);
    }
  })();

  const ops = await until("ops/s above zero", async () => {
    const value = Number((await text(page, "#ops-value")).replace(/,/g, ""));
    return value > 0 ? value : false;
  });
  const latency = await until("a commit latency", async () => {
    const value = await text(page, "#latency-value");
    return value !== "-" && Number(value) > 0 ? value : false;
  });
  log(`page shows ${ops} ops/s, commit latency ${latency} ms`);
  await until("the claims size card to count the claims", async () =>
    Number((await text(page, "#size-claims")).split("\n").pop().split(" / ")[0].replace(/,/g, "")) >= 40);
  load = false;
  await loader;
  log(`${sent} claims sent`);

  // The tables.
  await rowsOf(page, "claims", (rows) => rows.some((r) => r.key === "phone:1"), "phone:1 in the claims");
  await page.fill("#search", "phone:1");
  await page.click("#search-button");
  const expected = [...Array(sent).keys()].map((i) => `phone:${i}`).filter((k) => k.startsWith("phone:1"));
  const found = await until("the search to narrow the claims", async () => {
    const rows = await tableRows(page, "claims");
    return rows && rows.length === Math.min(expected.length, 100) && rows.every((r) => r.key.startsWith("phone:1")) ? rows : false;
  });
  assert.equal(found[0].key, "phone:1", "the exact key comes first");
  assert.equal(found[0].state, "held");
  assert.equal(found[0].owner, "u1");
  assert.match(await text(page, "#table-note"), /matching "phone:1"/);
  await page.fill("#search", "");
  await page.click("#search-button");

  const accounts = await rowsOf(page, "accounts", (rows) => rows.length === 2, "both accounts");
  const alice = accounts.find((r) => r.key === "acct:alice");
  const bob = accounts.find((r) => r.key === "acct:bob");
  assert.equal(alice.balance, "1250");
  assert.equal(bob.balance, "-1250");
  assert.equal(bob.min, "-inf");
  const locks = await rowsOf(page, "locks", (rows) => rows.length === 1 && rows[0].waiting === "1", "the lock and its waiter");
  assert.equal(locks[0].holder, "worker-1");
  assert.equal(locks[0].token, lock.token);
  assert.match(locks[0].waiters, /^worker-2 until /);
  const idem = await rowsOf(page, "idempotency", (rows) => rows.length === 1, "the idempotency key");
  assert.equal(idem[0].key, "order:42");
  assert.equal(idem[0].state, "running");
  const limits = await rowsOf(page, "limits", (rows) => rows.length === 1, "the limit key");
  assert.equal(limits[0].kind, "rate");

  // The table follows the state: the lock passes to its waiter.
  await post(server, "unlock", { name: "lock:job", token: lock.token });
  assert.equal((await waiting).result, "acquired");
  await page.click("#tab-claims");
  const granted = await rowsOf(page, "locks", (rows) => rows.length === 1 && rows[0].holder === "worker-2", "the lock granted to its waiter");
  assert.equal(granted[0].waiting, "0");

  // The claims again, under load, for the screenshot.
  load = true;
  const screenshotLoader = (async () => {
    for (let i = 0; load; ++i) {
      await Promise.all([0, 1, 2, 3].map((j) => post(server, "claim", { key: `phone:${sent}-${i}-${j}`, owner: "u9" })));
      await sleep(20);
    }
  })();
  await page.click("#tab-claims");
  await page.fill("#search", "phone:");
  await page.click("#search-button");
  await until("claims under phone:", async () => ((await tableRows(page, "claims")) || []).length > 10);
  await sleep(3000); // a few chart points under load
  mkdirSync(outputDir, { recursive: true });
  const screenshot = join(outputDir, "console.png");
  await page.screenshot({ path: screenshot, fullPage: true });
  assert.ok(readFileSync(screenshot).length > 10000, "an empty screenshot");
  load = false;
  await screenshotLoader;
  log(`screenshot: ${screenshot}`);

  assert.deepEqual(posts, [], "a read-only console sent a write");
  assert.deepEqual(foreign, [], "the page asked for something beyond the server");
  assert.deepEqual(pageErrors, [], "the page threw");

  // ---- a console with --console-writes -----------------------------------------------
  const writable = await startServer("writes", ["--console-writes"]);
  const second = await context.newPage();
  await second.goto(writable.base + "/");
  await until("the writable page to go live", async () => (await text(second, "#status")) === "live");
  await until("the command form", async () => second.locator("#writes").isVisible());
  assert.equal(await text(second, "#mode"), "writes enabled");
  await second.fill("#write-command", "claim");
  await second.fill("#write-body", JSON.stringify({ key: "from:console", owner: "operator" }));
  await second.click("#write-send");
  await until("the command's reply", async () => (await text(second, "#write-result")).includes('"result":"won"'));
  const claimed = await (await fetch(`${writable.base}/v1/claimof`, { method: "POST", body: '{"key":"from:console"}' })).json();
  assert.equal(claimed.owner, "operator");
  await rowsOf(second, "claims", (rows) => rows.some((r) => r.key === "from:console"), "the console's claim in its table");
  log("ok");
}

async function cleanup() {
  if (context) await context.close().catch(() => {});
  for (const server of servers) {
    if (server.child.exitCode === null) {
      server.child.kill("SIGTERM");
      await Promise.race([new Promise((ok) => server.child.once("exit", ok)), sleep(5000)]);
      if (server.child.exitCode === null) server.child.kill("SIGKILL");
    }
  }
  rmSync(tmp, { recursive: true, force: true });
}

try {
  await main();
  await cleanup();
} catch (error) {
  console.error("console_test: FAILED:", error.stack || error);
  for (const server of servers) console.error("--- server log\n" + server.log().slice(-3000));
  await cleanup();
  process.exit(1);
}
