package middleware_test

// Adversarial, HTTP-level tests: a patient-context client of Alice
// (naivefhir.Alice) tries to reach other patients' data through the
// middleware in front of naivefhir (a server that ignores authorization),
// or through hostile answers of the server behind it. Each test is named
// after the attack.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
	"github.com/fhirwarden/fhirwarden/scope"
)

// rawRequest writes raw bytes to the server and reads one response: for
// requests net/http's client refuses to send.
func (e *env) rawRequest(t *testing.T, raw string) (*http.Response, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(c, raw)
	require.NoError(t, err)
	method, _, _ := strings.Cut(raw, " ")
	res, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	e.assertNoTokenIn(t, res.Header, b)
	return res, b
}

// assertNoLeak fails when body holds data of a patient other than Alice:
// a FHIR JSON body per naivefhir.Leaks, any other body (net/http's own
// plain-text errors) by the names and ids of the others.
func assertNoLeak(t *testing.T, body []byte, msgAndArgs ...any) {
	t.Helper()
	if json.Valid(body) {
		assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice), msgAndArgs...)
		return
	}
	for _, s := range []string{"Bob", "Carol", "p2", "p3"} {
		assert.NotContains(t, string(body), s, msgAndArgs...)
	}
}

// requestsSeen is the number of requests the naive server has received.
func (e *env) requestsSeen() int { return len(e.fhir.Requests()) }

func TestAttackAuthorizationHeaderTricks(t *testing.T) {
	e := newEnv(t)
	tok := e.token("patient/*.rs", naivefhir.Alice)
	other := e.token("user/*.rs", "")
	get := "GET /fhir/Observation HTTP/1.1\r\nHost: fhir.test\r\nConnection: close\r\n"
	for _, c := range []struct {
		name    string
		headers string
		status  int
	}{
		{"two Authorization headers", "Authorization: Bearer " + tok + "\r\nAuthorization: Bearer " + other + "\r\n", 400},
		{"two tokens in one header", "Authorization: Bearer " + tok + ", Bearer " + other + "\r\n", 401},
		{"Basic and Bearer headers", "Authorization: Basic dXNlcjpwYXNz\r\nAuthorization: Bearer " + other + "\r\n", 400},
		{"Basic only", "Authorization: Basic dXNlcjpwYXNz\r\n", 401},
		{"Bearer inside Basic", "Authorization: Basic Bearer " + other + "\r\n", 401},
		{"token then a second token after a space", "Authorization: Bearer " + tok + " " + other + "\r\n", 401},
		{"tab between scheme and token", "Authorization: Bearer\t" + other + "\r\n", 401},
		{"scheme glued to token", "Authorization: Bearer" + other + "\r\n", 401},
		{"empty bearer", "Authorization: Bearer \r\n", 401},
		{"oversized header", "Authorization: Bearer " + strings.Repeat("a", 17<<10) + "\r\n", 401},
		{"token in a cookie", "Cookie: access_token=" + other + "\r\n", 401},
		{"Connection hides the Authorization header", "Connection: Authorization\r\n", 401},
		{"X-Forwarded-Authorization", "X-Forwarded-Authorization: Bearer " + other + "\r\n", 401},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := e.requestsSeen()
			res, body := e.rawRequest(t, get+c.headers+"\r\n")
			assert.Equal(t, c.status, res.StatusCode, "body: %s", body)
			assert.Equal(t, n, e.requestsSeen(), "the server must not be reached")
			assert.Equal(t, "application/fhir+json", res.Header.Get("Content-Type"))
			parseOutcome(t, body)
		})
	}
	t.Run("trailing whitespace is HTTP's optional whitespace, not part of the token", func(t *testing.T) {
		for _, ws := range []string{" ", "\t", "  \t"} {
			res, body := e.rawRequest(t, get+"Authorization: Bearer "+tok+ws+"\r\n\r\n")
			require.Equal(t, 200, res.StatusCode, "body: %s", body)
			assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice), "the token is still Alice's, narrowed")
		}
	})
	t.Run("control bytes in the header are refused by net/http", func(t *testing.T) {
		for _, bad := range []string{"\x00", "\x0b", "\r"} {
			n := e.requestsSeen()
			res, _ := e.rawRequest(t, get+"Authorization: Bearer "+tok+bad+"x\r\n\r\n")
			assert.Equal(t, 400, res.StatusCode)
			assert.Equal(t, n, e.requestsSeen())
		}
	})
	t.Run("lowercase scheme is the same scheme", func(t *testing.T) {
		res, body := e.rawRequest(t, get+"authorization: bearer "+tok+"\r\n\r\n")
		require.Equal(t, 200, res.StatusCode, "body: %s", body)
		assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice))
	})
	e.assertNoTokenLogged(t)
}

func TestAttackTokenOutsideTheHeader(t *testing.T) {
	e := newEnv(t)
	tok := e.token("user/*.rs", "")
	for _, c := range []struct {
		name, method, target, contentType, body string
		status                                  int
	}{
		{"access_token in the query", "GET", "/fhir/Patient?access_token=" + tok, "", "", 400},
		{"percent-encoded name %61ccess_token", "GET", "/fhir/Patient?%61ccess_token=" + tok, "", "", 400},
		{"percent-encoded underscore", "GET", "/fhir/Patient?access%5Ftoken=" + tok, "", "", 400},
		{"plus in the name", "GET", "/fhir/Patient?access_token+=" + tok, "", "", 401},
		{"query token on a public endpoint", "GET", "/fhir/metadata?access_token=" + tok, "", "", 400},
		{"form token on GET", "GET", "/fhir/Patient", "application/x-www-form-urlencoded", "access_token=" + tok, 401},
		{"form token on POST _search (no opt-in)", "POST", "/fhir/Patient/_search", "application/x-www-form-urlencoded", "access_token=" + tok, 400},
		{"form token with charset parameter", "POST", "/fhir/Patient/_search", "application/x-www-form-urlencoded; charset=utf-8", "name=x&access_token=" + tok, 400},
		{"form token, upper-case media type", "POST", "/fhir/Patient/_search", "APPLICATION/X-WWW-FORM-URLENCODED", "access_token=" + tok, 400},
		{"form token in multipart", "POST", "/fhir/Patient/_search", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"access_token\"\r\n\r\n" + tok + "\r\n--x--\r\n", 401},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := e.requestsSeen()
			h := http.Header{}
			if c.contentType != "" {
				h.Set("Content-Type", c.contentType)
			}
			res, body := e.request(t, c.method, c.target, h, c.body)
			assert.Equal(t, c.status, res.StatusCode, "body: %s", body)
			assert.Equal(t, n, e.requestsSeen(), "the server must not be reached")
		})
	}
	e.assertNoTokenLogged(t)
}

func TestAttackMethodTricks(t *testing.T) {
	e := newEnv(t)
	tok := e.token("patient/*.rs", naivefhir.Alice)
	for _, c := range []struct {
		name, method, target string
		header               http.Header
	}{
		{"X-HTTP-Method-Override: DELETE", "GET", "/fhir/Observation/obs-p1-lab", http.Header{"X-Http-Method-Override": {"DELETE"}}},
		{"X-HTTP-Method: PUT", "GET", "/fhir/Observation/obs-p1-lab", http.Header{"X-Http-Method": {"PUT"}}},
		{"X-Method-Override on a public endpoint", "GET", "/fhir/metadata", http.Header{"X-Method-Override": {"DELETE"}}},
		{"TRACE", "TRACE", "/fhir/Observation", nil},
		{"OPTIONS", "OPTIONS", "/fhir/Observation/obs-p2-lab", nil},
		{"lower-case get", "get", "/fhir/Observation/obs-p2-lab", nil},
		{"made-up method", "FETCH", "/fhir/Observation/obs-p2-lab", nil},
		{"HEAD of another patient's resource", "HEAD", "/fhir/Observation/obs-p2-lab", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := e.requestsSeen()
			h := bearer(tok)
			for k, v := range c.header {
				h[k] = v
			}
			res, body := e.request(t, c.method, c.target, h, "")
			assert.GreaterOrEqual(t, res.StatusCode, 400, "body: %s", body)
			assert.Less(t, res.StatusCode, 500, "body: %s", body)
			assert.Equal(t, n, e.requestsSeen(), "the server must not be reached")
		})
	}
	t.Run("HEAD of the own record", func(t *testing.T) {
		res, body := e.request(t, http.MethodHead, "/fhir/Patient/p1", bearer(tok), "")
		assert.Empty(t, body)
		assert.NotEqual(t, 500, res.StatusCode)
	})
}

// Request targets that could mean one thing to the middleware and another
// to the server: refused before the server sees them, with or without a
// token, never treated as a public endpoint.
func TestAttackPathTricks(t *testing.T) {
	e := newEnv(t)
	tok := e.token("patient/*.rs", naivefhir.Alice)
	for _, target := range []string{
		"/fhir/../fhir/Patient/p2",
		"/fhir/./Patient/p2",
		"/FHIR/Patient/p2",
		"/fhir//Patient/p2",
		"/fhir/Patient//p2",
		"/fhir/Patient/p2/",
		"/fhir/patient/p2",
		"/fhir/Patient/%70%32",
		"/fhir/%50atient/p2",
		"/fhir/Patient%2Fp2",
		"/fhir/Patient%2fp2",
		"/fhir/Patient/p1%2F..%2Fp2",
		"/fhir/Patient/p1/..%2Fp2",
		"/fhir/%2e%2e/fhir/Patient/p2",
		"/fhir/Patient/p2;x",
		"/fhir/Patient;/p2",
		"/fhir/Patient/p2%00",
		"/fhir/Patient/p2%23",
		"/fhir/Patient\\p2",
		"/fhir/metadata/../Patient/p2",
		"/fhir/metadata/%2e%2e/Patient/p2",
		"/fhir/metadata;x",
		"/fhir/metadata;/../Patient/p2",
		"/fhir/metadataX",
		"/fhir/metadata/",
		"/fhir/%6detadata",
		"/fhir/./metadata",
		"/fhir/.well-known/smart-configuration/../../Patient/p2",
		"/fhirPatient/p2",
		"/Patient/p2",
		"/",
		"*",
	} {
		t.Run(target, func(t *testing.T) {
			for _, withToken := range []bool{false, true} {
				n := e.requestsSeen()
				h := http.Header{}
				if withToken {
					h = bearer(tok)
				}
				res, body := e.request(t, http.MethodGet, target, h, "")
				assert.Contains(t, []int{400, 401, 403, 404}, res.StatusCode, "token %v body: %s", withToken, body)
				assert.Equal(t, n, e.requestsSeen(), "the server must not be reached (token %v)", withToken)
				assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice))
			}
		})
	}
	t.Run("absolute-form request target", func(t *testing.T) {
		for _, target := range []string{"http://evil.example/fhir/Patient/p2", "http://evil.example/fhir/Observation?patient=p2", "http://evil.example/fhir/metadata/../Patient/p2"} {
			res, body := e.rawRequest(t, "GET "+target+" HTTP/1.1\r\nHost: fhir.test\r\nAuthorization: Bearer "+tok+"\r\nConnection: close\r\n\r\n")
			assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice), "%s: %d %s", target, res.StatusCode, body)
			assert.Less(t, res.StatusCode, 500)
		}
	})
	t.Run("Host header games change nothing but links", func(t *testing.T) {
		for _, host := range []string{"evil.example", "localhost:1", "fhir.test/fhir/Patient/p2?", ""} {
			res, body := e.rawRequest(t, "GET /fhir/Observation HTTP/1.1\r\nHost: "+host+"\r\nAuthorization: Bearer "+tok+"\r\nConnection: close\r\n\r\n")
			assertNoLeak(t, body, "host %q: %d %s", host, res.StatusCode, body)
		}
	})
}

// The default public endpoints take no token, so they take only the
// parameters of their interaction: a paging token or a search parameter
// on /metadata needs a token like any other request.
func TestAttackPublicEndpointQueryAbuse(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		target string
		public bool
	}{
		{"/fhir/metadata", true},
		{"/fhir/metadata?_format=json&_pretty=true&mode=full", true},
		{"/fhir/metadata?_summary=true&_elements=rest", true},
		{"/fhir/.well-known/smart-configuration", true}, // the naive server has none: 404 from it
		{"/fhir/metadata?_getpages=abc", false},
		{"/fhir/metadata?%5Fgetpages=abc", false},
		{"/fhir/metadata?_format=json&patient=p2", false},
		{"/fhir/metadata?_format=json&_type=Patient", false},
		{"/fhir/metadata?_format%", false},
		{"/fhir/.well-known/smart-configuration?_getpages=abc", false},
	} {
		t.Run(c.target, func(t *testing.T) {
			n := e.requestsSeen()
			res, body := e.get(t, c.target, "")
			if c.public {
				assert.NotEqual(t, 401, res.StatusCode, "body: %s", body)
				assert.Equal(t, n+1, e.requestsSeen(), "the server answers public endpoints")
				return
			}
			assert.Equal(t, 401, res.StatusCode, "body: %s", body)
			assert.Equal(t, n, e.requestsSeen(), "the server must not be reached")
		})
	}
}

// Search parameters that might widen a narrowed search: whatever the naive
// server makes of them, nothing of Bob's or Carol's comes back.
func TestAttackNarrowingQueries(t *testing.T) {
	e := newEnv(t)
	tok := e.token("patient/*.rs", naivefhir.Alice)
	for _, q := range []string{
		"Observation?patient=p2",
		"Observation?patient=p1&patient=p2",
		"Observation?patient=p1,p2",
		"Observation?patient=Patient/p1,Patient/p2",
		"Observation?patient=p1%2Cp2",
		"Observation?Patient=p2",
		"Observation?PATIENT=p2",
		"Observation?patient:missing=true",
		"Observation?patient:not=p1",
		"Observation?patient:Patient=p2",
		"Observation?subject:Group=g1",
		"Observation?subject=Group/g1",
		"Observation?subject:missing=true",
		"Observation?subject=p2",
		"Observation?subject=http://other.example/fhir/Patient/p1",
		"Observation?subject=Patient/p1/_history/1",
		"Observation?patient=Patient/p2&_id=obs-p2-lab",
		"Observation?subject.name=Bob",
		"Observation?subject:Patient.name=Bob",
		"Observation?patient.identifier=x",
		"Patient?_has:Observation:patient:code=2339-0",
		"Patient?_has:Observation:subject:_id=obs-p2-lab",
		"Observation?_include=*",
		"Observation?_include=Observation:performer",
		"Observation?_include=Observation:performer:Patient",
		"Observation?_include:iterate=Patient:link",
		"Patient?_revinclude=Observation:subject",
		"Practitioner?_revinclude=Observation:performer",
		"Practitioner?_revinclude=*",
		"Organization?_revinclude=Patient:organization",
		"Observation?_summary=count",
		"Observation?_total=accurate",
		"Observation?_elements=subject",
		"Observation?_elements=id,code",
		"Observation?_count=0",
		"Observation?_count=100000",
		"Observation?_offset=-1",
		"Observation?_offset=99999999999999999999",
		"Observation?_sort=-subject",
		"Observation?_format=xml",
		"Observation?_format=json&_format=xml",
		"Observation?_type=Patient",
		"Observation?_list=l1",
		"Observation?_filter=subject%20eq%20Patient/p2",
		"Observation?_query=everything",
		"Observation?_content=Bob",
		"Observation?_text=Bob",
		"Observation?code=2339-0&_count=1&_offset=1",
		"?_type=Observation,Patient",
		"?_getpages=abc",
		"?_getpages=abc&patient=p2",
		"Patient/p2/Observation",
		"Patient/p2/*",
		"Patient/p1/*",
		"Patient/p1/Observation?patient=p2",
		"Patient/p2/$everything",
		"Patient/p1/$everything",
		"Patient/$everything",
		"Observation/_history",
		"_history",
		"Observation/obs-p2-lab/_history",
		"Observation/obs-p2-lab/_history/1",
		"Observation?patient=p2&patient=p2&patient=p2",
	} {
		t.Run(q, func(t *testing.T) {
			path := "/fhir/" + q
			if q[0] == '?' {
				path = "/fhir" + q
			}
			res, body := e.get(t, path, tok)
			assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice), "status %d body: %s", res.StatusCode, body)
			assert.Less(t, res.StatusCode, 500, "body: %s", body)
			if res.StatusCode == 200 && strings.Contains(string(body), `"total"`) {
				b := parseBundle(t, body)
				require.NotNil(t, b.Total)
				assert.LessOrEqual(t, *b.Total, 3, "total counts only Alice's Observations: %s", body)
			}
		})
	}
}

// A next link of Alice's search replayed with Bob's token returns nothing
// of Alice's: links are just requests, narrowed to whoever sends them.
func TestAttackPagingLinkReplayWithAnotherToken(t *testing.T) {
	e := newEnv(t)
	alice := e.token("patient/*.rs", naivefhir.Alice)
	bob := e.token("patient/*.rs", naivefhir.Bob)
	res, body := e.get(t, "/fhir/Observation?_count=1", alice)
	require.Equal(t, 200, res.StatusCode, "body: %s", body)
	var next string
	for _, l := range parseBundle(t, body).Link {
		if l.Relation == "next" {
			next = l.URL[strings.Index(l.URL, "/fhir"):]
		}
	}
	require.NotEmpty(t, next)
	res, body = e.get(t, next, bob)
	assert.Empty(t, naivefhir.Leaks(body, naivefhir.Bob), "status %d body: %s", res.StatusCode, body)
}

// POST _search whose form body and query disagree, in every content type
// a server might read as a form.
func TestAttackPostSearchConflicts(t *testing.T) {
	e := newEnv(t)
	tok := e.token("patient/*.rs", naivefhir.Alice)
	for _, c := range []struct{ name, target, contentType, body string }{
		{"body names Bob", "/fhir/Observation/_search", "application/x-www-form-urlencoded", "patient=p2"},
		{"query names Alice, body Bob", "/fhir/Observation/_search?patient=p1", "application/x-www-form-urlencoded", "patient=p2"},
		{"query names Bob, body Alice", "/fhir/Observation/_search?patient=p2", "application/x-www-form-urlencoded", "patient=p1"},
		{"no patient anywhere", "/fhir/Observation/_search", "application/x-www-form-urlencoded", "code=2339-0"},
		{"charset parameter", "/fhir/Observation/_search", "application/x-www-form-urlencoded; charset=iso-8859-1", "code=2339-0"},
		{"upper-case media type", "/fhir/Observation/_search", "Application/X-WWW-Form-Urlencoded", "code=2339-0"},
		{"multipart form", "/fhir/Observation/_search", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"code\"\r\n\r\n2339-0\r\n--b--\r\n"},
		{"JSON body", "/fhir/Observation/_search", "application/json", `{"code":"2339-0"}`},
		{"no content type", "/fhir/Observation/_search", "", "code=2339-0"},
		{"text/plain", "/fhir/Observation/_search", "text/plain", "code=2339-0"},
		{"semicolon separators", "/fhir/Observation/_search", "application/x-www-form-urlencoded", "code=2339-0;patient=p2"},
		{"include in the body", "/fhir/Observation/_search", "application/x-www-form-urlencoded", "_include=Observation:performer"},
		{"revinclude in the body", "/fhir/Practitioner/_search", "application/x-www-form-urlencoded", "_revinclude=Observation:performer"},
		{"system _search", "/fhir/_search", "application/x-www-form-urlencoded", "_type=Observation"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := bearer(tok)
			if c.contentType != "" {
				h.Set("Content-Type", c.contentType)
			}
			res, body := e.request(t, http.MethodPost, c.target, h, c.body)
			assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice), "status %d body: %s", res.StatusCode, body)
			assert.Less(t, res.StatusCode, 500, "body: %s", body)
		})
	}
}

func gzipped(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, err := io.WriteString(zw, s)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return b.String()
}

// Compressed request bodies cannot be inspected: whatever a server that
// decompresses them would read, the middleware never judged it.
func TestAttackCompressedRequestBodies(t *testing.T) {
	e := newEnv(t)
	tok := e.token("patient/*.cruds", naivefhir.Alice)
	for _, c := range []struct{ name, method, target, contentType, body string }{
		{"gzip form search", "POST", "/fhir/Observation/_search", "application/x-www-form-urlencoded", gzipped(t, "patient=p2")},
		{"gzip create for Bob", "POST", "/fhir/Observation", "application/fhir+json", gzipped(t, `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p2"}}`)},
		{"gzip batch", "POST", "/fhir", "application/fhir+json", gzipped(t, `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/p2"}}]}`)},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := e.requestsSeen()
			h := bearer(tok)
			h.Set("Content-Type", c.contentType)
			h.Set("Content-Encoding", "gzip")
			res, body := e.request(t, c.method, c.target, h, c.body)
			assert.Contains(t, []int{400, 403, 415}, res.StatusCode, "body: %s", body)
			assert.Equal(t, n, e.requestsSeen(), "the server must not be reached")
		})
	}
}

// Writes that would move data into or out of Alice's compartment.
func TestAttackWrites(t *testing.T) {
	e := newEnv(t)
	tok := e.token("patient/*.cruds", naivefhir.Alice)
	obs := func(id, subject string) string {
		idPart := ""
		if id != "" {
			idPart = `"id":"` + id + `",`
		}
		return `{"resourceType":"Observation",` + idPart + `"status":"final","code":{"text":"x"},"subject":{"reference":"Patient/` + subject + `"}}`
	}
	for _, c := range []struct {
		name, method, target, contentType, body string
		header                                  http.Header
	}{
		{"create for Bob", "POST", "/fhir/Observation", "application/fhir+json", obs("", "p2"), nil},
		{"create with Bob as performer", "POST", "/fhir/Observation", "application/fhir+json", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"},"performer":[{"reference":"Patient/p2"}]}`, nil},
		{"create with duplicate subject", "POST", "/fhir/Observation", "application/fhir+json", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"},"subject":{"reference":"Patient/p2"}}`, nil},
		{"create with case-variant subject", "POST", "/fhir/Observation", "application/fhir+json", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"},"Subject":{"reference":"Patient/p2"}}`, nil},
		{"create a Patient", "POST", "/fhir/Patient", "application/fhir+json", `{"resourceType":"Patient","name":[{"family":"Mallory"}]}`, nil},
		{"create as XML", "POST", "/fhir/Observation", "application/fhir+xml", `<Observation xmlns="http://hl7.org/fhir"><subject><reference value="Patient/p2"/></subject></Observation>`, nil},
		{"create with a URL id of another type", "POST", "/fhir/Observation", "application/fhir+json", `{"resourceType":"Condition","subject":{"reference":"Patient/p1"}}`, nil},
		{"update moving Alice's Observation to Bob", "PUT", "/fhir/Observation/obs-p1-lab", "application/fhir+json", obs("obs-p1-lab", "p2"), nil},
		{"update taking over Bob's Observation", "PUT", "/fhir/Observation/obs-p2-lab", "application/fhir+json", obs("obs-p2-lab", "p1"), nil},
		{"update with body id of Bob's", "PUT", "/fhir/Observation/obs-p1-lab", "application/fhir+json", obs("obs-p2-lab", "p1"), nil},
		{"JSON Patch changing the subject", "PATCH", "/fhir/Observation/obs-p1-lab", "application/json-patch+json", `[{"op":"replace","path":"/subject/reference","value":"Patient/p2"}]`, nil},
		{"JSON Patch of Bob's Observation", "PATCH", "/fhir/Observation/obs-p2-lab", "application/json-patch+json", `[{"op":"replace","path":"/status","value":"amended"}]`, nil},
		{"JSON Patch moving the subject through copy", "PATCH", "/fhir/Observation/obs-p1-lab", "application/json-patch+json", `[{"op":"copy","from":"/performer/0","path":"/subject"}]`, nil},
		{"XML patch", "PATCH", "/fhir/Observation/obs-p1-lab", "application/xml-patch+xml", `<diff/>`, nil},
		{"conditional update escaping the compartment", "PUT", "/fhir/Observation?_id=obs-p2-lab", "application/fhir+json", obs("", "p1"), nil},
		{"conditional delete escaping the compartment", "DELETE", "/fhir/Observation?_id=obs-p2-lab", "", "", nil},
		{"two If-None-Exist headers", "POST", "/fhir/Observation", "application/fhir+json", obs("", "p1"), http.Header{"If-None-Exist": {"_id=obs-p1-lab", "_id=obs-p2-lab"}}},
		{"delete Bob's Observation", "DELETE", "/fhir/Observation/obs-p2-lab", "", "", nil},
		{"delete Bob", "DELETE", "/fhir/Patient/p2", "", "", nil},
		{"update Bob", "PUT", "/fhir/Patient/p2", "application/fhir+json", `{"resourceType":"Patient","id":"p2"}`, nil},
		{"If-Match naming another version", "PUT", "/fhir/Observation/obs-p1-lab", "application/fhir+json", obs("obs-p1-lab", "p1"), http.Header{"If-Match": {`W/"2"`}}},
		{"two If-Match headers", "PUT", "/fhir/Observation/obs-p1-lab", "application/fhir+json", obs("obs-p1-lab", "p1"), http.Header{"If-Match": {`W/"1"`, `W/"2"`}}},
		{"delete with If-Match of a future version", "DELETE", "/fhir/Observation/obs-p1-lab", "", "", http.Header{"If-Match": {`W/"7"`}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			before, n := snapshot(e.fhir), e.requestsSeen()
			h := bearer(tok)
			if c.contentType != "" {
				h.Set("Content-Type", c.contentType)
			}
			for k, v := range c.header {
				h[k] = v
			}
			res, body := e.request(t, c.method, c.target, h, c.body)
			assert.Contains(t, []int{400, 403, 404, 412, 415}, res.StatusCode, "body: %s", body)
			assert.Equal(t, before, snapshot(e.fhir), "nothing changed on the server")
			for _, r := range e.fhir.Requests()[n:] {
				assert.Equal(t, "GET", r.Method, "only stored-version reads reached the server")
			}
		})
	}
	t.Run("conditional create matching Bob's is narrowed to Alice", func(t *testing.T) {
		h := bearer(tok)
		h.Set("Content-Type", "application/fhir+json")
		h.Set("If-None-Exist", "_id=obs-p2-lab")
		res, body := e.request(t, http.MethodPost, "/fhir/Observation", h, obs("", "p1"))
		assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice), "status %d", res.StatusCode)
		ine, err := url.ParseQuery(lastUpstream(t, e).Header.Get("If-None-Exist"))
		require.NoError(t, err)
		assert.Equal(t, []string{"Patient/p1"}, ine["patient"])
		assert.Equal(t, []string{"obs-p2-lab"}, ine["_id"])
	})
	t.Run("the checked write is pinned to the checked version", func(t *testing.T) {
		h := bearer(tok)
		h.Set("Content-Type", "application/fhir+json")
		h.Set("If-Match", `"1"`) // the same version, written differently
		res, body := e.request(t, http.MethodPut, "/fhir/Observation/obs-p1-lab", h, obs("obs-p1-lab", "p1"))
		require.Equal(t, 200, res.StatusCode, "body: %s", body)
		assert.Equal(t, `W/"1"`, lastUpstream(t, e).Header.Get("If-Match"))
	})
}

// snapshot is every resource stored in the naive server.
func snapshot(s *naivefhir.Server) map[string]string {
	out := map[string]string{}
	for _, typ := range []string{"Patient", "Observation", "Encounter", "Condition", "Practitioner", "Organization"} {
		for _, id := range []string{"p1", "p2", "p3", "obs-p1-lab", "obs-p2-lab", "obs-p3-lab", "obs-p1-vital", "obs-p2-vital", "obs-p1-by-p2", "cond-p1", "cond-p2", "enc-p1", "enc-p2", "new-1", "new-2", "pr1", "org1"} {
			if r, ok := s.Get(typ, id); ok {
				out[typ+"/"+id] = string(r)
			}
		}
	}
	return out
}

// A search-like operation whose parameters are in a POSTed Parameters
// body: a server reading the body would never see narrowing added to the
// query, so it is refused instead of passed on unnarrowed.
func TestAttackPostedOperationParameters(t *testing.T) {
	e := newEnv(t, withPolicy(fhirauth.WithOperation(fhirauth.OperationRule{
		Name: "lastn", Levels: fhirauth.TypeLevel, Types: []string{"Observation"}, Permission: scope.Search, Search: true})))
	tok := e.token("patient/*.rs", naivefhir.Alice)
	h := bearer(tok)
	h.Set("Content-Type", "application/fhir+json")
	n := e.requestsSeen()
	res, body := e.request(t, http.MethodPost, "/fhir/Observation/$lastn", h, `{"resourceType":"Parameters","parameter":[{"name":"code","valueString":"2339-0"}]}`)
	require.Equal(t, 400, res.StatusCode, "body: %s", body)
	assert.Contains(t, parseOutcome(t, body).Issue[0].Diagnostics, "query string")
	assert.Equal(t, n, e.requestsSeen())

	res, body = e.request(t, http.MethodPost, "/fhir", h, `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"POST","url":"Observation/$lastn"},"resource":{"resourceType":"Parameters","parameter":[{"name":"code","valueString":"2339-0"}]}}]}`)
	require.Equal(t, 200, res.StatusCode, "body: %s", body)
	assert.Equal(t, "400 Bad Request", parseBundle(t, body).Entry[0].Response.Status)
	assert.Equal(t, n, e.requestsSeen())

	// The same operation by GET is narrowed in its query.
	res, body = e.get(t, "/fhir/Observation/$lastn?code=2339-0", tok)
	assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice), "status %d", res.StatusCode)
	assert.Contains(t, lastUpstream(t, e).URL, "patient=Patient%2Fp1")
}

// Existence hiding: a resource withheld by a response or stored-version
// check and one that does not exist get the same answer, byte for byte
// and header for header (Date aside), so neither status, size nor an
// ETag or Last-Modified tells them apart.
func TestAttackExistenceOracle(t *testing.T) {
	e := newEnv(t)
	tok := e.token("patient/*.rs", naivefhir.Alice)
	wtok := e.token("patient/*.rud", naivefhir.Alice)
	for _, c := range []struct {
		name, method, hidden, missing, tok string
	}{
		{"read", "GET", "/fhir/Observation/obs-p2-lab", "/fhir/Observation/no-such", tok},
		{"vread", "GET", "/fhir/Observation/obs-p2-lab/_history/1", "/fhir/Observation/no-such/_history/1", tok},
		{"delete", "DELETE", "/fhir/Observation/obs-p2-lab", "/fhir/Observation/no-such", wtok},
	} {
		t.Run(c.name, func(t *testing.T) {
			hr, hb := e.request(t, c.method, c.hidden, bearer(c.tok), "")
			mr, mb := e.request(t, c.method, c.missing, bearer(c.tok), "")
			assert.Equal(t, 404, hr.StatusCode, "body: %s", hb)
			assert.Equal(t, mr.StatusCode, hr.StatusCode)
			assert.Equal(t, string(mb), string(hb))
			hr.Header.Del("Date")
			mr.Header.Del("Date")
			assert.Equal(t, mr.Header, hr.Header)
			assert.Empty(t, hr.Header.Get("ETag"))
			assert.Empty(t, hr.Header.Get("Last-Modified"))
		})
	}
}
