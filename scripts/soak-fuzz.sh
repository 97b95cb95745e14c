#!/usr/bin/env bash
# soak-fuzz.sh: the fuzzing part of `make soak`. Runs every Go fuzz target of
# the repository, one after another, for FUZZTIME each, and reports the
# executions and crashes of each and in total. Exits non-zero on any crash
# (or a package whose tests do not build). Every report line contains
# "soak:": scripts/soak.sh gathers those into the summary of `make soak`.
#
# Targets are discovered with `go test -list '^Fuzz' ./...`, so a new
# FuzzXxx is run without touching this script. Their committed seed corpora
# (testdata/fuzz/<FuzzName>/) also run as plain tests in `make test`.
#
# Environment:
#   FUZZTIME           time (or "Nx" executions) per target, default 60s
#   FUZZMINIMIZETIME   time spent minimizing each new input, default 5s: large
#                      seeds (PATCH bodies, policy files) otherwise hold a
#                      worker for the default 60s per input
#   FUZZPARALLEL       fuzzing workers per target, default: go's (GOMAXPROCS)
#   FUZZMATCH          extended regexp on "package FuzzName" to run a subset
#
# A crashing input is written by go into the package's testdata/fuzz/<FuzzName>/:
# fix the bug, then commit that file as a regression seed.
set -uo pipefail

cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-60s}
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-5s}
FUZZMATCH=${FUZZMATCH:-.}

# go test's own deadline: the fuzzing time plus room for the build and the
# seed corpus, so that only a real hang trips it.
case $FUZZTIME in
*[0-9]s) budget=$((${FUZZTIME%s} + 600))s ;;
*[0-9]m) budget=$((${FUZZTIME%m} + 10))m ;;
*[0-9]h) budget=$((${FUZZTIME%h} + 1))h ;;
*) budget=60m ;; # an execution count, or a compound duration
esac

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# Discover: -list prints the matching names, then "ok  <package> ..." for
# the package they belong to.
if ! $GO test -list '^Fuzz' ./... >"$logs/list" 2>&1; then
	echo "soak: fuzz: listing the fuzz targets failed:" >&2
	grep -v '^ok ' "$logs/list" | grep -v '^Fuzz' >&2
	exit 2
fi
targets=()
names=()
while read -r first second _; do
	case $first in
	Fuzz*) names+=("$first") ;;
	ok)
		for n in "${names[@]}"; do
			targets+=("$second $n")
		done
		names=()
		;;
	esac
done <"$logs/list"

total_execs=0
crashes=0
count=0
for target in "${targets[@]}"; do
	[[ $target =~ $FUZZMATCH ]] || continue
	pkg=${target% *}
	name=${target#* }
	count=$((count + 1))
	log="$logs/$count.log"
	args=(-run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZETIME" -timeout "$budget")
	[[ -n ${FUZZPARALLEL:-} ]] && args+=(-parallel "$FUZZPARALLEL")
	start=$SECONDS
	$GO test "${args[@]}" "$pkg" >"$log" 2>&1
	rc=$?
	# The last progress line holds the final count ("execs: N (...)").
	execs=$(grep -o 'execs: [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$')
	execs=${execs:-0}
	total_execs=$((total_execs + execs))
	if [[ $rc -eq 0 ]]; then
		result=ok
	else
		result=CRASH
		crashes=$((crashes + 1))
	fi
	printf 'soak: fuzz %s %s: %s executions in %ss, %s\n' "$pkg" "$name" "$execs" $((SECONDS - start)) "$result"
	if [[ $rc -ne 0 ]]; then
		# The failure, the input go saved, and how to re-run it.
		grep -v '^fuzz: elapsed' "$log" | sed 's/^/    /' | tail -n 40
	fi
done

if [[ $count -eq 0 ]]; then
	echo "soak: fuzz: no fuzz target matched" >&2
	exit 2
fi
echo "soak: fuzz: $count targets, $total_execs executions, $crashes crashes"
[[ $crashes -eq 0 ]]
