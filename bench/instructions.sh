#!/usr/bin/env bash
# Instructions per request: the server under `valgrind --tool=callgrind`, a fixed load
# from bench/resp_load.cc, and callgrind's count of the instructions (Ir) the server's
# threads executed in user space while it lasted. Unlike ops/s or CPU time this barely
# moves with the load of a shared machine, so it compares two builds of exactly
# reliably; what it leaves out is the kernel (send, recv, epoll, fdatasync), which
# `make bench`'s CPU per request includes.
#
# For each workload and pipeline depth: a fresh server under callgrind, the workload's
# fixtures (bench/workloads.sh), a warm-up of --warmup requests, then `callgrind_control
# -z` (zero the counts), the measured requests, `callgrind_control -d` (dump): the
# dump's total Ir divided by the measured requests. resp_load sends in lockstep
# rounds (every connection writes its -P commands, then every connection reads its
# replies), with a fixed seed, so each run sends the same requests in the same order.
#
# Usage: bench/instructions.sh [options] [W1 W2 W3 W4 W5 ...]   (default W1 W2 W3 W5)
#   --pipelines 1,32          pipeline depths                  (default 1,32)
#   --connections N           connections                      (default 64)
#   --requests N              measured requests at -P 1        (default 20000)
#   --requests-pipelined N    measured requests at -P > 1      (default 200000)
#   --warmup N                requests before the counts are zeroed (default 2000)
#   --fsync always|no         exactly's --fsync                (default always)
#   --system exactly|redis|null  the server to count           (default exactly)
#   --compare BIN             also count the exactly binary BIN, run by run beside
#                             EXACTLY_BIN, and print BIN / EXACTLY_BIN
# Env: EXACTLY_BIN (default build/exactly). W4 here is the acquire alone (LOCK on a
# random name, as in the smoke); it is not run.sh's acquire + release.
#
# Comparing two builds (each its own worktree and build dir):
#   EXACTLY_BIN=../main/build/exactly bench/instructions.sh --compare build/exactly W1
# The table goes to stdout and bench/results/instructions.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")

pipelines="1,32"
connections=64
requests=20000
requests_pipelined=200000
warmup=2000
fsync=always
system=exactly
compare=""
workloads=()
while [ $# -gt 0 ]; do
  case "$1" in
    --pipelines) pipelines=$2; shift ;;
    --connections) connections=$2; shift ;;
    --requests) requests=$2; shift ;;
    --requests-pipelined) requests_pipelined=$2; shift ;;
    --warmup) warmup=$2; shift ;;
    --fsync) fsync=$2; shift ;;
    --system) system=$2; shift ;;
    --compare) compare=$2; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    W[1-5]) workloads+=("$1") ;;
    *) echo "instructions.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ ${#workloads[@]} -eq 0 ]; then workloads=(W1 W2 W3 W5); fi
exactly_bin=${EXACTLY_BIN:-$root/build/exactly}

for tool in valgrind callgrind_control redis-server python3 "${CXX:-c++}"; do
  if ! command -v "$tool" >/dev/null; then
    echo "instructions.sh: $tool not found; installing (scripts/install_deps.sh)" >&2
    bash "$root/scripts/install_deps.sh"
    break
  fi
done

# shellcheck source=bench/workloads.sh
source "$here/workloads.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/exactly-instructions.XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work/data"
  echo "instructions.sh: raw outputs in $work" >&2
}
trap cleanup EXIT
log() { echo "[instructions $(date +%H:%M:%S)] $*" >&2; }
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Private copies: a rebuild during the run must not change the binaries counted.
binaries=()
labels=()
if [ "$system" = exactly ]; then
  cp "$exactly_bin" "$work/exactly-a"
  binaries+=("$work/exactly-a")
  labels+=("$exactly_bin")
  if [ -n "$compare" ]; then
    cp "$compare" "$work/exactly-b"
    binaries+=("$work/exactly-b")
    labels+=("$compare")
  fi
elif [ "$system" = null ]; then
  "${CXX:-c++}" -O2 -g -std=c++20 -o "$work/null_server" "$here/null_server.cc"
  binaries+=("$work/null_server")
  labels+=("bench/null_server.cc")
else
  binaries+=("$(command -v redis-server)")
  labels+=("$(redis-server --version | cut -d' ' -f1-3), appendfsync $fsync")
fi
"${CXX:-c++}" -O2 -std=c++20 -o "$work/resp_load" "$here/resp_load.cc"

# Counts one (binary, workload, depth); prints "Ir requests".
count() {
  local bin=$1 w=$2 p=$3 n=$4 tag=$5 port dir sha="" kind
  port=$(free_port)
  dir=$work/data/$tag
  mkdir -p "$dir"
  local out=$work/$tag.callgrind
  local server=()
  case "$system" in
    exactly) server=("$bin" serve --dir "$dir" --port "$port" --fsync "$fsync") ;;
    null) server=("$bin" "$port") ;;
    redis) server=("$bin" --bind 127.0.0.1 --port "$port" --dir "$dir" --save '' --appendonly yes
      --appendfsync "$fsync") ;;
  esac
  valgrind --tool=callgrind --callgrind-out-file="$out" "${server[@]}" >"$work/$tag.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 300); do
    if [ "$(redis-cli -h 127.0.0.1 -p "$port" PING 2>/dev/null)" = PONG ]; then break; fi
    kill -0 "$server_pid" 2>/dev/null || { log "$tag: the server exited: $(tail -3 "$work/$tag.log")"; exit 1; }
    sleep 0.2
  done
  kind=$system
  if [ "$system" = null ]; then kind=redis; fi
  if [ "$system" = redis ] && [ -n "$(redis_script "$w")" ]; then
    sha=$(redis-cli -h 127.0.0.1 -p "$port" -x SCRIPT LOAD <"$here/redis/$(redis_script "$w")")
  fi
  if [ "$system" != null ]; then
    resp_setup "$kind" "$w" | python3 "$here/resp.py" --port "$port" --summary --strict \
      >"$work/$tag.setup"
  fi
  resp_op "$kind" "$w" "${sha:-0000000000000000000000000000000000000000}"
  local load=("$work/resp_load" --port "$port" --connections "$connections" --pipeline "$p"
    --range "$range" --strict)
  # The warm-up draws other keys (seed 2) than the measured run (seed 1).
  "${load[@]}" --requests "$warmup" --seed 2 -- "${op[@]}" >"$work/$tag.warmup"
  callgrind_control -z "$server_pid" >/dev/null
  "${load[@]}" --requests "$n" --seed 1 -- "${op[@]}" >"$work/$tag.load"
  callgrind_control -d "$server_pid" >/dev/null
  local dump=""
  for _ in $(seq 100); do
    dump=$(ls "$out".* 2>/dev/null | sort -V | tail -1 || true)
    if [ -n "$dump" ] && grep -q '^summary:' "$dump"; then break; fi
    sleep 0.1
  done
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  echo "$(grep -m1 '^summary:' "$dump" | cut -d' ' -f2) $n"
}

depths=${pipelines//,/ }
results=$work/instructions.tsv
: >"$results"
for w in "${workloads[@]}"; do
  for p in $depths; do
    n=$requests
    if [ "$p" != 1 ]; then n=$requests_pipelined; fi
    for i in "${!binaries[@]}"; do
      tag=$w-P$p-$i
      read -r ir sent < <(count "${binaries[$i]}" "$w" "$p" "$n" "$tag")
      per=$(python3 -c "print(f'{$ir / $sent:.0f}')")
      log "$w -P $p ${labels[$i]}: $ir Ir / $sent requests = $per Ir per request"
      printf '%s\t%s\t%s\t%s\t%s\n' "$w" "$p" "$i" "$ir" "$sent" >>"$results"
    done
  done
done

table=$work/instructions.md
python3 - "$results" "${labels[@]}" >"$table" <<'EOF'
import sys
rows = [line.split("\t") for line in open(sys.argv[1]).read().splitlines()]
labels = sys.argv[2:]
per = {(w, p, int(i)): int(ir) / int(n) for w, p, i, ir, n in rows}
sent = {(w, p): int(n) for w, p, i, ir, n in rows}
head = ["workload", "-P", "requests"] + [f"Ir/request: {l}" for l in labels]
if len(labels) == 2:
    head.append("second / first")
print("| " + " | ".join(head) + " |")
print("| --- |" + " ---: |" * (len(head) - 1))
for (w, p) in dict.fromkeys((r[0], r[1]) for r in rows):
    cells = [w, p, f"{sent[(w, p)]:,}"] + [f"{per[(w, p, i)]:,.0f}" for i in range(len(labels))]
    if len(labels) == 2:
        cells.append(f"{per[(w, p, 1)] / per[(w, p, 0)]:.3f}")
    print("| " + " | ".join(cells) + " |")
EOF
{
  echo "# Instructions per request (callgrind Ir, user space, all server threads)"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- system: $system$([ "$system" = exactly ] && echo " --fsync $fsync"); $connections connections, lockstep rounds; warm-up $warmup requests; $(valgrind --version)"
  echo
  cat "$table"
} >"$work/report.md"
mkdir -p "$here/results"
cp "$work/report.md" "$here/results/instructions.md"
echo
cat "$work/report.md"
