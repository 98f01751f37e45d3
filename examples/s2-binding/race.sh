#!/usr/bin/env bash
# S2's invariant: never two enabled bindings for one (sku, settlement), even with slow
# validation between the check and the insert. Four clicks on one pair arrive together.
# Env: BASE (the app's URL), ROUNDS, TAG (fresh pairs per run), RACE (the race command).
set -euo pipefail
${RACE:-exactly race} "${BASE}/api/bind?sku=sku-${TAG}-{{round}}&settlement=st-1&id=b-${TAG}-{{round}}-{{i}}" \
  -X POST -n 4 --rounds "${ROUNDS:-5}" --success 'status=200' --expect 'success==1' "$@"
