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
  # exactly race (h2c framing, io_uring release) and the examples/ web apps
  libnghttp2-dev liburing-dev python3-flask gunicorn python3-psycopg2
  # clients/ and the transaction tests: PHP's phpredis, Django for the view decorator
  php-cli php-redis python3-django
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# Node.js for clients/typescript: Debian's nodejs and npm, unless a node with its
# own npm is already installed (a nodejs package that bundles npm conflicts with
# Debian's npm package).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "install_deps: installing ${missing[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages of clients/typescript (ioredis, node-redis, typescript, express), from
# its package-lock.json; again only when the lock changed since the last install.
ts_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/clients/typescript"
if [ -f "${ts_dir}/package-lock.json" ] &&
   ! cmp -s "${ts_dir}/package-lock.json" "${ts_dir}/node_modules/.package-lock.json.installed"; then
  echo "install_deps: npm ci in clients/typescript"
  (cd "${ts_dir}" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  cp "${ts_dir}/package-lock.json" "${ts_dir}/node_modules/.package-lock.json.installed"
fi
