#!/usr/bin/env bash
# S4's invariant: no lost update and no negative balance — the final balance equals the
# opening balance plus the sum of the successful payments. The account opens with 100;
# ten payments of 30 arrive together (even requests through the nested call), so a
# serial history has exactly three successes and ends at 10: `success==3`. A state probe
# reads the balance before and after each round: `after==before-30*success` (no payment
# lost) and `after>=0` (never negative).
# Env: BASE (the app's URL), ROUNDS, TAG (fresh accounts per run), RACE (the race command).
set -euo pipefail
rounds="${ROUNDS:-5}"
account="acct-${TAG}-{{round}}"
# The app opens an account on its first payment: a payment of 0 opens each round's
# account, so the probe before the race reads 100 rather than no account at all.
python3 - "${BASE}" "${TAG}" "${rounds}" <<'PY'
import sys, urllib.request
base, tag, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
for r in range(1, rounds + 1):
    url = f"{base}/api/pay?account=acct-{tag}-{r}&delta=0&i=3"
    urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=30).read()
PY
${RACE:-exactly race} "${BASE}/api/pay?account=${account}&delta=-30&i={{i}}" -X POST \
  -n 10 --rounds "${rounds}" --success 'status=200' --expect 'success==3' \
  --observe "${BASE}/api/balance?account=${account}" --observe-json balance \
  --expect 'after==before-30*success' --expect 'after>=0' "$@"
