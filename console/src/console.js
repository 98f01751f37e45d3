// The exactly console: polls GET /v1/stats each second and charts ops/s and commit
// latency; lists the tables (GET /v1/tables/<table>) with search by key prefix and
// paging; sends commands (POST /v1/<command>) only when the server says
// console_writes (--console-writes). Talks to nothing but the server it came from.
import uPlot from "uplot";

const TABLES = ["claims", "accounts", "locks", "idempotency", "limits"];
const POINTS = 120; // two minutes of one-second samples
const TIME_FIELDS = new Set(["since", "expires", "window", "deadline", "lease_end", "forget",
  "window_start", "tat", "idle_at"]);

// A password for --requirepass servers, given as /#token=<password>.
const token = new URLSearchParams(location.hash.slice(1)).get("token");

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (token) headers.Authorization = "Bearer " + token;
  const response = await fetch(path, Object.assign({}, options, { headers }));
  const body = await response.json();
  if (!response.ok) throw new Error(body.detail || response.statusText);
  return body;
}

const $ = (id) => document.getElementById(id);

// ---- live numbers -------------------------------------------------------------
const series = { t: [], ops: [], latency: [] };
let previous = null;
let charts = null;

function makeChart(element, label, color) {
  const width = Math.max(300, element.clientWidth || 500);
  return new uPlot({
    width, height: 180,
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.15)] } },
    axes: [{}, { size: 60 }],
    legend: { show: false },
    series: [{}, { label, stroke: color, width: 2, fill: color + "22" }],
  }, [[], []], element);
}

function plot() {
  if (!charts) {
    charts = {
      ops: makeChart($("chart-ops"), "ops/s", "#1f6feb"),
      latency: makeChart($("chart-latency"), "ms", "#d4731c"),
    };
  }
  charts.ops.setData([series.t, series.ops]);
  charts.latency.setData([series.t, series.latency]);
}

function push(name, value) {
  series[name].push(value);
  if (series[name].length > POINTS) series[name].shift();
}

function showSizes(tables) {
  const box = $("sizes");
  for (const name of TABLES) {
    let card = $("size-" + name);
    if (!card) {
      card = document.createElement("div");
      card.className = "size";
      card.id = "size-" + name;
      card.innerHTML = `<span class="label">${name}</span><span></span>`;
      box.appendChild(card);
    }
    const size = tables[name];
    card.lastChild.textContent = `${size.count.toLocaleString("en")} / ${size.max.toLocaleString("en")}`;
  }
}

let writesShown = false;

async function poll() {
  try {
    const stats = await api("/v1/stats");
    const now = performance.now();
    $("status").textContent = stats.storage_failed ? "storage failed" : "live";
    $("status").className = "badge " + (stats.storage_failed ? "bad" : "ok");
    $("server").textContent = `fsync ${stats.fsync} · up ${stats.uptime_s} s`;
    if (previous) {
      const seconds = Math.max(0.001, (now - previous.now) / 1000);
      const ops = Math.max(0, (stats.replies - previous.stats.replies) / seconds);
      const batches = stats.commit.batches - previous.stats.commit.batches;
      const latency = batches > 0 ? (stats.commit.total_us - previous.stats.commit.total_us) / batches / 1000 : 0;
      push("t", Date.now() / 1000);
      push("ops", Math.round(ops));
      push("latency", Number(latency.toFixed(3)));
      $("ops-value").textContent = Math.round(ops).toLocaleString("en");
      $("latency-value").textContent = batches > 0 ? latency.toFixed(2) : "-";
      plot();
    }
    previous = { stats, now };
    $("replies-value").textContent = stats.replies.toLocaleString("en");
    $("lsn-value").textContent = stats.durable_lsn.toLocaleString("en");
    $("connections-value").textContent = `${stats.connections.resp} / ${stats.connections.http}`;
    showSizes(stats.tables);
    if (stats.console_writes && !writesShown) {
      writesShown = true;
      $("writes").hidden = false;
      $("mode").textContent = "writes enabled";
      $("mode").className = "badge writes";
    }
  } catch (error) {
    $("status").textContent = "error: " + error.message;
    $("status").className = "badge bad";
  }
}

// ---- tables ---------------------------------------------------------------------
const view = { table: "claims", prefix: "", cursors: [""], page: 0 };

function cell(name, value) {
  if (Array.isArray(value)) {
    if (value.length === 0) return "";
    return value.map((item) => Object.entries(item)
      .map(([field, v]) => (TIME_FIELDS.has(field) ? "until " + time(v) : v)).join(" ")).join(", ");
  }
  if (TIME_FIELDS.has(name)) return time(value);
  return String(value);
}

function time(ms) {
  if (typeof ms !== "number" || ms < 0) return "-";
  return new Date(ms).toISOString().replace("T", " ").replace("Z", "");
}

function showPage(table, page) {
  $("table").dataset.table = table;
  const head = $("table").tHead;
  const body = $("table-body");
  const columns = page.rows.length > 0 ? Object.keys(page.rows[0]) : ["key"];
  head.innerHTML = "";
  const row = head.insertRow();
  for (const column of columns) {
    const th = document.createElement("th");
    th.textContent = column;
    row.appendChild(th);
  }
  body.innerHTML = "";
  if (page.rows.length === 0) {
    const td = body.insertRow().insertCell();
    td.colSpan = columns.length;
    td.className = "empty";
    td.textContent = page.cursor ? "no match in this part of the table: try the next page" : "no rows";
  }
  for (const item of page.rows) {
    const tr = body.insertRow();
    tr.dataset.key = item.key;
    for (const column of columns) tr.insertCell().textContent = cell(column, item[column]);
  }
  const filter = view.prefix ? ` matching "${view.prefix}"` : "";
  $("table-note").textContent =
    `${table}: ${page.rows.length} rows${filter} on page ${view.page + 1}; ` +
    `${page.visited} of ${page.total} records looked at` + (page.cursor ? "; more on the next page" : "");
  $("next-page").disabled = !page.cursor;
  view.cursors[view.page + 1] = page.cursor;
}

// Each load is numbered: a page that arrives after a newer load began (another
// tab, another search) is dropped.
let generation = 0;

async function load() {
  const mine = ++generation;
  const table = view.table;
  try {
    const query = new URLSearchParams({ limit: "100" });
    if (view.prefix) query.set("prefix", view.prefix);
    const cursor = view.cursors[view.page];
    if (cursor) query.set("cursor", cursor);
    const page = await api(`/v1/tables/${table}?${query}`);
    if (mine === generation) showPage(table, page);
  } catch (error) {
    if (mine === generation) $("table-note").textContent = "error: " + error.message;
  }
}

function selectTable(name) {
  view.table = name;
  view.cursors = [""];
  view.page = 0;
  for (const button of $("tabs").children) button.classList.toggle("active", button.dataset.table === name);
  load();
}

function setup() {
  for (const name of TABLES) {
    const button = document.createElement("button");
    button.type = "button";
    button.id = "tab-" + name;
    button.dataset.table = name;
    button.textContent = name;
    button.addEventListener("click", () => selectTable(name));
    $("tabs").appendChild(button);
  }
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    view.prefix = $("search").value;
    view.cursors = [""];
    view.page = 0;
    load();
  });
  $("first-page").addEventListener("click", () => {
    view.page = 0;
    load();
  });
  $("next-page").addEventListener("click", () => {
    if (!view.cursors[view.page + 1]) return;
    view.page += 1;
    load();
  });
  $("write-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!writesShown) return; // never sent by a read-only console
    const command = $("write-command").value.trim().replace(/^\/+/, "");
    try {
      const reply = await api("/v1/" + command, { method: "POST", body: $("write-body").value || "{}",
        headers: { "Content-Type": "application/json" } });
      $("write-result").textContent = JSON.stringify(reply);
    } catch (error) {
      $("write-result").textContent = "error: " + error.message;
    }
    load();
  });
  selectTable("claims");
  poll();
  // The numbers every second; the page of the table shown every two, so changes
  // appear without a click (a later page stays where it is until asked).
  setInterval(poll, 1000);
  setInterval(() => { if (view.page === 0) load(); }, 2000);
}

setup();
