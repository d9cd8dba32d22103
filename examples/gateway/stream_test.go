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

// A streamed search set whose upstream answers with Location and
// Content-Location naming another patient's resources reaches the client
// without them, as a Bundle checked whole does. The gateway sets
// X-Request-Id before the middleware runs, so the upstream's headers are
// copied into the response when its output begins.
func TestGatewayStreamedBundleDropsLocations(t *testing.T) {
	for _, n := range []int{3, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			g := startGatewayWith(t, func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path != upstreamBase+"/Observation" {
						next.ServeHTTP(w, r)
						return
					}
					base := "http://" + r.Host + upstreamBase
					w.Header().Set("Content-Type", "application/fhir+json")
					w.Header().Set("Location", base+"/Patient/"+naivefhir.Bob)
					w.Header().Set("Content-Location", base+"/Observation?subject=Patient/"+naivefhir.Bob)
					_, _ = io.WriteString(w, observationSearchset(base, n))
				})
			})
			tok := g.token("launch/patient patient/*.rs", naivefhir.Alice)
			res, body, err := fetchRaw(g.url+"/Observation?_include=Observation:performer", tok)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, res.StatusCode, "%.300s", body)
			assert.Equal(t, n > 3, res.ContentLength < 0, "a large Bundle streams")
			assert.NotEmpty(t, res.Header.Get("X-Request-Id"))
			assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice))
			assert.Empty(t, res.Header.Values("Location"))
			assert.Empty(t, res.Header.Values("Content-Location"))
		})
	}
}
