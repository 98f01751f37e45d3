#!/usr/bin/env bash
# Audits one example app from a browser session recorded against it: the HAR
# (examples/audit/<example>.har, Chrome's "Save all as HAR" format, recorded at
# http://127.0.0.1:5000) is pointed at the running app and its names made fresh, then
# `exactly race audit` replays every state-changing request with rules.conf.
# Usage: audit.sh EXAMPLE [audit options]   Env: BASE (the app's URL), TAG, RACE.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ex="$1"
shift
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
fresh() { sed -e "s#http://127.0.0.1:5000#${BASE}#g" -e "s#har-#har-${TAG}-#g" "$1" >"$2"; }
fresh "${here}/${ex}.har" "${work}/${ex}.har"
fresh "${here}/rules.conf" "${work}/rules.conf"
reset=()
if [ "${ex}" = s4-balance ]; then
  # The app opens an account on its first payment: a payment of 0 opens it, so the
  # probe before the copies reads the opening balance rather than no account.
  reset=(--reset "python3 -c 'import urllib.request as u; u.urlopen(u.Request(\"${BASE}/api/pay?account=har-${TAG}-acct&delta=0&i=3\", method=\"POST\"), timeout=30)'")
fi
copies=()
if [ "${ex}" = s5-prize ] || [ "${ex}" = s5-prize-php ]; then
  # The naive draw's window (ZSCORE, ZCARD, ZADD: three quick Redis round trips) is
  # narrow; thirty copies of one user's draw land in it together far more surely than ten.
  copies=(-n 30)
fi
${RACE:-exactly race} audit "${work}/${ex}.har" --rules "${work}/rules.conf" "${reset[@]}" \
  "${copies[@]}" "$@"
