#!/usr/bin/env bash
# Measures fhirwarden's performance claims and prints them as Markdown:
#   1. peer comparison (BenchmarkVerifyPeers) and the library packages' own
#      benchmarks (token, middleware, fhirauth, scope): median ns/op, B/op,
#      allocs/op over COUNT runs, ratio vs the baseline measured in the same run;
#   2. the load comparison (bare vs middleware-wrapped server, cmd/loadcompare);
#   3. with IRLOAD=1 (needs valgrind, ~8 more minutes), instructions per
#      request of each load scenario, bare and wrapped (irload.sh);
#   4. the machine it ran on.
# Usage: bench/report.sh [> report.md]    (about 4 minutes on 2 cores)
# Tunables (environment): COUNT (5), BENCHTIME (500ms), LOAD_DURATION (1s),
# LOAD_ROUNDS (8), LOAD_CONCURRENCY (8), IRLOAD (unset).
set -uo pipefail
cd "$(dirname "$0")"

COUNT=${COUNT:-5}
BENCHTIME=${BENCHTIME:-500ms}
LOAD_DURATION=${LOAD_DURATION:-1s}
LOAD_ROUNDS=${LOAD_ROUNDS:-8}
LOAD_CONCURRENCY=${LOAD_CONCURRENCY:-8}

raw=$(mktemp)
trap 'rm -f "$raw" "$raw.loadcompare"' EXIT
failed=()

bench() { # dir package-pattern bench-regex
  local dir=$1 pkg=$2 re=$3
  if ! (cd "$dir" && go test -run '^$' -bench "$re" -benchtime "$BENCHTIME" -count "$COUNT" "$pkg") >>"$raw" 2>&1; then
    failed+=("$pkg $re")
  fi
}

echo "Running benchmarks (count $COUNT, benchtime $BENCHTIME)..." >&2
bench . . '^BenchmarkVerifyPeers$'
bench .. ./token '^BenchmarkVerify$'
bench .. ./middleware '^BenchmarkMiddleware$'
bench .. ./fhirauth '^BenchmarkDecide$'
bench .. ./scope '^BenchmarkPermits$'

echo "## Benchmarks"
echo
go run ./cmd/benchtable <"$raw" || { echo "no benchmark results; raw output:"; cat "$raw"; }
echo
echo "ns/op, B/op and allocs/op are medians over $COUNT runs (-benchtime $BENCHTIME). \"vs baseline\" divides ns/op by the"
echo "baseline measured in the same process: raw-rsa-verify (crypto/rsa alone) for the peers, raw-rs256/raw-es256 for"
echo "token, bare (the inner handler alone) for middleware, google/fhir's unmarshal for fhirauth's transaction."
for f in "${failed[@]}"; do
  echo
  echo "**FAILED:** go test -bench for $f (see the raw output below)"
  grep -E -- '--- FAIL|FAIL|panic|cannot|undefined' "$raw" | head -20 | sed 's/^/    /'
done
echo

echo "Running the load comparison..." >&2
echo "## Load: bare vs wrapped"
echo
go build -o "$raw.loadcompare" ./cmd/loadcompare || failed+=("build loadcompare")
"$raw.loadcompare" -c "$LOAD_CONCURRENCY" -d "$LOAD_DURATION" -rounds "$LOAD_ROUNDS" || failed+=("loadcompare")
echo
echo "Audit records only counted (the bare server writes no access log either). The same with every audit record"
echo "formatted by slog's JSON handler into io.Discard (-audit json, half the rounds):"
echo
"$raw.loadcompare" -audit json -c "$LOAD_CONCURRENCY" -d "$LOAD_DURATION" -rounds $(( (LOAD_ROUNDS + 1) / 2 )) || failed+=("loadcompare -audit json")
echo

if [ -n "${IRLOAD:-}" ]; then
  echo "Counting instructions per request (irload.sh)..." >&2
  echo "## Load in instructions: bare vs wrapped"
  echo
  ./irload.sh || failed+=("irload.sh")
  echo
fi

echo "## Machine"
echo
echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') ($(nproc) cores available)"
echo "- $(go version)"
echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- commit: $(git -C .. rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C .. diff --quiet 2>/dev/null || echo ' (with uncommitted changes)'), $(date -u +%Y-%m-%dT%H:%MZ)"

[ ${#failed[@]} -eq 0 ] || exit 1
