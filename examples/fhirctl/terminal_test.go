package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// terminalControls are what a hostile server's text must not carry to
// a terminal: ESC (CSI, OSC, which sets the title or the clipboard), BEL,
// C1 controls, line separators and bidirectional overrides.
var terminalControls = []string{"\x1b", "\x07", "\u009b", "\u009d", "\u2028", "\u202e"}

// assertNoTerminalControls fails when out carries one of them.
func assertNoTerminalControls(t *testing.T, out string) {
	t.Helper()
	for _, c := range terminalControls {
		assert.NotContains(t, out, c, "%q", out)
	}
}

// TestExplainShowsClaimsSafely: explain prints what the token's claims
// say, and the token comes from a token endpoint (or a -token someone
// pasted) that can put escape sequences in a scope, the patient or the
// client id; they reach the terminal as '?'.
func TestExplainShowsClaimsSafely(t *testing.T) {
	claims := `{"scope":"patient/*.rs launch/\u001b]52;c;ZXZpbA==\u0007 user/Observation.rs?code=\u001b[2J",` +
		`"patient":"p1\u001b[8m","client_id":"app\u009b2J\u202e"}`
	tok := "e30." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + ".c2ln"
	env := map[string]string{"FHIR_BASE": "http://127.0.0.1:1/fhir", "FHIR_TOKEN": tok}
	r := fhirctl(t, env, "", "-fhir-version", "R4", "explain")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "launch/?]52;c;ZXZpbA==?", "the scope is shown, its controls replaced")
	assertNoTerminalControls(t, r.stdout)

	r = fhirctl(t, env, "", "-fhir-version", "R4", "explain", "GET", "Observation?patient=p1")
	assertNoTerminalControls(t, r.stdout)
}

// hostileName is a Patient name with controls a JSON string may carry
// as they are: C1 controls (U+009B is CSI, U+009D OSC), a line
// separator and a right-to-left override.
const hostileName = "Smith\u009b2J\u009d0;x\u009c\u2028\u202egpj.exe"

// TestJSONOutputEscapesTerminalControls: get and search print the
// server's JSON with those characters as \u escapes: the same JSON
// value, nothing a terminal acts on.
func TestJSONOutputEscapesTerminalControls(t *testing.T) {
	patient := `{"resourceType":"Patient","id":"p1","name":[{"family":"` + hostileName + `"}]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		if r.URL.Path == "/fhir/Patient/p1" {
			_, _ = w.Write([]byte(patient))
			return
		}
		_, _ = w.Write([]byte(`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":` + patient + `}]}`))
	}))
	defer srv.Close()
	env := map[string]string{"FHIR_BASE": srv.URL + "/fhir", "FHIR_TOKEN": "at"}
	for _, args := range [][]string{{"get", "Patient/p1"}, {"search", "Patient"}, {"search", "Patient", "-o", "ndjson"}} {
		r := fhirctl(t, env, "", args...)
		require.Equal(t, exitOK, r.code, "%q: %s", args, r.stderr)
		assertNoTerminalControls(t, r.stdout)
		assert.Contains(t, r.stdout, `Smith\u009b2J\u009d0;x\u009c\u2028\u202egpj.exe`, "%q", args)
		var got struct {
			Name  []struct{ Family string }
			Entry []struct {
				Resource struct{ Name []struct{ Family string } }
			}
		}
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &got), "%q", args)
		if len(got.Entry) > 0 {
			got.Name = got.Entry[0].Resource.Name
		}
		require.Len(t, got.Name, 1, "%q", args)
		assert.Equal(t, hostileName, got.Name[0].Family, "%q: the same JSON value", args)
	}
}

// TestEscapeControlsKeepsTheValue: encoding/json reads the escaped JSON
// as the same value as the server's, and nothing a terminal acts on is
// left.
func TestEscapeControlsKeepsTheValue(t *testing.T) {
	for _, in := range []string{
		`{"a":"` + hostileName + `"}`,
		"{\"a\":\"bad \x9b byte \xc2\", \"b\":[\"\u0085\u200f\u2029\x7f\"]}",
		`{"plain":"text, é and 日本"}`,
	} {
		out := escapeControls([]byte(in))
		assertNoTerminalControls(t, string(out))
		var want, got any
		require.NoError(t, json.Unmarshal([]byte(in), &want), in)
		require.NoError(t, json.Unmarshal(out, &got), "%q", out)
		assert.Equal(t, want, got, "%q", out)
	}
	assert.NotContains(t, string(escapeControls([]byte("{\"a\":\"\x9b\"}"))), "\x9b")
}

// TestServerTextBounded: what a server says in an error answer or a
// progress header reaches stderr clipped, one line each and at most a
// few of them, so it cannot flood a terminal or a log, nor add lines
// that read as fhirctl's own.
func TestServerTextBounded(t *testing.T) {
	long := strings.Repeat("x", 8<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bulk/1" {
			w.Header().Set("Retry-After", "0")
			w.Header().Set("X-Progress", "50% "+long)
			w.WriteHeader(http.StatusAccepted)
			return
		}
		issues := make([]map[string]any, 1000)
		for i := range issues {
			issues[i] = map[string]any{"severity": "error", "code": "not-found", "diagnostics": "gone\nfhirctl: forged " + long}
		}
		writeResource(w, http.StatusNotFound, map[string]any{"resourceType": "OperationOutcome", "issue": issues})
	}))
	defer srv.Close()
	env := map[string]string{"FHIR_BASE": srv.URL + "/fhir", "FHIR_TOKEN": "at"}
	r := fhirctl(t, env, "", "get", "Patient/p1")
	assert.Equal(t, exitNotFound, r.code, r.stderr)
	assert.Less(t, len(r.stderr), 8<<10)
	assert.Contains(t, r.stderr, "and 990 more")
	assert.NotContains(t, r.stderr, "\nfhirctl: forged")

	var stderr strings.Builder
	a := bulkApp(t, srv, t.TempDir(), io.Discard)
	a.stderr = &stderr
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(300*time.Millisecond, cancel)
	_, err := a.poll(ctx, srv.URL+"/bulk/1")
	require.Error(t, err)
	require.Contains(t, stderr.String(), "export: 50% xxx")
	for _, line := range strings.Split(stderr.String(), "\n") {
		assert.Less(t, len(line), 1<<10)
	}
}

// TestTableCellsOneLine: -o table prints one row per resource whatever
// its id or meta hold; a newline or tab there cannot add a row that
// reads as another resource, nor shift the columns.
func TestTableCellsOneLine(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		_, _ = w.Write([]byte(`{"resourceType":"Bundle","type":"searchset","entry":[` +
			`{"resource":{"resourceType":"Patient","id":"p1\nPatient\tforged\t9","meta":{"versionId":"1\t2","lastUpdated":"x\r\ny"}}}]}`))
	}))
	defer srv.Close()
	env := map[string]string{"FHIR_BASE": srv.URL + "/fhir", "FHIR_TOKEN": "at"}
	r := fhirctl(t, env, "", "-o", "table", "search", "Patient")
	require.Equal(t, exitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	require.Len(t, lines, 2, "a header and one row: %q", r.stdout)
	assert.Contains(t, lines[1], "p1 Patient forged 9  1 2", "the cells' white space as single spaces")
}
