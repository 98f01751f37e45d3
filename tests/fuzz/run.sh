#!/usr/bin/env bash
# Runs every fuzz target of a build dir for N seconds each, starting from the
# checked-in seeds and keeping what it found in <build-dir>/fuzz/corpus/<name>/.
# Usage: tests/fuzz/run.sh <build-dir> [seconds]
set -euo pipefail
build_dir=${1:?usage: run.sh <build-dir> [seconds]}
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
status=0
for fuzzer in "$build_dir"/fuzz/*_fuzz; do
  [ -x "$fuzzer" ] || continue
  name=$(basename "$fuzzer" _fuzz)
  corpus="$build_dir/fuzz/corpus/$name"
  mkdir -p "$corpus"
  echo "fuzz: $name for ${seconds}s"
  if ! "$fuzzer" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
      -artifact_prefix="$build_dir/fuzz/$name-" "$corpus" "$here/seeds/$name" \
      2> "$build_dir/fuzz/$name.log"; then
    echo "fuzz: $name FAILED; see $build_dir/fuzz/$name.log and the crash-* files beside it"
    tail -40 "$build_dir/fuzz/$name.log"
    status=1
  else
    tail -2 "$build_dir/fuzz/$name.log"
  fi
done
exit $status
