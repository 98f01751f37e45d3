#!/usr/bin/env bash
# The style kept by a machine: clang-format, banned calls, no TODOs in src/.
set -uo pipefail
cd "$(dirname "$0")/.."
failed=0
files=$(git ls-files 'src/*.cc' 'src/*.h' 'tests/*.cc' 'tests/*.h' 'bench/*.cc' 2>/dev/null)
if command -v clang-format >/dev/null; then
  for f in $files; do
    if [ -f "$f" ] && ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
      echo "tidy: not clang-formatted: $f (run clang-format -i $f)"
      failed=1
    fi
  done
fi
if grep -rnE '\b(TODO|FIXME|XXX)\b' src; then
  echo "tidy: finish or remove the TODOs above"
  failed=1
fi
# Time enters in one place (server/clock.cc); randomness nowhere in core/.
if grep -rnE 'system_clock|steady_clock|std::rand|random_device|time\(nullptr\)' src/core; then
  echo "tidy: src/core must not read clocks or randomness"
  failed=1
fi
if grep -rnE '#include "(net|http|storage|server|race|replica)/' src/core src/base; then
  echo "tidy: core/ and base/ depend on base/ only"
  failed=1
fi
# The arrows of docs/ARCHITECTURE.md: net sees core and base; storage, race and
# replica see base; only server sees everything (net reaches it through net/server_view.h).
if grep -rnE '#include "(http|storage|server|race|replica)/' src/net; then
  echo "tidy: net/ depends on core/ and base/ only"
  failed=1
fi
# http/ speaks HTTP for net/'s commands; it reaches the server through its handler.
if grep -rnE '#include "(storage|server|race|replica)/' src/http; then
  echo "tidy: http/ depends on net/, core/ and base/ only"
  failed=1
fi
if grep -rnE '#include "(core|net|http|server|race|replica)/' src/storage; then
  echo "tidy: storage/ depends on base/ only"
  failed=1
fi
if grep -rnE '#include "(core|net|http|storage|server|replica)/' src/race; then
  echo "tidy: race/ depends on base/ only"
  failed=1
fi
if grep -rnE '#include "(core|net|http|storage|server|race)/' src/replica; then
  echo "tidy: replica/ depends on base/ only"
  failed=1
fi
if grep -rnE '\bnew [A-Z]' src | grep -v 'placement'; then
  echo "tidy: no naked new"
  failed=1
fi
if [ $failed -ne 0 ]; then exit 1; fi
echo "tidy: ok"
