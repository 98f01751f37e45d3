#!/usr/bin/env bash
# S3's invariant: one account per phone number, whatever the transaction scope. Six
# POSTs for one number arrive together: three users' submits, each double-clicked.
# A success is a response that created an account (a replayed click does not count),
# so `success==1` is "exactly one account for the number". On the exactly side the
# limiter (5 per 10 s per number and URI) turns one of the six away with a retry time.
# Env: BASE (the app's URL), ROUNDS, TAG (fresh numbers per run), RACE (the race command).
set -euo pipefail
${RACE:-exactly race} "${BASE}/api/register?phone=138-${TAG}-{{round}}&submit=${TAG}-{{round}}-{{user}}" \
  -X POST -n 6 --users 3 --rounds "${ROUNDS:-5}" \
  --success 'status=200' --success 'body~"created": true' --expect 'success==1' "$@"
