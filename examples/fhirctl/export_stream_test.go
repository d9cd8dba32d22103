package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/client"
)

// bulkFileServer answers /bulk/1 with a manifest of one Patient file,
// /bulk/files/1, of lines NDJSON lines of patientLine.
func bulkFileServer(t *testing.T, lines int) *httptest.Server {
	line := []byte(patientLine)
	size := lines * len(line)
	chunk := bytes.Repeat(line, 1<<12)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bulk/1" {
			_, _ = w.Write([]byte(`{"transactionTime":"2024-01-01T00:00:00Z","requiresAccessToken":true,` +
				`"output":[{"type":"Patient","url":"http://` + r.Host + `/bulk/files/1"}]}`))
			return
		}
		for n := 0; n < size; n += len(chunk) {
			if _, err := w.Write(chunk[:min(len(chunk), size-n)]); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// patientLine is one line of the file bulkFileServer serves.
const patientLine = `{"resourceType":"Patient","id":"p1"}` + "\n"

// bulkApp is an export app for srv with a static token, writing to dir.
func bulkApp(t *testing.T, srv *httptest.Server, dir string, stdout io.Writer) *app {
	c, err := client.New(srv.URL+"/fhir", client.StaticToken("at"))
	require.NoError(t, err)
	return &app{cfg: &config{dir: dir}, stderr: io.Discard, stdout: stdout, ts: client.StaticToken("at"), fhir: c}
}

// TestExportDownloadStreams: a file goes to disk as it comes, so a
// server sending a large one (up to the 1 GiB a file may have) cannot
// make fhirctl hold it, let alone several copies of it, in memory.
func TestExportDownloadStreams(t *testing.T) {
	const lines = 900_000
	size := lines * len(patientLine)
	srv := bulkFileServer(t, lines)
	dir := t.TempDir()
	var stdout strings.Builder
	a := bulkApp(t, srv, dir, &stdout)
	ctx := context.Background()
	m, err := a.poll(ctx, srv.URL+"/bulk/1")
	require.NoError(t, err)

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	require.NoError(t, a.downloadAll(ctx, m, srv.URL+"/bulk/1"))
	runtime.ReadMemStats(&after)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(size/4), "bytes allocated to download %d bytes", size)

	st, err := os.Stat(filepath.Join(dir, "Patient.ndjson"))
	require.NoError(t, err)
	assert.EqualValues(t, size, st.Size())
	assert.Regexp(t, `(?m)^Patient\s+900000\s`, stdout.String(), "the summary counts the lines")
}

// TestExportDownloadIncompleteLeavesNothing: a file over the limit, or
// cut off before its Content-Length, is an error and leaves no file,
// whole or partial, in -dir.
func TestExportDownloadIncompleteLeavesNothing(t *testing.T) {
	old := maxExportFile
	maxExportFile = 1000
	t.Cleanup(func() { maxExportFile = old })
	cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "500")
		_, _ = w.Write([]byte(patientLine))
	}))
	t.Cleanup(cut.Close)
	for name, srv := range map[string]*httptest.Server{"too large": bulkFileServer(t, 100), "cut off": cut} {
		dir := t.TempDir()
		a := bulkApp(t, srv, dir, io.Discard)
		m := &manifest{Output: []manifestFile{{Type: "Patient", URL: srv.URL + "/bulk/files/1"}}}
		err := a.downloadAll(context.Background(), m, srv.URL+"/bulk/1")
		require.Error(t, err, name)
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Empty(t, entries, name)
	}
}

// TestExportFileErrorLeavesQueryOut: a file URL may carry a credential
// in its query (a signature, an access_token); a refused download is
// reported without it, as the client package reports every URL.
func TestExportFileErrorLeavesQueryOut(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
	}))
	t.Cleanup(srv.Close)
	a := bulkApp(t, srv, t.TempDir(), io.Discard)
	m := &manifest{Output: []manifestFile{{Type: "Patient", URL: srv.URL + "/bulk/files/1?sig=s3cret-signature#frag"}}}
	err := a.downloadAll(context.Background(), m, srv.URL+"/bulk/1")
	var fe *client.Error
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, srv.URL+"/bulk/files/1", fe.URL)
	var stderr strings.Builder
	assert.Equal(t, exitAuth, report(&stderr, err))
	assert.NotContains(t, stderr.String(), "s3cret-signature")
}
