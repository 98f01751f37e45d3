#!/usr/bin/env bash
# S5's invariant, for the PHP app: exactly `stock` (5) winners when demand exceeds stock
# (not more, not fewer) and at most one prize per user. Twenty users, each drawing
# twice, arrive together. Like S5's Python version this runs twice the rounds.
# Env: BASE (the app's URL), ROUNDS, TAG (fresh campaigns per run), RACE (the race command).
set -euo pipefail
${RACE:-exactly race} "${BASE}/api/draw?campaign=c-${TAG}-{{round}}&user={{user}}" -X POST \
  -n 40 --users 20 --rounds "$(( 2 * ${ROUNDS:-5} ))" --success 'status=200' --expect 'success==5' "$@"
