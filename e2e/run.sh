#!/usr/bin/env bash
# Runs the browser tests of the e2e module: installs Chromium (Debian's
# "chromium" package) when no browser is found, then runs `go test ./...` in e2e.
#
#   e2e/run.sh [go test flags]        e.g. e2e/run.sh -run TestScopesPage -v
#
# In CI (CI=true) a missing browser makes the tests fail instead of skip.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

find_browser() {
  if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ]; then echo "$CHROMIUM_PATH"; return 0; fi
  for b in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$b" >/dev/null 2>&1; then command -v "$b"; return 0; fi
  done
  return 1
}

if ! browser=$(find_browser); then
  echo "=== installing chromium"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "run.sh: chromium is missing and this user cannot install it (not root, no sudo)" >&2
      exit 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "run.sh: chromium is missing and apt-get is not available; install Chromium and set CHROMIUM_PATH" >&2
    exit 1
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
  browser=$(find_browser)
fi
echo "=== browser: $browser"
export CHROMIUM_PATH="$browser"

cd "$here"
go test -count=1 "$@" ./...
