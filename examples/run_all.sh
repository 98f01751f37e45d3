#!/usr/bin/env bash
# Runs the five incidents as real systems: PostgreSQL, Redis and exactly on free
# ports in a temp dir, each example's Flask app under gunicorn (or its PHP app under
# PHP's built-in server, for an example with an index.php) in both modes, and
# `exactly race` against it. A naive mode must be caught (a violation in at least one
# of ROUNDS rounds), an exactly mode must hold in every round; otherwise exit 1. Each
# app is also audited from a browser session recorded against it (examples/audit/):
# the naive mode must have an endpoint flagged, the exactly mode none.
#
# Env: EXACTLY_BINARY (default build/exactly), EXACTLY_RACE (the race command,
# default "$EXACTLY_BINARY race"), ROUNDS (default 10), ONLY (e.g. "s1-signin s5-prize"),
# REPORT_DIR (keep each race's HTML and JSON reports there).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/.." && pwd)"
export EXACTLY_BINARY="${EXACTLY_BINARY:-${root}/build/exactly}"
case "${EXACTLY_BINARY}" in /*) ;; *) EXACTLY_BINARY="${root}/${EXACTLY_BINARY}" ;; esac
export RACE="${EXACTLY_RACE:-${EXACTLY_BINARY} race}"
export ROUNDS="${ROUNDS:-10}"
examples="${ONLY:-s1-signin s2-binding s3-register s4-balance s5-prize s5-prize-php counter}"
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"

if [ ! -x "${EXACTLY_BINARY}" ]; then
  echo "examples: server binary not found: ${EXACTLY_BINARY}" >&2
  exit 1
fi
if ! ${RACE} --help >/dev/null 2>&1; then
  echo "examples: '${RACE} --help' failed: the binary has no race subcommand (set EXACTLY_RACE)" >&2
  exit 1
fi
for tool in gunicorn redis-server "${pg_bin}/initdb"; do
  if ! command -v "${tool}" >/dev/null; then
    echo "examples: ${tool} missing (run scripts/install_deps.sh)" >&2
    exit 1
  fi
done
case " ${examples} " in *" s5-prize-php "*)
  if ! php -r 'exit(extension_loaded("redis") ? 0 : 1);' 2>/dev/null; then
    echo "examples: php-cli with php-redis missing (run scripts/install_deps.sh)" >&2
    exit 1
  fi ;;
esac

tmp="$(mktemp -d)"
chmod 755 "${tmp}"
pids=()
pg_started=0
as_pg=()
if [ "$(id -u)" -eq 0 ]; then as_pg=(runuser -u postgres --); fi

cleanup() {
  for pid in "${pids[@]}"; do kill -- "${pid}" 2>/dev/null; done  # -pid: a process group
  for pid in "${pids[@]}"; do wait "${pid#-}" 2>/dev/null; done
  if [ "${pg_started}" -eq 1 ]; then
    "${as_pg[@]}" "${pg_bin}/pg_ctl" -D "${tmp}/pg" -m fast -w stop >/dev/null 2>&1
  fi
  rm -rf "${tmp}"
}
trap cleanup EXIT
trap "exit 130" INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Both waits count wall time, not attempts: on a loaded machine a start may take long.
wait_port() {  # port, what
  if python3 - "$1" <<'PY'; then return 0; fi
import socket, sys, time
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.5).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
  echo "examples: $2 did not start on port $1" >&2
  return 1
}

# An app is ready when /health answers and every gunicorn worker has loaded it (each
# logs "Booting worker", then imports the app and creates its tables); a PHP app
# (workers 0) when /health answers.
wait_app() {  # port, log, what, [workers, default 4]
  if python3 - "$1" "$2" "${4:-4}" <<'PY'; then return 0; fi
import sys, time, urllib.request
port, log, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
deadline = time.monotonic() + 90
while time.monotonic() < deadline:
    try:
        if urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).status == 200:
            if open(log).read().count("Booting worker") >= workers:
                time.sleep(0.5)  # the last worker's import
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit(1)
PY
  echo "examples: $3 did not answer /health on port $1" >&2
  return 1
}

# PostgreSQL: its own cluster in the temp dir, owned by the postgres user when root.
PG_PORT="$(free_port)"
mkdir -p "${tmp}/pg" "${tmp}/pgsock"
if [ "${#as_pg[@]}" -gt 0 ]; then chown postgres "${tmp}/pg" "${tmp}/pgsock"; fi
"${as_pg[@]}" "${pg_bin}/initdb" -D "${tmp}/pg" -U postgres --auth=trust >"${tmp}/initdb.log" 2>&1 ||
  { cat "${tmp}/initdb.log"; exit 1; }
"${as_pg[@]}" "${pg_bin}/pg_ctl" -D "${tmp}/pg" -w -l "${tmp}/pg/log" \
  -o "-p ${PG_PORT} -k ${tmp}/pgsock -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
  start >/dev/null || { cat "${tmp}/pg/log"; exit 1; }
pg_started=1
export PG_DSN="host=127.0.0.1 port=${PG_PORT} user=postgres dbname=postgres"

export REDIS_PORT="$(free_port)"
redis-server --port "${REDIS_PORT}" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "${tmp}" >"${tmp}/redis.log" 2>&1 &
pids+=($!)
export EXACTLY_PORT="$(free_port)"
"${EXACTLY_BINARY}" serve --dir "${tmp}/exactly" --port "${EXACTLY_PORT}" >"${tmp}/exactly.log" 2>&1 &
pids+=($!)
wait_port "${REDIS_PORT}" redis || exit 1
wait_port "${EXACTLY_PORT}" exactly || exit 1

rows=()
failed=0
run_example() {  # example, mode
  local ex="$1" mode="$2" port app_pid app_kill rc json workers=4
  port="$(free_port)"
  if [ -f "${here}/${ex}/index.php" ]; then
    # PHP's built-in server with 8 worker processes, in a process group of its own:
    # its workers outlive a signal to the parent alone.
    (cd "${here}/${ex}" && MODE="${mode}" PHP_CLI_SERVER_WORKERS=8 exec setsid \
      php -S "127.0.0.1:${port}" index.php >"${tmp}/${ex}-${mode}.log" 2>&1) &
    app_pid=$!
    app_kill="-${app_pid}"
    workers=0
  else
    (cd "${here}/${ex}" && MODE="${mode}" exec gunicorn -w 4 -k gthread --threads 4 \
      -b "127.0.0.1:${port}" --access-logfile /dev/null --error-logfile "${tmp}/${ex}-${mode}.log" \
      app:app) &
    app_pid=$!
    app_kill="${app_pid}"
  fi
  pids+=("${app_kill}")
  if ! wait_app "${port}" "${tmp}/${ex}-${mode}.log" "${ex} (${mode})" "${workers}"; then
    cat "${tmp}/${ex}-${mode}.log" >&2
    rows+=("${ex}|${mode}|-|-|-|FAIL: app did not start|-")
    failed=1
    return
  fi
  json="${tmp}/${ex}-${mode}.json"
  local html=()
  if [ -n "${REPORT_DIR:-}" ]; then
    mkdir -p "${REPORT_DIR}"
    html=(--html "${REPORT_DIR}/${ex}-${mode}.html")
    json="${REPORT_DIR}/${ex}-${mode}.json"
  fi
  BASE="http://127.0.0.1:${port}" TAG="${mode}$$" \
    bash "${here}/${ex}/race.sh" --json "${json}" "${html[@]}" --quiet >"${tmp}/${ex}-${mode}.out" 2>&1
  rc=$?
  # The same app audited from a browser session recorded against it: the naive mode
  # must have an endpoint flagged (exit 1), the exactly mode none (exit 0).
  local audit="-" audit_rc
  if [ -f "${here}/audit/${ex}.har" ]; then
    local audit_files=(--json "${tmp}/${ex}-${mode}-audit.json")
    if [ -n "${REPORT_DIR:-}" ]; then
      audit_files=(--json "${REPORT_DIR}/${ex}-${mode}-audit.json"
        --html "${REPORT_DIR}/${ex}-${mode}-audit.html")
    fi
    BASE="http://127.0.0.1:${port}" TAG="${mode}$$" \
      bash "${here}/audit/audit.sh" "${ex}" "${audit_files[@]}" --quiet \
      >"${tmp}/${ex}-${mode}-audit.out" 2>&1
    audit_rc=$?
    if [ "${mode}" = naive ] && [ "${audit_rc}" -eq 1 ]; then
      audit="flagged"
    elif [ "${mode}" = exactly ] && [ "${audit_rc}" -eq 0 ]; then
      audit="none flagged"
    else
      audit="FAIL (exit ${audit_rc})"
      failed=1
      sed 's/^/    /' "${tmp}/${ex}-${mode}-audit.out" >&2
    fi
  fi
  kill -- "${app_kill}" 2>/dev/null
  wait "${app_pid}" 2>/dev/null
  local stats
  stats="$(python3 - "${json}" <<'PY' 2>/dev/null
import json, sys, statistics
d = json.load(open(sys.argv[1]))
spreads = [r["release_spread_us"] for r in d["rounds"]]
print(d["violated_rounds"], len(d["rounds"]), int(statistics.median(spreads)), max(spreads))
PY
)"
  local violated=- rounds=- spread=- verdict
  if [ -n "${stats}" ]; then
    read -r violated rounds spread spread_max <<<"${stats}"
    spread="${spread}us (max ${spread_max}us)"
  fi
  if [ "${mode}" = naive ]; then
    if [ "${rc}" -eq 1 ] && [ "${violated}" != - ] && [ "${violated}" -ge 1 ]; then
      verdict="caught"
    else
      verdict="FAIL: naive mode not caught (exit ${rc}); the race proves nothing"
      failed=1
    fi
  else
    if [ "${rc}" -eq 0 ]; then
      verdict="held"
    else
      verdict="FAIL: exactly mode violated or unknown (exit ${rc})"
      failed=1
    fi
  fi
  if [ "${verdict}" != caught ] && [ "${verdict}" != held ]; then
    sed 's/^/    /' "${tmp}/${ex}-${mode}.out" >&2
    tail -5 "${tmp}/${ex}-${mode}.log" 2>/dev/null | sed 's/^/    /' >&2
  fi
  rows+=("${ex}|${mode}|${rounds}|${violated}|${spread}|${verdict}|${audit}")
}

for ex in ${examples}; do
  for mode in naive exactly; do
    run_example "${ex}" "${mode}"
  done
done

printf '\n%-12s %-8s %-7s %-10s %-26s %-14s %s\n' example mode rounds violated \
  "release spread (median)" audit result
for row in "${rows[@]}"; do
  IFS='|' read -r ex mode rounds violated spread verdict audit <<<"${row}"
  printf '%-12s %-8s %-7s %-10s %-26s %-14s %s\n' "${ex}" "${mode}" "${rounds}" "${violated}" \
    "${spread}" "${audit}" "${verdict}"
done
if [ "${failed}" -ne 0 ]; then
  echo "examples: FAILED"
  exit 1
fi
echo "examples: ok (every naive mode caught and flagged by the audit, every exactly mode held)"
