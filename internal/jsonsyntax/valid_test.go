package jsonsyntax

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestValidMatchesEncodingJSON(t *testing.T) {
	for _, doc := range []string{
		``, ` `, `{}`, `[]`, `""`, `0`, `-0`, `1.5e+10`, `-1.0E-2`, `true`, `false`, `null`,
		`01`, `1.`, `.1`, `1e`, `+1`, `-`, `0x10`, `NaN`, `tru`, `truex`, `{"a":1,}`, `{"a"}`, `{a:1}`,
		`[1,]`, `[,1]`, `[1 2]`, `{"a":1}}`, `[{]}`, `"\u00e9\n\t\"\\\/\b\f\r"`, `"\x"`, `"\u12"`, `"\u12G4"`,
		`"\u12`, `"\u`, `"a` + "\x01" + `b"`, `"unterminated`, `"\`, `{} {}`, "\"\xff\"",
		strings.Repeat(`[`, 10000) + strings.Repeat(`]`, 10000), strings.Repeat(`[`, 10001) + strings.Repeat(`]`, 10001),
	} {
		assert.Equal(t, json.Valid([]byte(doc)), Valid([]byte(doc)), "%.60q", doc)
	}
}

func TestValidDoesNotAllocate(t *testing.T) {
	doc := []byte(`{"resourceType":"Observation","subject":{"reference":"Patient/1"},"valueQuantity":{"value":1.5e2}}`)
	assert.Zero(t, testing.AllocsPerRun(100, func() { Valid(doc) }))
}

// ValidValue finds the end of one value inside a larger document, counts
// the levels already open against the nesting limit, and refuses what
// json.Valid refuses.
func TestValidValue(t *testing.T) {
	for _, doc := range []string{
		`{}`, `[]`, `""`, `0`, `-1.5e3`, `true`, `null`, `{"a":[1,{"b":"c"}]}`, `"\u00e9\""`,
		`01`, `1.`, `{"a":1,}`, `[1,]`, `{"a"}`, `"\x"`, "\"a\x01\"", `[{]}`, `tru`, ``,
	} {
		// Followed by a member separator, as when a walker skips a value.
		data := []byte(`{"k": ` + doc + `, "z":1}`)
		end := ValidValue(data, len(`{"k":`), 1)
		if json.Valid([]byte(doc)) {
			assert.Equal(t, len(`{"k": `)+len(doc), end, "%q", doc)
		} else if end >= 0 {
			// A prefix may be a value ("01" starts with 0): then what
			// follows it is not a separator, and the caller refuses it.
			assert.NotEqual(t, byte(','), data[end], "%q", doc)
		}
	}
	assert.Equal(t, -1, ValidValue([]byte(`1`), -1, 0))
	assert.Equal(t, -1, ValidValue([]byte(`1`), 0, -1))
	assert.Equal(t, -1, ValidValue([]byte(`1`), 5, 0))
	for _, levels := range []int{255, 256, 257, 300, 9999, 10000} {
		nested := []byte(strings.Repeat(`[`, levels) + strings.Repeat(`]`, levels))
		assert.Equal(t, len(nested), ValidValue(nested, 0, 0), "%d levels", levels)
		assert.Equal(t, len(nested), ValidValue(nested, 0, MaxDepth-levels), "%d levels", levels)
		assert.Equal(t, -1, ValidValue(nested, 0, MaxDepth-levels+1), "%d levels inside %d open ones", levels, MaxDepth-levels+1)
	}
}

func BenchmarkValid(b *testing.B) {
	doc := []byte(`{"resourceType":"Observation","id":"obs-0001-00","meta":{"versionId":"1","lastUpdated":"2026-01-15T09:30:00Z"},"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs","display":"Vital Signs"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}],"text":"Heart rate"},"subject":{"reference":"Patient/p-0001"},"effectiveDateTime":"2026-01-01T09:30:00Z","valueQuantity":{"value":60,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}`)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if !Valid(doc) {
			b.Fatal("invalid")
		}
	}
}

// SkipMembers steps over the members a filter of name lengths says cannot
// matter, stops at the first that may, and validates what it steps over.
func TestSkipMembers(t *testing.T) {
	const lens = 1<<2 | 1<<7 // "id", "subject"
	for _, c := range []struct {
		doc    string
		at     int // -1: an error
		closed bool
	}{
		{`{"status":"final","code":{"text":"x"},"subject":{}}`, 38, false},
		{`{ "status" : "final" , "id":"1"}`, 23, false},
		{`{"status":"final","meta":{"a":[1,{"b":null}]}}`, 46, true},
		{`{"Subject":1,"x":2}`, 1, false},                         // a case variant has the length of a name
		{`{"a":1,"s\u0075bject":2}`, 7, false},                    // an escaped name is never stepped over
		{`{"a":1,"` + "\u00e9" + `":2}`, 7, false},                // nor a non-ASCII one
		{`{"a":1,"` + strings.Repeat("x", 64) + `":2}`, 7, false}, // nor one of 64 bytes or more
		{`{"a":1,}`, -1, false},
		{`{"a" 1}`, -1, false},
		{`{"a":1]`, -1, false},
		{`{"a":[1,}`, -1, false},
		{`{"a":"` + "\x01" + `"}`, -1, false},
		{`{}`, -1, false}, // the empty object is the caller's to see
		{`{"a":1`, -1, false},
	} {
		stop := SkipMembers([]byte(c.doc), 1, 1, lens)
		assert.Equal(t, c.at, stop.At, "%q", c.doc)
		assert.Equal(t, c.closed, stop.Closed, "%q", c.doc)
		if c.at >= 0 && !c.closed {
			end, plain := ScanStringPlain([]byte(c.doc), c.at)
			assert.Equal(t, end, stop.End, "%q", c.doc)
			assert.Equal(t, plain, stop.Plain, "%q", c.doc)
		}
	}
	nested := func(n int) []byte {
		return []byte(`{"a":` + strings.Repeat(`[`, n) + strings.Repeat(`]`, n) + `}`)
	}
	stop := SkipMembers(nested(MaxDepth-1), 1, 1, 0)
	assert.Equal(t, len(nested(MaxDepth-1)), stop.At, "nesting up to MaxDepth, the object included")
	assert.True(t, stop.Closed)
	stop = SkipMembers(nested(MaxDepth), 1, 1, 0)
	assert.Equal(t, -1, stop.At, "nesting beyond MaxDepth")
	assert.Zero(t, testing.AllocsPerRun(100, func() { SkipMembers([]byte(c0), 1, 1, lens) }))
}

const c0 = `{"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{}}`
