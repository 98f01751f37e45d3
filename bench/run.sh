#!/usr/bin/env bash
# Side-by-side benchmark (`make bench`): exactly vs Redis 7 (appendfsync always, and no)
# vs PostgreSQL 15, on W1 claim, W2 flash sale, W3 transfer, W4 lock, W5 rate limit, with
# the same load for each: 64 connections, redis-benchmark for the RESP servers (W4:
# bench/lock_load.cc, which carries the lock token from the acquire into the release),
# pgbench for PostgreSQL.
# Every server runs from a temp dir on a free 127.0.0.1 port and is stopped by PID on
# exit. Raw outputs stay in the temp dir; the table goes to stdout and to
# bench/results/latest.md. docs/benchmarks.md records a real run and explains choices.
#
# Usage: bench/run.sh [--quick] [--only SYSTEMS] [--workloads W1,W2,W3,W4,W5]
#   SYSTEMS: comma list of exactly,redis-always,redis-no,postgresql,null (default: all)
#   null: bench/null_server.cc, a RESP server that answers +OK at once and does nothing,
#   driven with Redis' ops (not W4): a yardstick for what this machine and this load
#   generator allow.
# Env:
#   BENCH_REQUESTS    requests per RESP run       (default 200000; --quick 5000)
#   BENCH_PG_SECONDS  seconds per pgbench run     (default 20; --quick 3)
#   BENCH_CLIENTS     connections                 (default 64)
#   BENCH_THREADS     redis-benchmark --threads   (default 1: see docs/benchmarks.md)
#   BENCH_PG_JOBS     pgbench -j                  (default 2)
#   BENCH_REPEAT      runs per (system, workload), interleaved; the table shows the
#                     median run by ops/s         (default 3; --quick 1)
#   BENCH_TMPDIR      parent of the temp dir; put it on the disk being measured
#   BENCH_KEEP_DATA   1 keeps the servers' data dirs after the run
#   EXACTLY_BIN       server binary               (default build/exactly)
#   PG_BIN            PostgreSQL 15 binaries      (default /usr/lib/postgresql/15/bin)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")

quick=0
only="exactly,redis-always,redis-no,postgresql,null"
workloads="W1,W2,W3,W4,W5"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --only) only=$2; shift ;;
    --workloads) workloads=$2; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ "$quick" = 1 ]; then
  requests=${BENCH_REQUESTS:-5000}
  pg_seconds=${BENCH_PG_SECONDS:-3}
  repeat=${BENCH_REPEAT:-1}
else
  requests=${BENCH_REQUESTS:-200000}
  pg_seconds=${BENCH_PG_SECONDS:-20}
  repeat=${BENCH_REPEAT:-3}
fi
clients=${BENCH_CLIENTS:-64}
threads=${BENCH_THREADS:-1}
pg_jobs=${BENCH_PG_JOBS:-2}
exactly_bin=${EXACTLY_BIN:-$root/build/exactly}
pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}

# Key spaces. W1/W2 draw from 10^8 so almost every op hits a new key; W3 uses two
# pools of 5,000 accounts (payers a:, payees b:) so from != to by construction:
# redis-benchmark exits on the first error reply, and a from == to transfer is one.
claim_range=100000000
draw_range=100000000
pool=5000
fund=1000000
stock=1000000000
# W4: 10,000 lock names, 5 s leases; W5: 100,000 limit keys, 100 requests per 1,000 ms.
lock_names=10000
lease_ms=5000
limit_range=100000
limit_n=100
limit_ms=1000

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
# One result: system, workload, ops/s, p50, p99, note; the round ($rep) goes last.
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" "$rep" >>"$results"; }
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
    exactly)
      "$exactly_bin" serve --dir "$dir" --port "$port" --fsync always >"$dir/server.log" 2>&1 &
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

# --- fixtures and ops per (system, workload) ---------------------------------------------

# Prints the setup commands (one per line) for resp.py.
resp_setup() {
  local system=$1 w=$2 i id
  case "$system:$w" in
    exactly:W1 | redis-*:W1) ;;
    exactly:W2)
      printf '%s\n' "ACCOUNT stock" "ACCOUNT src MIN -inf" \
        "TRANSFER fund src stock $stock" "ACCOUNT won MAX +inf"
      ;;
    redis-*:W2) echo "SET stock $stock" ;;
    exactly:W3)
      echo "ACCOUNT src MIN -inf"
      for ((i = 0; i < pool; i++)); do
        printf -v id '%012d' "$i"
        printf 'ACCOUNT a:%s\nACCOUNT b:%s\nTRANSFER fund:a:%s src a:%s %d\nTRANSFER fund:b:%s src b:%s %d\n' \
          "$id" "$id" "$id" "$id" "$fund" "$id" "$id" "$fund"
      done
      ;;
    redis-*:W3)
      for ((i = 0; i < pool; i++)); do
        printf -v id '%012d' "$i"
        printf 'SET a:%s %d\nSET b:%s %d\n' "$id" "$fund" "$id" "$fund"
      done
      ;;
  esac
}

# Sets op (array) and range for redis-benchmark; $3 is the loaded script's sha, if any.
resp_op() {
  local system=$1 w=$2 sha=${3:-}
  case "$system:$w" in
    exactly:W1) op=(CLAIM 'c:__rand_int__' o1); range=$claim_range ;;
    redis-*:W1) op=(SET 'c:__rand_int__' o1 NX); range=$claim_range ;;
    exactly:W2) op=(TRANSFER 'draw:__rand_int__' stock won 1); range=$draw_range ;;
    redis-*:W2) op=(EVALSHA "$sha" 2 stock winners '__rand_int__'); range=$draw_range ;;
    exactly:W3)
      op=(TRANSFER 't:__rand_int__:__rand_int__:__rand_int__' 'a:__rand_int__' 'b:__rand_int__' 1)
      range=$pool
      ;;
    redis-*:W3)
      op=(EVALSHA "$sha" 3 't:__rand_int__:__rand_int__:__rand_int__' 'a:__rand_int__'
        'b:__rand_int__' 1)
      range=$pool
      ;;
    # W4 is driven by lock_load, not redis-benchmark; op is only the smoke's acquire.
    exactly:W4) op=(LOCK 'l:__rand_int__' o LEASE "$lease_ms"); range=$lock_names ;;
    redis-*:W4) op=(SET 'l:__rand_int__' t NX PX "$lease_ms"); range=$lock_names ;;
    exactly:W5) op=(LIMIT 'r:__rand_int__' WINDOW "$limit_n" PER "$limit_ms"); range=$limit_range ;;
    redis-*:W5) op=(EVALSHA "$sha" 1 'r:__rand_int__' "$limit_n" "$limit_ms"); range=$limit_range ;;
  esac
}

# Prints the smoke commands of (system, workload) for resp.py, from the op with a fixed id.
# W1-W3: the op twice (the second must be the idempotent answer). W4: the acquire by two
# owners (the second must be refused). W5: limit_n + 1 requests on one key at once (the
# last alone must be limited).
smoke_cmds() {
  local system=$1 w=$2 i
  local sample=("${op[@]//__rand_int__/000000000001}")
  local line="${sample[*]}"
  case "$system:$w" in
    exactly:W4) printf '%s\n' "$line" "${line/ o / o2 }" ;;
    redis-*:W4) printf '%s\n' "$line" "${line/ t / t2 }" ;;
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
  case "$system:$w" in
    exactly:W2 | redis-*:W2)
      if [ "$system" = exactly ]; then
        a=$(echo "BALANCE stock" | python3 "$here/resp.py" --port "$port" --sum balance)
        b=$(echo "BALANCE won" | python3 "$here/resp.py" --port "$port" --sum balance)
      else
        a=$(cli "$port" GET stock)
        b=$(cli "$port" SCARD winners)
      fi
      if [ $((a + b)) -eq "$stock" ] && [ "$b" -le $((requests + 1)) ]; then
        echo "check ok: $b won of $requests+1 draws, stock+won conserved"
      else
        echo "CHECK FAILED: stock=$a won=$b (want sum $stock, won <= $((requests + 1)))"
      fi
      ;;
    exactly:W3 | redis-*:W3)
      for side in a b; do
        sum=$(for ((i = 0; i < pool; i++)); do
          printf -v id '%012d' "$i"
          if [ "$system" = exactly ]; then echo "BALANCE $side:$id"; else echo "GET $side:$id"; fi
        done | python3 "$here/resp.py" --port "$port" --sum balance)
        if [ "$side" = a ]; then a=$sum; else b=$sum; fi
      done
      local moved=$((b - pool * fund))
      if [ $((a + b)) -eq $((2 * pool * fund)) ] && [ "$moved" -le $((requests + 1)) ] \
        && [ "$moved" -ge 0 ]; then
        echo "check ok: $moved of $requests+1 transfers moved money, total conserved"
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

run_resp() {
  local system=$1 w=$2 dir port sha="" note tag=$1-$2-r$3
  dir=$work/data/$tag
  port=$(free_port)
  if [ "$system" = exactly ] && [ ! -x "$exactly_bin" ]; then
    log "$tag: skipped, $exactly_bin is not built yet"
    row "$system" "$w" - - - "skipped: binary not built"
    return
  fi
  if [ "$system" = null ] && [ "$w" = W4 ]; then
    return  # lock_load needs real tokens; a server that answers +OK has none
  fi
  log "$tag: starting on port $port"
  if ! start_resp "$system" "$dir" "$port"; then
    log "$tag: server did not answer PING; see $raw/$tag.server.log"
    cp "$dir/server.log" "$raw/$tag.server.log" 2>/dev/null || true
    row "$system" "$w" - - - "skipped: server did not answer PING"
    return
  fi
  if [ "$system" = null ]; then
    # Redis' own ops, unexecuted: same request sizes, no setup, nothing to check.
    resp_op redis-always "$w" 0000000000000000000000000000000000000000
    run_load "$system" "$w" "$port" "$tag" ""
    return
  fi
  if [ "$system" != exactly ]; then
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
    row "$system" "$w" - - - "setup answered errors: $(tail -1 "$raw/$tag.setup" | cut -c1-120)"
    stop_pid "$server_pid"
    return
  fi
  resp_op "$system" "$w" "$sha"
  smoke_cmds "$system" "$w" | python3 "$here/resp.py" --port "$port" --print \
    >"$raw/$tag.smoke" 2>&1 || true
  if grep -q '^(error)' "$raw/$tag.smoke"; then
    log "$tag: the op answers an error: $(head -c 300 "$raw/$tag.smoke")"
    row "$system" "$w" - - - "op answered error: $(grep -m1 '^(error)' "$raw/$tag.smoke" | cut -c1-120)"
    stop_pid "$server_pid"
    return
  fi
  local smoke_note
  smoke_note=$(smoke_problem "$w" "$raw/$tag.smoke")
  if [ -n "$smoke_note" ]; then log "$tag: $smoke_note"; fi
  run_load "$system" "$w" "$port" "$tag" "$smoke_note" "$sha"
}

# Drives the server of run_resp with the op (redis-benchmark, or lock_load for W4),
# records the row, and stops the server.
run_load() {
  local system=$1 w=$2 port=$3 tag=$4 smoke_note=$5 sha=${6:-} note dir=$work/data/$4
  local bench_args=(-h 127.0.0.1 -p "$port" -c "$clients" -n "$requests" -r "$range" --csv)
  if [ "$threads" -gt 1 ]; then bench_args+=(--threads "$threads"); fi
  echo "load: $(cut -d' ' -f1-3 /proc/loadavg)" >"$raw/$tag.load"
  local load_cmd=(redis-benchmark "${bench_args[@]}" "${op[@]}")
  if [ "$w" = W4 ]; then
    load_cmd=("$lock_load" --port "$port" --clients "$clients" --requests "$requests"
      --names "$lock_names" --lease "$lease_ms" --mode "${system%%-*}")
    if [ -n "$sha" ]; then load_cmd+=(--sha "$sha"); fi
  fi
  log "$tag: ${load_cmd[*]}"
  if "${load_cmd[@]}" >"$raw/$tag.csv" 2>"$raw/$tag.err"; then
    local ops p50 p99
    read -r ops p50 p99 < <(python3 "$here/report.py" redis "$raw/$tag.csv")
    note=$smoke_note$(resp_check "$system" "$w" "$port" "$tag")
    row "$system" "$w" "$ops" "$p50" "$p99" "$note"
    log "$tag: $ops ops/s p50 $p50 ms p99 $p99 ms $note"
  else
    note=$(grep -v -i warning "$raw/$tag.err" | tr '\n' ' ' | tail -c 240)
    log "$tag: redis-benchmark failed: $note"
    row "$system" "$w" - - - "load stopped: $note"
  fi
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
  if pgbench "${args[@]}" bench >"$raw/$tag.out" 2>&1; then
    local ops p50 p99 failed n note
    read -r ops p50 p99 failed n < <(python3 "$here/report.py" pgbench "$raw/$tag.out" "$raw/$tag.log")
    note=$(pg_check "$w")
    if [ "$failed" != 0 ]; then note="$failed failed transactions; $note"; fi
    row postgresql "$w" "$ops" "$p50" "$p99" "$note"
    log "$tag: $ops tps p50 $p50 ms p99 $p99 ms $note"
  else
    log "$tag: pgbench failed: $(tail -3 "$raw/$tag.out")"
    row postgresql "$w" - - - "pgbench failed: $(tail -1 "$raw/$tag.out" | cut -c1-120)"
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

# A private copy of the server binary: a rebuild of build/ during the run must not
# swap (or half-write) the binary between runs.
if want "$only" exactly && [ -x "$exactly_bin" ]; then
  cp "$exactly_bin" "$work/exactly"
  exactly_bin=$work/exactly
fi

# The null server, built here from source like lock_load below.
null_server=$work/null_server
if want "$only" null; then
  log "building $null_server"
  "${CXX:-c++}" -O2 -std=c++20 -o "$null_server" "$here/null_server.cc"
fi

# The W4 load client, built here from source so the run needs no build dir for it.
lock_load=$work/lock_load
if want "$workloads" W4; then
  log "building $lock_load"
  "${CXX:-c++}" -O2 -std=c++20 -o "$lock_load" "$here/lock_load.cc"
fi

started=$(date -u '+%Y-%m-%d %H:%M UTC')
fsync_line=$(probe_fsync)
log "fdatasync probe: $fsync_line"

if want "$only" postgresql; then start_pg; fi

# Repeats are interleaved across systems, and the order rotates with each repeat, so
# a burst of outside load on the shared machine (or a position in the sequence) hits
# one run of each system rather than every run of one.
systems=(exactly redis-always redis-no postgresql null)
for w in ${workloads//,/ }; do
  for ((rep = 1; rep <= repeat; rep++)); do
    for ((k = 0; k < ${#systems[@]}; k++)); do
      system=${systems[$(((k + rep - 1) % ${#systems[@]}))]}
      want "$only" "$system" || continue
      if [ "$system" = postgresql ]; then run_pg "$w" "$rep"; else run_resp "$system" "$w" "$rep"; fi
    done
  done
done

fsync_end=$(probe_fsync)
log "fdatasync probe after the runs: $fsync_end"

exactly_rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
table_md=$work/table.md
{
  echo "# exactly vs Redis 7 vs PostgreSQL 15"
  echo
  echo "- date: $started"
  echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(uname -sr)"
  echo "- fdatasync in the temp dir: before the runs $fsync_line; after: $fsync_end"
  echo "- exactly: commit $exactly_rev; $(redis-server --version | cut -d' ' -f1-3); $("$pg_bin/postgres" --version)"
  echo "- load: $clients connections; RESP: redis-benchmark -n $requests (W4: bench/lock_load.cc, same -n)$([ "$threads" -gt 1 ] && echo " --threads $threads"); PostgreSQL: pgbench -T $pg_seconds -j $pg_jobs -M prepared; median of $repeat run(s) each$([ "$quick" = 1 ] && echo "; --quick run")"
  echo
  python3 "$here/report.py" table "$results"
} >"$table_md"
mkdir -p "$here/results"
cp "$table_md" "$here/results/latest.md"
cp "$results" "$raw/results.tsv"
echo
cat "$table_md"
