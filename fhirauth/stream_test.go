package fhirauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
)

// streamOrBuffer checks body as the middleware does: through a
// BundleStream fed in chunks of random sizes, or, when the stream reports
// ErrNotStreamable before writing anything, whole with filterBundle
// (fellBack). out is everything written (the stream's output up to its
// error, or the fallback's); sent tells whether the stream had written
// output when it failed.
func streamOrBuffer(t testing.TB, d *Decision, body []byte, rng *rand.Rand, limit int64) (out []byte, removed int, err error, sent, fellBack bool) {
	var w bytes.Buffer
	s := d.StreamBundle(&w, limit)
	for rest := body; len(rest) > 0; {
		n := chunkSize(rng, len(rest))
		if _, err = s.Write(rest[:n]); err != nil {
			break
		}
		rest = rest[n:]
	}
	if err == nil {
		removed, err = s.Close()
	} else {
		_, _ = s.Close()
	}
	if errors.Is(err, ErrNotStreamable) {
		if s.Sent() || w.Len() > 0 || !bytes.HasPrefix(body, s.Pending()) {
			t.Fatalf("ErrNotStreamable after output (%d bytes) or with a pending body that is not the body's start", w.Len())
		}
		out, removed, err = d.filterBundle(body)
		return out, removed, err, false, true
	}
	if s.Held() != len(s.Pending()) {
		t.Fatalf("a closed stream holds %d bytes", s.Held())
	}
	return w.Bytes(), removed, err, s.Sent(), false
}

// chunkSize picks the size of the next write: single bytes, a few bytes,
// or large pieces, at random.
func chunkSize(rng *rand.Rand, left int) int {
	switch rng.Intn(3) {
	case 0:
		return 1
	case 1:
		return 1 + rng.Intn(min(left, 16))
	}
	return 1 + rng.Intn(left)
}

// agree holds the stream to filterBundle on body: the same Bundle (byte
// for byte, or the same JSON when members come after the entries) and the
// same count when filterBundle accepts it; when filterBundle refuses,
// an error, and never a complete JSON document written. It reports
// whether the Bundle was accepted as it streamed (not by the fallback).
func agree(t testing.TB, d *Decision, body []byte, seed int64) (streamed bool) {
	t.Helper()
	want, wantRemoved, wantErr := d.filterBundle(body)
	got, removed, err, sent, fellBack := streamOrBuffer(t, d, body, rand.New(rand.NewSource(seed)), int64(len(body))+1)
	if wantErr != nil {
		if err == nil {
			t.Fatalf("filterBundle refuses (%v), the stream accepts:\n%s\n%s", wantErr, body, got)
		}
		if json.Valid(got) {
			t.Fatalf("the stream failed (%v) after writing a whole document:\n%s", err, got)
		}
		return false
	}
	if errors.Is(err, errTooManyMembers) || errors.Is(err, errLateHistory) {
		return false // what only the stream refuses, failing closed
	}
	if err != nil {
		t.Fatalf("filterBundle accepts, the stream refuses (%v, sent %v):\n%s", err, sent, body)
	}
	if removed != wantRemoved {
		t.Fatalf("removed %d, filterBundle %d:\n%s", removed, wantRemoved, body)
	}
	if !sameJSON(want, got) {
		t.Fatalf("outputs differ:\nbuffered %s\nstreamed %s\nbody %s", want, got, body)
	}
	return !fellBack
}

// sameJSON reports whether a and b are equal bytes or the same JSON value.
func sameJSON(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	decode := func(p []byte) (any, error) {
		dec := json.NewDecoder(bytes.NewReader(p))
		dec.UseNumber()
		var v any
		err := dec.Decode(&v)
		return v, err
	}
	va, errA := decode(a)
	vb, errB := decode(b)
	return errA == nil && errB == nil && reflect.DeepEqual(va, vb)
}

// streamEntries are entries for generated Bundles: kept, removed, hostile
// and malformed.
var streamEntries = []string{
	`{"resource":` + obsOf123 + `}`,
	`{"fullUrl":"http://x/fhir/Observation/1","resource":` + obsOf123 + `,"search":{"mode":"match","score":1}}`,
	`{"resource":` + obsOf456 + `}`,
	`{"resource":` + leakB + `}`,
	`{"resource":` + ooB + `,"search":{"mode":"outcome"}}`,
	`{"resource":` + plainOO + `}`,
	`{"resource":` + patient123 + `,"response":{"status":"200","outcome":` + leakB + `}}`,
	`{"resource":` + patient456 + `}`,
	`{"resource":` + obsBoth + `}`,
	` { "resource" : {"resourceType":"Observation","id":"e","subject":{"reference":"Patient/123"},"note":[{"text":"a \"q\" \\ }]{[ \u00e9 \\\\"}]} } `,
	`{"resource":{"resourceType":"Observation","id":"1","subject":{"reference":"Patient/123"},"status":"final","ſtatus":"456"}}`,
	`{"resource":` + obsOf123 + `,"Resource":` + leakB + `}`,
	`{"resource":` + obsOf123 + `,"search":"456"}`,
	`{}`, `5`, `"x"`, `[]`, `null`, `{"resource":[]}`,
}

// streamMembers are Bundle members for generated Bundles.
var streamMembers = []string{
	`"id":"b1"`, `"id":` + leakB,
	`"meta":{"lastUpdated":"2024-01-01T00:00:00Z","source":"456"}`,
	`"type":"searchset"`, `"type":"history"`, `"type":"collection"`, `"type":5`,
	`"link":[{"relation":"self","url":"http://x/fhir/Observation?patient=Patient/123"},{"relation":"next","url":"http://x/fhir/Patient/456"}]`,
	`"total":456`, `"issues":` + ooB, `"x\u0041":1`, `"Total":1`, `"resourceType":"Bundle"`, `"entry":[]`,
}

// genBundle builds a random Bundle: mostly well-formed search sets with
// members before or after the entries, sometimes ambiguous or broken.
func genBundle(rng *rand.Rand) []byte {
	var members []string
	if rng.Intn(10) > 0 {
		members = append(members, `"resourceType":"Bundle"`)
	}
	if rng.Intn(4) > 0 {
		members = append(members, `"type":"searchset"`)
	}
	for n := rng.Intn(3); n > 0; n-- {
		members = append(members, streamMembers[rng.Intn(len(streamMembers))])
	}
	var entries []string
	for n := rng.Intn(12); n > 0; n-- {
		entries = append(entries, streamEntries[rng.Intn(len(streamEntries))])
	}
	entry := `"entry":[` + strings.Join(entries, ",") + `]`
	at := len(members)
	if rng.Intn(3) == 0 {
		at = rng.Intn(len(members) + 1)
	}
	members = append(members[:at], append([]string{entry}, members[at:]...)...)
	sep := []string{",", " ,\n", "\t,\r\n "}[rng.Intn(3)]
	body := " {" + strings.Join(members, sep) + "}\n"
	if rng.Intn(20) == 0 { // broken somewhere
		i := rng.Intn(len(body))
		body = body[:i] + string("}]\"x,"[rng.Intn(5)]) + body[i+1:]
	}
	return []byte(body)
}

// streamDecisions are decisions whose responses are Bundles: a search
// with _include in patient context, $everything, and one resource's
// history (which never streams).
func streamDecisions(t testing.TB) []*Decision {
	return []*Decision{
		decisionFor(t, "/fhir/Observation?_include=Observation:performer", patientAll),
		decisionFor(t, "/fhir/Patient/123/$everything", patientAll),
		decisionFor(t, "/fhir/Observation/1/_history", patientAll),
	}
}

func TestBundleStreamMatchesFilterBundle(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	ds := streamDecisions(t)
	streamed := 0
	for i := 0; i < 3000; i++ {
		body := genBundle(rng)
		for _, d := range ds {
			if agree(t, d, body, int64(i)) {
				streamed++
			}
		}
	}
	assert.Greater(t, streamed, 1000, "Bundles accepted as they streamed")
}

// The naive server's answers to the attack catalogue give the same
// Bundle streamed and buffered (as do the Bundles of the filter's attack
// tests: TestAttackFilterBundleLeaks and
// TestAttackFilterBundleAmbiguousBundle call agree).
func TestBundleStreamMatchesFilterBundleOnAttacks(t *testing.T) {
	p := testPolicy(t)
	pr := principal(t, patientAll, naivefhir.Alice)
	srv := naivefhir.New("/fhir", naivefhir.Sample()...)
	streamed := 0
	for _, a := range naivefhir.Attacks {
		if a.Method != http.MethodGet {
			continue
		}
		_, d := authorize(t, p, pr, http.MethodGet, "/fhir/"+a.Path, "", nil)
		if !d.Allowed || !d.StreamsResponse() {
			continue
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://x/fhir/"+a.Path, nil))
		// The naive server writes its members in name order, entry
		// first (checked whole); in a server's usual order they stream.
		body := rec.Body.Bytes()
		usual := usualOrder(t, body)
		for seed := int64(0); seed < 10; seed++ {
			agree(t, d, body, seed)
			assert.True(t, agree(t, d, usual, seed), "%s streams", a.Name)
		}
		out, _, err, _, _ := streamOrBuffer(t, d, usual, rand.New(rand.NewSource(1)), 1<<20)
		require.NoError(t, err, a.Name)
		assert.Empty(t, naivefhir.Leaks(out, naivefhir.Alice), a.Name)
		streamed++
	}
	assert.GreaterOrEqual(t, streamed, 4, "attacks answered with a search Bundle")
}

// usualOrder rewrites a Bundle with its members in the order FHIR
// servers write them (resourceType, id, meta, type, total, link, entry),
// their values as they were.
func usualOrder(t testing.TB, bundle []byte) []byte {
	var members map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(bundle, &members))
	out := []byte{'{'}
	for _, name := range []string{"resourceType", "id", "meta", "type", "total", "link", "entry"} {
		if v, ok := members[name]; ok {
			if len(out) > 1 {
				out = append(out, ',')
			}
			out = append(append(append(out, '"'), name...), `":`...)
			out = append(out, v...)
			delete(members, name)
		}
	}
	require.Empty(t, members, "a member usualOrder does not place")
	return append(out, '}')
}

// hostileTails are what a server may put after a valid start, and where:
// before the Bundle's closing '}' (a member), or after it.
var hostileTails = []struct {
	name, member, after string
}{
	{"second entry", `,"entry":[{"resource":` + leakB + `}]`, ""},
	{"ENTRY", `,"ENTRY":[{"resource":` + leakB + `}]`, ""},
	{"Entry in Unicode case", `,"ſentry":1,"entrſ":1`, ""}, // names that fold to none of the Bundle's: accepted below
	{"late resourceType", `,"resourceType":"Patient"`, ""},
	{"late RESOURCETYPE", `,"RESOURCETYPE":"Patient"`, ""},
	{"type history after entries", `,"type":"history"`, ""},
	{"invalid member", `,"x":[1,}`, ""},
	{"unterminated member", `,"x":"456`, ""},
	{"escaped name", `,"\u0078":1`, ""},
	{"trailing garbage", "", `x`},
	{"second document", "", ` {"resourceType":"Bundle"}`},
	{"trailing comma", "", `,`},
}

// A valid start followed by a hostile tail: the stream refuses, and what
// it wrote is a start of what the valid Bundle alone gives (nothing that
// did not pass the check), never a whole document.
func TestBundleStreamHostileTails(t *testing.T) {
	d := streamDecisions(t)[0]
	for _, n := range []int{3, 400} { // 400 entries: past the first write to w
		valid := bigSearchset(n, false)
		want, _, err := d.filterBundle(valid)
		require.NoError(t, err)
		head := valid[:len(valid)-1] // without the final '}'
		for _, tc := range hostileTails {
			t.Run(fmt.Sprintf("%s/%d", tc.name, n), func(t *testing.T) {
				body := append(append(append([]byte{}, head...), tc.member...), '}')
				body = append(body, tc.after...)
				_, _, bufErr := d.filterBundle(body)
				got, _, err, sent, _ := streamOrBuffer(t, d, body, rand.New(rand.NewSource(int64(n))), 1<<30)
				if tc.name == "Entry in Unicode case" {
					require.NoError(t, bufErr)
					require.NoError(t, err)
					return
				}
				require.Error(t, bufErr, "the buffered check refuses it too")
				require.ErrorIs(t, err, ErrNotJSON)
				assert.False(t, json.Valid(got))
				assert.True(t, bytes.HasPrefix(want, got), "only checked output: %.200s", got)
				assert.NotContains(t, string(got), "LEAKED")
				assert.Equal(t, n > 100, sent, "output was sent before the error")
			})
		}
	}
}

// A body cut anywhere is refused, with only a start of the valid output
// written.
func TestBundleStreamTruncated(t *testing.T) {
	d := streamDecisions(t)[0]
	valid := bigSearchset(300, false)
	want, _, err := d.filterBundle(valid)
	require.NoError(t, err)
	rng := rand.New(rand.NewSource(2))
	for i := 0; i < 300; i++ {
		cut := rng.Intn(len(valid))
		got, _, err, _, _ := streamOrBuffer(t, d, valid[:cut], rng, 1<<30)
		require.Error(t, err, "cut at %d", cut)
		require.False(t, json.Valid(got))
		require.True(t, bytes.HasPrefix(want, got), "cut at %d", cut)
	}
}

// Over the limit, the stream fails: also a single entry larger than it.
func TestBundleStreamLimit(t *testing.T) {
	d := streamDecisions(t)[0]
	body := bigSearchset(300, false)
	_, _, err, _, _ := streamOrBuffer(t, d, body, rand.New(rand.NewSource(3)), int64(len(body)-1))
	assert.ErrorIs(t, err, ErrNotJSON)
	huge := []byte(`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Observation","id":"1","subject":{"reference":"Patient/123"},"note":[{"text":"` + strings.Repeat("x", 1<<20) + `"}]}}]}`)
	var w bytes.Buffer
	s := d.StreamBundle(&w, 64<<10)
	var werr error
	for rest := huge; len(rest) > 0 && werr == nil; rest = rest[min(len(rest), 4096):] {
		_, werr = s.Write(rest[:min(len(rest), 4096)])
	}
	assert.ErrorIs(t, werr, ErrNotJSON)
	assert.LessOrEqual(t, s.Held(), 256<<10, "the stream stopped holding at the limit")
}

// Members after the entries are checked and written after them; a type
// after the entries must not change the rules they were checked by.
func TestBundleStreamLateMembers(t *testing.T) {
	d := streamDecisions(t)[0]
	entries := `"entry":[{"resource":` + obsOf123 + `},{"resource":` + obsOf456 + `}]`
	late := `{"resourceType":"Bundle",` + entries + `,"type":"searchset","id":"x","link":[{"relation":"next","url":"http://x/fhir/Patient/456"},{"relation":"self","url":"http://x/a"}],"meta":{"lastUpdated":"1"}}`
	got, removed, err, _, _ := streamOrBuffer(t, d, []byte(late), rand.New(rand.NewSource(4)), 1<<20)
	require.NoError(t, err)
	assert.Equal(t, 1, removed)
	assert.Equal(t, `{"resourceType":"Bundle","entry":[{"resource":`+obsOf123+`}],"type":"searchset","id":"x","link":[{"relation":"self","url":"http://x/a"}],"meta":{"lastUpdated":"1"}}`, string(got))
	assert.True(t, agree(t, d, []byte(late), 4), "streamed")

	history := `{"resourceType":"Bundle",` + entries + `,"type":"history"}`
	_, _, err, _, _ = streamOrBuffer(t, d, []byte(history), rand.New(rand.NewSource(5)), 1<<20)
	assert.ErrorIs(t, err, ErrNotJSON)
}

// What cannot stream falls back before anything is written: no
// resourceType before the entries, a history or other Bundle type, no
// entries at all, one resource's history.
func TestBundleStreamFallsBack(t *testing.T) {
	ds := streamDecisions(t)
	for name, tc := range map[string]struct {
		d    *Decision
		body string
	}{
		"resourceType after entry": {ds[0], `{"entry":[{"resource":` + obsOf123 + `}],"resourceType":"Bundle"}`},
		"history Bundle":           {ds[0], `{"resourceType":"Bundle","type":"history","entry":[{"resource":` + obsOf123 + `}]}`},
		"collection Bundle":        {ds[0], `{"resourceType":"Bundle","type":"collection","entry":[]}`},
		"no entry":                 {ds[0], `{"resourceType":"Bundle","type":"searchset","total":0}`},
		"a Patient":                {ds[0], patient123},
		"not JSON":                 {ds[0], `<html>`},
		"instance history":         {ds[2], `{"resourceType":"Bundle","type":"history","entry":[{"resource":` + obsOf123 + `}]}`},
	} {
		t.Run(name, func(t *testing.T) {
			var w bytes.Buffer
			s := tc.d.StreamBundle(&w, 1<<20)
			_, err := s.Write([]byte(tc.body))
			if err == nil {
				_, err = s.Close()
			}
			assert.ErrorIs(t, err, ErrNotStreamable)
			assert.False(t, s.Streaming())
			assert.Equal(t, tc.body, string(s.Pending()))
			assert.Zero(t, w.Len())
		})
	}
}

// The stream holds the entry being read and the output not yet written,
// not the Bundle.
func TestBundleStreamHoldsLittle(t *testing.T) {
	d := streamDecisions(t)[0]
	body := bigSearchset(20000, false) // ~5 MB
	s := d.StreamBundle(discard{}, 1<<30)
	most := 0
	for rest := body; len(rest) > 0; rest = rest[min(len(rest), 32<<10):] {
		_, err := s.Write(rest[:min(len(rest), 32<<10)])
		require.NoError(t, err)
		most = max(most, s.Held())
	}
	_, err := s.Close()
	require.NoError(t, err)
	assert.Less(t, most, 160<<10, "held at most; the body is %d bytes", len(body))

	// Written at once, the body is still not held, nor its output.
	var w countingWriter
	s = d.StreamBundle(&w, 1<<30)
	_, err = s.Write(body)
	require.NoError(t, err)
	assert.Less(t, s.Held(), 160<<10)
	assert.Less(t, w.largest, 64<<10, "the output goes out in pieces")
}

// countingWriter discards what it is written, noting the largest write.
type countingWriter struct{ largest int }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.largest = max(w.largest, len(p))
	return len(p), nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// bigSearchset is a search set of n entries, every fourth another
// patient's, with link before the entries (or after them, late).
func bigSearchset(n int, late bool) []byte {
	var b bytes.Buffer
	link := `"link":[{"relation":"self","url":"http://x/fhir/Observation"}]`
	b.WriteString(`{"resourceType":"Bundle","id":"s","type":"searchset",`)
	if !late {
		b.WriteString(link + ",")
	}
	b.WriteString(`"total":1,"entry":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		patient := "123"
		if i%4 == 3 {
			patient = "456"
		}
		fmt.Fprintf(&b, `{"fullUrl":"http://x/fhir/Observation/o%d","resource":{"resourceType":"Observation","id":"o%d","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart \"rate\""}]},"subject":{"reference":"Patient/%s"},"valueQuantity":{"value":72.5,"unit":"beats/minute"}},"search":{"mode":"match"}}`, i, i, patient)
	}
	b.WriteString("]")
	if late {
		b.WriteString("," + link)
	}
	b.WriteString("}")
	return b.Bytes()
}

// FuzzBundleStream: for any body and chunking, the stream agrees with
// filterBundle (see agree).
func FuzzBundleStream(f *testing.F) {
	rng := rand.New(rand.NewSource(6))
	for i := 0; i < 20; i++ {
		f.Add(genBundle(rng), int64(i))
	}
	f.Add(bigSearchset(3, true), int64(1))
	for _, tc := range hostileTails {
		f.Add([]byte(`{"resourceType":"Bundle","entry":[{"resource":`+obsOf123+`}]`+tc.member+"}"+tc.after), int64(2))
	}
	p := testPolicy(f)
	pr := principal(f, patientAll, "123")
	d := p.Decide(context.Background(), pr, mustClassify(f, p, "/fhir/Observation?_include=Observation:performer"))
	f.Fuzz(func(t *testing.T, body []byte, seed int64) {
		agree(t, d, body, seed)
	})
}
