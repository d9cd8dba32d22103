package main

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
)

// startCareConnect runs the example server with a system/ client and a
// user/ client.
func startCareConnect(t *testing.T) *server.Server {
	t.Helper()
	file := filepath.Join(t.TempDir(), "clients.json")
	require.NoError(t, os.WriteFile(file, []byte(`[
 {"client_id":"bulk","client_secret":"s3cret","scope":"system/*.rs"},
 {"client_id":"reader","client_secret":"s3cret","scope":"user/*.rs"}]`), 0o600))
	s, err := server.Start(context.Background(), server.Config{Addr: "127.0.0.1:0", ClientsFile: file,
		Logger: slog.New(slog.DiscardHandler)}, io.Discard)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

// TestExportCommand exports into a directory, with progress on stderr
// and a summary on stdout, then resumes from a status URL.
func TestExportCommand(t *testing.T) {
	s := startCareConnect(t)
	env := map[string]string{"FHIR_BASE": s.BaseURL(), "FHIR_CLIENT_ID": "bulk", "FHIR_CLIENT_SECRET": "s3cret"}
	dir := filepath.Join(t.TempDir(), "out")
	r := fhirctl(t, env, "", "export", "-dir", dir, "-type", "Patient,Observation")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "export: status "+s.URL()+"/bulk/")
	assert.Regexp(t, `export: exported [01] of 2 types \(next look in 1s\)`, r.stderr, "progress from X-Progress and Retry-After")
	data, err := os.ReadFile(filepath.Join(dir, "Observation.ndjson"))
	require.NoError(t, err)
	assert.Equal(t, 6, strings.Count(string(data), "\n"))
	assert.Contains(t, r.stdout, "Observation  6")
	assert.FileExists(t, filepath.Join(dir, "Patient.ndjson"))

	statusURL := strings.Fields(strings.SplitN(r.stderr, "export: status ", 2)[1])[0]
	dir2 := filepath.Join(t.TempDir(), "again")
	r = fhirctl(t, env, "", "export", "-dir", dir2, "-status", statusURL)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.FileExists(t, filepath.Join(dir2, "Observation.ndjson"))

	other := map[string]string{"FHIR_BASE": s.BaseURL(), "FHIR_CLIENT_ID": "reader", "FHIR_CLIENT_SECRET": "s3cret"}
	r = fhirctl(t, other, "", "export", "-dir", dir2, "-status", statusURL)
	assert.Equal(t, exitNotFound, r.code, "another client's job: %s", r.stderr)
	r = fhirctl(t, other, "", "export", "-dir", dir2)
	assert.Equal(t, exitAuth, r.code, "user/ scopes do not export: %s", r.stderr)
}

// TestExportCommandRefusesForeignURLs: the token is never sent to
// another server, and usage errors exit 2.
func TestExportCommandRefusesForeignURLs(t *testing.T) {
	s := startCareConnect(t)
	env := map[string]string{"FHIR_BASE": s.BaseURL(), "FHIR_CLIENT_ID": "bulk", "FHIR_CLIENT_SECRET": "s3cret"}
	r := fhirctl(t, env, "", "export", "-dir", t.TempDir(), "-status", "http://evil.example/bulk/1")
	assert.Equal(t, exitFailure, r.code, r.stderr)
	assert.Contains(t, r.stderr, "the token is not sent there")
	for _, args := range [][]string{
		{"export"},
		{"export", "-dir", "d", "-type", "patient"},
		{"export", "-dir", "d", "-since", "yesterday"},
		{"export", "-dir", "d", "-status", "http://x/bulk/1", "-type", "Patient"},
	} {
		assert.Equal(t, exitUsage, fhirctl(t, env, "", args...).code, "%q", args)
	}
}

// cancelOn is a writer that cancels a context once it has seen a word.
type cancelOn struct {
	strings.Builder
	word   string
	cancel context.CancelFunc
}

func (c *cancelOn) Write(p []byte) (int, error) {
	n, err := c.Builder.Write(p)
	if strings.Contains(c.String(), c.word) {
		c.cancel()
	}
	return n, err
}

// TestExportInterrupted: Ctrl-C while polling leaves the job running and
// prints the command that resumes it, which then finishes the export.
func TestExportInterrupted(t *testing.T) {
	s := startCareConnect(t)
	env := map[string]string{"FHIR_BASE": s.BaseURL(), "FHIR_CLIENT_ID": "bulk", "FHIR_CLIENT_SECRET": "s3cret"}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &cancelOn{word: "next look in", cancel: cancel}
	var stdout strings.Builder
	code := run(ctx, []string{"export", "-dir", dir}, strings.NewReader(""), &stdout, stderr, func(k string) string { return env[k] })
	assert.NotEqual(t, exitOK, code)
	out := stderr.String()
	require.Contains(t, out, "Resume with:\n  fhirctl export -dir "+dir+" -status ")
	resume := strings.Fields(strings.SplitN(out[strings.Index(out, "Resume with:"):], "\n", 3)[1])
	statusURL := resume[len(resume)-1]
	r := fhirctl(t, env, "", "export", "-dir", dir, "-status", statusURL)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.FileExists(t, filepath.Join(dir, "Patient.ndjson"))
}

// TestExportStatusURLShownSafely: a status URL on the FHIR server's own
// origin (from a kick-off's Content-Location, or given back with
// -status) is printed without the characters that rewrite what a
// terminal shows.
func TestExportStatusURLShownSafely(t *testing.T) {
	s := startCareConnect(t)
	env := map[string]string{"FHIR_BASE": s.BaseURL(), "FHIR_CLIENT_ID": "bulk", "FHIR_CLIENT_SECRET": "s3cret"}
	r := fhirctl(t, env, "", "export", "-dir", t.TempDir(), "-status", s.BaseURL()+"/bulk/1?x=\u202egpj.exe\u009b2J")
	assert.Contains(t, r.stderr, "export: status ")
	assert.NotContains(t, r.stderr, "\u202e")
	assert.NotContains(t, r.stderr, "\u009b")
}
