#!/usr/bin/env bash
# Starts the interop OpenID provider (panva's oidc-provider, pinned in
# package.json / package-lock.json) on 127.0.0.1 and waits for its discovery
# document. Installs the npm packages first when they are missing.
#
#   PORT=9000 AUDIENCE=http://127.0.0.1:8080/fhir CLIENT_JWKS_FILE=client.jwks.json interop/start.sh
#
# Prints the provider's PID on stdout once discovery answers; the provider's
# own output goes to ${LOG:-/tmp/oidc-provider.log}.
set -euo pipefail
cd "$(dirname "$0")"
: "${PORT:?PORT is required}" "${AUDIENCE:?AUDIENCE is required}" "${CLIENT_JWKS_FILE:?CLIENT_JWKS_FILE is required}"
[ -d node_modules/oidc-provider ] || npm ci --no-audit --no-fund >&2
log=${LOG:-/tmp/oidc-provider.log}
node provider.mjs >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:${PORT}/.well-known/openid-configuration" >/dev/null 2>&1; then
    echo "$pid"; exit 0
  fi
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
echo "oidc-provider did not answer discovery within 10 s" >&2
kill "$pid" 2>/dev/null || true
cat "$log" >&2
exit 1
