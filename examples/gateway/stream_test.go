package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
)

// A checked search set streams through the gateway (ReverseProxy, link
// rewriting, middleware): a good one arrives whole and filtered; one
// whose check fails after output was sent (a second entry member at its
// end) is aborted, so the client gets a read error and never a complete
// Bundle, and nothing of the hostile member.
func TestGatewayStreamedCheck(t *testing.T) {
	var hostile atomic.Bool
	g := startGatewayWith(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != upstreamBase+"/Observation" {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/fhir+json")
			body := observationSearchset("http://"+r.Host+upstreamBase, 1000)
			if hostile.Load() {
				body = strings.TrimSuffix(body, "}") + `,"entry":[{"resource":{"resourceType":"Patient","id":"p2","name":[{"family":"LEAKED"}]}}]}`
			}
			for i := 0; i < len(body); i += 8192 {
				_, _ = io.WriteString(w, body[i:min(i+8192, len(body))])
			}
		})
	})
	tok := g.token("patient/*.rs", naivefhir.Alice)
	path := "Observation?_include=Observation:performer"

	res, body, err := fetchRaw(g.url+"/"+path, tok)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.True(t, json.Valid(body))
	assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice))
	assert.Equal(t, 667, strings.Count(string(body), `"resourceType":"Observation"`))
	assert.NotContains(t, string(body), g.up.URL, "links rewritten")

	hostile.Store(true)
	_, body, err = fetchRaw(g.url+"/"+path, tok)
	require.Error(t, err, "the response is aborted")
	assert.False(t, json.Valid(body))
	assert.Greater(t, len(body), 32<<10, "output had been sent")
	assert.NotContains(t, string(body), "LEAKED")
	assert.NotContains(t, string(body), `"Patient/`+naivefhir.Bob+`"`)
}

// fetchRaw GETs u with a bearer token and reads the whole body, returning
// the read error.
func fetchRaw(u, tok string) (*http.Response, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res, body, err
}

// observationSearchset is a search set of n Observations with absolute fullUrls
// under base, every third Bob's.
func observationSearchset(base string, n int) string {
	var b strings.Builder
	b.WriteString(`{"resourceType":"Bundle","type":"searchset","link":[{"relation":"self","url":"` + base + `/Observation"}],"entry":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		who := naivefhir.Alice
		if i%3 == 2 {
			who = naivefhir.Bob
		}
		fmt.Fprintf(&b, `{"fullUrl":"%s/Observation/o%d","resource":{"resourceType":"Observation","id":"o%d","status":"final","code":{"text":"heart rate"},"subject":{"reference":"Patient/%s"}},"search":{"mode":"match"}}`, base, i, i, who)
	}
	b.WriteString(`]}`)
	return b.String()
}
