package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const goodConfig = `# a production-shaped gateway
listen: 0.0.0.0:8443
upstream: http://hapi:8080/fhir/
base: /fhir
fhir_version: R4
issuers:
  - issuer: https://login.example/tenant
    profile: smart
    algorithms: [RS256, ES256]
  - issuer: https://keycloak.example/realms/care
    jwks_url: https://keycloak.example/realms/care/certs
audiences: [https://gw.example/fhir, api://gw]
shared_types: [Practitioner, Organization]
operations:
  - name: lastn
    levels: [type]
    types: [Observation]
    permission: s
    search: true
limits:
  max_response: 8388608
tls:
  cert: /etc/gw/cert.pem
  key: /etc/gw/key.pem
dpop:
  enabled: true
  public_url: https://GW.example:443
`

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gateway.yaml")
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

func TestCheckConfig(t *testing.T) {
	p := writeConfig(t, goodConfig)
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-check-config", p}, &out, io.Discard))
	for _, want := range []string{
		"listen        0.0.0.0:8443",
		"tls           cert /etc/gw/cert.pem, key /etc/gw/key.pem",
		"FHIR base     /fhir -> upstream http://hapi:8080/fhir (FHIR R4)",
		"issuer        https://login.example/tenant (profile smart, algorithms RS256 ES256)",
		"issuer        https://keycloak.example/realms/care (profile smart, keys https://keycloak.example/realms/care/certs)",
		"audiences     https://gw.example/fhir, api://gw",
		"DPoP          proofs name https://gw.example, no server nonces, in-memory replay cache",
		"shared types  Practitioner, Organization",
		`operation     $lastn (levels type, types Observation, needs "s", search true)`,
		"max response  8388608 bytes",
	} {
		assert.Contains(t, out.String(), want)
	}
	// Flags override the file.
	out.Reset()
	require.NoError(t, run(context.Background(), []string{"-config", p, "-check-config", p, "-upstream", "https://other.example/r4", "-fhir-version", "STU3", "-max-response", "1024"}, &out, io.Discard))
	assert.Contains(t, out.String(), "upstream https://other.example/r4 (FHIR STU3)")
	assert.Contains(t, out.String(), "max response  1024 bytes")
	// A file without a version leaves it to the upstream.
	out.Reset()
	require.NoError(t, run(context.Background(), []string{"-check-config", writeConfig(t, strings.Replace(goodConfig, "fhir_version: R4\n", "", 1))}, &out, io.Discard))
	assert.Contains(t, out.String(), "(FHIR read from the upstream's CapabilityStatement)")
	// A profile in the file is enforced; -issuer flags replace the file's
	// issuers as a whole, -audience flags its audiences.
	out.Reset()
	require.NoError(t, run(context.Background(), []string{"-check-config", writeConfig(t, strings.Replace(goodConfig, "    profile: smart", "    profile: entra", 1))}, &out, io.Discard))
	assert.Contains(t, out.String(), "issuer        https://login.example/tenant (profile entra, algorithms RS256 ES256)")
	out.Reset()
	require.NoError(t, run(context.Background(), []string{"-check-config", p, "-issuer", "https://okta.example/oauth2/default", "-profile", "https://okta.example/oauth2/default=okta", "-audience", "api://fhir"}, &out, io.Discard))
	assert.Contains(t, out.String(), "issuer        https://okta.example/oauth2/default (profile okta)")
	assert.NotContains(t, out.String(), "login.example")
	assert.Contains(t, out.String(), "audiences     api://fhir\n")
}

// Hostile and mistaken files fail with the file's name, the line and the
// reason; none is half-applied.
func TestConfigFileErrors(t *testing.T) {
	replace := func(old, new string) string {
		require.Contains(t, goodConfig, old)
		return strings.Replace(goodConfig, old, new, 1)
	}
	cases := map[string]struct {
		body, want string
		line       int
	}{
		"unknown key":         {replace("base: /fhir\n", "base: /fhir\nbsae: /x\n"), "field bsae not found", 5},
		"unknown nested key":  {replace("    profile: smart\n", "    profil: smart\n"), "field profil not found", 8},
		"wrong type":          {replace("max_response: 8388608", "max_response: lots"), "cannot unmarshal", 21},
		"list for a string":   {replace("upstream: http://hapi:8080/fhir/", "upstream: [a, b]"), "cannot unmarshal", 3},
		"bad upstream":        {replace("upstream: http://hapi:8080/fhir/", "upstream: ftp://hapi/fhir"), "absolute http(s) URL", 3},
		"upstream with user":  {replace("upstream: http://hapi:8080/fhir/", "upstream: http://u:p@hapi/fhir"), "user info", 3},
		"bad version":         {replace("fhir_version: R4", "fhir_version: R5"), "not STU3 or R4", 5},
		"unknown profile":     {replace("    profile: smart", "    profile: nosuch"), "not a profile name", 8},
		"issuer without name": {replace("  - issuer: https://keycloak.example/realms/care\n", "  - issuer: \"\"\n"), "an issuer needs issuer:", 10},
		"bad level":           {replace("levels: [type]", "levels: [everywhere]"), `level "everywhere"`, 16},
		"bad permission":      {replace("permission: s", "permission: rx"), "only the letters c r u d s", 18},
		"bad shared type":     {replace("shared_types: [Practitioner, Organization]", "shared_types: [Observation]"), "Observation", 13},
		"bad base":            {replace("base: /fhir", "base: fhir/"), "base", 4},
		"cert without key":    {replace("  key: /etc/gw/key.pem\n", ""), "both cert and key", 23},
		"duplicate key":       {replace("base: /fhir\n", "base: /fhir\nbase: /other\n"), "already defined", 5},
		"tab indentation":     {replace("    profile: smart", "\tprofile: smart"), "tab character", 0},
		"two documents":       {goodConfig + "---\nlisten: x\n", "more than one YAML document", 0},
		"anchor and alias":    {replace("audiences: [https://gw.example/fhir, api://gw]", "audiences: &a [x]\nshared_types_again: *a"), "anchors and aliases", 12},
		"billion laughs":      {"a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b]\n", "anchors and aliases", 1},
		"empty":               {"", "empty file", 0},
		"not a mapping":       {"- a\n- b\n", "cannot unmarshal", 1},
		"huge":                {"# " + strings.Repeat("x", maxConfigFile) + "\n", "larger than", 0},
		"no upstream":         {replace("upstream: http://hapi:8080/fhir/\n", ""), "upstream is required", 0},
		"no issuer":           {"upstream: http://h/fhir\naudiences: [x]\n", "an issuer and an audience are required", 0},
		"invalid UTF-8":       {replace("base: /fhir", "base: /fhir\xff"), "", 0},
		"unterminated flow":   {replace("levels: [type]", "levels: [type"), "", 0},
		"operation twice": {replace("    search: true\n", "    search: true\n  - name: $lastn\n    levels: [type]\n    permission: rs\n"),
			"$lastn is already defined by operations[0]", 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := writeConfig(t, tc.body)
			var stderr bytes.Buffer
			err := run(context.Background(), []string{"-config", p}, io.Discard, &stderr)
			require.Error(t, err)
			var ce *configError
			require.True(t, errors.As(err, &ce), "a configError: %v", err)
			assert.Contains(t, err.Error(), p, "names the file")
			assert.Contains(t, err.Error(), tc.want)
			if tc.line > 0 {
				assert.Equal(t, tc.line, ce.line, "line: %v", err)
			}
			assert.Contains(t, stderr.String(), err.Error(), "said on stderr")
		})
	}
	// A missing file is an error too, and a flag's mistake stays a usage error.
	err := run(context.Background(), []string{"-config", filepath.Join(t.TempDir(), "nope.yaml")}, io.Discard, io.Discard)
	var ce *configError
	assert.ErrorAs(t, err, &ce)
	err = run(context.Background(), []string{"-config", writeConfig(t, goodConfig), "-fhir-version", "R5"}, io.Discard, io.Discard)
	var usage usageError
	assert.ErrorAs(t, err, &usage)
}

// FuzzConfigFile: no input crashes or hangs the parser; an accepted file
// has no aliases and decodes again to the same settings.
func FuzzConfigFile(f *testing.F) {
	f.Add(goodConfig)
	f.Add("a: &a [x]\nb: *a\n")
	f.Add("upstream: [")
	f.Add("---\n---\n")
	f.Fuzz(func(t *testing.T, s string) {
		fc, root, err := parseConfigFile("f.yaml", strings.NewReader(s))
		if err != nil {
			var ce *configError
			require.ErrorAs(t, err, &ce)
			return
		}
		require.NotNil(t, fc)
		assert.Nil(t, findAlias(root))
	})
}

// -forward-authorization=false overrides a file that forwards the
// caller's Authorization header: flags override the file, and an operator
// turning forwarding off must not find tokens still sent upstream.
func TestForwardAuthorizationFlagOverridesFile(t *testing.T) {
	p := writeConfig(t, goodConfig+"forward_authorization: true\n")
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-check-config", p}, &out, io.Discard))
	assert.Contains(t, out.String(), "forward Authorization upstream: true")
	out.Reset()
	require.NoError(t, run(context.Background(), []string{"-check-config", p, "-forward-authorization=false"}, &out, io.Discard))
	assert.Contains(t, out.String(), "forward Authorization upstream: false")
	out.Reset()
	require.NoError(t, run(context.Background(), []string{"-check-config", writeConfig(t, goodConfig), "-forward-authorization"}, &out, io.Discard))
	assert.Contains(t, out.String(), "forward Authorization upstream: true")
}

// A -profile flag applies to the file's issuers too (flags override the
// file), and one naming an issuer the file does not trust is refused
// rather than silently dropped.
func TestProfileFlagOverridesFile(t *testing.T) {
	p := writeConfig(t, goodConfig)
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-check-config", p, "-profile", "https://login.example/tenant=okta"}, &out, io.Discard))
	assert.Contains(t, out.String(), "issuer        https://login.example/tenant (profile okta, algorithms RS256 ES256)")
	assert.Contains(t, out.String(), "issuer        https://keycloak.example/realms/care (profile smart, keys https://keycloak.example/realms/care/certs)")
	err := run(context.Background(), []string{"-check-config", p, "-profile", "https://other.example=okta"}, io.Discard, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not an -issuer")
}
