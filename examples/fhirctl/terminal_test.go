package main

import (
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// terminalControls are what a hostile server's text must not carry to
// a terminal: ESC (CSI, OSC, which sets the title or the clipboard), BEL,
// C1 controls, line separators and bidirectional overrides.
var terminalControls = []string{"\x1b", "\x07", "\u009b", "\u009d", "\u2028", "\u202e"}

// assertNoTerminalControls fails when out carries one of them.
func assertNoTerminalControls(t *testing.T, out string) {
	t.Helper()
	for _, c := range terminalControls {
		assert.NotContains(t, out, c, "%q", out)
	}
}

// TestExplainShowsClaimsSafely: explain prints what the token's claims
// say, and the token comes from a token endpoint (or a -token someone
// pasted) that can put escape sequences in a scope, the patient or the
// client id; they reach the terminal as '?'.
func TestExplainShowsClaimsSafely(t *testing.T) {
	claims := `{"scope":"patient/*.rs launch/\u001b]52;c;ZXZpbA==\u0007 user/Observation.rs?code=\u001b[2J",` +
		`"patient":"p1\u001b[8m","client_id":"app\u009b2J\u202e"}`
	tok := "e30." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + ".c2ln"
	env := map[string]string{"FHIR_BASE": "http://127.0.0.1:1/fhir", "FHIR_TOKEN": tok}
	r := fhirctl(t, env, "", "-fhir-version", "R4", "explain")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "launch/?]52;c;ZXZpbA==?", "the scope is shown, its controls replaced")
	assertNoTerminalControls(t, r.stdout)

	r = fhirctl(t, env, "", "-fhir-version", "R4", "explain", "GET", "Observation?patient=p1")
	assertNoTerminalControls(t, r.stdout)
}
