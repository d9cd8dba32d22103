package server

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Slow clients (slowloris headers or bodies, slow readers) and idle
// connections are cut off: every phase of a connection has a deadline,
// and headers are bounded.
func TestAttackServerTimeoutsAreSet(t *testing.T) {
	s, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", BackendKeyFile: filepath.Join(t.TempDir(), "k.jwk"),
		Logger: slog.New(slog.DiscardHandler)}, io.Discard)
	require.NoError(t, err)
	defer s.Shutdown(context.Background())
	h := s.http
	assert.Positive(t, h.ReadHeaderTimeout)
	assert.Positive(t, h.ReadTimeout)
	assert.Positive(t, h.WriteTimeout)
	assert.Positive(t, h.IdleTimeout)
	assert.LessOrEqual(t, h.ReadHeaderTimeout, h.ReadTimeout)
	assert.Positive(t, h.MaxHeaderBytes)
	assert.LessOrEqual(t, h.MaxHeaderBytes, 1<<20)
}
