package fhirapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/fhir/go/fhirversion"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/fhirapi"
	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/sample"
	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/store"
)

var (
	validatorsOnce sync.Once
	validators     = map[fhirversion.Version]*store.Validator{}
)

func validator(t testing.TB, v fhirversion.Version) *store.Validator {
	t.Helper()
	validatorsOnce.Do(func() {
		for _, ver := range []fhirversion.Version{fhirversion.STU3, fhirversion.R4} {
			val, err := store.NewValidator(ver)
			if err != nil {
				panic(err)
			}
			validators[ver] = val
		}
	})
	return validators[v]
}

const base = "http://fhir.test/fhir"

type api struct {
	t     *testing.T
	h     http.Handler
	store *store.Store
	v     *store.Validator
}

func newAPI(t *testing.T, v fhirversion.Version, opts ...fhirapi.Option) *api {
	t.Helper()
	val := validator(t, v)
	s, err := store.New(val)
	require.NoError(t, err)
	require.NoError(t, sample.Load(s))
	opts = append([]fhirapi.Option{fhirapi.WithBaseURL(base),
		fhirapi.WithSecurity(fhirapi.Security{TokenURL: "http://fhir.test/oauth2/token"})}, opts...)
	h, err := fhirapi.New(s, opts...)
	require.NoError(t, err)
	return &api{t: t, h: h, store: s, v: val}
}

type result struct {
	status int
	header http.Header
	body   []byte
	doc    map[string]any
}

func (a *api) do(method, path, contentType, body string, hdr ...string) result {
	a.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, "http://fhir.test"+path, r)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	res := result{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	if len(res.body) > 0 {
		require.Equal(a.t, fhirapi.ContentType, rec.Header().Get("Content-Type"))
		require.NoError(a.t, json.Unmarshal(res.body, &res.doc), string(res.body))
	}
	return res
}

func (a *api) get(path string) result { a.t.Helper(); return a.do(http.MethodGet, path, "", "") }

// requireValid checks that a response body is valid FHIR of its resourceType.
func (a *api) requireValid(res result) {
	a.t.Helper()
	rt, _ := res.doc["resourceType"].(string)
	require.NoError(a.t, a.v.Validate(rt, res.body), string(res.body))
}

func entries(res result) []map[string]any {
	raw, _ := res.doc["entry"].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, e := range raw {
		out = append(out, e.(map[string]any))
	}
	return out
}

func entryRefs(res result) []string {
	var out []string
	for _, e := range entries(res) {
		r, ok := e["resource"].(map[string]any)
		if !ok {
			out = append(out, "-")
			continue
		}
		out = append(out, r["resourceType"].(string)+"/"+r["id"].(string))
	}
	return out
}

func link(res result, rel string) string {
	links, _ := res.doc["link"].([]any)
	for _, l := range links {
		m := l.(map[string]any)
		if m["relation"] == rel {
			return m["url"].(string)
		}
	}
	return ""
}

func diag(res result) string {
	issues, _ := res.doc["issue"].([]any)
	if len(issues) == 0 {
		return ""
	}
	d, _ := issues[0].(map[string]any)["diagnostics"].(string)
	return d
}
