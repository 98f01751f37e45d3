#!/usr/bin/env bash
# Runs the client libraries' own tests against the real server binary:
# clients/python (unittest) and clients/typescript (tsc, then node's test runner).
# EXACTLY_BINARY overrides build/exactly. Exits non-zero if any test fails.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/.." && pwd)"
export EXACTLY_BINARY="${EXACTLY_BINARY:-${root}/build/exactly}"
case "${EXACTLY_BINARY}" in /*) ;; *) EXACTLY_BINARY="${root}/${EXACTLY_BINARY}" ;; esac

# Debian's python3 has python3-redis, Flask and Django; another python3 first on
# PATH may not.
python=python3
for candidate in /usr/bin/python3 python3; do
  if command -v "${candidate}" >/dev/null && "${candidate}" -c 'import redis' 2>/dev/null; then
    python="${candidate}"
    break
  fi
done

status=0
echo "clients: python"
"${python}" -u -m unittest discover -s "${here}/python/tests" -t "${here}/python/tests" -v || status=1

if [ -d "${here}/typescript/src" ]; then
  echo "clients: typescript"
  (cd "${here}/typescript" && npx --no-install tsc -p . && node --test dist/test/*.test.js) || status=1
fi
exit "${status}"
