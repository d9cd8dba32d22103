package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/client"
	"github.com/fhirwarden/fhirwarden/token"
)

// nonceServer is a Bulk Data server whose status and file endpoints want
// DPoP proofs carrying their current nonce, each its own (so the status
// endpoint's nonce does not do for a file); /bulk/rotating asks for a new
// nonce on every request. It counts the requests per path.
type nonceServer struct {
	*httptest.Server
	mu   sync.Mutex
	hits map[string]int
}

func newNonceServer(t *testing.T, key *client.DPoPKey) *nonceServer {
	status, files := nonceChecker(t, "status"), nonceChecker(t, "files")
	s := &nonceServer{hits: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.URL.Path]++
		n := s.hits[r.URL.Path]
		s.mu.Unlock()
		checker := status
		if strings.HasPrefix(r.URL.Path, "/bulk/files/") {
			checker = files
		}
		p, err := checker.Check(r.Context(), r.Header.Get("DPoP"),
			token.ProofRequest{Method: r.Method, URL: s.URL + r.URL.Path, AccessToken: "bound-at"})
		nonce := checker.Nonce()
		if r.URL.Path == "/bulk/rotating" {
			nonce, err = "rotating-"+strconv.Itoa(n), token.ErrDPoPNonce
		}
		switch {
		case errors.Is(err, token.ErrDPoPNonce):
			w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"`)
			w.Header().Set("DPoP-Nonce", nonce)
			w.WriteHeader(http.StatusUnauthorized)
		case err != nil || p.JKT != key.Thumbprint():
			w.WriteHeader(http.StatusForbidden)
		case r.URL.Path == "/bulk/1":
			_, _ = w.Write([]byte(`{"transactionTime":"2024-01-01T00:00:00Z","requiresAccessToken":true,` +
				`"output":[{"type":"Patient","url":"` + s.URL + `/bulk/files/1"}]}`))
		default:
			_, _ = w.Write([]byte(`{"resourceType":"Patient","id":"p1"}` + "\n"))
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// nonceChecker checks proofs and wants a nonce made with secret.
func nonceChecker(t *testing.T, secret string) *token.DPoPChecker {
	nonces, err := token.NewNonceSource([]byte(strings.Repeat(secret, 32)), time.Minute)
	require.NoError(t, err)
	checker, err := token.NewDPoPChecker(token.DPoPConfig{Nonces: nonces})
	require.NoError(t, err)
	return checker
}

func (s *nonceServer) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

// export's status poll and file download answer a 401 use_dpop_nonce by
// sending the request once more with a proof carrying the server's nonce,
// and a server asking for a new nonce every time gets two requests, no
// more.
func TestExportRetriesDPoPNonce(t *testing.T) {
	tokSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"bound-at","token_type":"DPoP","expires_in":3600}`))
	}))
	defer tokSrv.Close()
	key, err := client.GenerateDPoPKey()
	require.NoError(t, err)
	srv := newNonceServer(t, key)
	ts, err := client.ClientCredentials(tokSrv.URL, "app", "s", client.WithDPoP(key))
	require.NoError(t, err)
	c, err := client.New(srv.URL+"/fhir", ts)
	require.NoError(t, err)
	dir := t.TempDir()
	a := &app{cfg: &config{dir: dir}, stderr: io.Discard, stdout: io.Discard, ts: ts, fhir: c}
	ctx := context.Background()

	m, err := a.poll(ctx, srv.URL+"/bulk/1")
	require.NoError(t, err)
	require.Equal(t, 2, srv.count("/bulk/1"))
	require.NoError(t, a.downloadAll(ctx, m, srv.URL+"/bulk/1"))
	require.Equal(t, 2, srv.count("/bulk/files/1"))
	data, err := os.ReadFile(filepath.Join(dir, "Patient.ndjson"))
	require.NoError(t, err)
	require.Contains(t, string(data), `"id":"p1"`)

	_, err = a.poll(ctx, srv.URL+"/bulk/rotating")
	var fe *client.Error
	require.ErrorAs(t, err, &fe)
	require.Equal(t, http.StatusUnauthorized, fe.StatusCode)
	require.Equal(t, 2, srv.count("/bulk/rotating"))
}
