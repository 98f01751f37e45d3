#!/usr/bin/env bash
# S4's invariant: no lost update and no negative balance. The account opens with 100;
# ten payments of 30 arrive together, half through the nested call, so at most three
# can succeed (a fourth success means an update was lost).
# Env: BASE (the app's URL), ROUNDS, TAG (fresh accounts per run), RACE (the race command).
set -euo pipefail
${RACE:-exactly race} "${BASE}/api/pay?account=acct-${TAG}-{{round}}&delta=-30&i={{i}}" -X POST \
  -n 10 --rounds "${ROUNDS:-5}" --success 'status=200' --expect 'success<=3' "$@"
