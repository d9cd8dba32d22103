package server_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/server"
	"github.com/fhirwarden/fhirwarden/internal/logbuf"
)

// startWith starts careconnect with cfg and returns it and its banner.
func startWith(t *testing.T, cfg server.Config) (*server.Server, string, *logbuf.Buffer) {
	t.Helper()
	logs := &logbuf.Buffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	var out strings.Builder
	s, err := server.Start(context.Background(), cfg, &out)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s, out.String(), logs
}

// TestBannerFromLoadedClients: the copy-and-paste commands come from the
// clients the server loaded, with a request their scopes allow and one
// they do not.
func TestBannerFromLoadedClients(t *testing.T) {
	file := filepath.Join(t.TempDir(), "clients.json")
	require.NoError(t, os.WriteFile(file, []byte(`[
 {"client_id":"key-only","jwks":{"keys":[]},"client_secret":"","scope":"system/*.rs"},
 {"client_id":"mine","client_secret":"my-secret","scope":"patient/*.rs","patient":"2"}]`), 0o600))
	_, _, err := startWithErr(file)
	require.Error(t, err, "a client without secret or keys is refused")

	require.NoError(t, os.WriteFile(file, []byte(`[
 {"client_id":"mine","client_secret":"my-secret","scope":"patient/*.rs","patient":"2"}]`), 0o600))
	s, out, _ := startWith(t, server.Config{Addr: "127.0.0.1:0", ClientsFile: file})
	assert.NotContains(t, out, "my-secret", "a -clients file's secrets are not printed")
	assert.Contains(t, out, "Set CLIENT_SECRET to the secret of mine")
	for _, c := range server.CurlCommands(s.URL(), "mine", "$CLIENT_SECRET", "Patient/2", "Observation?patient=1") {
		assert.Contains(t, out, "  "+c+"\n")
	}
	assert.Contains(t, out, "The last command is refused with 403: ")
	assert.NotContains(t, out, "patient-access")
}

func startWithErr(file string) (*server.Server, string, error) {
	var out strings.Builder
	s, err := server.Start(context.Background(), server.Config{Addr: "127.0.0.1:0", ClientsFile: file, Logger: slog.New(slog.DiscardHandler)}, &out)
	if s != nil {
		_ = s.Shutdown(context.Background())
	}
	return s, out.String(), err
}

// TestNonLoopbackWarning: demo secrets on an address other machines can
// reach are announced loudly; loopback and -clients files are quiet.
func TestNonLoopbackWarning(t *testing.T) {
	_, out, logs := startWith(t, server.Config{Addr: "0.0.0.0:0", BackendKeyFile: filepath.Join(t.TempDir(), "k.json")})
	assert.Contains(t, out, "is not a loopback address. The demo clients' secrets")
	assert.Contains(t, logs.String(), "demo client secrets served on a non-loopback address")
	_, out, logs = startWith(t, server.Config{Addr: "127.0.0.1:0", BackendKeyFile: filepath.Join(t.TempDir(), "k.json")})
	assert.NotContains(t, out, "WARNING")
	assert.NotContains(t, logs.String(), "non-loopback")
}

// TestBackendKeyFileRemovedOnShutdown: the demo backend key is valid only
// while the server runs, and its file goes with it.
func TestBackendKeyFileRemovedOnShutdown(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "backend.jwk.json")
	s, err := server.Start(context.Background(), server.Config{Addr: "127.0.0.1:0", BackendKeyFile: keyFile, Logger: slog.New(slog.DiscardHandler)}, io.Discard)
	require.NoError(t, err)
	assert.FileExists(t, keyFile)
	require.NoError(t, s.Shutdown(context.Background()))
	assert.NoFileExists(t, keyFile)
}
