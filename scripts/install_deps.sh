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
  # TLS tests: certificates made by the openssl CLI, HTTPS through curl
  openssl curl
  postgresql postgresql-contrib postgresql-client
  # benchmarks: instructions per request (bench/instructions.sh); HTTP W1's load and etcd's
  # (bench/run.sh); etcd 3.4 (Debian 12 ships 3.4.23) beside the replicated group
  valgrind etcd-server etcd-client wrk
  # exactly race (h2c framing, io_uring release) and the examples/ web apps
  libnghttp2-dev liburing-dev python3-flask gunicorn python3-psycopg2
  # clients/ and the transaction tests: PHP's phpredis, Django for the view decorator
  php-cli php-redis python3-django
  # replication: libuv for C-Raft's I/O backend (C-Raft itself comes from backports, below)
  libuv1-dev
  # the web console's end-to-end test (tests/http/console): headless Chromium
  chromium
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

# C-Raft 0.22.1 (replication) is only in bookworm-backports: Debian 12's own 0.15 votes on
# entries it has not persisted and corrupts its log (docs/replication.md). The backports
# suite is added as its own deb822 source, with the mirror and keyring of the machine's
# main Debian source; backports are pinned low by default, so nothing else moves to it.
raft_version=0.22.1
backports_source=/etc/apt/sources.list.d/bookworm-backports.sources
need_raft=0
if ! dpkg-query -W -f='${Status} ${Version}' libraft-dev 2>/dev/null |
     grep -q "install ok installed ${raft_version}"; then
  need_raft=1
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive

added_source=0
if [ "${need_raft}" -eq 1 ] && [ ! -f "${backports_source}" ]; then
  # The first deb822 stanza whose suites include bookworm gives the mirror and keyring.
  main_source=$(grep -lsE '^Suites:.*\bbookworm\b' /etc/apt/sources.list.d/*.sources | head -n 1)
  mirror=http://deb.debian.org/debian
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  if [ -n "${main_source}" ]; then
    mirror=$(awk '/^URIs:/ {print $2; exit}' "${main_source}")
    keyring=$(awk '/^Signed-By:/ {print $2; exit}' "${main_source}")
  fi
  echo "install_deps: adding bookworm-backports (${mirror}) for libraft-dev ${raft_version}"
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: %s\n' \
    "${mirror}" "${keyring}" | "${sudo_cmd[@]}" tee "${backports_source}" >/dev/null
  added_source=1
fi

if [ ${#missing[@]} -gt 0 ] || [ "${added_source}" -eq 1 ] || [ "${need_raft}" -eq 1 ]; then
  "${sudo_cmd[@]}" apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "install_deps: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ "${need_raft}" -eq 1 ]; then
  echo "install_deps: installing libraft-dev ${raft_version} from bookworm-backports"
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends -t bookworm-backports \
    "libraft-dev=${raft_version}*" >/dev/null
fi

# npm packages, each from its package-lock.json, again only when the lock changed
# since the last install: clients/typescript (ioredis, node-redis, typescript,
# express), tests/http/openapi (the OpenAPI validator the HTTP tests run) and
# tests/http/console (playwright-core, which drives Debian's chromium) and
# tests/integration/clients/cluster (the cluster clients test_cluster_clients.py runs).
root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for npm_dir in "${root_dir}/clients/typescript" "${root_dir}/tests/http/openapi" \
               "${root_dir}/tests/http/console" "${root_dir}/tests/integration/clients/cluster"; do
  if [ -f "${npm_dir}/package-lock.json" ] &&
     ! cmp -s "${npm_dir}/package-lock.json" "${npm_dir}/node_modules/.package-lock.json.installed"; then
    echo "install_deps: npm ci in ${npm_dir#"${root_dir}"/}"
    (cd "${npm_dir}" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp "${npm_dir}/package-lock.json" "${npm_dir}/node_modules/.package-lock.json.installed"
  fi
done
