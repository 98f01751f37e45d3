#!/usr/bin/env bash
# S1's invariant: at most one successful sign-in per user per day. Six POSTs of one
# user arrive together (the browser sent three at once, on a 4-worker site).
# Env: BASE (the app's URL), ROUNDS, TAG (fresh users per run), RACE (the race command).
set -euo pipefail
${RACE:-exactly race} "${BASE}/api/sign?user=s1-${TAG}-{{round}}" -X POST -n 6 \
  --rounds "${ROUNDS:-5}" --success 'status=200' --expect 'success==1' "$@"
