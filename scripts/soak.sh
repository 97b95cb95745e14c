#!/usr/bin/env bash
# `make soak`: the long versions of the reliability suite (issue 11), then a
# summary of every figure the parts reported.
#
#   1. go test -run Soak ./tests/... with SOAK=1: crash safety (SIGKILL
#      during uploads, imports and copies), engine faults (MinIO and MariaDB
#      stopped and paused under load), load (slow and idle uploads beside
#      reads). The short versions of the same tests run in `make test`.
#   2. scripts/soak-fuzz.sh: each fuzz target for a fixed time.
#
# Each part logs lines containing "soak:"; they are gathered at the end,
# with the pass/fail lines. Exit status: non-zero when any part failed.
# Needs the engines of `make test`: run through make, which evals
# scripts/test-env.sh first. SOAK_SEED=<n> replays the crash soak's choices.
set -uo pipefail
cd "$(dirname "$0")/.."

out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0

echo "== soak: go test -run Soak (SOAK=1) =="
SOAK=1 ${GO:-go} test -count=1 -v -run Soak -timeout 3h ./tests/... 2>&1 | tee "$out" || status=1

# --- fuzzing hook: scripts/soak-fuzz.sh runs every fuzz target -------------
echo "== soak: fuzzing =="
bash scripts/soak-fuzz.sh 2>&1 | tee -a "$out" || status=1

echo
echo "== make soak summary =="
grep -h 'soak:' "$out" | grep -v '^== soak' | sed -E 's/^ *[A-Za-z0-9_]+\.go:[0-9]+: //'
grep -E '^(--- (PASS|FAIL)|ok |FAIL)' "$out"
if [ "$status" = 0 ]; then echo "make soak: PASS"; else echo "make soak: FAIL"; fi
exit "$status"
