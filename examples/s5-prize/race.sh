#!/usr/bin/env bash
# S5's invariant: exactly `stock` (5) winners when demand exceeds stock — not more, not
# fewer — and at most one prize per user. Twenty users (each drawing twice) arrive together.
# Env: BASE (the app's URL), ROUNDS, TAG (fresh campaigns per run), RACE (the race command).
set -euo pipefail
${RACE:-exactly race} "${BASE}/api/draw?campaign=c-${TAG}-{{round}}&user={{user}}" -X POST \
  -n 40 --users 20 --rounds "${ROUNDS:-5}" --success 'status=200' --expect 'success==5' "$@"
