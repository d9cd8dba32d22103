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
