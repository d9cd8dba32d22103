package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/client"
	"github.com/fhirwarden/fhirwarden/token"
)

// export's status and file requests present a DPoP-bound token with the
// DPoP scheme and a valid proof for each URL, outside the base path too.
func TestExportSendsDPoPProofs(t *testing.T) {
	tokSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"bound-at","token_type":"DPoP","expires_in":3600}`))
	}))
	defer tokSrv.Close()
	checker, err := token.NewDPoPChecker(token.DPoPConfig{})
	require.NoError(t, err)
	key, err := client.GenerateDPoPKey()
	require.NoError(t, err)

	var mu sync.Mutex
	var failures []string
	var fhir *httptest.Server
	fhir = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if got := r.Header.Get("Authorization"); got != "DPoP bound-at" {
			failures = append(failures, r.URL.Path+": Authorization "+got)
		}
		p, err := checker.Check(r.Context(), r.Header.Get("DPoP"),
			token.ProofRequest{Method: r.Method, URL: fhir.URL + r.URL.Path, AccessToken: "bound-at"})
		if err != nil {
			failures = append(failures, r.URL.Path+": "+err.Error())
		} else if p.JKT != key.Thumbprint() {
			failures = append(failures, r.URL.Path+": proof of another key")
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	defer fhir.Close()
	ts, err := client.ClientCredentials(tokSrv.URL, "app", "s", client.WithDPoP(key))
	require.NoError(t, err)
	c, err := client.New(fhir.URL+"/fhir", ts)
	require.NoError(t, err)
	a := &app{cfg: &config{}, stderr: io.Discard, stdout: io.Discard, ts: ts, fhir: c}
	for _, u := range []string{"/bulk/1", "/bulk/1", "/fhir/Binary/2?x=1"} {
		_, _, err = a.authGet(context.Background(), fhir.URL+u, "application/json", 1<<20)
		require.NoError(t, err)
	}
	require.Empty(t, failures)

	// Another origin gets nothing.
	_, _, err = a.authGet(context.Background(), strings.Replace(fhir.URL, "127.0.0.1", "localhost", 1)+"/bulk/1", "application/json", 1<<20)
	require.ErrorIs(t, err, client.ErrForeignLink)
}
