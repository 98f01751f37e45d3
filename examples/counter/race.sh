#!/usr/bin/env bash
# The counter's invariant: every vote that answered counts, so after the race the post
# has its votes before it plus one per success: `after==before+success`. Twenty votes
# arrive together; every one answers 302, so only the state probe can see a lost one.
# Env: BASE (the app's URL), ROUNDS, TAG (fresh posts per run), RACE (the race command).
set -euo pipefail
post="p-${TAG}-{{round}}"
${RACE:-exactly race} "${BASE}/api/vote?post=${post}" -X POST -n 20 --rounds "${ROUNDS:-5}" \
  --success 'status=302' --observe "${BASE}/api/votes?post=${post}" --observe-json votes \
  --expect 'after==before+success' "$@"
