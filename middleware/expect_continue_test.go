package middleware_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
)

// Writes the middleware can refuse from the request line and headers
// alone, each sent by a client that waits for "100 Continue" before the
// body (RFC 9110 section 10.1.1): the final refusal must come at once,
// with no 100 Continue before it, so that the client never uploads a body
// that would be thrown away, and the server never waits for one. Go's
// server sends 100 Continue on the first read of the body, so no read may
// happen before the refusal.
func TestExpectContinueRefusalsFromHeaders(t *testing.T) {
	e := newEnv(t)
	expired := e.iss.Mint(map[string]any{"sub": "u", "scope": "patient/*.cruds", "patient": naivefhir.Alice,
		"exp": time.Now().Add(-time.Hour).Unix()})
	readOnly := e.token("patient/Observation.rs", naivefhir.Alice)
	otherType := e.token("patient/Patient.cruds", naivefhir.Alice)
	system := e.token("system/Patient.cruds", "")
	for _, c := range []struct {
		name, method, target, token, contentType string
		want                                     int
	}{
		{"malformed token", "POST", "/fhir/Observation", "not-a-jwt", "application/fhir+json", http.StatusUnauthorized},
		{"expired token", "POST", "/fhir/Observation", expired, "application/fhir+json", http.StatusUnauthorized},
		{"create without c", "POST", "/fhir/Observation", readOnly, "application/fhir+json", http.StatusForbidden},
		{"update without u", "PUT", "/fhir/Observation/obs-p1-lab", readOnly, "application/fhir+json", http.StatusForbidden},
		{"patch without u", "PATCH", "/fhir/Observation/obs-p1-lab", readOnly, "application/json-patch+json", http.StatusForbidden},
		{"create of another type", "POST", "/fhir/Observation", otherType, "application/fhir+json", http.StatusForbidden},
		{"system create of another type", "POST", "/fhir/Observation", system, "application/fhir+json", http.StatusForbidden},
		{"update of another type", "PUT", "/fhir/Condition/cond-p1", otherType, "application/fhir+json", http.StatusForbidden},
		{"operation without scope", "POST", "/fhir/Observation/$validate", otherType, "application/fhir+json", http.StatusForbidden},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := sendExpectContinue(t, e, c.method, c.target, c.token, c.contentType)
			defer res.Body.Close()
			require.Equal(t, c.want, res.StatusCode, "the first answer is the refusal, not 100 Continue")
			body, _ := io.ReadAll(res.Body)
			assert.Contains(t, string(body), "OperationOutcome")
		})
	}
	t.Run("a decision that needs the body asks for it", func(t *testing.T) {
		res := sendExpectContinue(t, e, "POST", "/fhir/Observation", e.token("patient/Observation.c", naivefhir.Alice), "application/fhir+json")
		defer res.Body.Close()
		assert.Equal(t, http.StatusContinue, res.StatusCode)
	})
}

// sendExpectContinue sends the headers of a request with a 100000-byte
// body and "Expect: 100-continue", and reads the first answer.
func sendExpectContinue(t *testing.T, e *env, method, target, tok, contentType string) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second)))
	auth := ""
	if tok != "" {
		auth = "Authorization: Bearer " + tok + "\r\n"
	}
	_, err = fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: fhir.test\r\n%sContent-Type: %s\r\nExpect: 100-continue\r\nContent-Length: 100000\r\n\r\n",
		method, target, auth, contentType)
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "no answer before the body")
	return res
}
