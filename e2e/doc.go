// Package e2e holds fhirwarden's browser tests: a real headless Chromium,
// driven by chromedp, against the careconnect example started in-process.
// It is a separate Go module so that the library's users never download a
// browser driver.
//
//	cd e2e && go test ./...          # or: e2e/run.sh (installs chromium if missing)
//
// The tests look for Chromium in $CHROMIUM_PATH, then chromium,
// chromium-browser, google-chrome and google-chrome-stable on $PATH. Without
// one they skip, unless $CI is set: in CI a missing browser is a failure.
//
//	CHROMIUM_PATH=/usr/bin/chromium go test -run TestScopesPage -v ./...
//
// Chromium runs headless with a fresh, empty profile directory, no sandbox
// (CI containers run as root), no GPU, no QUIC and no background network
// traffic, and talks only to the loopback server.
package e2e
