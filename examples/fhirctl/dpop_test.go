package main

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/server"
)

// TestDPoPFlag runs fhirctl -dpop against careconnect, whose dpop-app
// client gets tokens only with a proof and whose FHIR endpoints check a
// proof with every request.
func TestDPoPFlag(t *testing.T) {
	cfg, err := server.ParseArgs([]string{"-addr", "127.0.0.1:0", "-backend-key", filepath.Join(t.TempDir(), "b.jwk.json")}, io.Discard)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	s, err := server.Start(ctx, cfg, io.Discard)
	require.NoError(t, err)
	t.Cleanup(func() { cancel(); _ = s.Shutdown(context.Background()) })
	env := map[string]string{"FHIR_BASE": s.BaseURL(), "FHIR_CLIENT_ID": server.DPoPClient, "FHIR_CLIENT_SECRET": server.DPoPClient + "-secret"}

	r := fhirctl(t, env, "", "-dpop", "token")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "DPoP", decode(t, r.stdout)["token_type"])

	r = fhirctl(t, env, "", "-dpop", "get", "Patient/1")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "Patient", decode(t, r.stdout)["resourceType"])

	r = fhirctl(t, env, "", "-dpop", "search", "Patient", "_count=1")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "page 2:", "every page with its own proof")

	r = fhirctl(t, env, "", "token")
	assert.Equal(t, exitAuth, r.code, "the token endpoint refused the client")
	assert.Contains(t, r.stderr, "invalid_dpop_proof", "the client must send a proof")

	r = fhirctl(t, env, "", "-dpop-key", filepath.Join(t.TempDir(), "missing.pem"), "token")
	assert.NotEqual(t, exitOK, r.code)
	assert.Contains(t, r.stderr, "-dpop-key")
}
