#!/usr/bin/env bash
# S4's invariant: no lost update and no negative balance — the final balance equals the
# opening balance plus the sum of the successful payments. The account opens with 100;
# ten payments of 30 arrive together (even requests through the nested call), so a
# serial history has exactly three successes and ends at 10: `success==3`. Afterwards the
# balance of every round is read back and must be 100 - 30 x successes.
# Env: BASE (the app's URL), ROUNDS, TAG (fresh accounts per run), RACE (the race command).
set -uo pipefail
json=""
args=("$@")
for ((k = 0; k < ${#args[@]}; k++)); do
  if [ "${args[k]}" = --json ]; then json="${args[k + 1]:-}"; fi
done
own=""
if [ -z "${json}" ]; then
  own="$(mktemp)"
  json="${own}"
  args+=(--json "${json}")
fi
${RACE:-exactly race} "${BASE}/api/pay?account=acct-${TAG}-{{round}}&delta=-30&i={{i}}" -X POST \
  -n 10 --rounds "${ROUNDS:-5}" --success 'status=200' --expect 'success==3' "${args[@]}"
rc=$?
if [ "${rc}" -le 1 ]; then
  python3 - "${json}" "${BASE}" "${TAG}" <<'PY' || rc=1
import json, sys, urllib.request
data, base, tag = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
bad = 0
for r in data["rounds"]:
    url = f"{base}/api/balance?account=acct-{tag}-{r['round']}"
    balance = json.load(urllib.request.urlopen(url, timeout=10))["balance"]
    want = 100 - 30 * r["success"]
    if balance != want or balance < 0:
        print(f"round {r['round']}: balance {balance}, expected {want} "
              f"(100 - 30 x {r['success']} successes): an update was lost")
        bad += 1
print(f"balance check: {len(data['rounds']) - bad} of {len(data['rounds'])} rounds add up")
sys.exit(1 if bad else 0)
PY
fi
if [ -n "${own}" ]; then rm -f "${own}"; fi
exit "${rc}"
