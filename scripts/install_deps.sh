#!/usr/bin/env bash
# Installs every Debian package exactly builds, tests or benchmarks with.
# Idempotent: packages already present are skipped, and apt is not touched
# at all when nothing is missing. docs/ARCHITECTURE.md lists why each is here.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
  libboost1.81-dev libfmt-dev libcli11-dev libxxhash-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # tests: real peers started by the tests themselves
  redis-server redis-tools python3 python3-redis strace procps iproute2 faketime
  postgresql postgresql-contrib postgresql-client
  # benchmarks: instructions per request (bench/instructions.sh)
  valgrind
  # exactly race (h2c framing) and the examples/ web apps
  libnghttp2-dev python3-flask gunicorn python3-psycopg2
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install_deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
