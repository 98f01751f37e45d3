#!/usr/bin/env bash
# Fails when console/dist (committed, and built into the binary) is not what
# console/src builds to: rebuilds the bundle in a temp dir with the npm packages
# pinned by console/package-lock.json (npm ci: nothing but the npm registry,
# served from npm's cache once fetched) and compares byte for byte. esbuild's
# output is deterministic for one version and holds no path or time, so any
# difference is a change to src/, build.mjs or the pinned packages that
# `make console` was not run for. ctest runs it as console_dist.
set -euo pipefail

console_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "console_dist: no node or npm (scripts/install_deps.sh installs them): skipped"
  exit 77
fi

work_dir="$(mktemp -d)"
trap 'rm -rf "${work_dir}"' EXIT
cp -r "${console_dir}/package.json" "${console_dir}/package-lock.json" \
  "${console_dir}/build.mjs" "${console_dir}/src" "${work_dir}/"
(cd "${work_dir}" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null)
(cd "${work_dir}" && node build.mjs)

# -q: the bundle is one minified line, so the names of the files that differ
# (or are missing on one side) say more than the lines.
if ! diff -rq "${work_dir}/dist" "${console_dir}/dist" | sed -e "s|${work_dir}/|fresh build: |" -e "s|${console_dir}/|committed: console/|"; then
  echo "console_dist: console/dist is not what console/src builds to;"
  echo "run \`make console\` and commit console/dist"
  exit 1
fi
echo "console_dist: console/dist matches a fresh build of console/src"
