package server_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/server"
)

// TestBackendKeyFileIsNotWrittenThroughALink: the default key file is
// in the shared temporary directory under a name anyone can predict
// from the port. Another user of the machine who puts a symbolic link
// there must not get the private key written into a file of their
// choosing, nor make the server overwrite one of its user's files.
func TestBackendKeyFileIsNotWrittenThroughALink(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need privileges on Windows")
	}
	dir := t.TempDir()
	victim := filepath.Join(dir, "precious.txt")
	require.NoError(t, os.WriteFile(victim, []byte("keep me\n"), 0o644))
	keyFile := filepath.Join(dir, "careconnect-backend-service-8080.jwk.json")
	require.NoError(t, os.Symlink(victim, keyFile))

	s, err := server.Start(context.Background(), server.Config{Addr: "127.0.0.1:0", BackendKeyFile: keyFile,
		Logger: slog.New(slog.DiscardHandler)}, io.Discard)
	if err == nil {
		_ = s.Shutdown(context.Background())
	}
	require.Error(t, err)
	got, rerr := os.ReadFile(victim)
	require.NoError(t, rerr)
	assert.Equal(t, "keep me\n", string(got), "the link's target is untouched")
	fi, lerr := os.Lstat(keyFile)
	require.NoError(t, lerr)
	assert.Equal(t, os.ModeSymlink, fi.Mode()&os.ModeSymlink, "the link is left for its owner to see")

	// A dangling link to a place its creator can read is refused too.
	keyFile2 := filepath.Join(dir, "careconnect-backend-service-8081.jwk.json")
	target := filepath.Join(dir, "collected.jwk")
	require.NoError(t, os.Symlink(target, keyFile2))
	s, err = server.Start(context.Background(), server.Config{Addr: "127.0.0.1:0", BackendKeyFile: keyFile2,
		Logger: slog.New(slog.DiscardHandler)}, io.Discard)
	if err == nil {
		_ = s.Shutdown(context.Background())
	}
	require.Error(t, err)
	assert.NoFileExists(t, target)
}

// TestBackendKeyFileReplacesAStaleOne: a key file left by a run that
// did not shut down is replaced, and the new one is private.
func TestBackendKeyFileReplacesAStaleOne(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "k.jwk.json")
	require.NoError(t, os.WriteFile(keyFile, []byte("stale"), 0o644))
	s, err := server.Start(context.Background(), server.Config{Addr: "127.0.0.1:0", BackendKeyFile: keyFile,
		Logger: slog.New(slog.DiscardHandler)}, io.Discard)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	got, err := os.ReadFile(keyFile)
	require.NoError(t, err)
	assert.Contains(t, string(got), `"d"`, "the new private key")
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(keyFile)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	}
}
