#!/usr/bin/env bash
# The release spread of `exactly race` (`make bench`): how close together the target
# receives a round's requests. For 10, 100 and 500 requests, over HTTP/1.1 (last-byte
# sync, bench/race_target.cc) and RESP (last-byte sync, an exactly server), the median
# and max over ROUNDS rounds, for each way of releasing the last bytes (parallel, the
# default: one real-time thread per CPU; io_uring: one submit for all; send: one
# thread, one call each); h2c single-packet (one write of every final frame) beside
# them. Timings live here, never in tests.
#
# Usage: bench/race_spread.sh   Env: EXACTLY_BIN (default build/exactly), RACE_TARGET
# (default build/bench/race_target), ROUNDS (default 10), SIZES (default "10 100 500"),
# RELEASES (default "parallel io_uring send"). The table goes to stdout and bench/results/race_spread.md.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
exactly="${EXACTLY_BIN:-${root}/build/exactly}"
target="${RACE_TARGET:-${root}/build/bench/race_target}"
rounds="${ROUNDS:-10}"
sizes="${SIZES:-10 100 500}"
releases="${RELEASES:-parallel io_uring send}"
for bin in "${exactly}" "${target}"; do
  if [ ! -x "${bin}" ]; then echo "race_spread: ${bin} not built (make build)" >&2; exit 1; fi
done
tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "${pid}" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "${pid}" 2>/dev/null || true; done
  rm -rf "${tmp}"
}
trap cleanup EXIT
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {
  python3 - "$1" <<'PY'
import socket, sys, time
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.5).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}
http_port=$(free_port)
h2_port=$(free_port)
resp_port=$(free_port)
"${target}" "${http_port}" "${h2_port}" &
pids+=($!)
"${exactly}" serve --dir "${tmp}/exactly" --port "${resp_port}" --fsync no >"${tmp}/exactly.log" 2>&1 &
pids+=($!)
for p in "${http_port}" "${h2_port}" "${resp_port}"; do wait_port "${p}"; done

# median and max of release_spread_us over the rounds of a --json file
stats() {
  python3 - "$1" <<'PY'
import json, statistics, sys
d = json.load(open(sys.argv[1]))
s = [r["release_spread_us"] for r in d["rounds"]]
print(f"{int(statistics.median(s))} {max(s)}")
PY
}
run() {  # label release n args...
  local label="$1" release="$2" n="$3"
  shift 3
  local json="${tmp}/run.json" how=()
  if [ "${release}" != single ]; then how=(--release "${release}"); fi
  rm -f "${json}"
  if ! "${exactly}" race "$@" -n "${n}" --rounds "${rounds}" "${how[@]}" -q \
    --json "${json}" >"${tmp}/run.out" 2>&1; then
    if [ ! -s "${json}" ]; then
      echo "race_spread: ${label} ${release} -n ${n} failed:" >&2
      cat "${tmp}/run.out" >&2
      exit 1
    fi
  fi
  read -r median max <<<"$(stats "${json}")"
  rows+=("$(printf '| %-9s | %-8s | %5s | %9s us | %9s us |' "${label}" "${release}" "${n}" "${median}" "${max}")")
}
rows=()
for n in ${sizes}; do
  for release in ${releases}; do
    run "HTTP/1.1" "${release}" "${n}" "http://127.0.0.1:${http_port}/r?i={{i}}" -X POST -d "n={{i}}"
    run "RESP" "${release}" "${n}" "resp://127.0.0.1:${resp_port}" --command "CLAIMOF k{{i}}"
  done
  run "h2c" "single" "${n}" "http://127.0.0.1:${h2_port}/r?i={{i}}" --h2 -X POST -d "n={{i}}"
done
{
  echo "Release spread of exactly race on 127.0.0.1, ${rounds} rounds each ($(nproc) CPUs, $(uname -r))"
  echo
  echo "| target    | release  |     n | median       | max          |"
  echo "| --------- | -------- | ----- | ------------ | ------------ |"
  printf '%s\n' "${rows[@]}"
} | tee "${here}/results/race_spread.md"
