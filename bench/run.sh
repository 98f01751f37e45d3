#!/usr/bin/env bash
# Side-by-side benchmark (`make bench`): what each server spends per request.
#
# exactly (--fsync always, and no) vs Redis 7 (appendfsync always, and no) vs
# PostgreSQL 15 vs a null server, on W1 claim, W2 flash sale, W3 transfer, W4 lock,
# W5 rate limit, with the same load for each: 64 connections, unpipelined and with
# -P 32 (redis-benchmark; W4: bench/lock_load.cc, unpipelined only; PostgreSQL:
# pgbench, unpipelined only). HTTP W1 runs beside them: exactly's claim as POST
# /v1/claim (both fsync modes), driven by wrk with bench/http/claim.lua (a new key per
# request, the same depths by HTTP/1.1 pipelining). On W1 the 3-node exactly group runs
# beside a 3-node etcd 3.4 doing the claim as a put-if-absent txn (bench/group.sh; etcd
# through wrk). Each run reports ops/s, p50/p99 and the server's CPU per request:
# utime+stime of the server's whole process tree (every thread; for PostgreSQL every
# process of the cluster; for the group and etcd their 3 processes) read from /proc just
# before and after the load, divided by the requests. On a 2-CPU machine the
# single-threaded load generator bounds every server's ops/s, so CPU per request is the
# figure that compares them.
# Systems alternate round by round; the tables show medians over rounds and ratios
# paired by round. Then RSS per record (bench/records.py memory) and restart time
# (bench/records.py restart).
# Every server runs from a temp dir on a free 127.0.0.1 port and is stopped by PID on
# exit. Raw outputs stay in the temp dir; the tables go to stdout and to
# bench/results/latest.md. docs/benchmarks.md records a real run and explains choices.
#
# Usage: bench/run.sh [--quick] [--only SYSTEMS] [--workloads W1,W2,W3,W4,W5]
#                     [--pipelines 1,32] [--rounds N] [--parts load,memory,restart]
#                     [--restart-full]
#   SYSTEMS: comma list of exactly-always, exactly-no, http-always, http-no, redis-always,
#   redis-no, postgresql, null, exactly-group, etcd (default: all); `exactly` means both
#   exactly-* single nodes, `http` both http-*, `redis` both redis-*. http-*: exactly over
#   HTTP, W1 only (other workloads skip it); its CPU per request divides by the claims
#   /metrics counted `won`. exactly-group and etcd run W1 only.
#   null: bench/null_server.cc, a RESP server that answers +OK at once and does nothing,
#   driven with Redis' ops (not W4): what the kernel and the load generator cost alone.
#   --parts: load = the workloads; memory = RSS per record (claims, accounts, transfer
#   ids; exactly beside Redis); restart = time from exec to PING answered on a data dir
#   of claims (snapshot plus journal).
#   --restart-full: the issue's size, 10M claims, 5M of them in 1 GiB of journal after
#   the snapshot (a few minutes more).
# Env:
#   BENCH_REQUESTS    requests per unpipelined RESP run    (default 200000; --quick 5000)
#   BENCH_REQUESTS_PIPELINED  requests per -P run         (default 1000000; --quick 20000)
#   BENCH_PG_SECONDS  seconds per pgbench run              (default 10; --quick 3)
#   BENCH_HTTP_SECONDS  seconds per wrk run (HTTP W1)      (default 10; --quick 3)
#   BENCH_CLIENTS     connections                          (default 64)
#   BENCH_THREADS     redis-benchmark --threads            (default 1: see docs/benchmarks.md)
#   BENCH_PG_JOBS     pgbench -j                           (default 2)
#   BENCH_REPEAT      rounds, like --rounds                (default 3; --quick 1)
#   BENCH_RECORDS     records per kind for --parts memory  (default 1000000; --quick 50000)
#   BENCH_RESTART_CLAIMS  claims in the restart data dir   (default 1000000; --quick 50000)
#   BENCH_RESTART_JOURNAL_CLAIMS  of them, how many follow the snapshot in the journal
#                     (default half)
#   BENCH_RESTART_JOURNAL_MB  pad the journal's claims with a NOTE to about this many
#                     MiB of journal (default 0: no padding, ~20 bytes a claim)
#   BENCH_TMPDIR      parent of the temp dir; put it on the disk being measured
#   BENCH_KEEP_DATA   1 keeps the servers' data dirs after the run
#   EXACTLY_BIN       server binary                        (default build/exactly)
#   PG_BIN            PostgreSQL 15 binaries               (default /usr/lib/postgresql/15/bin)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")

quick=0
only="exactly-always,exactly-no,http-always,http-no,redis-always,redis-no,postgresql,null,exactly-group,etcd"
workloads="W1,W2,W3,W4,W5"
pipelines="1,32"
parts="load,memory,restart"
rounds=""
restart_full=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --only) only=$2; shift ;;
    --workloads) workloads=$2; shift ;;
    --pipelines) pipelines=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --parts) parts=$2; shift ;;
    --restart-full) restart_full=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
# `exactly` and `redis` stand for both of their fsync modes.
only=",$only,"
only=${only//,exactly,/,exactly-always,exactly-no,}
only=${only//,redis,/,redis-always,redis-no,}
only=${only//,http,/,http-always,http-no,}
only=${only#,}
only=${only%,}

if [ "$quick" = 1 ]; then
  requests=${BENCH_REQUESTS:-5000}
  requests_pipelined=${BENCH_REQUESTS_PIPELINED:-20000}
  pg_seconds=${BENCH_PG_SECONDS:-3}
  http_seconds=${BENCH_HTTP_SECONDS:-3}
  repeat=${rounds:-${BENCH_REPEAT:-1}}
  records=${BENCH_RECORDS:-50000}
  restart_claims=${BENCH_RESTART_CLAIMS:-50000}
else
  requests=${BENCH_REQUESTS:-200000}
  requests_pipelined=${BENCH_REQUESTS_PIPELINED:-1000000}
  pg_seconds=${BENCH_PG_SECONDS:-10}
  http_seconds=${BENCH_HTTP_SECONDS:-10}
  repeat=${rounds:-${BENCH_REPEAT:-3}}
  records=${BENCH_RECORDS:-1000000}
  restart_claims=${BENCH_RESTART_CLAIMS:-1000000}
fi
restart_journal_mb=${BENCH_RESTART_JOURNAL_MB:-0}
if [ "$restart_full" = 1 ]; then
  restart_claims=10000000
  restart_journal_mb=1024
fi
restart_journal_claims=${BENCH_RESTART_JOURNAL_CLAIMS:-$((restart_claims / 2))}
clients=${BENCH_CLIENTS:-64}
threads=${BENCH_THREADS:-1}
pg_jobs=${BENCH_PG_JOBS:-2}
exactly_bin=${EXACTLY_BIN:-$root/build/exactly}
pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
clk_tck=$(getconf CLK_TCK)

# Key spaces, fixtures and ops of W1-W5.
# shellcheck source=bench/workloads.sh
source "$here/workloads.sh"
# The replicated systems: the 3-node exactly group and a 3-node etcd.
# shellcheck source=bench/group.sh
source "$here/group.sh"

for tool in redis-server redis-cli redis-benchmark python3 "${CXX:-c++}"; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool not found (scripts/install_deps.sh)" >&2; exit 1; }
done

work=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/exactly-bench.XXXXXX")
chmod 755 "$work"
raw=$work/raw
mkdir -p "$raw" "$work/data"
results=$work/results.tsv
: >"$results"

server_pids=()
pg_data=""
as_pg=()
if [ "$(id -u)" -eq 0 ]; then as_pg=(runuser -u postgres --); fi

cleanup() {
  local pid
  for pid in "${server_pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for pid in "${server_pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  if [ -n "$pg_data" ] && [ -f "$pg_data/postmaster.pid" ]; then
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  if [ "${BENCH_KEEP_DATA:-0}" != 1 ]; then rm -rf "$work/data"; fi
  echo "run.sh: raw outputs in $work" >&2
}
trap cleanup EXIT

log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }
want() { [[ ",$1," == *",$2,"* ]]; }
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# One result: system, workload, pipeline depth, ops/s, p50, p99, server CPU us per request,
# note; the round ($rep) goes last.
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" "$rep" >>"$results"; }
# CPU ticks spent so far by the process tree of PID $1 (bench/procstat.py).
cpu_ticks() { python3 "$here/procstat.py" cpu "$1"; }
# Microseconds per request from ticks before ($1), after ($2) and requests ($3).
cpu_us() { python3 -c "import sys; print(f'{($2 - $1) * 1e6 / $clk_tck / $3:.3f}')"; }
# One RESP call; prints the raw reply (redis-cli's plain output).
cli() { local port=$1; shift; redis-cli -h 127.0.0.1 -p "$port" "$@"; }

wait_ping() {
  local port=$1 pid=$2
  for _ in $(seq 100); do
    if [ "$(redis-cli -h 127.0.0.1 -p "$port" PING 2>/dev/null)" = PONG ]; then return 0; fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

# Starts a RESP server for system $1 in data dir $2 on port $3; sets server_pid.
start_resp() {
  local system=$1 dir=$2 port=$3
  mkdir -p "$dir"
  case "$system" in
    exactly-always | exactly-no)
      "$exactly_bin" serve --dir "$dir" --port "$port" --fsync "${system#exactly-}" \
        >"$dir/server.log" 2>&1 &
      ;;
    http-always | http-no)
      "$exactly_bin" serve --dir "$dir" --port "$port" --http-port "$http_port" \
        --fsync "${system#http-}" >"$dir/server.log" 2>&1 &
      ;;
    null)
      "$null_server" "$port" >"$dir/server.log" 2>&1 &
      ;;
    redis-always | redis-no)
      redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save '' \
        --appendonly yes --appendfsync "${system#redis-}" --logfile "$dir/server.log" &
      ;;
  esac
  server_pid=$!
  server_pids+=("$server_pid")
  wait_ping "$port" "$server_pid"
}

# --- smoke and state checks per (system, workload) ----------------------------------------

# Prints the smoke commands of (system, workload) for resp.py, from the op with a fixed id.
# W1-W3: the op twice (the second must be the idempotent answer). W4: the acquire by two
# owners (the second must be refused). W5: limit_n + 1 requests on one key at once (the
# last alone must be limited).
smoke_cmds() {
  local system=$1 w=$2 i
  local sample=("${op[@]//__rand_int__/000000000001}")
  local line="${sample[*]}"
  case "${system%%-*}:$w" in
    exactly:W4) printf '%s\n' "$line" "${line/ o / o2 }" ;;
    redis:W4) printf '%s\n' "$line" "${line/ t / t2 }" ;;
    *:W5) for ((i = 0; i <= limit_n; i++)); do echo "$line"; done ;;
    *) printf '%s\n%s\n' "$line" "$line" ;;
  esac
}

# Checks the smoke replies in file $2 for workload $1; prints a problem, or nothing.
smoke_problem() {
  local w=$1 file=$2 allowed
  case "$w" in
    W4)
      if ! sed -n 2p "$file" | grep -q -w -e busy -e None; then
        echo "SMOKE: a second owner's acquire answered $(sed -n 2p "$file" | cut -c1-60); "
      fi
      ;;
    W5)
      allowed=$(head -n "$limit_n" "$file" | grep -c -w allowed || true)
      if [ "$allowed" != "$limit_n" ] || ! tail -1 "$file" | grep -q -w limited; then
        echo "SMOKE: $allowed of the first $limit_n allowed, then $(tail -1 "$file" | cut -c1-60); "
      fi
      ;;
    *)
      # The repeat must answer the idempotent outcome: `again`, or nil for SET NX.
      if ! sed -n 2p "$file" | grep -q -w -e again -e None; then
        echo "SMOKE: a repeated op answered $(sed -n 2p "$file" | cut -c1-60); "
      fi
      ;;
  esac
}

# Checks the state after a run; prints a short note ("check ok: ..." or "CHECK FAILED: ...").
resp_check() {
  local system=$1 w=$2 port=$3 a b sum i id
  case "${system%%-*}:$w" in
    exactly:W2 | redis:W2)
      if [ "${system%%-*}" = exactly ]; then
        a=$(echo "BALANCE stock" | python3 "$here/resp.py" --port "$port" --sum balance)
        b=$(echo "BALANCE won" | python3 "$here/resp.py" --port "$port" --sum balance)
      else
        a=$(cli "$port" GET stock)
        b=$(cli "$port" SCARD winners)
      fi
      if [ $((a + b)) -eq "$stock" ] && [ "$b" -le $((sent + 1)) ]; then
        echo "check ok: $b won of $sent+1 draws, stock+won conserved"
      else
        echo "CHECK FAILED: stock=$a won=$b (want sum $stock, won <= $((sent + 1)))"
      fi
      ;;
    exactly:W3 | redis:W3)
      for side in a b; do
        sum=$(for ((i = 0; i < pool; i++)); do
          printf -v id '%012d' "$i"
          if [ "${system%%-*}" = exactly ]; then echo "BALANCE $side:$id"; else echo "GET $side:$id"; fi
        done | python3 "$here/resp.py" --port "$port" --sum balance)
        if [ "$side" = a ]; then a=$sum; else b=$sum; fi
      done
      local moved=$((b - pool * fund))
      if [ $((a + b)) -eq $((2 * pool * fund)) ] && [ "$moved" -le $((sent + 1)) ] \
        && [ "$moved" -ge 0 ]; then
        echo "check ok: $moved of $sent+1 transfers moved money, total conserved"
      else
        echo "CHECK FAILED: payers=$a payees=$b (want total $((2 * pool * fund)))"
      fi
      ;;
    *:W4)
      # lock_load counted every reply; it exits 3 (and the run fails) on a wrong one.
      echo "check ok: $(grep -m1 '^outcomes:' "$raw/$4.err" | sed 's/^outcomes: //; s/ seconds=.*//')"
      ;;
    *) echo "" ;;
  esac
}

# Pipeline depths that apply to (system $1, workload $2): lock_load and pgbench do not
# pipeline, so W4 and PostgreSQL run unpipelined only.
depths_of() {
  local p
  for p in ${pipelines//,/ }; do
    if [ "$p" != 1 ] && { [ "$2" = W4 ] || [ "$1" = postgresql ]; }; then continue; fi
    echo "$p"
  done
}

# Records a row without numbers, for every depth of (system, workload), saying why.
skip_rows() {
  local p
  for p in $(depths_of "$1" "$2"); do row "$1" "$2" "$p" - - - - "$3"; done
}

run_resp() {
  local system=$1 w=$2 dir port sha="" note tag=$1-$2-r$3
  dir=$work/data/$tag
  port=$(free_port)
  if [ "${system%%-*}" = exactly ] && [ ! -x "$exactly_bin" ]; then
    log "$tag: skipped, $exactly_bin is not built yet"
    skip_rows "$system" "$w" "skipped: binary not built"
    return
  fi
  if [ "$system" = null ] && [ "$w" = W4 ]; then
    return  # lock_load needs real tokens; a server that answers +OK has none
  fi
  log "$tag: starting on port $port"
  if ! start_resp "$system" "$dir" "$port"; then
    log "$tag: server did not answer PING; see $raw/$tag.server.log"
    cp "$dir/server.log" "$raw/$tag.server.log" 2>/dev/null || true
    skip_rows "$system" "$w" "skipped: server did not answer PING"
    return
  fi
  if [ "$system" = null ]; then
    # Redis' own ops, unexecuted: same request sizes, no setup, nothing to check.
    resp_op redis-always "$w" 0000000000000000000000000000000000000000
    run_load "$system" "$w" "$port" "$tag" ""
    return
  fi
  if [ "${system%%-*}" = redis ]; then
    case "$w" in
      W2) sha=$(cli "$port" -x SCRIPT LOAD <"$here/redis/flash_sale.lua") ;;
      W3) sha=$(cli "$port" -x SCRIPT LOAD <"$here/redis/transfer.lua") ;;
      W4) sha=$(cli "$port" -x SCRIPT LOAD <"$here/redis/unlock.lua") ;;
      W5) sha=$(cli "$port" -x SCRIPT LOAD <"$here/redis/rate_limit.lua") ;;
    esac
  fi
  if ! resp_setup "$system" "$w" | python3 "$here/resp.py" --port "$port" --summary --strict \
    >"$raw/$tag.setup" 2>&1; then
    log "$tag: setup failed: $(tail -c 300 "$raw/$tag.setup")"
    skip_rows "$system" "$w" "setup answered errors: $(tail -1 "$raw/$tag.setup" | cut -c1-120)"
    stop_pid "$server_pid"
    return
  fi
  resp_op "$system" "$w" "$sha"
  smoke_cmds "$system" "$w" | python3 "$here/resp.py" --port "$port" --print \
    >"$raw/$tag.smoke" 2>&1 || true
  if grep -q '^(error)' "$raw/$tag.smoke"; then
    log "$tag: the op answers an error: $(head -c 300 "$raw/$tag.smoke")"
    skip_rows "$system" "$w" \
      "op answered error: $(grep -m1 '^(error)' "$raw/$tag.smoke" | cut -c1-120)"
    stop_pid "$server_pid"
    return
  fi
  local smoke_note
  smoke_note=$(smoke_problem "$w" "$raw/$tag.smoke")
  if [ -n "$smoke_note" ]; then log "$tag: $smoke_note"; fi
  run_load "$system" "$w" "$port" "$tag" "$smoke_note" "$sha"
}

# Drives the server of run_resp with the op at each pipeline depth, one after the other
# on the same server (redis-benchmark, or lock_load for W4), reading the server's CPU
# just before and after each load; checks the state, records the rows, stops the server.
run_load() {
  local system=$1 w=$2 port=$3 tag=$4 smoke_note=$5 sha=${6:-} note dir=$work/data/$4
  local p n run before after ops p50 p99 us
  local measured=()
  sent=0
  for p in $(depths_of "$system" "$w"); do
    run=$tag-P$p
    n=$requests
    if [ "$p" != 1 ]; then n=$requests_pipelined; fi
    local bench_args=(-h 127.0.0.1 -p "$port" -c "$clients" -n "$n" -r "$range" -P "$p" --csv)
    if [ "$threads" -gt 1 ]; then bench_args+=(--threads "$threads"); fi
    echo "load: $(cut -d' ' -f1-3 /proc/loadavg)" >"$raw/$run.load"
    local load_cmd=(redis-benchmark "${bench_args[@]}" "${op[@]}")
    if [ "$w" = W4 ]; then
      load_cmd=("$lock_load" --port "$port" --clients "$clients" --requests "$n"
        --names "$lock_names" --lease "$lease_ms" --mode "${system%%-*}")
      if [ -n "$sha" ]; then load_cmd+=(--sha "$sha"); fi
    fi
    log "$run: ${load_cmd[*]}"
    before=$(cpu_ticks "$server_pid")
    if "${load_cmd[@]}" >"$raw/$run.csv" 2>"$raw/$run.err"; then
      after=$(cpu_ticks "$server_pid")
      sent=$((sent + n))
      read -r ops p50 p99 < <(python3 "$here/report.py" redis "$raw/$run.csv")
      us=$(cpu_us "$before" "$after" "$n")
      echo "cpu_ticks: $before $after clk_tck=$clk_tck requests=$n" >>"$raw/$run.load"
      measured+=("$p $ops $p50 $p99 $us")
      log "$run: $ops ops/s p50 $p50 ms p99 $p99 ms, server CPU $us us/request"
    else
      note=$(grep -v -i warning "$raw/$run.err" | tr '\n' ' ' | tail -c 240)
      log "$run: the load stopped: $note"
      row "$system" "$w" "$p" - - - - "load stopped: $note"
    fi
  done
  note=$smoke_note$(resp_check "$system" "$w" "$port" "$tag-P1")
  for run in "${measured[@]}"; do
    read -r p ops p50 p99 us <<<"$run"
    row "$system" "$w" "$p" "$ops" "$p50" "$p99" "$us" "$note"
  done
  cp "$dir/server.log" "$raw/$tag.server.log" 2>/dev/null || true
  stop_pid "$server_pid"
}

# --- HTTP W1 -------------------------------------------------------------------------------

# exactly's claim over POST /v1/claim: a smoke (a repeat answers `again`), then wrk at each
# depth on the same server, with the server's CPU read just before and after each load.
# wrk runs for a time, not a count, and does not count the responses still in flight when
# it stops; the server's own count of `won` claims is what the CPU divides by.
run_http() {
  local system=$1 w=$2 tag=$1-$2-r$3 dir port p run before after won_before won_after
  local ops p50 p99 bad us note smoke_note
  [ "$w" = W1 ] || return 0
  dir=$work/data/$tag
  if [ ! -x "$exactly_bin" ]; then
    log "$tag: skipped, $exactly_bin is not built yet"
    skip_rows "$system" "$w" "skipped: binary not built"
    return
  fi
  port=$(free_port)
  http_port=$(free_port)
  log "$tag: starting on port $port, HTTP $http_port"
  if ! start_resp "$system" "$dir" "$port"; then
    log "$tag: server did not answer PING; see $raw/$tag.server.log"
    cp "$dir/server.log" "$raw/$tag.server.log" 2>/dev/null || true
    skip_rows "$system" "$w" "skipped: server did not answer PING"
    return
  fi
  smoke_note=$(python3 "$here/http/claims.py" smoke "$http_port" smoke-key 2>&1 || true)
  if [ -n "$smoke_note" ]; then log "$tag: $smoke_note"; fi
  for p in $(depths_of "$system" "$w"); do
    run=$tag-P$p
    local load_cmd=(wrk -t 1 -c "$clients" -d "${http_seconds}s" --latency
      -s "$here/http/claim.lua" "http://127.0.0.1:$http_port" -- "$run" "$p")
    echo "load: $(cut -d' ' -f1-3 /proc/loadavg)" >"$raw/$run.load"
    log "$run: ${load_cmd[*]}"
    won_before=$(python3 "$here/http/claims.py" won "$http_port")
    before=$(cpu_ticks "$server_pid")
    if "${load_cmd[@]}" >"$raw/$run.out" 2>"$raw/$run.err"; then
      after=$(cpu_ticks "$server_pid")
      won_after=$(python3 "$here/http/claims.py" won "$http_port")
      read -r ops p50 p99 _ bad < <(python3 "$here/report.py" wrk "$raw/$run.out")
      if [ $((won_after - won_before)) -le 0 ]; then
        row "$system" "$w" "$p" - - - - "no claim won under the load: see $raw/$run.out"
        continue
      fi
      us=$(cpu_us "$before" "$after" $((won_after - won_before)))
      echo "cpu_ticks: $before $after clk_tck=$clk_tck won=$((won_after - won_before))" \
        >>"$raw/$run.load"
      note=$smoke_note
      if [ "$bad" != 0 ]; then note="${note}CHECK FAILED: $bad responses not 2xx; "; fi
      row "$system" "$w" "$p" "$ops" "$p50" "$p99" "$us" \
        "${note}check ok: $((won_after - won_before)) claims won"
      log "$run: $ops ops/s p50 $p50 ms p99 $p99 ms, server CPU $us us/request"
    else
      note=$(tr '\n' ' ' <"$raw/$run.err" | tail -c 240)
      log "$run: the load stopped: $note"
      row "$system" "$w" "$p" - - - - "load stopped: $note"
    fi
  done
  cp "$dir/server.log" "$raw/$tag.server.log" 2>/dev/null || true
  stop_pid "$server_pid"
}

# --- PostgreSQL ----------------------------------------------------------------------------

pg_port=""
pg() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres "$@"; }

start_pg() {
  pg_data=$work/data/pg
  local sock=$work/data/pgsock
  mkdir -p "$pg_data" "$sock"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$work/data" "$pg_data" "$sock"; fi
  pg_port=$(free_port)
  log "postgresql: initdb, start on port $pg_port"
  "${as_pg[@]}" "$pg_bin/initdb" -D "$pg_data" -U postgres --auth=trust -E UTF8 \
    >"$raw/pg-initdb.log" 2>&1
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_data/server.log" -w \
    -o "-p $pg_port -k $sock -c fsync=on -c synchronous_commit=on -c listen_addresses=127.0.0.1" \
    start >"$raw/pg-start.log" 2>&1
  pg -d postgres -c 'CREATE DATABASE bench'
  pg -d bench -f "$here/pg/schema.sql" >"$raw/pg-schema.log" 2>&1
}

pg_check() {
  local w=$1 a b
  case "$w" in
    W2)
      a=$(pg -d bench -At -c 'SELECT n FROM stock WHERE id = 1')
      b=$(pg -d bench -At -c 'SELECT count(*) FROM winners')
      if [ $((a + b)) -eq "$stock" ]; then
        echo "check ok: $b won, stock+won conserved"
      else
        echo "CHECK FAILED: stock=$a won=$b"
      fi
      ;;
    W3)
      a=$(pg -d bench -At -c 'SELECT sum(n) FROM accounts')
      b=$(pg -d bench -At -c "SELECT count(*) FROM transfers WHERE outcome = 'ok'")
      local moved
      moved=$(pg -d bench -At -c "SELECT sum(n) - $((pool * fund)) FROM accounts WHERE id >= $pool")
      if [ "$a" -eq $((2 * pool * fund)) ] && [ "$moved" -eq "$b" ]; then
        echo "check ok: $b transfers moved money, total conserved"
      else
        echo "CHECK FAILED: total=$a moved=$moved ok_ids=$b"
      fi
      ;;
    W5)
      a=$(pg -d bench -At -c 'SELECT count(*), coalesce(sum(n), 0) FROM limits')
      echo "check ok: ${a%%|*} keys counted, ${a##*|} requests in their open windows"
      ;;
    *) echo "" ;;
  esac
}

# Puts the tables back to their initial state and lets PostgreSQL finish its own
# background work (vacuum, checkpoint) now, so it neither carries rows from one run
# to the next nor steals CPU and disk from the next system's run.
pg_reset() {
  pg -d bench -c 'TRUNCATE claims, winners, transfers, limits' \
    -c "UPDATE stock SET n = $stock WHERE id = 1" -c "UPDATE accounts SET n = $fund" \
    -c 'VACUUM ANALYZE' -c CHECKPOINT
}

run_pg() {
  local w=$1 script tag=postgresql-$1-r$2
  case "$w" in
    W1) script=$here/pg/w1_claim.sql ;;
    W2) script=$here/pg/w2_flash_sale.sql ;;
    W3) script=$here/pg/w3_transfer.sql ;;
    W4) script=$here/pg/w4_lock.sql ;;
    W5) script=$here/pg/w5_rate_limit.sql ;;
  esac
  pg_reset
  local args=(-h 127.0.0.1 -p "$pg_port" -U postgres -n -c "$clients" -j "$pg_jobs"
    -T "$pg_seconds" -M prepared -f "$script" -l --log-prefix="$raw/$tag.log")
  log "$tag: pgbench ${args[*]} bench"
  echo "load: $(cut -d' ' -f1-3 /proc/loadavg)" >"$raw/$tag.load"
  # The cluster's CPU: the postmaster and every process below it (backends, which
  # exit with pgbench's connections, count through the postmaster's cutime/cstime).
  local postmaster before after
  postmaster=$(head -1 "$pg_data/postmaster.pid")
  before=$(cpu_ticks "$postmaster")
  if pgbench "${args[@]}" bench >"$raw/$tag.out" 2>&1; then
    sleep 0.5  # the backends exit and are reaped after pgbench disconnects
    after=$(cpu_ticks "$postmaster")
    local ops p50 p99 failed n note us
    read -r ops p50 p99 failed n < <(python3 "$here/report.py" pgbench "$raw/$tag.out" "$raw/$tag.log")
    us=$(cpu_us "$before" "$after" "$n")
    echo "cpu_ticks: $before $after clk_tck=$clk_tck transactions=$n" >>"$raw/$tag.load"
    note=$(pg_check "$w")
    if [ "$failed" != 0 ]; then note="$failed failed transactions; $note"; fi
    row postgresql "$w" 1 "$ops" "$p50" "$p99" "$us" "$note"
    log "$tag: $ops tps p50 $p50 ms p99 $p99 ms, cluster CPU $us us/transaction $note"
  else
    log "$tag: pgbench failed: $(tail -3 "$raw/$tag.out")"
    row postgresql "$w" 1 - - - - "pgbench failed: $(tail -1 "$raw/$tag.out" | cut -c1-120)"
  fi
  pg_reset
}

# --- machine facts -------------------------------------------------------------------------

# fdatasync latency of a 4 KiB append in the temp dir, i.e. on the disk the servers use.
probe_fsync() {
  python3 - "$work/fsync-probe" <<'EOF'
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
samples = []
for _ in range(500):
    os.write(fd, b"x" * 4096)
    start = time.perf_counter()
    os.fdatasync(fd)
    samples.append(time.perf_counter() - start)
os.close(fd)
os.unlink(sys.argv[1])
samples.sort()
print(f"{samples[len(samples) // 2] * 1e3:.3f} ms median, "
      f"{samples[int(len(samples) * 0.99)] * 1e3:.3f} ms p99 (500 x 4 KiB append + fdatasync)")
EOF
}

want_exactly() { want "$only" exactly-always || want "$only" exactly-no; }
if want "$parts" load && { want "$only" http-always || want "$only" http-no; } &&
  [[ ",$workloads," == *",W1,"* ]] && ! command -v wrk >/dev/null; then
  echo "run.sh: wrk not found (scripts/install_deps.sh), needed by HTTP W1" >&2
  exit 1
fi

# A private copy of the server binary: a rebuild of build/ during the run must not
# swap (or half-write) the binary between runs.
if [ -x "$exactly_bin" ]; then
  cp "$exactly_bin" "$work/exactly"
  exactly_bin=$work/exactly
fi

# The helpers, built here from source so the run needs no build dir for them: the null
# server, the W4 load client, the loader of bench/records.py.
null_server=$work/null_server
lock_load=$work/lock_load
resp_load=$work/resp_load
build_tool() {
  log "building $work/$1"
  "${CXX:-c++}" -O2 -std=c++20 -o "$work/$1" "$here/$1.cc"
}
if want "$parts" load && want "$only" null; then build_tool null_server; fi
if want "$parts" load && want "$workloads" W4; then build_tool lock_load; fi
if want "$parts" memory || want "$parts" restart; then build_tool resp_load; fi

started=$(date -u '+%Y-%m-%d %H:%M UTC')
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
fsync_line=$(probe_fsync)
log "fdatasync probe: $fsync_line"

# Rounds: in each, every system runs the workload once, in an order that rotates with
# the round, so a burst of outside load on the shared machine (or a position in the
# sequence) hits one run of each system rather than every run of one.
if want "$parts" load; then
  if want "$only" postgresql; then start_pg; fi
  systems=(exactly-always redis-always exactly-no redis-no null postgresql http-always http-no
    exactly-group etcd)
  for w in ${workloads//,/ }; do
    for ((rep = 1; rep <= repeat; rep++)); do
      for ((k = 0; k < ${#systems[@]}; k++)); do
        system=${systems[$(((k + rep - 1) % ${#systems[@]}))]}
        want "$only" "$system" || continue
        case "$system:$w" in
          postgresql:*) run_pg "$w" "$rep" ;;
          http-*) run_http "$system" "$w" "$rep" ;;
          exactly-group:W1) run_exactly_group "$w" "$rep" ;;
          etcd:W1) run_etcd "$w" "$rep" ;;
          exactly-group:* | etcd:*) ;;  # the replicated comparison is W1's claim only
          *) run_resp "$system" "$w" "$rep" ;;
        esac
      done
    done
  done
fi

memory_tsv=$work/memory.tsv
restart_tsv=$work/restart.tsv
if want "$parts" memory; then
  log "RSS per record: $records of each kind"
  python3 "$here/records.py" memory --exactly "$exactly_bin" --resp-load "$resp_load" \
    --records "$records" --work "$work/data/memory" --out "$memory_tsv" || true
fi
if want "$parts" restart; then
  log "restart: $restart_claims claims, $restart_journal_claims of them in the journal"
  python3 "$here/records.py" restart --exactly "$exactly_bin" --resp-load "$resp_load" \
    --claims "$restart_claims" --journal-claims "$restart_journal_claims" \
    --journal-mb "$restart_journal_mb" --work "$work/data/restart" --out "$restart_tsv" || true
fi

fsync_end=$(probe_fsync)
log "fdatasync probe after the runs: $fsync_end"
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

exactly_rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
table_md=$work/table.md
report_args=(table "$results")
if [ -s "$memory_tsv" ]; then report_args+=(--memory "$memory_tsv"); fi
if [ -s "$restart_tsv" ]; then report_args+=(--restart "$restart_tsv"); fi
{
  echo "# exactly vs Redis 7 vs PostgreSQL 15 (and, replicated, vs etcd 3.4): server CPU per request"
  echo
  echo "- date: $started"
  echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(uname -sr)"
  echo "- load average (1, 5, 15 min) at the start: $load_start; at the end: $load_end"
  echo "- fdatasync in the temp dir: before the runs $fsync_line; after: $fsync_end"
  echo "- exactly: commit $exactly_rev; $(redis-server --version | cut -d' ' -f1-3); $("$pg_bin/postgres" --version)"
  echo "- load: $clients connections; RESP: redis-benchmark -n $requests unpipelined, -n $requests_pipelined at -P > 1 (pipelines: $pipelines; W4: bench/lock_load.cc, unpipelined); HTTP W1: wrk -t 1 -d ${http_seconds}s, bench/http/claim.lua; PostgreSQL: pgbench -T $pg_seconds -j $pg_jobs -M prepared; $repeat round(s), medians$([ "$threads" -gt 1 ] && echo "; redis-benchmark --threads $threads")$([ "$quick" = 1 ] && echo "; --quick run")"
  echo "- server CPU: utime+stime of the server's process tree from /proc/<pid>/stat, CLK_TCK $clk_tck; the 3-node group and etcd: summed over their 3 processes"
  if want "$only" etcd && command -v etcd >/dev/null; then
    echo "- etcd: $(etcd --version | head -1); load: wrk -t1 with bench/etcd/claim_txn.lua (POST /v3/kv/txn), $clients connections, at -P N $clients x N connections (the same requests in flight: its HTTP gateway does not gain from pipelining), for a time rather than a count"
  fi
  echo
  python3 "$here/report.py" "${report_args[@]}"
} >"$table_md"
mkdir -p "$here/results"
cp "$table_md" "$here/results/latest.md"
cp "$results" "$raw/results.tsv"
for f in "$memory_tsv" "$restart_tsv"; do if [ -f "$f" ]; then cp "$f" "$raw/"; fi; done
echo
cat "$table_md"
