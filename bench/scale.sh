#!/usr/bin/env bash
# Measures how fhirwarden's costs grow with the work (docs/scale.md):
#   1. the gateway (a subprocess) with 8 clients, search-set responses of
#      10 KB to 10 MB, checked and unchecked: time per response, peak RSS;
#   2. checked responses through the middleware: bytes allocated per
#      response over its size;
#   3. link rewriting throughput;
#   4. Bundles of 20 to 10,000 entries: middleware vs Authorize alone;
#   5. the token cache: hit rate and bytes held for 1 to 100,000 active
#      tokens; scope claims of 1 to 400 scopes, parsed and memoized.
# Usage: bench/scale.sh [small] [> scale.txt]   (full: ~10 minutes on 2 cores;
# "small" runs one size of each, as CI does, in under a minute).
# GATEWAY_BIN=path measures another build of the gateway (e.g. an older one).
set -euo pipefail
cd "$(dirname "$0")"
mode=${1:-full}
if [ "$mode" = small ]; then
  export FHIRWARDEN_SCALE=small
  BT=1x
  filter='size=100KB|transaction/entries=1000/|/1000-|/10/|LinkStream'
else
  export FHIRWARDEN_SCALE=1
  BT=${BENCHTIME:-5x}
  filter='.'
fi
echo "## Gateway, 8 clients"
go test -count=1 -run '^TestScaleGateway$' -v -timeout 20m . | grep '^SCALE' || exit 1
echo "## Checked responses, link rewriting, Bundles"
(cd .. && go test -run '^$' -bench 'BenchmarkCheckedResponseSize|BenchmarkMiddlewareBundle' -benchtime "$BT" ./middleware | grep -E '^Benchmark' | grep -E "$filter")
(cd .. && go test -run '^$' -bench 'BenchmarkLinkStream' -benchtime "$BT" ./examples/gateway | grep -E '^Benchmark')
echo "## Token cache and scope memo"
(cd .. && go test -run '^$' -bench 'BenchmarkTokenCacheWorkingSet|BenchmarkScopeClaim' -benchtime 20000x ./token | grep -E '^Benchmark' | grep -E "$filter")
