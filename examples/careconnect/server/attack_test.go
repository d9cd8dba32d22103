package server_test

// Adversarial tests of careconnect as a whole (store honouring the
// decision natively, embedded authorization server, scopes page), started
// in-process on 127.0.0.1:0. The attacker holds tokens of its own clients:
// a patient-context client bound to Patient/1 with every letter, a v2
// constrained laboratory-only client, and a narrow user/ client.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/server"

	"github.com/fhirwarden/fhirwarden/internal/logbuf"
)

// attackClients are the clients of the -clients file the attack server
// runs with; every secret is "s3cret".
const attackClients = `[
 {"client_id":"pw","client_secret":"s3cret","scope":"patient/*.cruds","patient":"1"},
 {"client_id":"lab","client_secret":"s3cret","scope":"patient/Observation.rs?category=laboratory","patient":"1"},
 {"client_id":"pat-read","client_secret":"s3cret","scope":"user/Patient.rs"},
 {"client_id":"ro","client_secret":"s3cret","scope":"patient/*.rs launch/patient openid","patient":"1"},
 {"client_id":"admin","client_secret":"s3cret","scope":"user/*.rs"}
]`

type attackServer struct {
	s    *server.Server
	logs *logbuf.Buffer
}

func startAttack(t *testing.T, clients string) *attackServer {
	t.Helper()
	file := filepath.Join(t.TempDir(), "clients.json")
	require.NoError(t, os.WriteFile(file, []byte(clients), 0o600))
	logs := &logbuf.Buffer{}
	s, err := server.Start(context.Background(), server.Config{
		Addr: "127.0.0.1:0", ClientsFile: file,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}, io.Discard)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return &attackServer{s: s, logs: logs}
}

// tokenReply asks the token endpoint with an arbitrary request.
func (a *attackServer) tokenReply(t *testing.T, form url.Values, mutate func(*http.Request)) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, a.s.TokenURL(), strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if mutate != nil {
		mutate(req)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	r := reply{status: res.StatusCode, header: res.Header, body: b}
	_ = json.Unmarshal(b, &r.doc)
	return r
}

func (a *attackServer) token(t *testing.T, id, scope string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	r := a.tokenReply(t, form, func(req *http.Request) { req.SetBasicAuth(id, "s3cret") })
	require.Equal(t, 200, r.status, "token for %s: %s", id, r.body)
	tok, _ := r.doc["access_token"].(string)
	require.NotEmpty(t, tok)
	return tok
}

// claims decodes a JWT's payload (the signature is the server's business).
func claims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var c map[string]any
	require.NoError(t, json.Unmarshal(b, &c))
	return c
}

func (a *attackServer) do(t *testing.T, method, path, tok, contentType, body string, hdr ...string) reply {
	t.Helper()
	h := []string{}
	if contentType != "" {
		h = append(h, "Content-Type", contentType)
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	u := a.s.BaseURL() + path
	if strings.HasPrefix(path, "http") {
		u = path
	}
	r := call(t, method, u, tok, rd, append(h, hdr...)...)
	if tok != "" {
		require.NotContains(t, string(r.body), tok)
	}
	return r
}

// othersData are strings found only in the data of sample patients 2 and
// 3 (names, NHS numbers, ids, references).
var othersData = []string{"Patient/2", "Patient/3", "Oliver", "Smith", "Priya", "Patel", "9990000026", "9990000034",
	"-2\"", "-3\"", `"id":"2"`, `"id":"3"`, "Manchester", "Birmingham"}

// assertNoOthers fails when the reply holds data of patients 2 or 3 that
// the request itself did not name (an echo of the request is no leak).
func assertNoOthers(t *testing.T, r reply, what string) {
	t.Helper()
	asked, _ := url.QueryUnescape(what)
	for _, s := range othersData {
		if strings.Contains(asked, strings.Trim(s, `"-`)) {
			continue
		}
		assert.NotContains(t, string(r.body), s, "%s: status %d body: %.600s", what, r.status, r.body)
		for k, vs := range r.header {
			for _, v := range vs {
				assert.NotContains(t, v, s, "%s: header %s", what, k)
			}
		}
	}
}

func TestCareConnectAttackTokenEndpoint(t *testing.T) {
	a := startAttack(t, attackClients)
	basic := func(id, secret string) func(*http.Request) {
		return func(r *http.Request) { r.SetBasicAuth(id, secret) }
	}
	cc := url.Values{"grant_type": {"client_credentials"}}
	with := func(extra ...string) url.Values {
		v := url.Values{"grant_type": {"client_credentials"}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Add(extra[i], extra[i+1])
		}
		return v
	}
	for _, c := range []struct {
		name   string
		form   url.Values
		mutate func(*http.Request)
		status int
		code   string
	}{
		{"wrong secret", cc, basic("pw", "wrong"), 401, "invalid_client"},
		{"unknown client", cc, basic("nobody", "s3cret"), 401, "invalid_client"},
		{"empty secret", cc, basic("pw", ""), 401, "invalid_client"},
		{"Basic and client_secret_post", with("client_id", "pw", "client_secret", "s3cret"), basic("pw", "s3cret"), 400, "invalid_request"},
		{"Basic naming another client_id in the body", with("client_id", "lab"), basic("pw", "s3cret"), 400, "invalid_request"},
		{"two Authorization headers", cc, func(r *http.Request) {
			r.Header.Add("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("pw:s3cret")))
			r.Header.Add("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("lab:s3cret")))
		}, 400, "invalid_request"},
		{"Bearer instead of Basic", cc, func(r *http.Request) { r.Header.Set("Authorization", "Bearer x") }, 401, "invalid_client"},
		{"no client authentication", cc, nil, 401, "invalid_client"},
		{"secret with a colon smuggled", cc, basic("pw:s3cret", "x"), 401, "invalid_client"},
		{"repeated scope parameter", with("scope", "patient/Observation.rs", "scope", "patient/*.cruds"), basic("pw", "s3cret"), 400, "invalid_request"},
		{"repeated grant_type", with("grant_type", "client_credentials"), basic("pw", "s3cret"), 400, "invalid_request"},
		{"other grant type", url.Values{"grant_type": {"password"}, "username": {"u"}, "password": {"p"}}, basic("pw", "s3cret"), 400, "unsupported_grant_type"},
		{"scope of another context", with("scope", "user/*.rs"), basic("pw", "s3cret"), 400, "invalid_scope"},
		{"system scope", with("scope", "system/*.rs"), basic("pat-read", "s3cret"), 400, "invalid_scope"},
		{"another type for a constrained client", with("scope", "patient/Condition.rs"), basic("lab", "s3cret"), 400, "invalid_scope"},
		{"malformed scope", with("scope", "patient/*.sr"), basic("pw", "s3cret"), 400, "invalid_scope"},
		{"empty scope", with("scope", " "), basic("pw", "s3cret"), 400, "invalid_scope"},
		{"parameters in the query", cc, func(r *http.Request) {
			r.SetBasicAuth("pw", "s3cret")
			r.URL.RawQuery = "scope=user/*.cruds"
		}, 400, "invalid_request"},
		{"JSON body", cc, func(r *http.Request) {
			r.SetBasicAuth("pw", "s3cret")
			r.Header.Set("Content-Type", "application/json")
		}, 400, "invalid_request"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := a.tokenReply(t, c.form, c.mutate)
			assert.Equal(t, c.status, r.status, "body: %s", r.body)
			assert.Equal(t, c.code, r.doc["error"], "body: %s", r.body)
			assert.Nil(t, r.doc["access_token"])
			assert.NotContains(t, string(r.body), "s3cret")
		})
	}
	t.Run("scope escalation is intersected away", func(t *testing.T) {
		for _, c := range []struct {
			id, ask string
			want    []string
		}{
			{"pw", "patient/*.cruds user/*.cruds system/*.cruds", []string{"patient/*.cruds"}},
			{"ro", "patient/*.cruds", []string{"patient/*.rs"}},
			{"ro", "patient/*.rs launch/patient openid fhirUser offline_access", []string{"patient/*.rs", "launch/patient", "openid"}},
			// Intersections keep the client's constraint: asking for more
			// (unconstrained) or for another category gets the constraint
			// ANDed in, which is narrower than either.
			{"lab", "patient/Observation.rs", []string{"patient/Observation.rs?category=laboratory"}},
			{"lab", "patient/Observation.rs?category=vital-signs", []string{"patient/Observation.rs?category=laboratory&category=vital-signs"}},
			{"lab", "patient/Observation.cruds?category=laboratory", []string{"patient/Observation.rs?category=laboratory"}},
			{"pat-read", "user/Patient.rs user/Observation.rs", []string{"user/Patient.rs"}},
		} {
			r := a.tokenReply(t, with("scope", c.ask), basic(c.id, "s3cret"))
			require.Equal(t, 200, r.status, "%s asking %q: %s", c.id, c.ask, r.body)
			granted := strings.Fields(r.doc["scope"].(string))
			assert.ElementsMatch(t, c.want, granted, "%s asking %q", c.id, c.ask)
			tok := claims(t, r.doc["access_token"].(string))
			assert.ElementsMatch(t, granted, strings.Fields(tok["scope"].(string)), "the token carries what the response says")
		}
	})
	t.Run("patient claim cannot be injected", func(t *testing.T) {
		r := a.tokenReply(t, with("patient", "2", "sub", "admin", "client_id", "pw", "aud", "http://evil.example", "scope", "patient/*.rs"), basic("pw", "s3cret"))
		require.Equal(t, 200, r.status, "body: %s", r.body)
		c := claims(t, r.doc["access_token"].(string))
		assert.Equal(t, "1", c["patient"])
		assert.Equal(t, "pw", c["sub"])
		assert.Equal(t, a.s.BaseURL(), c["aud"])
		assert.Equal(t, "1", r.doc["patient"])

		r = a.tokenReply(t, with("patient", "2"), basic("pat-read", "s3cret"))
		require.Equal(t, 200, r.status, "body: %s", r.body)
		assert.NotContains(t, claims(t, r.doc["access_token"].(string)), "patient", "a client without a patient gets none")
	})
	t.Run("GET is not a token request", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, a.s.TokenURL()+"?grant_type=client_credentials", nil)
		req.SetBasicAuth("pw", "s3cret")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		assert.NotEqual(t, 200, res.StatusCode)
		assert.NotContains(t, string(b), "access_token")
	})
	t.Run("oversized body", func(t *testing.T) {
		r := a.tokenReply(t, with("scope", strings.Repeat("patient/*.rs ", 10000)), basic("pw", "s3cret"))
		assert.Equal(t, 400, r.status)
	})
	assert.NotContains(t, a.logs.String(), "s3cret", "secrets are never logged")
}

// Reads and searches of other patients' data with every kind of token.
func TestCareConnectAttackReads(t *testing.T) {
	a := startAttack(t, attackClients)
	pw := a.token(t, "pw", "")
	lab := a.token(t, "lab", "")
	for _, path := range []string{
		"/Patient/2", "/Patient/3", "/Patient?identifier=9990000026", "/Patient?name=Smith", "/Patient",
		"/Observation/obs-lab-2", "/Observation/obs-vital-3/_history/1", "/Observation/obs-lab-2/_history",
		"/Observation", "/Observation?patient=2", "/Observation?patient=1,2", "/Observation?patient=1&patient=2",
		"/Observation?subject=Patient/2", "/Observation?subject:Patient=2", "/Observation?Patient=2",
		"/Observation?_id=obs-lab-2", "/Observation?_id=obs-lab-1,obs-lab-2",
		"/Observation?_include=Observation:subject", "/Observation?_include=*", "/Observation?_include=Observation:performer",
		"/Patient?_revinclude=Observation:subject", "/Practitioner?_revinclude=Observation:performer",
		"/Practitioner?_revinclude=Patient:general-practitioner", "/Organization?_revinclude=Patient:organization",
		"/Observation?_summary=count", "/Observation?_total=accurate", "/Observation?_count=1&_offset=1",
		"/Observation?_count=0", "/Observation?_elements=subject", "/Observation?code=8867-4",
		"/Patient/2/Observation", "/Patient/2/$everything", "/Patient/1/$everything", "/Patient/2/*",
		"/Patient/1/Observation?patient=2", "/Patient/1/Observation?subject=Patient/2",
		"/Encounter?patient:missing=true", "/Condition?subject:Group=g", "/Condition?subject.name=Smith",
		"/Patient?_has:Observation:patient:code=8867-4", "/Observation/_history", "/_history",
		"?_type=Observation", "/Observation/../Patient/2", "/observation/obs-lab-2", "/Observation/obs-lab-2/",
		"/Observation/obs-lab-2;x", "/Observation/%6fbs-lab-2",
	} {
		for name, tok := range map[string]string{"patient/*.cruds": pw, "lab only": lab} {
			r := a.do(t, http.MethodGet, path, tok, "", "")
			assertNoOthers(t, r, "GET "+path+" ("+name+")")
			assert.Less(t, r.status, 500, "%s GET %s: %s", name, path, r.body)
		}
	}
	t.Run("totals count only what the token may see", func(t *testing.T) {
		r := a.do(t, http.MethodGet, "/Observation?_summary=count", pw, "", "")
		require.Equal(t, 200, r.status, "body: %s", r.body)
		assert.EqualValues(t, 2, r.doc["total"], "Patient/1's two Observations")
		// Under a v2 constraint the results are checked again on their
		// way out (a server may not search by the constraint), and a
		// total that the check cannot verify is withheld.
		r = a.do(t, http.MethodGet, "/Observation?_summary=count", lab, "", "")
		require.Equal(t, 200, r.status, "body: %s", r.body)
		assert.Nil(t, r.doc["total"], "a constrained search's total is withheld")
	})
	t.Run("v2 constraint: another category is hidden", func(t *testing.T) {
		r := a.do(t, http.MethodGet, "/Observation/obs-vital-1", lab, "", "")
		assert.Contains(t, []int{403, 404}, r.status, "body: %s", r.body)
		assert.NotContains(t, string(r.body), "vital-signs")
		for _, path := range []string{"/Observation?category=vital-signs", "/Observation?code=8867-4", "/Observation?_id=obs-vital-1", "/Observation/obs-vital-1/_history/1"} {
			r := a.do(t, http.MethodGet, path, lab, "", "")
			assert.NotContains(t, string(r.body), `"id":"obs-vital-1"`, path)
			assert.NotContains(t, string(r.body), "Heart rate", path)
		}
	})
	t.Run("a next link replayed with another patient's token", func(t *testing.T) {
		r := a.do(t, http.MethodGet, "/Observation?_count=1", pw, "", "")
		require.Equal(t, 200, r.status)
		var b struct {
			Link []struct{ Relation, URL string }
		}
		require.NoError(t, json.Unmarshal(r.body, &b))
		next := ""
		for _, l := range b.Link {
			if l.Relation == "next" {
				next = l.URL
			}
		}
		require.NotEmpty(t, next)
		other := startAttack(t, `[{"client_id":"p2","client_secret":"s3cret","scope":"patient/*.rs","patient":"2"}]`)
		r2 := other.do(t, http.MethodGet, strings.Replace(next, a.s.BaseURL(), other.s.BaseURL(), 1), other.token(t, "p2", ""), "", "")
		assert.NotContains(t, string(r2.body), "Patient/1\"", "Patient/2's token sees nothing of Patient/1 on the replayed page")
	})
}

// Writes that would move data into or out of Patient/1's compartment.
func TestCareConnectAttackWrites(t *testing.T) {
	a := startAttack(t, attackClients)
	pw := a.token(t, "pw", "")
	const fj = "application/fhir+json"
	obs := func(id, patient string) string {
		idPart := ""
		if id != "" {
			idPart = `"id":"` + id + `",`
		}
		return `{"resourceType":"Observation",` + idPart + `"status":"final","code":{"text":"x"},"subject":{"reference":"Patient/` + patient + `"}}`
	}
	for _, c := range []struct {
		name, method, path, contentType, body string
		hdr                                   []string
	}{
		{"create for Patient/2", "POST", "/Observation", fj, obs("", "2"), nil},
		{"create with Patient/2 as performer", "POST", "/Observation", fj, `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/1"},"performer":[{"reference":"Patient/2"}]}`, nil},
		{"create with a duplicate subject", "POST", "/Observation", fj, `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/1"},"subject":{"reference":"Patient/2"}}`, nil},
		{"create with a case-variant subject", "POST", "/Observation", fj, `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/1"},"Subject":{"reference":"Patient/2"}}`, nil},
		{"create a Patient", "POST", "/Patient", fj, `{"resourceType":"Patient","name":[{"family":"Mallory"}]}`, nil},
		{"update moving Patient/1's Observation to Patient/2", "PUT", "/Observation/obs-lab-1", fj, obs("obs-lab-1", "2"), nil},
		{"update taking over Patient/2's Observation", "PUT", "/Observation/obs-lab-2", fj, obs("obs-lab-2", "1"), nil},
		{"JSON Patch changing the subject", "PATCH", "/Observation/obs-lab-1", "application/json-patch+json", `[{"op":"replace","path":"/subject/reference","value":"Patient/2"}]`, nil},
		{"JSON Patch adding Patient/2 as performer", "PATCH", "/Observation/obs-lab-1", "application/json-patch+json", `[{"op":"add","path":"/performer","value":[{"reference":"Patient/2"}]}]`, nil},
		{"JSON Patch of Patient/2's Observation", "PATCH", "/Observation/obs-lab-2", "application/json-patch+json", `[{"op":"replace","path":"/status","value":"amended"}]`, nil},
		{"JSON Patch with a test of Patient/2's data", "PATCH", "/Observation/obs-lab-2", "application/json-patch+json", `[{"op":"test","path":"/status","value":"final"}]`, nil},
		{"conditional update escaping the compartment", "PUT", "/Observation?_id=obs-lab-2", fj, obs("", "1"), nil},
		{"conditional delete escaping the compartment", "DELETE", "/Observation?_id=obs-lab-2", "", "", nil},
		{"conditional delete of everything", "DELETE", "/Observation?status=final", "", "", nil},
		{"conditional create matching Patient/2's", "POST", "/Observation", fj, obs("", "1"), []string{"If-None-Exist", "_id=obs-lab-2"}},
		{"delete Patient/2's Observation", "DELETE", "/Observation/obs-lab-2", "", "", nil},
		{"delete Patient/2", "DELETE", "/Patient/2", "", "", nil},
		{"update Patient/2", "PUT", "/Patient/2", fj, `{"resourceType":"Patient","id":"2","name":[{"family":"Mallory"}]}`, nil},
		{"If-Match of a future version", "DELETE", "/Observation/obs-lab-2", "", "", []string{"If-Match", `W/"2"`}},
		{"method override", "GET", "/Observation/obs-lab-2", "", "", []string{"X-HTTP-Method-Override", "DELETE"}},
		{"transaction moving data by urn", "POST", "", fj, `{"resourceType":"Bundle","type":"transaction","entry":[
			{"fullUrl":"urn:uuid:11111111-1111-1111-1111-111111111111","request":{"method":"POST","url":"Observation"},"resource":` + obs("", "1") + `},
			{"request":{"method":"PUT","url":"Observation/obs-lab-2"},"resource":{"resourceType":"Observation","id":"obs-lab-2","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/1"},"hasMember":[{"reference":"urn:uuid:11111111-1111-1111-1111-111111111111"}]}}]}`, nil},
		{"transaction referring to Patient/2 by urn", "POST", "", fj, `{"resourceType":"Bundle","type":"transaction","entry":[
			{"fullUrl":"urn:uuid:22222222-2222-2222-2222-222222222222","request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=9990000026"},"resource":{"resourceType":"Patient","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9990000026"}]}},
			{"request":{"method":"POST","url":"Observation"},"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:22222222-2222-2222-2222-222222222222"}}}]}`, nil},
		{"transaction with the same fullUrl twice", "POST", "", fj, `{"resourceType":"Bundle","type":"transaction","entry":[
			{"fullUrl":"urn:uuid:33333333-3333-3333-3333-333333333333","request":{"method":"POST","url":"Observation"},"resource":` + obs("", "1") + `},
			{"fullUrl":"urn:uuid:33333333-3333-3333-3333-333333333333","request":{"method":"POST","url":"Observation"},"resource":` + obs("", "2") + `}]}`, nil},
		{"batch entry order game", "POST", "", fj, `{"resourceType":"Bundle","type":"batch","entry":[
			{"request":{"method":"PUT","url":"Observation/obs-lab-2"},"resource":` + obs("obs-lab-2", "1") + `},
			{"request":{"method":"DELETE","url":"Patient/2"}},
			{"request":{"method":"GET","url":"Observation/obs-lab-2"}}]}`, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := a.do(t, c.method, c.path, pw, c.contentType, c.body, c.hdr...)
			assertNoOthers(t, r, c.method+" "+c.path+" "+c.body+" "+strings.Join(c.hdr, " "))
			assert.Less(t, r.status, 500, "body: %s", r.body)
			// The other patients' data is unchanged, and nothing new was
			// filed under them.
			for _, ref := range []string{"Observation/obs-lab-2", "Patient/2", "Observation/obs-lab-1"} {
				assert.Equal(t, 1, a.versions(t, ref), "%s was not written", ref)
			}
			assert.Equal(t, 2, a.count(t, "Observation?subject=Patient/2"), "nothing new is Patient/2's")
		})
	}
}

// versions is the number of versions of ref, as a user/*.rs client sees
// its history.
func (a *attackServer) versions(t *testing.T, ref string) int {
	t.Helper()
	r := a.do(t, http.MethodGet, "/"+ref+"/_history", a.token(t, "admin", ""), "", "")
	require.Equal(t, 200, r.status, "history of %s: %s", ref, r.body)
	n, _ := r.doc["total"].(float64)
	return int(n)
}

// count is the number of matches of a search, as a user/*.rs client sees.
func (a *attackServer) count(t *testing.T, query string) int {
	t.Helper()
	r := a.do(t, http.MethodGet, "/"+query+"&_summary=count", a.token(t, "admin", ""), "", "")
	require.Equal(t, 200, r.status, "count %s: %s", query, r.body)
	n, _ := r.doc["total"].(float64)
	return int(n)
}

// The scopes page renders client ids and scopes from a -clients file:
// markup in them is escaped, the page's script never turns text into
// markup, and the Content-Security-Policy forbids inline script anyway.
func TestCareConnectAttackScopesPageXSS(t *testing.T) {
	const evilID = `x"><img src=x onerror=alert(1)></td></script><script>alert(1)</script>`
	clients, err := json.Marshal([]map[string]string{
		{"client_id": evilID, "client_secret": "s3cret", "scope": "user/Patient.rs <script>alert(2)</script>"},
		{"client_id": "plain", "client_secret": "s3cret", "scope": "user/Patient.rs", "patient": "1"},
	})
	require.NoError(t, err)
	a := startAttack(t, string(clients))
	res, err := http.Get(a.s.URL() + "/")
	require.NoError(t, err)
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, 200, res.StatusCode)
	html := string(page)
	for _, bad := range []string{"<script>alert", "<img src=x", "<img", "</td></script>"} {
		assert.NotContains(t, html, bad)
	}
	assert.Equal(t, 2, strings.Count(strings.ToLower(html), "</script"), "only the page's own two script elements end")
	assert.Contains(t, html, "&lt;img", "the id is shown, escaped")
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		assert.Contains(t, csp, want)
	}
	assert.NotContains(t, csp, "unsafe-inline")
	assert.NotContains(t, csp, "unsafe-eval")
	assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
	assert.NotContains(t, html, "s3cret", "secrets of -clients files are not shown")

	res, err = http.Get(a.s.URL() + "/static/app.js")
	require.NoError(t, err)
	js, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, 200, res.StatusCode)
	for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		assert.NotContains(t, string(js), sink, "the page's script renders text only")
	}
	for _, p := range []string{"/static/../server.go", "/static/%2e%2e/page.go", "/static/", "/static/index.html"} {
		res, err := http.Get(a.s.URL() + p)
		require.NoError(t, err)
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		assert.NotContains(t, string(b), "package server", p)
	}
}

// The audit log holds one record per request, never a token or a secret,
// whatever the request line holds.
func TestCareConnectAttackAuditLog(t *testing.T) {
	a := startAttack(t, attackClients)
	tok := a.token(t, "pw", "")
	for _, p := range []string{"/Patient/1%0d%0aforged", "/Observation?code=%0aforged", "/Patient/2", "/metadata"} {
		a.do(t, http.MethodGet, p, tok, "", "")
	}
	call(t, http.MethodGet, a.s.BaseURL()+"/Patient/1?access_token="+tok, "", nil)
	logs := a.logs.String()
	sig := tok[strings.LastIndexByte(tok, '.')+1:]
	assert.NotContains(t, logs, sig, "the token is never logged")
	assert.NotContains(t, logs, "s3cret")
	for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &rec), "one JSON record per line: %q", l)
	}
	assert.Equal(t, 5, strings.Count(logs, `"msg":"fhirwarden audit"`))
}

// Bodies are bounded before anything is parsed or stored.
func TestCareConnectAttackOversizedBodies(t *testing.T) {
	a := startAttack(t, attackClients)
	tok := a.token(t, "pw", "")
	big := `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/1"},"note":[{"text":"` + strings.Repeat("a", 9<<20) + `"}]}`
	r := a.do(t, http.MethodPost, "/Observation", tok, "application/fhir+json", big)
	assert.Equal(t, 413, r.status, "body: %.300s", r.body)
	r = a.do(t, http.MethodPost, "/Observation/_search", tok, "application/x-www-form-urlencoded", "code="+strings.Repeat("a", 9<<20))
	assert.Contains(t, []int{400, 413}, r.status, "body: %.300s", r.body)
	assert.Equal(t, 2, a.count(t, "Observation?subject=Patient/1"))
}

// A token that may update but not read Observations cannot read one
// through a PATCH: the answer would be the patched resource, and whether
// a "test" operation held would tell what a field holds. The patch is
// refused before it reaches the store, which stays unchanged.
func TestCareConnectAttackWriteOnlyPatch(t *testing.T) {
	a := startAttack(t, `[
 {"client_id":"wo","client_secret":"s3cret","scope":"user/Observation.u"},
 {"client_id":"wo1","client_secret":"s3cret","scope":"user/Observation.write"}]`)
	for _, id := range []string{"wo", "wo1"} {
		tok := a.token(t, id, "")
		r := a.do(t, http.MethodGet, "/Observation/obs-lab-2", tok, "", "")
		require.Equal(t, http.StatusForbidden, r.status, "%s: %s", id, r.body)
		for _, patch := range []string{
			`[{"op":"test","path":"/status","value":"final"}]`,
			`[{"op":"replace","path":"/status","value":"final"}]`,
		} {
			r = a.do(t, http.MethodPatch, "/Observation/obs-lab-2", tok, "application/json-patch+json", patch)
			assert.Equal(t, http.StatusForbidden, r.status, "%s %s: %s", id, patch, r.body)
			assert.NotContains(t, string(r.body), "Patient/2", "%s %s", id, patch)
		}
	}
}
