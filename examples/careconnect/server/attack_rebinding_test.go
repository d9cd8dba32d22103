package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/server"
)

// withHost sends a request to the server at addr (host:port) with the
// given Host header, as a browser whose page name was rebound to the
// server's address does.
func withHost(t *testing.T, addr, host, method, path, auth, body string) reply {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	req := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, path, host)
	if auth != "" {
		req += "Authorization: " + auth + "\r\n"
	}
	if body != "" {
		req += fmt.Sprintf("Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n", len(body))
	}
	_, err = io.WriteString(conn, req+"\r\n"+body)
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return reply{status: res.StatusCode, header: res.Header, body: b}
}

// TestCareConnectAttackDNSRebinding: a web page the developer visits
// points its own name (rebind.attacker.example) at 127.0.0.1 and, being
// same-origin with itself, reads the scopes page with the demo secrets,
// gets a token and reads the records. The browser sends the attacker's
// name as Host; the server answers only names it is known by.
func TestCareConnectAttackDNSRebinding(t *testing.T) {
	a := startAttack(t, attackClients)
	addr := strings.TrimPrefix(a.s.URL(), "http://")
	_, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	tok := a.token(t, "pw", "")
	basic := "Basic YWRtaW46czNjcmV0" // admin:s3cret
	form := url.Values{"grant_type": {"client_credentials"}}.Encode()

	for _, host := range []string{"rebind.attacker.example:" + port, "rebind.attacker.example", "localhost.attacker.example:" + port,
		"127.0.0.1.attacker.example:" + port, "LOCALHOST.:" + port, "foo.localhost:" + port} {
		for _, c := range []struct{ method, path, auth, body string }{
			{http.MethodGet, "/", "", ""},
			{http.MethodPost, "/oauth2/token", basic, form},
			{http.MethodGet, "/fhir/Patient/1", "Bearer " + tok, ""},
			{http.MethodGet, "/fhir/metadata", "", ""},
			{http.MethodGet, "/explain", "Bearer " + tok, ""},
			{http.MethodGet, "/.well-known/openid-configuration", "", ""},
		} {
			r := withHost(t, addr, host, c.method, c.path, c.auth, c.body)
			assert.Equal(t, http.StatusMisdirectedRequest, r.status, "Host %s: %s %s: %.300s", host, c.method, c.path, r.body)
			assert.NotContains(t, string(r.body), "access_token")
			assert.NotContains(t, string(r.body), "Amelia")
			assert.NotContains(t, string(r.body), "s3cret")
		}
	}
	r := withHost(t, addr, "rebind.attacker.example", http.MethodGet, "/fhir/Patient/1", "Bearer "+tok, "")
	var oo map[string]any
	require.NoError(t, json.Unmarshal(r.body, &oo), "%s", r.body)
	assert.Equal(t, "OperationOutcome", oo["resourceType"], "%s", r.body)
	assert.Contains(t, string(r.body), "-public-url")

	// The names the server is known by on loopback still work.
	for _, host := range []string{addr, "localhost:" + port, "LocalHost:" + port, "[::1]:" + port, "127.0.0.1"} {
		r := withHost(t, addr, host, http.MethodGet, "/fhir/Patient/1", "Bearer "+tok, "")
		assert.Equal(t, http.StatusOK, r.status, "Host %s: %.300s", host, r.body)
		r = withHost(t, addr, host, http.MethodPost, "/oauth2/token", basic, form)
		assert.Equal(t, http.StatusOK, r.status, "Host %s: %.300s", host, r.body)
	}
	// Liveness probes of an orchestrator address the process by any name.
	assert.Equal(t, http.StatusOK, withHost(t, addr, "careconnect.svc", http.MethodGet, "/healthz", "", "").status)
	assert.Equal(t, http.StatusOK, withHost(t, addr, "careconnect.svc", http.MethodGet, "/readyz", "", "").status)
}

// TestPublicURLNamesTheHost: behind a proxy that passes the Host on, the
// -public-url host is the name the server answers to.
func TestPublicURLNamesTheHost(t *testing.T) {
	s, err := server.Start(context.Background(), server.Config{Addr: "127.0.0.1:0", PublicURL: "https://FHIR.example.org",
		BackendKeyFile: t.TempDir() + "/k.json", Logger: slog.New(slog.DiscardHandler)}, io.Discard)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	addr := s.Addr().String()
	assert.Equal(t, http.StatusOK, withHost(t, addr, "fhir.example.org", http.MethodGet, "/fhir/metadata", "", "").status)
	assert.Equal(t, http.StatusOK, withHost(t, addr, "fhir.example.org:443", http.MethodGet, "/fhir/metadata", "", "").status)
	assert.Equal(t, http.StatusOK, withHost(t, addr, addr, http.MethodGet, "/fhir/metadata", "", "").status, "a proxy that sends the backend address")
	assert.Equal(t, http.StatusMisdirectedRequest, withHost(t, addr, "evil.example.org", http.MethodGet, "/fhir/metadata", "", "").status)
}
