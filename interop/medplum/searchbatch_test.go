package medplum

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The grammar's requests read in the other ways a client reads: as GET
// entries of batch and transaction Bundles, and as POST [type]/_search
// with a form body.

// batchEntry is one entry of a generated batch: method, url relative to
// the base (or hostile: absolute, rooted), and the grammar's case it
// comes from (-1 for a hostile entry).
type batchEntry struct {
	method, url string
	i           int
}

// json is the entry as a batch Bundle holds it.
func (b batchEntry) json() string {
	u, _ := json.Marshal(b.url)
	return `{"request":{"method":"` + b.method + `","url":` + string(u) + `}}`
}

// bundleOf is a Bundle of type typ (batch, transaction) of entries.
func bundleOf(typ string, entries []batchEntry) string {
	parts := make([]string, len(entries))
	for i, en := range entries {
		parts[i] = en.json()
	}
	return `{"resourceType":"Bundle","type":"` + typ + `","entry":[` + strings.Join(parts, ",") + `]}`
}

// entryURL is a grammar target as a Bundle entry's request.url: relative
// to the base, a system search as "?_type=...".
func entryURL(target string) string { return strings.TrimPrefix(target, "/") }

// hostileEntry is an entry of another shape made of target: an absolute
// url naming the gateway or the upstream, a rooted url, _search as the
// url (GET, and POST with the query in the url), or HEAD.
func hostileEntry(r *rand.Rand, e *env, target string) batchEntry {
	u := entryURL(target)
	path, query, _ := strings.Cut(u, "?")
	if query != "" {
		query = "?" + query
	}
	typ, _, _ := strings.Cut(path, "/")
	switch r.IntN(7) {
	case 0:
		return batchEntry{http.MethodGet, e.gateway + "/" + u, -1}
	case 1:
		return batchEntry{http.MethodGet, e.upstream + "/" + u, -1}
	case 2:
		return batchEntry{http.MethodGet, "/" + u, -1}
	case 3:
		return batchEntry{http.MethodGet, typ + "/_search" + query, -1}
	case 4:
		return batchEntry{http.MethodGet, "_search" + query, -1}
	case 5:
		return batchEntry{http.MethodPost, typ + "/_search" + query, -1}
	}
	return batchEntry{http.MethodHead, u, -1}
}

// batchStats is what one token's batches came to.
type batchStats struct {
	bundles, sent, refused, withResources, withheld int
	entryStatus                                     map[int]int
	hostile, hostileRefused                         int
	hostileStatus                                   map[int]int // the hostile entries answered, by entry status
	compartment, compartmentWith                    int         // compartment entries, those answered with resources
}

// compartmentRE matches a compartment search or $everything entry url.
var compartmentRE = regexp.MustCompile(`^(Patient|Encounter)/[^/?]+/(\*|%2A|\$everything|[A-Z][A-Za-z]+)(\?|$)`)

// batchHunt sends the grammar's requests of idx as GET entries of
// Bundles of type typ (batch, transaction) of one to six entries, a quarter of them with one hostile entry
// (hostileEntry), with both tokens. A Bundle the gateway refuses for one
// entry (400 or 403 naming it) is sent again without it, as a client
// would.
// Every entry answered 2xx is held to the token's rights as a GET answer
// is; every other entry, and every refusal, may hold no other patient's
// marker. The upstream gets each Bundle without its hostile entry: its
// answers count the entries the gateway had to narrow or filter, and how
// many differ from medplum's answers to the same GET requests.
func batchHunt(ctx context.Context, t *testing.T, e *env, stored *storedSet, grammarSeed uint64, typ string, idx []int, targets []string, ups [][]byte) {
	bundles := batches(rand.New(rand.NewPCG(grammarSeed, grammarSeed+1)), e, idx, targets)
	holders := newHolders(e, stored, 22, 13)
	stats := map[*holder]*batchStats{}
	for _, h := range holders {
		stats[h] = &batchStats{entryStatus: map[int]int{}, hostileStatus: map[int]int{}}
	}
	differ := 0
	for bi, b := range bundles {
		generated := slices.DeleteFunc(slices.Clone(b), func(en batchEntry) bool { return en.i < 0 })
		up := upstreamEntries(ctx, t, e, typ, generated)
		for k, en := range generated {
			if entryKeys(t, up[k]) != keysOrStatus(t, ups[en.i]) {
				differ++
			}
		}
		upOf := map[int][]byte{}
		for k, en := range generated {
			upOf[en.i] = up[k]
		}
		for _, h := range holders {
			h.runBatch(ctx, t, e, typ, bi, b, upOf, stats[h])
		}
		if t.Failed() {
			t.Fatalf("bundle %d failed; replay with MEDPLUM_SEARCHGEN_SEED=%d", bi, grammarSeed)
		}
	}
	for _, h := range holders {
		s := stats[h]
		answered := 0
		for st, n := range s.entryStatus {
			if st >= 200 && st <= 299 {
				answered += n
			}
		}
		t.Logf("%s: %d %s Bundles of %d entries; %d entries refused with their Bundle (400, 403), %d answered 2xx (with resources %d; where the upstream's answer holds what the token may not see %d; next pages followed %d); entries by status %v",
			h.name, s.bundles, typ, s.sent, s.refused, answered, s.withResources, s.withheld, h.pages, s.entryStatus)
		t.Logf("%s: of %d hostile entries, %d refused with their Bundle (400, 403), the others answered by status %v", h.name, s.hostile, s.hostileRefused, s.hostileStatus)
		t.Logf("%s: %d compartment and $everything entries answered, %d with resources", h.name, s.compartment, s.compartmentWith)
		// server.mjs answers them inside Bundles as at the top level.
		assert.Positive(t, s.compartmentWith, "%s: no compartment entry was answered with resources", h.name)
		h.withEntries, h.withheld = s.withResources, s.withheld
		h.floors(t, len(idx))
	}
	t.Logf("medplum answered %d of %d entries with another status or other resources than the same GET request", differ, len(idx))
}

// batches puts the targets of idx, in order, into Bundles of one to six
// GET entries, a quarter of them with a hostile entry at a random place.
func batches(r *rand.Rand, e *env, idx []int, targets []string) [][]batchEntry {
	var bundles [][]batchEntry
	for i := 0; i < len(idx); {
		n := min(1+r.IntN(6), len(idx)-i)
		var b []batchEntry
		for _, j := range idx[i : i+n] {
			b = append(b, batchEntry{http.MethodGet, entryURL(targets[j]), j})
		}
		if r.IntN(4) == 0 {
			h := hostileEntry(r, e, targets[idx[i+r.IntN(n)]])
			b = slices.Insert(b, r.IntN(len(b)+1), h)
		}
		bundles = append(bundles, b)
		i += n
	}
	return bundles
}

// upstreamEntries sends entries to the upstream as one Bundle of type
// typ and returns each entry of its answer. A transaction goes as a
// batch: medplum fails a whole transaction for one entry it fails, and
// answers the others of a batch as a transaction of them alone.
func upstreamEntries(ctx context.Context, t *testing.T, e *env, typ string, entries []batchEntry) [][]byte {
	t.Helper()
	if typ == "transaction" {
		typ = "batch"
	}
	status, body := send(ctx, t, http.MethodPost, e.upstream, "", "", bundleOf(typ, entries))
	require.Equal(t, http.StatusOK, status, "upstream batch: %s", body)
	out := responseEntries(t, typ, body)
	require.Len(t, out, len(entries), "upstream batch: %s", body)
	return out
}

// responseEntries are the entries of a typ-response Bundle.
func responseEntries(t *testing.T, typ string, body []byte) [][]byte {
	t.Helper()
	var b struct {
		ResourceType string            `json:"resourceType"`
		Type         string            `json:"type"`
		Entry        []json.RawMessage `json:"entry"`
	}
	require.NoError(t, json.Unmarshal(body, &b), "%s", body)
	require.Equal(t, "Bundle/"+typ+"-response", b.ResourceType+"/"+b.Type, "%s", body)
	out := make([][]byte, len(b.Entry))
	for i, en := range b.Entry {
		out[i] = en
	}
	return out
}

// responseEntry is the part of a batch-response entry the checks read.
type responseEntry struct {
	Resource json.RawMessage `json:"resource"`
	Response struct {
		Status  string          `json:"status"`
		Outcome json.RawMessage `json:"outcome"`
	} `json:"response"`
}

// entryStatus is the status code of a response entry, 0 when it has none
// a client could read.
func entryStatus(en responseEntry) int {
	code, _, _ := strings.Cut(strings.TrimSpace(en.Response.Status), " ")
	n, err := strconv.Atoi(code)
	if err != nil {
		return 0
	}
	return n
}

// entryKeys sums a response entry up as "refused" or the keys of its
// resources.
func entryKeys(t *testing.T, raw []byte) string {
	var en responseEntry
	if json.Unmarshal(raw, &en) != nil {
		return "unreadable"
	}
	if st := entryStatus(en); st < 200 || st > 299 {
		return "refused"
	}
	return "2xx " + strings.Join(keys(t, en.Resource), " ")
}

// keysOrStatus sums a GET answer up as entryKeys does an entry, an
// OperationOutcome as "refused".
func keysOrStatus(t *testing.T, body []byte) string {
	var top struct {
		ResourceType string `json:"resourceType"`
	}
	if json.Unmarshal(body, &top) != nil || top.ResourceType == "OperationOutcome" {
		return "refused"
	}
	return "2xx " + strings.Join(keys(t, body), " ")
}

// refusedEntryRE finds the entry a Bundle was refused for in the
// gateway's OperationOutcome: "entry 3: ..." when the entry is invalid
// (400), "entry 3 (GET Procedure) is denied" when a transaction is
// refused for a denied entry (403).
var refusedEntryRE = regexp.MustCompile(`entry (\d+)(?:: | \()`)

// runBatch sends b as a Bundle of type typ with the holder's token, again without each
// entry the gateway refuses the Bundle for, and checks the answer's
// entries; upOf holds the upstream's answer to each generated entry.
func (h *holder) runBatch(ctx context.Context, t *testing.T, e *env, typ string, bi int, b []batchEntry, upOf map[int][]byte, s *batchStats) {
	t.Helper()
	b = slices.Clone(b) // entries the gateway refuses are dropped from this copy
	s.bundles++
	s.sent += len(b)
	for _, en := range b {
		if en.i < 0 {
			s.hostile++
		}
	}
	for len(b) > 0 {
		where := fmt.Sprintf("bundle %d POST %s", bi, bundleOf(typ, b))
		status, body := send(ctx, t, http.MethodPost, h.gateway, "", h.token, bundleOf(typ, b))
		if status < 200 || status > 299 {
			h.checkDenial(t, where, status, body)
			k := -1
			if m := refusedEntryRE.FindSubmatch(body); m != nil {
				k, _ = strconv.Atoi(string(m[1]))
			}
			if status != http.StatusBadRequest && status != http.StatusForbidden || k < 0 || k >= len(b) {
				s.refused += len(b)
				return
			}
			s.refused++
			if b[k].i < 0 {
				s.hostileRefused++
			}
			b = slices.Delete(b, k, k+1)
			continue
		}
		entries := responseEntries(t, typ, body)
		require.Len(t, entries, len(b), "%s (%s): the response Bundle does not answer every entry: %s", where, h.name, body)
		for k, raw := range entries {
			h.checkEntry(ctx, t, e, fmt.Sprintf("bundle %d entry %s %s", bi, b[k].method, b[k].url), b[k], raw, upOf[b[k].i], s)
		}
		return
	}
}

// checkEntry checks one entry of a batch-response, answering en: a 2xx
// entry's resource (a searchset Bundle or a resource) as a GET answer,
// any other entry for markers.
func (h *holder) checkEntry(ctx context.Context, t *testing.T, e *env, where string, en batchEntry, raw, up []byte, s *batchStats) {
	t.Helper()
	var re responseEntry
	require.NoError(t, json.Unmarshal(raw, &re), "%s (%s): %s", where, h.name, raw)
	st := entryStatus(re)
	s.entryStatus[st]++
	if en.i < 0 {
		s.hostileStatus[st]++
	}
	h.checkDenial(t, where, st, raw)
	if st < 200 || st > 299 || len(re.Resource) == 0 {
		return
	}
	n := h.check(t, where, en.url, re.Resource)
	if n > 0 {
		s.withResources++
	}
	if compartmentRE.MatchString(en.url) {
		s.compartment++
		if n > 0 {
			s.compartmentWith++
		}
	}
	if up != nil {
		var u responseEntry
		if json.Unmarshal(up, &u) == nil && h.holdsForbidden(t, u.Resource) {
			s.withheld++
		}
	}
	h.follow(ctx, t, e, where, en.url, re.Resource)
}

// formHunt sends the grammar's type and system searches as POST
// [type]/_search (POST _search for a system search) with an
// application/x-www-form-urlencoded body, the query in the body, in the
// URL, or split between them at a seeded "&", with both tokens, and
// checks every 2xx answer as a GET answer. medplum reads the form body
// alone and drops the URL's query: the upstream's answers count the
// searches the gateway had to narrow or filter, and how many differ
// from medplum's answers to the same GET requests.
func formHunt(ctx context.Context, t *testing.T, e *env, stored *storedSet, grammarSeed uint64, targets []string, ups [][]byte) {
	r := rand.New(rand.NewPCG(grammarSeed, grammarSeed+2))
	holders := newHolders(e, stored, 30, 20)
	sent, differ := 0, 0
	for i, target := range targets {
		path, query, _ := strings.Cut(entryURL(target), "?")
		if strings.Contains(path, "/") || strings.HasPrefix(path, "$") || strings.HasPrefix(path, "_") {
			continue // not a type or system search
		}
		if path == "" {
			path = "_search"
		} else {
			path += "/_search"
		}
		inURL, inBody := splitQuery(r, query)
		sent++
		_, up := sendForm(ctx, t, e.upstream, path, inURL, inBody, "")
		if keysOrStatus(t, up) != keysOrStatus(t, ups[i]) {
			differ++
		}
		where := fmt.Sprintf("case %d POST %s?%s with body %q", i, path, inURL, inBody)
		for _, h := range holders {
			status, body := sendForm(ctx, t, e.gateway, path, inURL, inBody, h.token)
			h.statuses[status]++
			if status < 200 || status > 299 {
				h.checkDenial(t, where, status, body)
				continue
			}
			h.answered++
			if h.check(t, where, target, body) > 0 {
				h.withEntries++
			}
			if h.holdsForbidden(t, up) {
				h.withheld++
			}
			h.follow(ctx, t, e, where, target, body)
		}
		if t.Failed() {
			t.Fatalf("case %d failed; replay with MEDPLUM_SEARCHGEN_SEED=%d", i, grammarSeed)
		}
	}
	for _, h := range holders {
		t.Logf("%s: %d searches; answered 2xx %d (with entries %d; where the upstream's answer holds what the token may not see %d), not 2xx %d; by status %v",
			h.name, sent, h.answered, h.withEntries, h.withheld, sent-h.answered, h.statuses)
		h.floors(t, sent)
	}
	t.Logf("medplum answered %d of %d POST searches otherwise than the same GET request", differ, sent)
}

// splitQuery puts query in the body (half the time), in the URL, or
// splits it at an "&" between them.
func splitQuery(r *rand.Rand, query string) (inURL, inBody string) {
	switch n := r.IntN(10); {
	case n < 5:
		return "", query
	case n < 7:
		return query, ""
	}
	parts := strings.Split(query, "&")
	k := r.IntN(len(parts) + 1)
	return strings.Join(parts[:k], "&"), strings.Join(parts[k:], "&")
}

// sendForm POSTs a form body to base/path?query (no "?" when query is
// empty).
func sendForm(ctx context.Context, t *testing.T, base, path, query, body, token string) (int, []byte) {
	t.Helper()
	u := base + "/" + path
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Accept", "application/fhir+json")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
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
