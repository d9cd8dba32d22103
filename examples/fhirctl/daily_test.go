package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFlagsAfterCommand: flags may come before or after the command and
// its arguments; "--" ends them and "-" stays stdin.
func TestFlagsAfterCommand(t *testing.T) {
	f := newFixture(t)
	env := map[string]string{"FHIR_BASE": f.env["FHIR_BASE"]}
	for _, args := range [][]string{
		{"-client-id", "patient-access", "-client-secret", "s3cret", "get", "Patient/9000000009"},
		{"get", "Patient/9000000009", "-client-id", "patient-access", "-client-secret", "s3cret"},
		{"-client-id", "patient-access", "get", "-client-secret", "s3cret", "Patient/9000000009"},
		{"-client-id=patient-access", "get", "Patient/9000000009", "-client-secret=s3cret"},
	} {
		r := fhirctl(t, env, "", args...)
		require.Equal(t, exitOK, r.code, "%q: %s", args, r.stderr)
		assert.Equal(t, "9000000009", decode(t, r.stdout)["id"], "%q", args)
	}
	r := fhirctl(t, f.env, "", "get", "--", "-max-pages")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, `"-max-pages" is not Type/id`, "after --, a flag-like word is an argument")
	r = fhirctl(t, f.env, "", "search", "Patient", "-o")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "flag needs an argument")
}

// TestTokenFlag: -token and FHIR_TOKEN send the token as is; the
// environment's client credentials are then not used.
func TestTokenFlag(t *testing.T) {
	f := newFixture(t)
	tok := f.iss.Mint(map[string]any{"scope": "user/Patient.read", "client_id": "cli"})
	r := fhirctl(t, map[string]string{"FHIR_BASE": f.env["FHIR_BASE"]}, "", "get", "Patient/9000000009", "-token", tok)
	require.Equal(t, exitOK, r.code, r.stderr)
	r = fhirctl(t, map[string]string{"FHIR_BASE": f.env["FHIR_BASE"], "FHIR_TOKEN": tok, "FHIR_CLIENT_ID": "x"}, "", "get", "Patient/9000000009")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Empty(t, f.iss.TokenRequests(), "a given token is used as is")
	r = fhirctl(t, map[string]string{"FHIR_BASE": f.env["FHIR_BASE"]}, "", "get", "Patient/9000000009", "-token", "not-a-token")
	assert.Equal(t, exitAuth, r.code, r.stderr)
	r = fhirctl(t, f.env, "", "-token", tok, "-client-secret", "s", "get", "Patient/1")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "either -token or client credentials")
}

// TestClientIDAlone: a client id without a secret, key or token is a
// usage error, not the server's 401.
func TestClientIDAlone(t *testing.T) {
	f := newFixture(t)
	for _, env := range []map[string]string{
		{"FHIR_BASE": f.env["FHIR_BASE"], "FHIR_CLIENT_ID": "patient-access"},
		{"FHIR_BASE": f.env["FHIR_BASE"]},
	} {
		r := fhirctl(t, env, "", "get", "Patient/9000000009", "-client-id", "patient-access")
		assert.Equal(t, exitUsage, r.code, r.stderr)
		assert.Contains(t, r.stderr, `-client-id "patient-access" needs -client-secret or -key`)
	}
	assert.Empty(t, f.fhir.iss.TokenRequests())
}

// TestExitCodes: each kind of failure has its own status, listed in -h.
func TestExitCodes(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want int
	}{
		{"ok", f.env, []string{"get", "Patient/9000000009"}, exitOK},
		{"usage", f.env, []string{"get"}, exitUsage},
		{"forbidden", f.env, []string{"get", "Observation/obs-1"}, exitAuth},
		{"token refused", f.env, []string{"-client-secret", "nope", "get", "Patient/9000000009"}, exitAuth},
		{"not found", f.env, []string{"get", "Patient/404"}, exitNotFound},
		{"network", map[string]string{"FHIR_BASE": "http://127.0.0.1:1/fhir", "FHIR_TOKEN": "t"}, []string{"get", "Patient/1"}, exitNetwork},
		{"local file", f.env, []string{"create", "Patient", "/nonexistent/p.json"}, exitFailure},
	}
	for _, c := range cases {
		r := fhirctl(t, c.env, "", c.args...)
		assert.Equal(t, c.want, r.code, "%s: %s", c.name, r.stderr)
	}
	h := fhirctl(t, nil, "", "-h")
	for _, line := range []string{"0  done", "2  usage error", "3  authentication or authorization", "4  not found", "5  other FHIR error", "6  network error", "7  incomplete"} {
		assert.Contains(t, h.stderr, line)
	}
}

// TestSearchOutputFormats covers -o ndjson and -o table.
func TestSearchOutputFormats(t *testing.T) {
	f := newFixture(t)
	env := map[string]string{"FHIR_BASE": f.env["FHIR_BASE"], "FHIR_CLIENT_ID": "editor", "FHIR_CLIENT_SECRET": "edit-s3cret"}
	r := fhirctl(t, env, "", "search", "Observation", "patient=9000000009", "-o", "ndjson")
	require.Equal(t, exitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	assert.Len(t, lines, 7)
	for _, l := range lines {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m))
		assert.Equal(t, "Observation", m["resourceType"])
	}
	r = fhirctl(t, env, "", "-o", "table", "search", "Observation", "patient=9000000009")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.True(t, strings.HasPrefix(r.stdout, "TYPE"), r.stdout)
	assert.Len(t, strings.Split(strings.TrimSpace(r.stdout), "\n"), 8)
	r = fhirctl(t, env, "", "-o", "yaml", "search", "Observation")
	assert.Equal(t, exitUsage, r.code)
	r = fhirctl(t, env, "", "-o", "ndjson", "-max-pages", "1", "search", "Observation", "patient=9000000009")
	assert.Equal(t, exitIncomplete, r.code)
	assert.Len(t, strings.Split(strings.TrimSpace(r.stdout), "\n"), 2, "what was read is printed")
	assert.Contains(t, r.stderr, "raise -max-pages")
}

// TestVersionCommand needs no base or credentials.
func TestVersionCommand(t *testing.T) {
	r := fhirctl(t, nil, "", "version")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.True(t, strings.HasPrefix(r.stdout, "fhirctl "), r.stdout)
	assert.Equal(t, exitUsage, fhirctl(t, nil, "", "version", "x").code)
}

// TestExplainCommand explains the token and one request, as words and
// JSON; a denied request exits 3.
func TestExplainCommand(t *testing.T) {
	f := newFixture(t)
	tok := f.iss.Mint(map[string]any{"scope": "patient/Observation.rs patient/Patient.r openid", "patient": "9000000009", "client_id": "app",
		"exp": time.Now().Add(time.Hour).Unix()})
	env := map[string]string{"FHIR_BASE": f.env["FHIR_BASE"], "FHIR_TOKEN": tok}
	r := fhirctl(t, env, "", "explain")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "May read and search Observation, for Patient/9000000009 only. May read Patient/9000000009. May run $everything on Patient/9000000009. Nothing else. openid: an OpenID Connect id_token may be issued with the token.\n", r.stdout)
	assert.Contains(t, r.stderr, "default STU3 policy", "the version comes from the CapabilityStatement")

	r = fhirctl(t, env, "", "explain", "GET", "Observation?patient=2")
	assert.Equal(t, exitAuth, r.code, r.stderr)
	assert.Contains(t, r.stdout, "GET Observation?patient=2: denied (403)")

	r = fhirctl(t, env, "", "explain", "GET", "Observation?code=x", "-json")
	require.Equal(t, exitOK, r.code, r.stderr)
	m := decode(t, r.stdout)
	assert.Equal(t, true, m["allowed"])
	assert.Equal(t, []any{"Patient/9000000009"}, m["narrow"].(map[string]any)["subject"], r.stdout)

	r = fhirctl(t, env, "", "explain", "GET", "Observation?code=http://loinc.org|1234-5")
	require.Equal(t, exitOK, r.code, "a URL inside the query is fine: %s", r.stderr)

	r = fhirctl(t, env, `{"resourceType":"Observation","subject":{"reference":"Patient/9000000009"}}`, "explain", "POST", "Observation", "-")
	assert.Equal(t, exitAuth, r.code, "no c letter: %s", r.stdout)
	assert.Contains(t, r.stdout, "Would have been enough")

	r = fhirctl(t, map[string]string{"FHIR_BASE": f.env["FHIR_BASE"], "FHIR_CLIENT_ID": "editor", "FHIR_CLIENT_SECRET": "edit-s3cret"}, "", "-fhir-version", "R4", "explain", "-json")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "default R4 policy")
	assert.Equal(t, "editor", decode(t, r.stdout)["client"])

	for _, args := range [][]string{{"explain", "FETCH", "Patient"}, {"explain", "GET"}, {"explain", "GET", "http://x/fhir/Patient"}} {
		assert.Equal(t, exitUsage, fhirctl(t, env, "", args...).code, "%q", args)
	}
	r = fhirctl(t, map[string]string{"FHIR_BASE": f.env["FHIR_BASE"]}, "", "explain")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "needs a token")
}
