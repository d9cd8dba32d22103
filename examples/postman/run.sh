#!/usr/bin/env bash
# Runs the Care Connect security walk-through (careconnect.postman_collection.json)
# with a pinned newman against a freshly started careconnect on a free loopback port.
#
#   examples/postman/run.sh            # needs Go and Node.js (npm)
#
# newman is installed from the npm registry into examples/postman/node_modules
# exactly as pinned by package-lock.json (npm ci). Exit status: newman's.
#
# The secured requests use Postman's OAuth 2.0 authorization (client
# credentials, Send as Basic Auth header), so importing the collection shows
# the Care Connect guide's dialog. newman does not fetch OAuth 2.0 tokens
# itself; it sends the auth's Access Token, {{patientToken}} or {{readToken}},
# which the token requests of steps 2-4 set.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
newman_version=$(sed -n 's/.*"newman": *"\([0-9.]*\)".*/\1/p' "$here/package.json")

if ! command -v npm >/dev/null 2>&1; then
  echo "run.sh: npm (Node.js) is required to run newman" >&2
  exit 1
fi
if [ ! -x "$here/node_modules/.bin/newman" ] || [ "$("$here/node_modules/.bin/newman" --version)" != "$newman_version" ]; then
  echo "=== installing newman $newman_version (npm ci)"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

echo "=== building careconnect"
(cd "$root" && go build -o "$work/careconnect" ./examples/careconnect)

echo "=== starting careconnect on a free loopback port"
"$work/careconnect" -addr 127.0.0.1:0 -backend-key "$work/backend.jwk.json" >"$work/stdout" 2>"$work/stderr" &
pid=$!

fhir_base=""
for _ in $(seq 1 300); do
  fhir_base=$(sed -n 's/^ *FHIR base *\(http:[^ ]*\)$/\1/p' "$work/stdout" | head -n1)
  [ -n "$fhir_base" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "run.sh: careconnect exited:" >&2
    cat "$work/stderr" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$fhir_base" ]; then
  echo "run.sh: careconnect did not print its base URL in 30 s" >&2
  cat "$work/stderr" >&2
  exit 1
fi
# careconnect prints its base URL once it is listening.
base_url=${fhir_base%/fhir}
echo "=== careconnect at $base_url"

set +e
"$here/node_modules/.bin/newman" run "$here/careconnect.postman_collection.json" \
  --environment "$here/careconnect.postman_environment.json" \
  --env-var "baseUrl=$base_url" \
  --env-var "fhirBase=$fhir_base" \
  --env-var "tokenUrl=$base_url/oauth2/token" \
  --color off --no-insecure-file-read "$@"
status=$?
set -e
if [ $status -ne 0 ]; then
  echo "=== careconnect log (last 40 lines)" >&2
  tail -n 40 "$work/stderr" >&2
fi
exit $status
