#!/usr/bin/env python3
"""Parses the load tools' raw outputs and prints the side-by-side tables for bench/run.sh.

  report.py redis CSV_FILE              -> "ops p50_ms p99_ms"  (redis-benchmark --csv)
  report.py pgbench OUT_FILE LOG_PREFIX -> "ops p50_ms p99_ms failed transactions"
  report.py wrk OUT_FILE                -> "ops p50_ms p99_ms requests non_2xx"  (wrk --latency)
  report.py table RESULTS_TSV [--memory MEMORY_TSV] [--restart RESTART_TSV]
                                        -> markdown tables: per request, ratios, records,
                                           restart, and the issue's targets

RESULTS_TSV has one row per run: system, workload, pipeline depth, ops/s, p50,
p99, server CPU us per request, note, round; a run that did not happen has "-"
numbers and says why in the note. MEMORY_TSV and RESTART_TSV come from
bench/records.py. Standard library only.
"""
import csv
import glob
import math
import re
import sys

SYSTEMS = ["exactly-always", "exactly-no", "http-always", "http-no", "redis-always", "redis-no",
           "null", "postgresql", "exactly-group", "etcd"]
LABELS = {
    "exactly-always": "exactly --fsync always",
    "exactly-no": "exactly --fsync no",
    "http-always": "exactly HTTP --fsync always (wrk)",
    "http-no": "exactly HTTP --fsync no (wrk)",
    "redis-always": "Redis 7 appendfsync always",
    "redis-no": "Redis 7 appendfsync no",
    "postgresql": "PostgreSQL 15 (per transaction)",
    "null": "null server",
    "exactly-group": "exactly, 3-node group",
    "etcd": "etcd 3.4, 3 members (txn)",
}
WORKLOADS = {"W1": "W1 claim", "W2": "W2 flash sale", "W3": "W3 transfer", "W4": "W4 lock",
             "W5": "W5 rate limit"}
# Issue 9's targets: server CPU per request, exactly / Redis at the same fsync, at most
# this, by pipeline depth; unpipelined W1 / the null server at most 1.25.
CPU_TARGETS = {1: 0.8, 32: 0.6}
CPU_TARGET_WORKLOADS = ["W1", "W2", "W3", "W5"]
NULL_TARGET = 1.25
RECORD_LABELS = {"claim": "claim, no TTL", "claim_ttl": "claim, TTL 1 h", "account": "account",
                 "transfer": "remembered transfer id"}
RESTART_TARGET_CLAIMS = 10_000_000
RESTART_TARGET_S = 5.0


def percentile(sorted_values, p):
    """Nearest-rank percentile: the smallest value with at least p% at or below it."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


def parse_redis(path):
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f) if r]
    header = rows[0]
    if len(rows) < 2:
        raise SystemExit(f"{path}: no result row (did redis-benchmark stop on an error?)")
    row = dict(zip(header, rows[-1]))
    return float(row["rps"]), float(row["p50_latency_ms"]), float(row["p99_latency_ms"])


def parse_pgbench(out_path, log_prefix):
    text = open(out_path).read()
    m = re.search(r"^tps = ([0-9.]+) \(without initial connection time\)", text, re.M)
    if not m:
        raise SystemExit(f"{out_path}: no tps line")
    latencies_us = []
    failed = 0
    for path in glob.glob(log_prefix + ".*"):
        with open(path) as f:
            for line in f:
                fields = line.split()
                if len(fields) < 3:
                    continue
                if fields[2].isdigit():
                    latencies_us.append(int(fields[2]))
                else:
                    failed += 1
    latencies_us.sort()
    if not latencies_us:
        raise SystemExit(f"{log_prefix}.*: no transaction log lines")
    return (float(m.group(1)), percentile(latencies_us, 50) / 1000.0,
            percentile(latencies_us, 99) / 1000.0, failed, len(latencies_us))


def parse_wrk(path):
    """wrk --latency's Requests/sec, its 50% and 99% latencies in ms (None when it
    has none), its request count, and its count of responses that were not 2xx or 3xx."""
    text = open(path).read()
    m = re.search(r"^Requests/sec:\s+([0-9.]+)", text, re.M)
    if not m:
        raise SystemExit(f"{path}: no Requests/sec line (did wrk fail?)")
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
    latency = {}
    for p, value, unit in re.findall(r"^\s+(50|99)%\s+([0-9.]+)(us|ms|s|m)$", text, re.M):
        latency[p] = float(value) * scale[unit]
    n = re.search(r"^\s*(\d+) requests in", text, re.M)
    if not n:
        raise SystemExit(f"{path}: no request count (not a wrk report?)")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    # wrk prints 0.00us for a percentile past its histogram (seen at -P 32): unknown.
    return (float(m.group(1)), latency.get("50") or None, latency.get("99") or None,
            int(n.group(1)), int(bad.group(1)) if bad else 0)


def fmt_num(v, digits):
    return "-" if v is None else f"{v:,.{digits}f}"


def median(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def read_runs(path):
    """{(system, workload, depth): [(ops, p50, p99, cpu_us, note, round)]}"""
    runs = {}
    num = lambda v: None if v in ("-", "") else float(v)
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 9:
                continue
            system, workload, depth, ops, p50, p99, cpu, note, rnd = parts[:9]
            runs.setdefault((system, workload, int(depth)), []).append(
                (num(ops), num(p50), num(p99), num(cpu), note, rnd))
    return runs


class Runs:
    def __init__(self, runs):
        self.runs = runs
        self.depths = sorted({k[2] for k in runs})

    def rows(self, system, workload, depth):
        return self.runs.get((system, workload, depth), [])

    def measured(self, system, workload, depth):
        return [r for r in self.rows(system, workload, depth) if r[0] is not None]

    def med(self, system, workload, depth, field):
        """Median over rounds of one field: 0 ops, 1 p50, 2 p99, 3 cpu."""
        return median(r[field] for r in self.measured(system, workload, depth))

    def ratio(self, mine, theirs, workload, depth, field):
        """Median over rounds of mine / theirs, each pair from the same round."""
        a = {r[5]: r[field] for r in self.measured(mine, workload, depth) if r[field]}
        b = {r[5]: r[field] for r in self.measured(theirs, workload, depth) if r[field]}
        return median(a[k] / b[k] for k in set(a) & set(b))


def note_of(rows):
    notes = []
    for r in rows:
        if r[4] and r[4] not in notes and (r[0] is None or "FAILED" in r[4] or "SMOKE" in r[4]
                                           or not notes):
            notes.append(r[4])
    return "; ".join(notes)[:300]


def per_request_table(runs):
    out = ["| workload | -P | system | ops/s | p50 ms | p99 ms | server CPU us/request | "
           "CPU range over rounds | note |",
           "| --- | ---: | --- | ---: | ---: | ---: | ---: | --- | --- |"]
    for w, wname in WORKLOADS.items():
        for d in runs.depths:
            for s in SYSTEMS:
                rows = runs.rows(s, w, d)
                if not rows:
                    continue
                cpus = sorted(r[3] for r in runs.measured(s, w, d) if r[3] is not None)
                spread = (f"{cpus[0]:.2f}-{cpus[-1]:.2f} ({len(cpus)} rounds)"
                          if len(cpus) > 1 else "")
                out.append(f"| {wname} | {d} | {LABELS[s]} | {fmt_num(runs.med(s, w, d, 0), 0)} | "
                           f"{fmt_num(runs.med(s, w, d, 1), 3)} | {fmt_num(runs.med(s, w, d, 2), 3)} | "
                           f"{fmt_num(runs.med(s, w, d, 3), 2)} | {spread} | {note_of(rows)} |")
    return out


RATIOS = [("exactly-always", "redis-always"), ("exactly-no", "redis-no"),
          ("exactly-always", "null"), ("exactly-no", "null"), ("exactly-always", "postgresql"),
          ("http-always", "exactly-always"), ("http-no", "exactly-no"),
          ("exactly-group", "exactly-always"), ("exactly-group", "etcd")]
SHORT = {"exactly-always": "ex always", "exactly-no": "ex no", "http-always": "HTTP always",
         "http-no": "HTTP no", "redis-always": "Redis always",
         "redis-no": "Redis no", "null": "null", "postgresql": "PostgreSQL",
         "exactly-group": "ex group", "etcd": "etcd"}


def ratio_table(runs, field, what):
    head = ["workload", "-P"] + [f"{what} {SHORT[a]} / {SHORT[b]}" for a, b in RATIOS]
    out = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    for w, wname in WORKLOADS.items():
        for d in runs.depths:
            cells = [runs.ratio(a, b, w, d, field) for a, b in RATIOS]
            if all(c is None for c in cells):
                continue
            out.append(f"| {wname} | {d} | " +
                       " | ".join("-" if c is None else f"{c:.2f}x" for c in cells) + " |")
    return out


def read_memory(path):
    rows = {}
    with open(path) as f:
        for line in f:
            kind, system, n, before, after, per, op = line.rstrip("\n").split("\t")[:7]
            rows[(kind, system)] = (int(n), None if per == "-" else float(per), op)
    return rows


def memory_table(mem):
    out = ["| record | exactly B/record | Redis B/record | exactly / Redis | records | "
           "exactly op | Redis op |", "| --- | ---: | ---: | ---: | ---: | --- | --- |"]
    for kind, label in RECORD_LABELS.items():
        mine = mem.get((kind, "exactly"))
        theirs = mem.get((kind, "redis"))
        if not mine:
            continue
        ratio = (mine[1] / theirs[1] if mine[1] is not None and theirs and theirs[1] else None)
        redis_op = theirs[2] if theirs else "-"
        redis_op = re.sub(r"EVALSHA [0-9a-f]{40}", "EVALSHA transfer.lua", redis_op)
        out.append(f"| {label} | {fmt_num(mine[1], 0)} | {fmt_num(theirs[1] if theirs else None, 0)}"
                   f" | {'-' if ratio is None else f'{ratio:.2f}x'} | {mine[0]:,} | `{mine[2]}` | "
                   f"`{redis_op}` |")
    return out


def read_restart(path):
    with open(path) as f:
        parts = f.readline().rstrip("\n").split("\t")
    claims, snap, journal, snap_bytes, journal_bytes, note = (int(x) for x in parts[:6])
    times = [float(t) for t in parts[6].split()]
    return {"claims": claims, "snapshot": snap, "journal": journal, "snapshot_bytes": snap_bytes,
            "journal_bytes": journal_bytes, "note": note, "times": times, "check": parts[7],
            "log": parts[8] if len(parts) > 8 else ""}


def restart_table(r):
    out = ["| claims | in the snapshot | in the journal | snapshot MiB | journal MiB | "
           "NOTE bytes per journal claim | exec to PONG, s (each restart) | median s | check |",
           "| ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |"]
    out.append(f"| {r['claims']:,} | {r['snapshot']:,} | {r['journal']:,} | "
               f"{r['snapshot_bytes'] / 2**20:,.1f} | {r['journal_bytes'] / 2**20:,.1f} | {r['note']} | "
               f"{', '.join(f'{t:.2f}' for t in r['times'])} | {fmt_num(median(r['times']), 2)} | "
               f"{r['check']} |")
    return out


def targets_table(runs, mem, restart):
    out = ["| target | measured | met |", "| --- | --- | --- |"]
    verdict = lambda ok: "-" if ok is None else ("yes" if ok else "**no**")
    for d, limit in CPU_TARGETS.items():
        if d not in runs.depths:
            continue
        for w in CPU_TARGET_WORKLOADS:
            a = runs.ratio("exactly-always", "redis-always", w, d, 3)
            b = runs.ratio("exactly-no", "redis-no", w, d, 3)
            if a is None and b is None:
                continue
            ok = None if a is None or b is None else (a <= limit and b <= limit)
            out.append(f"| {WORKLOADS[w]} -P {d}: CPU/request <= {limit}x Redis (fsync always / no)"
                       f" | {fmt_num(a, 2)}x / {fmt_num(b, 2)}x | {verdict(ok)} |")
    # Issue 12: replicated W1 claim throughput >= 0.5x single-node exactly, >= 5x etcd.
    for d in runs.depths:
        single = runs.ratio("exactly-group", "exactly-always", "W1", d, 0)
        etcd = runs.ratio("exactly-group", "etcd", "W1", d, 0)
        if single is not None:
            out.append(f"| W1 claim -P {d}: 3-node group ops/s >= 0.5x single-node exactly | "
                       f"{single:.2f}x | {verdict(single >= 0.5)} |")
        if etcd is not None:
            out.append(f"| W1 claim -P {d}: 3-node group ops/s >= 5x etcd | {etcd:.2f}x | "
                       f"{verdict(etcd >= 5.0)} |")
    a = runs.ratio("exactly-always", "null", "W1", 1, 3)
    b = runs.ratio("exactly-no", "null", "W1", 1, 3)
    if a is not None or b is not None:
        ok = None if a is None or b is None else (a <= NULL_TARGET and b <= NULL_TARGET)
        out.append(f"| W1 claim -P 1: CPU/request <= {NULL_TARGET}x the null server (fsync always"
                   f" / no) | {fmt_num(a, 2)}x / {fmt_num(b, 2)}x | {verdict(ok)} |")
    if mem:
        for kind in ("claim", "claim_ttl"):
            mine, theirs = mem.get((kind, "exactly")), mem.get((kind, "redis"))
            if mine and theirs and mine[1] is not None and theirs[1]:
                ratio = mine[1] / theirs[1]
                out.append(f"| RSS per {RECORD_LABELS[kind]} <= 1.0x Redis | {mine[1]:.0f} B vs "
                           f"{theirs[1]:.0f} B = {ratio:.2f}x | {verdict(ratio <= 1.0)} |")
        for kind in ("account", "transfer"):
            mine = mem.get((kind, "exactly"))
            if mine and mine[1] is not None:
                out.append(f"| RSS per {RECORD_LABELS[kind]} <= 150 B | {mine[1]:.0f} B | "
                           f"{verdict(mine[1] <= 150)} |")
    if restart:
        t = median(restart["times"])
        full = restart["claims"] >= RESTART_TARGET_CLAIMS
        out.append(f"| restart with 10M claims (snapshot + 1 GiB journal) < {RESTART_TARGET_S:.0f} s"
                   f" | {t:.2f} s with {restart['claims']:,} claims, "
                   f"{restart['journal_bytes'] / 2**20:,.0f} MiB of journal"
                   f"{'' if full else ' (not the full size: run with --restart-full)'} | "
                   f"{verdict(t < RESTART_TARGET_S) if full else '-'} |")
    return out


def table(path, memory_path=None, restart_path=None):
    runs = Runs(read_runs(path))
    mem = read_memory(memory_path) if memory_path else None
    restart = read_restart(restart_path) if restart_path else None
    out = []
    if runs.runs:
        out += ["## Per request", "",
                "Medians over rounds, each column on its own. Server CPU: utime+stime of the "
                "server's process tree over the load, divided by its requests (PostgreSQL: "
                "the whole cluster, per transaction; W4: per acquire + release).", ""]
        out += per_request_table(runs)
        out += ["", "## Ratios", "",
                "exactly / peer, each pair from the same round, median over rounds. "
                "Server CPU per request (below 1 = exactly spends less):", ""]
        out += ratio_table(runs, 3, "CPU")
        out += ["", "Throughput, ops/s (above 1 = exactly does more; on 2 CPUs the load "
                "generator bounds every server, so read CPU first):", ""]
        out += ratio_table(runs, 0, "ops/s")
    if mem:
        out += ["", "## RSS per record", "",
                "VmRSS growth over the load, divided by the records (bench/records.py memory).",
                ""]
        out += memory_table(mem)
    if restart:
        out += ["", "## Restart", "",
                "Time from exec to the first PING answered (bench/records.py restart).", ""]
        out += restart_table(restart)
        if restart["log"]:
            out += ["", f"Server log of the first restart: `{restart['log']}`"]
    out += ["", "## Issue 9's and issue 12's targets", ""]
    out += targets_table(runs, mem, restart)
    print("\n".join(out))


def main(argv):
    if len(argv) >= 2 and argv[1] == "redis":
        ops, p50, p99 = parse_redis(argv[2])
        print(f"{ops:.2f} {p50:.3f} {p99:.3f}")
    elif len(argv) >= 2 and argv[1] == "pgbench":
        ops, p50, p99, failed, n = parse_pgbench(argv[2], argv[3])
        print(f"{ops:.2f} {p50:.3f} {p99:.3f} {failed} {n}")
    elif len(argv) >= 2 and argv[1] == "wrk":
        ops, p50, p99, n, bad = parse_wrk(argv[2])
        ms = lambda v: "-" if v is None else f"{v:.3f}"
        print(f"{ops:.2f} {ms(p50)} {ms(p99)} {n} {bad}")
    elif len(argv) >= 3 and argv[1] == "table":
        extra = dict(zip(argv[3::2], argv[4::2]))
        table(argv[2], extra.get("--memory"), extra.get("--restart"))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
