package interop

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/authserver"
	"github.com/fhirwarden/fhirwarden/internal/logbuf"
)

// startCareConnectArgs runs careconnect with the given flags on port.
func startCareConnectArgs(t *testing.T, bin string, port int, args ...string) *server {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-addr", fmt.Sprintf("127.0.0.1:%d", port),
		"-backend-key", filepath.Join(t.TempDir(), "backend.jwk.json")}, args...)...)
	out := &logbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	s := &server{base: fmt.Sprintf("http://127.0.0.1:%d/fhir", port), cmd: cmd, done: make(chan struct{}), out: out}
	go func() { _ = cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-s.done
		}
	})
	waitHTTP(t, s.base+"/metadata", s.done, out)
	return s
}

// embeddedToken asks a careconnect's embedded issuer for a token of a
// demo client (HTTP Basic, as the Care Connect guide does).
func embeddedToken(t *testing.T, root, client string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, root+"/oauth2/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, client+"-secret")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var tr tokenResponse
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tr))
	require.Equal(t, http.StatusOK, resp.StatusCode, "token error %q", tr.Error)
	return tr.AccessToken
}

// TestTwoIssuersBehindOneServer: careconnect trusts oidc-provider and
// another careconnect's embedded issuer (repeated -issuer and -audience);
// tokens of both are accepted, and a token of a third issuer is refused
// without a single request to that issuer.
func TestTwoIssuersBehindOneServer(t *testing.T) {
	requirePeer(t)
	dir := t.TempDir()
	careconnect := buildProgram(t, dir, "./examples/careconnect")

	fhirPort, idpPort := freePort(t), freePort(t)
	audience := fmt.Sprintf("http://127.0.0.1:%d/fhir", fhirPort)
	signingKey := filepath.Join(dir, "signing.jwk.json")
	writeRSAKey(t, signingKey, "RS256")
	clientKey := writeRSAKey(t, filepath.Join(dir, "client.jwk.json"), "RS384")
	clientJWKS := filepath.Join(dir, "client.jwks.json")
	writePublicJWKS(t, clientJWKS, clientKey)
	p := startPeer(t, 0, audience, signingKey, clientJWKS)

	// The second issuer: a careconnect's embedded authorization server.
	idp := startCareConnectArgs(t, careconnect, idpPort)
	idpRoot := strings.TrimSuffix(idp.base, "/fhir")

	// The third: an authorization server nobody trusts, counting requests.
	var thirdHits atomic.Int64
	third := httptest.NewUnstartedServer(nil)
	thirdAS, err := authserver.New(authserver.Config{Issuer: "http://" + third.Listener.Addr().String(), Audience: audience})
	require.NoError(t, err)
	third.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		thirdHits.Add(1)
		thirdAS.Handler().ServeHTTP(w, r)
	})
	third.Start()
	defer third.Close()

	srv := startCareConnectArgs(t, careconnect, fhirPort,
		"-issuer", p.issuer, "-issuer", idpRoot,
		"-audience", audience, "-audience", idp.base)

	peerTok := basicToken(t, p, "system/Patient.read", "").AccessToken
	status, body := get(t, srv.base+"/Patient", peerTok)
	require.Equal(t, http.StatusOK, status, "oidc-provider token: %s", body)

	idpTok := embeddedToken(t, idpRoot, "patient-access") // user/Patient.read, aud = the idp's own base
	status, body = get(t, srv.base+"/Patient", idpTok)
	require.Equal(t, http.StatusOK, status, "embedded issuer token: %s", body)
	status, _ = get(t, srv.base+"/Observation", idpTok)
	require.Equal(t, http.StatusForbidden, status, "its scopes still bound it")

	thirdTok, err := thirdAS.Mint(map[string]any{"scope": "system/*.*"})
	require.NoError(t, err)
	thirdHits.Store(0)
	status, body = get(t, srv.base+"/Patient", thirdTok)
	require.Equal(t, http.StatusUnauthorized, status, "%s", body)
	require.Zero(t, thirdHits.Load(), "the untrusted issuer was never contacted")
}
