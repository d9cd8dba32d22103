package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// capabilityUpstream answers GET metadata with the body in cs (the naive
// server's otherwise).
func capabilityUpstream(cs *atomic.Value) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if b, _ := cs.Load().(string); b != "" && strings.HasSuffix(r.URL.Path, "/metadata") {
				b = strings.ReplaceAll(b, "UPSTREAM", "http://"+r.Host+upstreamBase)
				b = strings.ReplaceAll(b, "ORIGIN", "http://"+r.Host)
				w.Header().Set("Content-Type", "application/fhir+json")
				_, _ = w.Write([]byte(b))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// The CapabilityStatement at the gateway names the gateway, not the
// upstream, anywhere; says SMART on FHIR with the issuer's OAuth URIs;
// and an upstream answer that is not a CapabilityStatement is never
// passed on.
func TestGatewayCapabilityStatement(t *testing.T) {
	saved := capabilityTTL
	capabilityTTL = 0 // every request reads the upstream's answer of the moment
	t.Cleanup(func() { capabilityTTL = saved })
	var cs atomic.Value
	g := startGatewayWith(t, capabilityUpstream(&cs), "-fhir-version", "R4")
	get := func() (int, []byte) {
		res, body := g.do(t, http.MethodGet, "metadata", "", "", "")
		return res.StatusCode, body
	}
	cs.Store(`{"resourceType":"CapabilityStatement","status":"active","kind":"instance","fhirVersion":"4.0.1","format":["json"],` +
		`"implementation":{"description":"internal HAPI at UPSTREAM","url":"UPSTREAM"},` +
		`"software":{"name":"x","version":"1.0"},"count":12345678901234567890,` +
		`"extension":[{"url":"http://example.org/ext","valueUri":"UPSTREAM/Patient?x=1"},{"url":"http://example.org/ext2","valueString":"admin at ORIGIN/admin"}],` +
		`"rest":[{"mode":"server","documentation":"see UPSTREAM/ or UPSTREAMx (another server)",` +
		`"security":{"service":[{"text":"none"}],"description":"open to UPSTREAM"},` +
		`"resource":[{"type":"Patient","profile":"UPSTREAM/StructureDefinition/p","operation":[{"name":"everything","definition":"UPSTREAM/OperationDefinition/e"}]}]}]}`)
	status, body := get()
	require.Equal(t, 200, status, "%s", body)
	up := g.up.URL
	text := string(body)
	assert.NotContains(t, text, up, "no upstream address left")
	// A URL that only starts like the upstream's base is another one: its
	// path stays, and its origin (the upstream's host) is the gateway's.
	assert.Contains(t, text, strings.TrimSuffix(g.url, "/fhir")+upstreamBase+"x")
	var got struct {
		Count          json.Number
		Implementation struct{ URL, Description string }
		Extension      []struct{ ValueURI, ValueString string }
		Rest           []struct {
			Security struct {
				Service []struct {
					Coding []struct{ System, Code string }
				}
				Extension []struct {
					URL       string
					Extension []struct {
						URL      string
						ValueURI string `json:"valueUri"`
					}
				}
			}
			Resource []struct{ Profile string }
		}
	}
	require.NoError(t, json.Unmarshal(body, &got))
	assert.Equal(t, "12345678901234567890", got.Count.String(), "numbers pass as written")
	assert.Equal(t, g.url, got.Implementation.URL)
	assert.Equal(t, "internal HAPI at "+g.url, got.Implementation.Description)
	assert.Equal(t, g.url+"/Patient?x=1", got.Extension[0].ValueURI)
	require.Len(t, got.Rest, 1)
	assert.Equal(t, g.url+"/StructureDefinition/p", got.Rest[0].Resource[0].Profile)
	sec := got.Rest[0].Security
	require.Len(t, sec.Service, 1)
	assert.Equal(t, "SMART-on-FHIR", sec.Service[0].Coding[0].Code)
	require.Len(t, sec.Extension, 1)
	assert.Equal(t, "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris", sec.Extension[0].URL)
	uris := map[string]string{}
	for _, e := range sec.Extension[0].Extension {
		uris[e.URL] = e.ValueURI
	}
	assert.Equal(t, g.iss.TokenURL(), uris["token"])
	assert.NotContains(t, text, `"text":"none"`, "the upstream's security is replaced")

	// Hostile upstream answers: 502, and nothing of the answer passes.
	for name, b := range map[string]string{
		"garbage":            `<html>UPSTREAM</html>`,
		"wrong resourceType": `{"resourceType":"Patient","id":"UPSTREAM"}`,
		"no resourceType":    `{"implementation":{"url":"UPSTREAM"}}`,
		"trailing data":      `{"resourceType":"CapabilityStatement"}{"x":"UPSTREAM"}`,
		"array":              `[{"resourceType":"CapabilityStatement"}]`,
		"huge":               `{"resourceType":"CapabilityStatement","text":"` + strings.Repeat("UPSTREAM ", maxCapability/20) + `"}`,
		"deep":               strings.Repeat(`{"a":`, 20000) + `1` + strings.Repeat(`}`, 20000),
	} {
		cs.Store(b)
		status, body := get()
		assert.Equal(t, http.StatusBadGateway, status, name)
		assert.NotContains(t, string(body), up, name)
		assert.Contains(t, string(body), "OperationOutcome", name)
	}
	// A CapabilityStatement with odd shapes (rest not an array, a rest
	// entry not an object) is served, rewritten where it can be.
	cs.Store(`{"resourceType":"CapabilityStatement","rest":"UPSTREAM","implementation":"UPSTREAM"}`)
	status, body = get()
	require.Equal(t, 200, status, "%s", body)
	assert.NotContains(t, string(body), up)
}

// The rewritten CapabilityStatement is kept between upstream reads; each
// client still gets its own origin, as it addressed the gateway.
func TestCapabilityStatementPerHost(t *testing.T) {
	g := startGateway(t)
	g.waitReady(t)
	for _, host := range []string{"gw.example", "other.example:8443", "127.0.0.1:1"} {
		req, err := http.NewRequest(http.MethodGet, g.url+"/metadata", nil)
		require.NoError(t, err)
		req.Host = host
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		require.NoError(t, err)
		require.Equal(t, 200, res.StatusCode, host)
		var cs struct{ Implementation struct{ URL string } }
		require.NoError(t, json.Unmarshal(body, &cs), host)
		assert.Equal(t, "http://"+host+"/fhir", cs.Implementation.URL)
		assert.NotContains(t, string(body), "gateway.invalid", host)
		assert.NotContains(t, string(body), g.up.URL, host)
	}
}
