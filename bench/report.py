#!/usr/bin/env python3
"""Parses the load tools' raw outputs and prints the side-by-side table for bench/run.sh.

  report.py redis CSV_FILE              -> "ops p50_ms p99_ms"  (redis-benchmark --csv)
  report.py pgbench OUT_FILE LOG_PREFIX -> "ops p50_ms p99_ms"  (pgbench stdout + -l logs)
  report.py table RESULTS_TSV           -> markdown tables (results, then ratios)

RESULTS_TSV has one row per run: system, workload, ops/s, p50, p99, note; a
run that did not happen has "-" numbers and says why in the note.
Standard library only.
"""
import csv
import glob
import math
import re
import sys

SYSTEMS = ["exactly", "redis-always", "redis-no", "postgresql", "null"]
LABELS = {
    "exactly": "exactly (--fsync always)",
    "redis-always": "Redis 7 (appendfsync always)",
    "redis-no": "Redis 7 (appendfsync no)",
    "postgresql": "PostgreSQL 15 (fsync on, synchronous_commit on)",
    "null": "null server: answers +OK at once, does nothing (bench/null_server.cc)",
}
# Issue 2's targets: exactly / peer ops/s at least this, per workload.
TARGETS = {
    "W1": {"redis-always": 1.5, "redis-no": 0.9, "postgresql": 5},
    "W2": {"redis-always": 2, "redis-no": 0.9, "postgresql": 50},
    "W3": {"redis-always": 2, "redis-no": 0.9, "postgresql": 10},
}
WORKLOADS = {"W1": "W1 claim", "W2": "W2 flash sale", "W3": "W3 transfer", "W4": "W4 lock",
             "W5": "W5 rate limit"}


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


def fmt_num(v, digits):
    return "-" if v is None else f"{v:,.{digits}f}"


def table(path):
    runs = {}
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 5:
                continue
            system, workload, ops, p50, p99 = parts[:5]
            note = parts[5] if len(parts) > 5 else ""
            rnd = parts[6] if len(parts) > 6 else "1"
            num = lambda s: None if s in ("-", "") else float(s)
            runs.setdefault((system, workload), []).append(
                (num(ops), num(p50), num(p99), note, rnd))
    results = {}
    notes = {}
    for key, rows in runs.items():
        measured = sorted((r for r in rows if r[0] is not None), key=lambda r: r[0])
        if not measured:
            # Nothing measured: show the first reason.
            results[key] = rows[0][:3]
            notes[key] = rows[0][3]
            continue
        # The median run by throughput, whole (its own p50 and p99), so the row is one
        # real run rather than a blend of several.
        median = measured[(len(measured) - 1) // 2]
        results[key] = median[:3]
        note = median[3]
        failed = [r[3] for r in rows if "FAILED" in r[3] or "SMOKE" in r[3] or r[0] is None]
        if failed and failed[0] != note:
            note = (note + "; " if note else "") + "another run: " + failed[0]
        if len(measured) > 1:
            spread = f"median of {len(measured)} runs, {measured[0][0]:,.0f}-{measured[-1][0]:,.0f} ops/s"
            note = spread + ("; " + note if note else "")
        notes[key] = note

    out = ["| workload | system | ops/s | p50 ms | p99 ms | note |",
           "| --- | --- | ---: | ---: | ---: | --- |"]
    for w, wname in WORKLOADS.items():
        for s in SYSTEMS:
            if (s, w) not in results:
                continue
            ops, p50, p99 = results[(s, w)]
            out.append(f"| {wname} | {LABELS[s]} | {fmt_num(ops, 0)} | {fmt_num(p50, 3)} | "
                       f"{fmt_num(p99, 3)} | {notes[(s, w)]} |")
    out.append("")
    out.append("Ratios, exactly / peer: throughput (above 1 = exactly does more ops/s) and "
               "p99 latency (below 1 = exactly answers faster). Each ratio is taken between "
               "runs of the same round, which ran minutes apart at most, and the table shows "
               "the median over rounds: outside load that hits a whole round cancels out.")
    out.append("")
    peers = ["redis-always", "redis-no", "postgresql", "null"]
    head = ["workload"]
    for p in peers:
        head += [f"ops/s vs {p}", f"p99 vs {p}"]
    out.append("| " + " | ".join(head) + " |")
    out.append("| --- |" + " ---: |" * (len(head) - 1))
    def by_round(system, workload):
        return {r[4]: r for r in runs.get((system, workload), []) if r[0] is not None}

    def median(values):
        values = sorted(values)
        if not values:
            return None
        mid = len(values) // 2
        return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2

    for w, wname in WORKLOADS.items():
        mine = by_round("exactly", w)
        cells = [wname]
        for p in peers:
            theirs = by_round(p, w)
            rounds = sorted(set(mine) & set(theirs))
            ops = median([mine[r][0] / theirs[r][0] for r in rounds])
            p99 = median([mine[r][2] / theirs[r][2] for r in rounds if theirs[r][2]])
            cells.append("-" if ops is None else f"{ops:.2f}x")
            cells.append("-" if p99 is None else f"{p99:.2f}x")
        out.append("| " + " | ".join(cells) + " |")

    # What each target asks for in ops/s, beside the most any server reached here.
    out.append("")
    out.append("Targets: the ops/s each one asks of exactly (target ratio x the peer's "
               "median), beside what the null server reached on this machine with the same "
               "load generator. The null server is a yardstick, not a hard limit: a server "
               "that answers in groups (after a sync) makes the load generator's work per "
               "reply cheaper and can go past it.")
    out.append("")
    out.append("| workload | target | asks for ops/s | exactly ops/s | null server ops/s | met |")
    out.append("| --- | --- | ---: | ---: | ---: | --- |")
    for w, targets in TARGETS.items():
        mine = by_round("exactly", w)
        for peer, want in targets.items():
            if (peer, w) not in results or ("exactly", w) not in results:
                continue
            theirs = by_round(peer, w)
            rounds = sorted(set(mine) & set(theirs))
            ratio = median([mine[r][0] / theirs[r][0] for r in rounds])
            asks = want * results[(peer, w)][0]
            null = results.get(("null", w), (None,))[0]
            verdict = "-" if ratio is None else ("yes" if ratio >= want else f"no ({ratio:.2f}x)")
            if ratio is not None and ratio < want and null is not None and asks > null:
                verdict += "; asks more than the null server did"
            out.append(f"| {WORKLOADS[w]} | {want}x {peer} | {fmt_num(asks, 0)} | "
                       f"{fmt_num(results[('exactly', w)][0], 0)} | {fmt_num(null, 0)} | "
                       f"{verdict} |")
    print("\n".join(out))


def main(argv):
    if len(argv) >= 2 and argv[1] == "redis":
        ops, p50, p99 = parse_redis(argv[2])
        print(f"{ops:.2f} {p50:.3f} {p99:.3f}")
    elif len(argv) >= 2 and argv[1] == "pgbench":
        ops, p50, p99, failed, n = parse_pgbench(argv[2], argv[3])
        print(f"{ops:.2f} {p50:.3f} {p99:.3f} {failed} {n}")
    elif len(argv) >= 2 and argv[1] == "table":
        table(argv[2])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
