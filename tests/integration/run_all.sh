#!/usr/bin/env bash
# Runs the integration tests against the real server binary.
#
# Usage (from anywhere): tests/integration/run_all.sh [unittest discover args...]
# EXACTLY_BINARY overrides build/exactly. Seeds: EXACTLY_CRASH_SEED,
# EXACTLY_BAD_INPUT_SEED; EXACTLY_KEEP_TMP=1 keeps every test's data dir.
# Exits non-zero if any test fails; prints unittest's summary line.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/../.." && pwd)"
cd "${root}"

export EXACTLY_BINARY="${EXACTLY_BINARY:-${root}/build/exactly}"
if [ ! -x "${EXACTLY_BINARY}" ]; then
  echo "run_all: server binary not found: ${EXACTLY_BINARY} (run 'make build')" >&2
  exit 1
fi

# Debian's python3 has python3-redis; another python3 first on PATH may not.
python=python3
for candidate in /usr/bin/python3 python3; do
  if command -v "${candidate}" >/dev/null && "${candidate}" -c 'import redis' 2>/dev/null; then
    python="${candidate}"
    break
  fi
done

exec "${python}" -u -m unittest discover -s tests/integration -p 'test_*.py' -v "$@"
