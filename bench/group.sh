# Replicated systems for bench/run.sh (sourced): the 3-node exactly group and a 3-node
# etcd 3.4, both on W1 claim only, beside single-node exactly (exactly-always).
#
# exactly-group: three `exactly serve --node-id` processes bootstrapped with --peers on
#   127.0.0.1, each with its own data dir (the raft log syncs every entry); the load is
#   the same redis-benchmark W1 CLAIM as single-node exactly, sent to the leader.
# etcd: three `etcd` processes (Debian etcd-server 3.4, WAL fsync on, its defaults);
#   the claim is a transaction "create_revision(key) == 0 -> put", posted to the leader's
#   JSON gateway (POST /v3/kv/txn, base64 keys) by wrk with bench/etcd/claim_txn.lua,
#   which makes every key unique. The gateway (Go net/http) answers a connection's
#   pipelined requests one after another, so HTTP pipelining adds nothing there (a
#   smoke: 1,216 ops/s at -P 32, 1,219 at -P 1), and wrk 4.1's latency percentiles
#   read 0 under pipelining; so at -P N etcd gets the same requests in flight,
#   $clients x N, on that many connections, one request each.
# Both: server CPU is the sum over the three processes (bench/procstat.py), divided by
# the requests; ops/s and p50/p99 are the load tool's.
# Uses run.sh's globals: work, raw, clients, requests, requests_pipelined, here,
# exactly_bin, rep (the round), and its functions row, log, free_port, cli, cpu_ticks,
# cpu_us, stop_pid, depths_of, skip_rows, wait_ping, resp_op.

group_pids=()

# CPU ticks of every process in $@, summed.
group_ticks() {
  local pid sum=0
  for pid in "$@"; do sum=$((sum + $(cpu_ticks "$pid"))); done
  echo "$sum"
}

stop_group() {
  local pid
  for pid in "${group_pids[@]}"; do stop_pid "$pid"; done
  group_pids=()
}

# The RESP port of the group's leader, once it answers a write; empty after 30 s.
exactly_group_leader() {
  local port
  for _ in $(seq 300); do
    for port in "$@"; do
      if cli "$port" INFO replication 2>/dev/null | grep -q '^role:leader'; then
        if cli "$port" CLAIM bench:probe probe 2>/dev/null | grep -q -w -e won -e again; then
          echo "$port"
          return 0
        fi
      fi
    done
    sleep 0.1
  done
  return 1
}

run_exactly_group() {
  local w=$1 tag=exactly-group-$1-r$2 i peers="" leader
  local resp=() raft=() dir
  if [ ! -x "$exactly_bin" ]; then
    skip_rows exactly-group "$w" "skipped: binary not built"
    return
  fi
  for i in 1 2 3; do
    resp[i]=$(free_port)
    raft[i]=$(free_port)
    peers+="${peers:+,}$i=127.0.0.1:${resp[i]}@127.0.0.1:${raft[i]}"
  done
  log "$tag: starting 3 nodes on ports ${resp[*]}"
  for i in 1 2 3; do
    dir=$work/data/$tag/n$i
    mkdir -p "$dir"
    "$exactly_bin" serve --dir "$dir" --port "${resp[i]}" --node-id "$i" \
      --raft-bind "127.0.0.1:${raft[i]}" --peers "$peers" >"$dir.log" 2>&1 &
    group_pids+=("$!")
    server_pids+=("$!")
  done
  if ! leader=$(exactly_group_leader "${resp[1]}" "${resp[2]}" "${resp[3]}"); then
    log "$tag: no leader answered within 30 s"
    skip_rows exactly-group "$w" "skipped: no leader elected"
    for i in 1 2 3; do cp "$work/data/$tag/n$i.log" "$raw/$tag.n$i.log" 2>/dev/null || true; done
    stop_group
    return
  fi
  resp_op exactly-always "$w"
  # The smoke: the op twice, the second must answer `again`.
  local sample=("${op[@]//__rand_int__/000000000001}") smoke_note=""
  cli "$leader" "${sample[@]}" >"$raw/$tag.smoke" 2>&1 || true
  cli "$leader" "${sample[@]}" >>"$raw/$tag.smoke" 2>&1 || true
  if ! grep -q -w again "$raw/$tag.smoke"; then
    smoke_note="SMOKE: a repeated claim answered $(tail -c 60 "$raw/$tag.smoke" | tr '\n' ' '); "
  fi
  local p n run before after ops p50 p99 us
  for p in $(depths_of exactly-group "$w"); do
    run=$tag-P$p
    n=$requests
    if [ "$p" != 1 ]; then n=$requests_pipelined; fi
    echo "load: $(cut -d' ' -f1-3 /proc/loadavg)" >"$raw/$run.load"
    log "$run: redis-benchmark -p $leader (leader) -c $clients -n $n -P $p ${op[*]}"
    before=$(group_ticks "${group_pids[@]}")
    if redis-benchmark -h 127.0.0.1 -p "$leader" -c "$clients" -n "$n" -r "$range" -P "$p" \
      --csv "${op[@]}" >"$raw/$run.csv" 2>"$raw/$run.err"; then
      after=$(group_ticks "${group_pids[@]}")
      read -r ops p50 p99 < <(python3 "$here/report.py" redis "$raw/$run.csv")
      us=$(cpu_us "$before" "$after" "$n")
      echo "cpu_ticks (3 nodes): $before $after requests=$n" >>"$raw/$run.load"
      log "$run: $ops ops/s p50 $p50 ms p99 $p99 ms, group CPU $us us/request"
      row exactly-group "$w" "$p" "$ops" "$p50" "$p99" "$us" "${smoke_note}3 voters, load on the leader"
    else
      log "$run: the load stopped: $(tail -c 240 "$raw/$run.err")"
      row exactly-group "$w" "$p" - - - - "load stopped: $(tail -c 200 "$raw/$run.err" | tr '\n' ' ')"
    fi
  done
  for i in 1 2 3; do cp "$work/data/$tag/n$i.log" "$raw/$tag.n$i.log" 2>/dev/null || true; done
  stop_group
}

# --- etcd ----------------------------------------------------------------------------------

# The client URL of the etcd leader among $@ (client URLs), empty after 30 s.
etcd_leader() {
  local endpoints
  endpoints=$(IFS=,; echo "$*")
  for _ in $(seq 300); do
    if ETCDCTL_API=3 etcdctl --endpoints="$endpoints" endpoint status -w json 2>/dev/null |
      python3 -c '
import json, sys
for e in json.load(sys.stdin):
    s = e["Status"]
    if s["header"]["member_id"] == s["leader"]:
        print(e["Endpoint"])
        break
else:
    sys.exit(1)'; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# The claim as etcd's gateway takes it: one txn, put k if it was never created.
etcd_txn_body() {
  python3 -c '
import base64, json, sys
k = base64.b64encode(sys.argv[1].encode()).decode()
v = base64.b64encode(b"o1").decode()
print(json.dumps({"compare": [{"key": k, "target": "CREATE", "result": "EQUAL",
                               "create_revision": "0"}],
                  "success": [{"request_put": {"key": k, "value": v}}]}))' "$1"
}

run_etcd() {
  local w=$1 tag=etcd-$1-r$2 i cluster="" leader dir
  local client=() peer=()
  if ! command -v etcd >/dev/null || ! command -v wrk >/dev/null; then
    skip_rows etcd "$w" "skipped: etcd or wrk not installed (scripts/install_deps.sh)"
    return
  fi
  for i in 1 2 3; do
    client[i]=$(free_port)
    peer[i]=$(free_port)
    cluster+="${cluster:+,}e$i=http://127.0.0.1:${peer[i]}"
  done
  log "$tag: starting 3 etcd members on ports ${client[*]}"
  for i in 1 2 3; do
    dir=$work/data/$tag/e$i
    mkdir -p "$dir"
    etcd --name "e$i" --data-dir "$dir" \
      --listen-client-urls "http://127.0.0.1:${client[i]}" \
      --advertise-client-urls "http://127.0.0.1:${client[i]}" \
      --listen-peer-urls "http://127.0.0.1:${peer[i]}" \
      --initial-advertise-peer-urls "http://127.0.0.1:${peer[i]}" \
      --initial-cluster "$cluster" --initial-cluster-state new \
      --initial-cluster-token "bench-$tag" --logger zap --log-outputs stderr \
      >"$dir.log" 2>&1 &
    group_pids+=("$!")
    server_pids+=("$!")
  done
  if ! leader=$(etcd_leader "http://127.0.0.1:${client[1]}" "http://127.0.0.1:${client[2]}" \
    "http://127.0.0.1:${client[3]}"); then
    log "$tag: no leader within 30 s"
    skip_rows etcd "$w" "skipped: no etcd leader elected"
    for i in 1 2 3; do cp "$work/data/$tag/e$i.log" "$raw/$tag.e$i.log" 2>/dev/null || true; done
    stop_group
    return
  fi
  # The smoke: the same claim twice; the first succeeds, the second must not.
  local smoke_note="" first second
  first=$(curl -s -X POST "$leader/v3/kv/txn" -d "$(etcd_txn_body c:smoke)")
  second=$(curl -s -X POST "$leader/v3/kv/txn" -d "$(etcd_txn_body c:smoke)")
  printf '%s\n%s\n' "$first" "$second" >"$raw/$tag.smoke"
  if ! grep -q '"succeeded":true' <<<"$first" || grep -q '"succeeded":true' <<<"$second"; then
    smoke_note="SMOKE: first txn $(cut -c1-60 <<<"$first"), second $(cut -c1-60 <<<"$second"); "
  fi
  local p n run before after ops p50 p99 us seconds answers conns
  # wrk needs a descriptor per connection: thousands at -P 32.
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  for p in $(depths_of etcd "$w"); do
    conns=$((clients * p))
    run=$tag-P$p
    # wrk runs for a time, not a count: as long as the unpipelined exactly run would
    # take at 1,000 ops/s, bounded to 3-30 s.
    n=$requests
    if [ "$p" != 1 ]; then n=$requests_pipelined; fi
    seconds=$((n / 1000))
    if [ "$seconds" -lt 3 ]; then seconds=3; fi
    if [ "$seconds" -gt 30 ]; then seconds=30; fi
    echo "load: $(cut -d' ' -f1-3 /proc/loadavg)" >"$raw/$run.load"
    log "$run: wrk -t1 -c $conns -d ${seconds}s POST $leader/v3/kv/txn"
    before=$(group_ticks "${group_pids[@]}")
    # --timeout: with thousands in flight a request may take seconds; wrk drops slower
    # samples.
    if BENCH_RUN=$run wrk -t1 -c "$conns" -d "${seconds}s" --timeout 30s --latency \
      -s "$here/etcd/claim_txn.lua" "$leader/v3/kv/txn" >"$raw/$run.wrk" 2>"$raw/$run.err"; then
      after=$(group_ticks "${group_pids[@]}")
      read -r ops p50 p99 answers _ < <(python3 "$here/report.py" wrk "$raw/$run.wrk")
      us=$(cpu_us "$before" "$after" "$answers")
      echo "cpu_ticks (3 members): $before $after requests=$answers" >>"$raw/$run.load"
      local note="${smoke_note}3 members, wrk on the leader's JSON gateway, $conns connections"
      if grep -q '^failed:' "$raw/$run.wrk"; then
        note="$note; $(grep -m1 '^failed:' "$raw/$run.wrk")"
      fi
      log "$run: $ops ops/s p50 $p50 ms p99 $p99 ms, cluster CPU $us us/request"
      row etcd "$w" "$p" "$ops" "$p50" "$p99" "$us" "$note"
    else
      log "$run: wrk failed: $(tail -c 240 "$raw/$run.err")"
      row etcd "$w" "$p" - - - - "wrk failed: $(tail -c 200 "$raw/$run.err" | tr '\n' ' ')"
    fi
  done
  for i in 1 2 3; do cp "$work/data/$tag/e$i.log" "$raw/$tag.e$i.log" 2>/dev/null || true; done
  stop_group
}
