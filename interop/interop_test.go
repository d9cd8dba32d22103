package interop

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fhirwarden/fhirwarden/internal/logbuf"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/require"
)

// peer is a running oidc-provider.
type peer struct {
	issuer string
	port   int
	cmd    *exec.Cmd
	done   chan struct{}
	out    *logbuf.Buffer
}

func requirePeer(t *testing.T) {
	t.Helper()
	_, nodeErr := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join("node_modules", "oidc-provider", "package.json"))
	if nodeErr == nil && modErr == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("interop peer missing in CI (node: %v, oidc-provider: %v); .ci/run must install it (npm ci in interop/)", nodeErr, modErr)
	}
	t.Skipf("interop peer not installed (run: cd interop && npm ci): node: %v, oidc-provider: %v", nodeErr, modErr)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startPeer starts oidc-provider on port (0: a free one) signing with the RSA
// JWK in keyFile (created when missing).
func startPeer(t *testing.T, port int, audience, keyFile, clientJWKSFile string) *peer {
	t.Helper()
	if port == 0 {
		port = freePort(t)
	}
	cmd := exec.Command("node", "provider.mjs")
	cmd.Env = append(os.Environ(),
		fmt.Sprintf("PORT=%d", port),
		"AUDIENCE="+audience,
		"SIGNING_KEY_FILE="+keyFile,
		"CLIENT_JWKS_FILE="+clientJWKSFile,
	)
	out := &logbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	p := &peer{issuer: fmt.Sprintf("http://127.0.0.1:%d", port), port: port, cmd: cmd, done: make(chan struct{}), out: out}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(p.stop)
	waitHTTP(t, p.issuer+"/.well-known/openid-configuration", p.done, out)
	return p
}

func (p *peer) stop() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
	}
	<-p.done
}

func waitHTTP(t *testing.T, u string, done <-chan struct{}, out fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			t.Fatalf("process exited before %s answered:\n%s", u, out)
		default:
		}
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not answer within 60 s:\n%s", u, out)
}

// writeRSAKey writes a new private RSA JWK (with kid) to path and returns it.
func writeRSAKey(t *testing.T, path, alg string) jwk.Key {
	t.Helper()
	raw, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	key, err := jwk.Import(raw)
	require.NoError(t, err)
	kid := make([]byte, 8)
	_, _ = rand.Read(kid)
	require.NoError(t, key.Set(jwk.KeyIDKey, fmt.Sprintf("%x", kid)))
	require.NoError(t, key.Set(jwk.AlgorithmKey, alg))
	b, err := json.Marshal(key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o600))
	return key
}

func writePublicJWKS(t *testing.T, path string, key jwk.Key) {
	t.Helper()
	pub, err := key.PublicKey()
	require.NoError(t, err)
	set := jwk.NewSet()
	require.NoError(t, set.AddKey(pub))
	b, err := json.Marshal(set)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o600))
}

// buildProgram builds one of the example programs into dir.
func buildProgram(t *testing.T, dir, pkg string) string {
	t.Helper()
	bin := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build %s: %s", pkg, out)
	return bin
}

// server is a running careconnect.
type server struct {
	base string
	cmd  *exec.Cmd
	done chan struct{}
	out  *logbuf.Buffer
}

func startCareConnect(t *testing.T, bin string, port int, issuer, audience string) *server {
	t.Helper()
	cmd := exec.Command(bin, "-addr", fmt.Sprintf("127.0.0.1:%d", port), "-issuer", issuer, "-audience", audience)
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

// tokenResponse is the part of an OAuth2 token response the tests read.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	TokenType   string `json:"token_type"`
	Scope       string `json:"scope"`
	Error       string `json:"error"`
}

// basicToken asks the peer for a token with client_secret_basic.
func basicToken(t *testing.T, p *peer, scopes, resource string) tokenResponse {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scopes}}
	if resource != "" {
		form.Set("resource", resource)
	}
	req, err := http.NewRequest(http.MethodPost, p.issuer+"/token", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("interop-basic", "interop-secret")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var tr tokenResponse
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tr))
	require.Equal(t, http.StatusOK, resp.StatusCode, "token error %q", tr.Error)
	return tr
}

func get(t *testing.T, u, bearer string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/fhir+json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// firstID returns the id of the first entry of a search Bundle.
func firstID(t *testing.T, bundle []byte) string {
	t.Helper()
	var b struct {
		Entry []struct {
			Resource struct {
				ID string `json:"id"`
			} `json:"resource"`
		} `json:"entry"`
	}
	require.NoError(t, json.Unmarshal(bundle, &b))
	require.NotEmpty(t, b.Entry, "empty Bundle: %s", bundle)
	return b.Entry[0].Resource.ID
}

func runFhirctl(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "FHIR_BASE=", "FHIR_CLIENT_ID=", "FHIR_CLIENT_SECRET=")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return code, stdout.String(), stderr.String()
}

func TestOIDCProviderInterop(t *testing.T) {
	requirePeer(t)
	dir := t.TempDir()
	careconnect := buildProgram(t, dir, "./examples/careconnect")
	fhirctl := buildProgram(t, dir, "./examples/fhirctl")

	fhirPort := freePort(t)
	audience := fmt.Sprintf("http://127.0.0.1:%d/fhir", fhirPort)
	signingKey := filepath.Join(dir, "signing.jwk.json")
	writeRSAKey(t, signingKey, "RS256")
	clientKeyFile := filepath.Join(dir, "client.jwk.json")
	clientKey := writeRSAKey(t, clientKeyFile, "RS384")
	clientJWKS := filepath.Join(dir, "client.jwks.json")
	writePublicJWKS(t, clientJWKS, clientKey)

	p := startPeer(t, 0, audience, signingKey, clientJWKS)
	srv := startCareConnect(t, careconnect, fhirPort, p.issuer, audience)

	patientToken := basicToken(t, p, "system/Patient.read", "")
	require.Equal(t, 5400, patientToken.ExpiresIn, "90-minute tokens")

	var patientID string
	t.Run("accepts the provider's tokens", func(t *testing.T) {
		status, body := get(t, srv.base+"/Patient", patientToken.AccessToken)
		require.Equal(t, http.StatusOK, status, "%s", body)
		patientID = firstID(t, body)
		status, body = get(t, srv.base+"/Patient/"+patientID, patientToken.AccessToken)
		require.Equal(t, http.StatusOK, status, "%s", body)
	})

	t.Run("enforces the token's scopes", func(t *testing.T) {
		status, body := get(t, srv.base+"/Observation", patientToken.AccessToken)
		require.Equal(t, http.StatusForbidden, status, "%s", body)
		require.Contains(t, string(body), "OperationOutcome")
	})

	t.Run("rejects a token for another audience", func(t *testing.T) {
		other := basicToken(t, p, "system/Patient.read", "https://other.example.test/fhir")
		status, body := get(t, srv.base+"/Patient", other.AccessToken)
		require.Equal(t, http.StatusUnauthorized, status, "%s", body)
	})

	t.Run("fhirctl with client_secret_basic", func(t *testing.T) {
		code, stdout, stderr := runFhirctl(t, fhirctl, "-base", srv.base, "-token-url", p.issuer+"/token",
			"-client-id", "interop-basic", "-client-secret", "interop-secret",
			"-scope", "system/Patient.read", "get", "Patient/"+patientID)
		require.Equal(t, 0, code, "stderr: %s", stderr)
		require.Contains(t, stdout, `"resourceType": "Patient"`)
	})

	t.Run("fhirctl is refused what its scopes do not cover", func(t *testing.T) {
		code, _, stderr := runFhirctl(t, fhirctl, "-base", srv.base, "-token-url", p.issuer+"/token",
			"-client-id", "interop-basic", "-client-secret", "interop-secret",
			"-scope", "system/Patient.read", "search", "Observation")
		require.Equal(t, 3, code, "exit 3: authorization refused; stderr: %s", stderr)
		require.Contains(t, stderr, "Observation")
	})

	t.Run("fhirctl with private_key_jwt", func(t *testing.T) {
		code, stdout, stderr := runFhirctl(t, fhirctl, "-base", srv.base, "-token-url", p.issuer+"/token",
			"-client-id", "interop-jwt", "-key", clientKeyFile,
			"-scope", "system/Observation.rs", "search", "Observation", "patient="+patientID)
		require.Equal(t, 0, code, "stderr: %s", stderr)
		require.Contains(t, stdout, `"resourceType": "Bundle"`)
		require.Contains(t, stdout, `"resourceType": "Observation"`)
	})

	t.Run("signing key rotation is picked up", func(t *testing.T) {
		p.stop()
		writeRSAKey(t, signingKey, "RS256") // a new key with a new kid
		p2 := startPeer(t, p.port, audience, signingKey, clientJWKS)
		fresh := basicToken(t, p2, "system/Patient.read", "")
		// The server refetches the JWKS on an unknown kid, at most once per
		// rate-limit window (10 s by default): retry for a bounded time.
		deadline := time.Now().Add(30 * time.Second)
		for {
			status, body := get(t, srv.base+"/Patient/"+patientID, fresh.AccessToken)
			if status == http.StatusOK {
				break
			}
			require.Equal(t, http.StatusUnauthorized, status, "%s", body)
			require.True(t, time.Now().Before(deadline), "rotation not picked up within 30 s: %s", body)
			time.Sleep(500 * time.Millisecond)
		}
		// The old key is no longer published: a token it signed (valid until
		// now, and in the verified-token cache) must be refused from now on.
		status, body := get(t, srv.base+"/Patient/"+patientID, patientToken.AccessToken)
		require.Equal(t, http.StatusUnauthorized, status, "token signed by a retired key: %s", body)
	})
}
