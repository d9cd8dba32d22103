package medplum

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/logbuf"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// upstreamBase is medplum's base path: deliberately not the gateway's, so
// that the gateway's path mapping and URL rewriting are exercised.
const upstreamBase = "/baseR4"

// env is medplum behind a gateway that trusts a tokentest issuer.
type env struct {
	upstream string // "http://127.0.0.1:port/baseR4"
	gateway  string // "http://127.0.0.1:port/fhir"
	iss      *tokentest.Issuer
}

// requirePeer fails in CI and skips elsewhere when Node.js or this folder's
// npm packages are missing.
func requirePeer(t *testing.T) {
	t.Helper()
	_, nodeErr := exec.LookPath("node")
	var modErr error
	for _, pkg := range []string{"@medplum/fhir-router", "fhir-kit-client"} {
		if _, err := os.Stat(filepath.Join("node_modules", pkg, "package.json")); err != nil {
			modErr = err
		}
	}
	if nodeErr == nil && modErr == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("medplum peer missing in CI (node: %v, npm packages: %v); .ci/run must install it (npm ci in interop/medplum/)", nodeErr, modErr)
	}
	t.Skipf("medplum peer not installed (run: cd interop/medplum && npm ci): node: %v, npm packages: %v", nodeErr, modErr)
}

// startEnv starts medplum and the gateway in parallel and returns when both
// answer.
func startEnv(t *testing.T) *env {
	t.Helper()
	e := &env{iss: tokentest.NewIssuer()}
	t.Cleanup(e.iss.Close)
	built := make(chan error, 1)
	bin := filepath.Join(t.TempDir(), "gateway")
	go func() { built <- buildGateway(bin) }()
	e.upstream = startProcess(t, "medplum", exec.Command("node", "server.mjs"), "PORT=0", "BASE="+upstreamBase)
	require.NoError(t, <-built)
	e.gateway = startProcess(t, "gateway", exec.Command(bin,
		"-addr", "127.0.0.1:0",
		"-upstream", e.upstream,
		"-issuer", e.iss.URL,
		"-audience", e.iss.Audience(),
		"-shared-types", "Practitioner,Organization",
	))
	return e
}

func buildGateway(bin string) error {
	cmd := exec.Command("go", "build", "-o", bin, "./examples/gateway")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		return &buildError{err: err, out: string(out)}
	}
	return nil
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string {
	return "go build ./examples/gateway: " + e.err.Error() + ": " + e.out
}

// startProcess starts cmd and returns the first "http://127.0.0.1:..." word
// of its first line of output, which both programs print once they listen.
func startProcess(t *testing.T, name string, cmd *exec.Cmd, env ...string) string {
	t.Helper()
	cmd.Env = append(os.Environ(), env...)
	stderr := &logbuf.Buffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	lines := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		lines <- line
		_, _ = io.Copy(io.Discard, r)
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not start within 60 s; stderr:\n%s", name, stderr)
	}
	for f := range strings.FieldsSeq(line) {
		if strings.HasPrefix(f, "http://127.0.0.1:") {
			return f
		}
	}
	t.Fatalf("%s did not print its address (first line %q); stderr:\n%s", name, line, stderr)
	return ""
}

// token mints an access token with scope, for patient when not empty.
func (e *env) token(scope, patient string) string {
	claims := map[string]any{"sub": "interop", "client_id": "interop", "scope": scope}
	if patient != "" {
		claims["patient"] = patient
	}
	return e.iss.Mint(claims)
}

// send makes one request; target is absolute, or relative to base (""
// is base itself, "/" base with a trailing slash).
func send(ctx context.Context, t *testing.T, method, base, target, token, body string) (int, []byte) {
	t.Helper()
	u := target
	switch {
	case target == "":
		u = base
	case !strings.HasPrefix(target, "http"):
		u = base + "/" + strings.TrimPrefix(target, "/") // "/" is [base]/
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/fhir+json")
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, b
}
