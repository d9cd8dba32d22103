#!/usr/bin/env bash
# Counts the instructions per request of every load scenario, bare and
# wrapped, with valgrind's callgrind (whole process: servers, middleware,
# runtime, load generator), and prints a Markdown table. Deterministic where
# loadcompare's requests/s are not: the machine's load does not change them.
# Each count is the difference of two runs (N1 and N2 requests) divided by
# N2-N1, so start-up and the warm-up do not count. Each count is the least
# of REPEAT runs: once in about thirty runs a count came out ~3 billion
# instructions high (a wrapped user-search; eight reruns of the same count
# agreed within 0.2%), most likely the runtime spinning while valgrind runs
# the threads one at a time; the least of two leaves such a run out.
# Usage: bench/irload.sh [scenario...]   (needs valgrind; ~8 minutes for all)
# Tunables (environment): N1 (2000), N2 (6000), REPEAT (2).
set -euo pipefail
cd "$(dirname "$0")"
command -v valgrind >/dev/null || { echo "irload.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
N1=${N1:-2000}
N2=${N2:-6000}
REPEAT=${REPEAT:-2}
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(user-search patient-search patient-search-narrowed patient-read)
bin=$(mktemp)
trap 'rm -f "$bin"' EXIT
go build -o "$bin" ./cmd/loadir

count1() { # scenario server n -> instructions collected in one run
  local out
  out=$(GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/dev/null \
    "$bin" -scenario "$1" -server "$2" -n "$3" -callgrind 2>&1) || { echo "$out" >&2; return 1; }
  grep -o 'Collected : [0-9]*' <<<"$out" | grep -o '[0-9]*$'
}
count() { # scenario server n -> the least count of REPEAT runs
  local best='' c
  for _ in $(seq "$REPEAT"); do
    # A run under valgrind now and then loses a few requests (the
    # process stalls past the client's timeout while callgrind switches
    # instrumentation): such a run is repeated, up to three times.
    c=$(count1 "$@") || c=$(count1 "$@") || c=$(count1 "$@") || { echo "irload.sh: $* failed three times" >&2; exit 1; }
    if [ -z "$best" ] || [ "$c" -lt "$best" ]; then best=$c; fi
  done
  echo "$best"
}
perreq() { # scenario server -> instructions per request
  local a b
  a=$(count "$1" "$2" "$N1") || exit 1
  b=$(count "$1" "$2" "$N2") || exit 1
  echo $(( (b - a) / (N2 - N1) ))
}

echo "| scenario | bare instructions/req | wrapped instructions/req | added by the middleware | bare/wrapped |"
echo "| --- | ---: | ---: | ---: | ---: |"
for sc in "${scenarios[@]}"; do
  echo "counting $sc..." >&2
  b=$(perreq "$sc" bare) || exit 1
  w=$(perreq "$sc" wrapped) || exit 1
  awk -v s="$sc" -v b="$b" -v w="$w" 'BEGIN { printf "| %s | %d | %d | %+d (%+.1f%%) | %.3f |\n", s, b, w, w - b, 100 * (w - b) / b, b / w }'
done
echo
echo "callgrind instruction counts, $((N2 - N1)) requests (difference of $N2- and $N1-request runs, each the least of $REPEAT), 8 workers, GOMAXPROCS=$(nproc) (valgrind runs the threads one at a time), commit $(git -C .. rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C .. diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')."
