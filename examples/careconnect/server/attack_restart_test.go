package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/server"
)

// TestCareConnectAttackTokenOfAPreviousRun: the embedded issuer's keys
// live as long as the process. A token kept from an earlier run on the
// same address (same issuer, same audience, same client) is refused by
// the next run, which has new keys.
func TestCareConnectAttackTokenOfAPreviousRun(t *testing.T) {
	file := filepath.Join(t.TempDir(), "clients.json")
	require.NoError(t, os.WriteFile(file, []byte(attackClients), 0o600))
	start := func(addr string) (*server.Server, error) {
		return server.Start(context.Background(), server.Config{Addr: addr, ClientsFile: file,
			Logger: slog.New(slog.DiscardHandler)}, io.Discard)
	}
	first, err := start("127.0.0.1:0")
	require.NoError(t, err)
	addr := first.Addr().String()
	r := tokenFor(t, first, "pw", "s3cret", "")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	tok := r.doc["access_token"].(string)
	require.Equal(t, http.StatusOK, call(t, http.MethodGet, first.BaseURL()+"/Patient/1", tok, nil).status)
	require.NoError(t, first.Shutdown(context.Background()))

	second, err := start(addr)
	if err != nil {
		t.Skipf("the address %s was taken in between: %v", addr, err)
	}
	t.Cleanup(func() { _ = second.Shutdown(context.Background()) })
	require.Equal(t, first.BaseURL(), second.BaseURL())
	refused := call(t, http.MethodGet, second.BaseURL()+"/Patient/1", tok, nil)
	assert.Equal(t, http.StatusUnauthorized, refused.status, "%s", refused.body)
	assert.Contains(t, refused.header.Get("WWW-Authenticate"), `error="invalid_token"`)
	assert.NotContains(t, string(refused.body), "Amelia")
	r = tokenFor(t, second, "pw", "s3cret", "")
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, http.StatusOK, call(t, http.MethodGet, second.BaseURL()+"/Patient/1", r.doc["access_token"].(string), nil).status)
}
