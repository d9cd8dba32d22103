package medplum

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// opRequest is one request of opsHunt: a grammar target read another
// way. form marks a form body, otherwise body (if any) is JSON.
type opRequest struct {
	i                   int // the grammar's case
	kind, method, path  string
	inURL, body, target string
	form                bool
}

// opRequests reads the grammar's targets the ways a client reads with
// operations and POST: a compartment search (Patient/x/Type, Patient/x/*,
// Encounter/x/Type) as POST .../_search with a form body, the query in
// the body, in the URL or split; Patient/x/$everything by POST without a
// body, with its parameters in a Parameters body, in the URL or split;
// a system search as GET [base]/_search?_type=....
func opRequests(r *rand.Rand, targets []string) []opRequest {
	var out []opRequest
	for i, target := range targets {
		path, query, _ := strings.Cut(entryURL(target), "?")
		segs := strings.Split(path, "/")
		switch {
		case path == "":
			out = append(out, opRequest{i: i, kind: "GET [base]/_search", method: http.MethodGet, path: "_search", inURL: query, target: target})
		case len(segs) == 3 && segs[0] == "Patient" && segs[2] == "$everything":
			inURL, inBody := splitQuery(r, query)
			kind := "POST Patient/x/$everything without a body"
			if inBody != "" {
				kind = "POST Patient/x/$everything with a Parameters body"
			}
			out = append(out, opRequest{i: i, kind: kind, method: http.MethodPost, path: path, inURL: inURL, body: parametersBody(inBody), target: target})
		case len(segs) == 3 && (segs[0] == "Patient" || segs[0] == "Encounter") && !strings.HasPrefix(segs[2], "$") && !strings.HasPrefix(segs[2], "_"):
			inURL, inBody := splitQuery(r, query)
			out = append(out, opRequest{i: i, kind: "POST compartment _search", method: http.MethodPost, path: path + "/_search", inURL: inURL, body: inBody, target: target, form: true})
		}
	}
	// The grammar's system searches are mostly refused to both tokens
	// (the patient token may not search the system, the user token not
	// Observations through _type); these reach types the user token may
	// see.
	for _, q := range systemSearches {
		out = append(out, opRequest{i: -1, kind: "GET [base]/_search", method: http.MethodGet, path: "_search", inURL: q, target: "/?" + q})
	}
	return out
}

// systemSearches are system searches of the types the user token may
// see, as queries.
var systemSearches = []string{
	"_type=Patient",
	"_type=Patient,Encounter&_count=2",
	"_type=Encounter&subject=Patient/p2",
	"_type=Patient&_id=p2,p1",
	"_type=Encounter&_include=Encounter:subject",
	"_type=Encounter,Patient&_revinclude=Observation:subject",
}

// parametersBody is a Parameters resource of query's parameters as
// valueString, "" (no body) for an empty query.
func parametersBody(query string) string {
	if query == "" {
		return ""
	}
	type param struct {
		Name        string `json:"name"`
		ValueString string `json:"valueString"`
	}
	var ps []param
	for _, kv := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		k, _ = url.QueryUnescape(k)
		v, _ = url.QueryUnescape(v)
		ps = append(ps, param{k, v})
	}
	b, _ := json.Marshal(map[string]any{"resourceType": "Parameters", "parameter": ps})
	return string(b)
}

// do sends the request to base with token.
func (o opRequest) do(ctx context.Context, t *testing.T, base, token string) (int, []byte) {
	t.Helper()
	if o.form {
		return sendForm(ctx, t, base, o.path, o.inURL, o.body, token)
	}
	target := o.path
	if o.inURL != "" {
		target += "?" + o.inURL
	}
	return send(ctx, t, o.method, base, target, token, o.body)
}

// opsHunt sends opRequests with both tokens and judges every 2xx answer,
// and the pages its next links lead to, as the GET answer to the target
// is judged. Each kind of request must be answered with entries to each
// token that may make it; all together have a floor of 15%
// answered with entries.
func opsHunt(ctx context.Context, t *testing.T, e *env, stored *storedSet, grammarSeed uint64, targets []string) {
	reqs := opRequests(rand.New(rand.NewPCG(grammarSeed, grammarSeed+4)), targets)
	byKind := map[string][]opRequest{}
	var kinds []string
	for _, o := range reqs {
		if byKind[o.kind] == nil {
			kinds = append(kinds, o.kind)
		}
		byKind[o.kind] = append(byKind[o.kind], o)
	}
	holdersOf := map[string][]*holder{}
	for _, kind := range kinds {
		holders := newHolders(e, stored, 0, 0)
		holdersOf[kind] = holders
		for _, o := range byKind[kind] {
			_, up := o.do(ctx, t, e.upstream, "")
			where := fmt.Sprintf("case %d %s %s?%s with body %q", o.i, o.method, o.path, o.inURL, o.body)
			for _, h := range holders {
				status, body := o.do(ctx, t, e.gateway, h.token)
				h.statuses[status]++
				if status < 200 || status > 299 {
					h.checkDenial(t, where, status, body)
					continue
				}
				h.answered++
				if h.check(t, where, o.target, body) > 0 {
					h.withEntries++
				}
				if h.holdsForbidden(t, up) {
					h.withheld++
				}
				h.follow(ctx, t, e, where, o.target, body)
			}
			if t.Failed() {
				t.Fatalf("%s failed; replay with MEDPLUM_SEARCHGEN_SEED=%d", where, grammarSeed)
			}
		}
	}
	total := map[string]*holder{}
	for _, kind := range kinds {
		for _, h := range holdersOf[kind] {
			n := len(byKind[kind])
			t.Logf("%s: %d %s; answered 2xx %d (with entries %d; where the upstream's answer holds what the token may not see %d; next pages followed %d), not 2xx %d; by status %v",
				h.name, n, kind, h.answered, h.withEntries, h.withheld, h.pages, n-h.answered, h.statuses)
			// A kind of request always refused proves nothing, but the
			// patient token may not search the system.
			if !h.may("Patient/p2") && kind == "GET [base]/_search" {
				continue
			}
			assert.Positive(t, h.withEntries, "%s: no %s was answered with entries", h.name, kind)
		}
		for _, h := range holdersOf[kind] {
			if total[h.name] == nil {
				total[h.name] = &holder{name: h.name, floor: 15}
			}
			total[h.name].withEntries += h.withEntries
			total[h.name].withheld += h.withheld
		}
	}
	for _, h := range total {
		h.floors(t, len(reqs))
	}
}
