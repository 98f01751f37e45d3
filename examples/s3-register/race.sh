#!/usr/bin/env bash
# S3's invariant: one account per phone number, whatever the transaction scope. Six
# registrations of one number (distinct submits) arrive together.
# Env: BASE (the app's URL), ROUNDS, TAG (fresh numbers per run), RACE (the race command).
set -euo pipefail
${RACE:-exactly race} "${BASE}/api/register?phone=138-${TAG}-{{round}}&submit=${TAG}-{{round}}-{{i}}" \
  -X POST -n 6 --rounds "${ROUNDS:-5}" --success 'status=200' --expect 'success==1' "$@"
