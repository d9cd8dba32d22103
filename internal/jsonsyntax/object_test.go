package jsonsyntax

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type member struct{ name, value string }

// readAll reads doc as one object with ReadObject (and ReadValidObject
// when doc is Valid, which must agree).
func readAll(t *testing.T, doc string) ([]member, error) {
	t.Helper()
	got, err := readMembers(ReadObject([]byte(doc), 0, 0))
	if Valid([]byte(doc)) && strings.HasPrefix(strings.TrimSpace(doc), "{") {
		trusted, terr := readMembers(ReadValidObject([]byte(doc), 0))
		require.Equal(t, got, trusted, "%q", doc)
		require.Equal(t, err == nil, terr == nil, "%q: %v / %v", doc, err, terr)
	}
	return got, err
}

func readMembers(obj ObjectReader) ([]member, error) {
	var got []member
	for obj.Next() {
		name := string(obj.Name())
		got = append(got, member{name, string(obj.Value())})
	}
	return got, obj.Done(true)
}

func TestObjectReader(t *testing.T) {
	got, err := readAll(t, ` { "resourceType" : "Patient", "\u0069d":"1", "name":[{"given":["A"]}], "x":{} } `)
	require.NoError(t, err)
	assert.Equal(t, []member{{"resourceType", `"Patient"`}, {"id", `"1"`}, {"name", `[{"given":["A"]}]`}, {"x", `{}`}}, got)

	got, err = readAll(t, `{}`)
	require.NoError(t, err)
	assert.Empty(t, got)

	for _, doc := range []string{``, `[]`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,"a":1}`, `{"a":1 "b":2}`, `{"a":01}`,
		`{"a":[}`, `{a:1}`, `{"a":1}x`, `{"a":1}{}`, `{"a\q":1}`, "{\"a\x01\":1}", `{"a":"\u12"}`} {
		_, err := readAll(t, doc)
		assert.ErrorIs(t, err, ErrSyntax, "%q", doc)
	}
}

// Names a parser may take for one are refused: equal once unquoted, or
// equal under the fold encoding/json matches struct fields by.
func TestObjectReaderRefusesDuplicateNames(t *testing.T) {
	for _, doc := range []string{
		`{"a":1,"a":2}`,
		`{"resourceType":"Patient","\u0072esourceType":"Bundle"}`,
		`{"a":1,"b":2,"A":3}`,
		`{"subject":1,"ſubject":2}`, // U+017F folds to s
		`{"kind":1,"\u212aind":2}`,  // U+212A Kelvin folds to k
		`{"ΣΑΣ":1,"σας":2}`,         // final sigma
		`{"a\/b":1,"a/b":2}`,        // an escaped solidus
		`{"\ud83d\ude00":1,"😀":2}`,  // a surrogate pair is its rune
	} {
		_, err := readAll(t, doc)
		assert.ErrorIs(t, err, ErrDuplicateName, "%q", doc)
	}
	for _, doc := range []string{
		`{"a":{"a":1}}`, `{"ab":1,"ba":2}`, `{"i":1,"İ":2}`, `{"i":1,"ı":2}`, `{"s":1,"ß":2}`, `{"":1,"a":2}`,
	} {
		_, err := readAll(t, doc)
		assert.NoError(t, err, "%q", doc)
	}
	var b strings.Builder
	b.WriteString(`{`)
	for i := range 100 {
		b.WriteString(`"k` + strings.Repeat("x", i) + `":1,`)
	}
	_, err := readAll(t, b.String()+`"z":1}`)
	assert.NoError(t, err, "100 different names")
	_, err = readAll(t, b.String()+`"KXXXXXXXXXX":1}`)
	assert.ErrorIs(t, err, ErrDuplicateName, "a case variant of the 11th of 100 names")
}

func TestObjectReaderRefusesInvalidNames(t *testing.T) {
	for _, doc := range []string{
		"{\"\xff\":1}", "{\"a\xc3\":1}", `{"\ud800":1}`, `{"\udc00":1}`, `{"\ud800\u0041":1}`, `{"\ud800x":1}`,
	} {
		_, err := readAll(t, doc)
		assert.ErrorIs(t, err, ErrInvalidString, "%q", doc)
	}
}

func TestObjectReaderDepth(t *testing.T) {
	nested := func(n int) string { return strings.Repeat(`{"a":`, n) + `1` + strings.Repeat(`}`, n) }
	_, err := readAll(t, nested(MaxDepth))
	assert.NoError(t, err)
	_, err = readAll(t, nested(MaxDepth+1))
	assert.ErrorIs(t, err, ErrSyntax)
	obj := ReadObject([]byte(`{}`), 0, MaxDepth)
	assert.False(t, obj.Next())
	assert.ErrorIs(t, obj.Err(), ErrTooDeep)
}

// A caller may walk a value itself and hand its end back.
func TestObjectReaderSkipTo(t *testing.T) {
	doc := []byte(`{"a":[1,2],"b":{"c":3},"d":4}`)
	obj := ReadObject(doc, 0, 0)
	var names []string
	for obj.Next() {
		names = append(names, string(obj.Name()))
		if string(obj.Name()) == "b" {
			at, depth := obj.ValueStart()
			assert.Equal(t, 1, depth)
			inner := ReadObject(doc, at, depth)
			require.NoError(t, inner.Done(false))
			obj.SkipTo(inner.End())
		}
	}
	require.NoError(t, obj.Done(true))
	assert.Equal(t, []string{"a", "b", "d"}, names)
	assert.Equal(t, len(doc), obj.End())

	obj = ReadObject(doc, 0, 0)
	require.True(t, obj.Next())
	obj.SkipTo(-1)
	assert.False(t, obj.Next())
	assert.ErrorIs(t, obj.Err(), ErrSyntax)
}

func TestObjectReaderEscaped(t *testing.T) {
	obj := ReadObject([]byte(`{"a":1,"\u0062":2,"é":3,"\/":4}`), 0, 0)
	var escaped []bool
	for obj.Next() {
		escaped = append(escaped, obj.Escaped())
	}
	require.NoError(t, obj.Done(true))
	assert.Equal(t, []bool{false, true, false, true}, escaped)
}

func TestArrayReader(t *testing.T) {
	read := func(doc string, trusted bool) ([]string, error) {
		r := ReadArray([]byte(doc), 0, 0)
		if trusted {
			r = ReadValidArray([]byte(doc), 0)
		}
		var got []string
		for r.Next() {
			got = append(got, string(r.Value()))
		}
		if r.Err() == nil && r.End() != len(doc) {
			return got, ErrSyntax
		}
		return got, r.Err()
	}
	for _, trusted := range []bool{false, true} {
		got, err := read(`[ 1 , "a" ,{"b":[]} ]`, trusted)
		require.NoError(t, err)
		assert.Equal(t, []string{"1", `"a"`, `{"b":[]}`}, got)
		got, err = read(`[]`, trusted)
		require.NoError(t, err)
		assert.Empty(t, got)
	}
	for _, doc := range []string{`[`, `[1,]`, `[,1]`, `[1 2]`, `{}`, `[01]`, `[1,`} {
		_, err := read(doc, false)
		assert.True(t, errors.Is(err, ErrSyntax), "%q: %v", doc, err)
	}
}

func TestUnquote(t *testing.T) {
	for in, want := range map[string]string{
		`""`: "", `"abc"`: "abc", `"\u00e9\n\t\"\\\/\b\f\r"`: "é\n\t\"\\/\b\f\r", `"é"`: "é",
		`"\ud83d\ude00"`: "😀", `"\ufffd"`: "\ufffd", `"\u0000"`: "\x00",
	} {
		got, err := Unquote([]byte(in))
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
		got, err = UnquoteString(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for in, want := range map[string]error{
		`"\ud800"`: ErrInvalidString, `"\udc00x"`: ErrInvalidString, `"\ud83d\u0041"`: ErrInvalidString, "\"\xff\"": ErrInvalidString,
		`"a`: ErrSyntax, `"\x"`: ErrSyntax, `"a"b`: ErrSyntax, `a`: ErrSyntax, ``: ErrSyntax, "\"\x01\"": ErrSyntax,
	} {
		_, err := Unquote([]byte(in))
		assert.ErrorIs(t, err, want, "%q", in)
		_, err = UnquoteString(in)
		assert.ErrorIs(t, err, want, "%q", in)
	}
}

func TestFoldEqual(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"resourceType", "RESOURCETYPE", true}, {"subject", "ſubject", true}, {"k", "\u212a", true}, {"ab", "ab", true},
		{"ab", "abc", false}, {"a", "b", false}, {"i", "İ", false}, {"i", "ı", false}, {"ss", "ß", false}, {"", "", true},
		{"@", "`", false}, {"[", "{", false}, // differ in the ASCII case bit, yet not letters
	} {
		assert.Equal(t, c.want, FoldEqual(c.a, c.b), "%q %q", c.a, c.b)
		assert.Equal(t, c.want, FoldEqual([]byte(c.b), c.a), "%q %q", c.b, c.a)
	}
}

func TestObjectReaderDoesNotAllocate(t *testing.T) {
	doc := []byte(`{"resourceType":"Observation","id":"1","subject":{"reference":"Patient/1"},"valueQuantity":{"value":1.5e2}}`)
	allocs := testing.AllocsPerRun(100, func() {
		obj := ReadObject(doc, 0, 0)
		for obj.Next() {
			obj.Value()
		}
	})
	assert.Zero(t, allocs)
}

func BenchmarkObjectReader(b *testing.B) {
	doc := []byte(`{"resourceType":"Observation","id":"obs-0001-00","meta":{"versionId":"1","lastUpdated":"2026-01-15T09:30:00Z"},"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs","display":"Vital Signs"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}],"text":"Heart rate"},"subject":{"reference":"Patient/p-0001"},"effectiveDateTime":"2026-01-01T09:30:00Z","valueQuantity":{"value":60,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}`)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		obj := ReadObject(doc, 0, 0)
		if obj.Done(true) != nil {
			b.Fatal("invalid")
		}
	}
}

// StringValue reads what Unquote reads, viewing a plain string and
// appending any other to the scratch it is given.
func TestStringValue(t *testing.T) {
	for _, c := range []struct {
		in, want string
		plain    bool
	}{
		{`""`, "", true}, {`"Patient/1"`, "Patient/1", true}, {`"\u0031"`, "1", false}, {`"é"`, "é", false},
		{`"a\/b"`, "a/b", false}, {`"\ud83d\ude00"`, "😀", false},
	} {
		v := []byte(c.in)
		scratch := make([]byte, 0, 16)
		got, plain, err := StringValue(v, scratch)
		require.NoError(t, err, c.in)
		assert.Equal(t, c.want, string(got), c.in)
		assert.Equal(t, c.plain, plain, c.in)
		if len(got) > 0 {
			// A plain string views v; another is in scratch's memory.
			assert.Equal(t, c.plain, &got[0] == &v[1], "%s: views v", c.in)
			assert.Equal(t, !c.plain, &got[:1][0] == &scratch[:1][0], "%s: in scratch", c.in)
		}
	}
	for in, want := range map[string]error{
		`"\ud800"`: ErrInvalidString, "\"\xff\"": ErrInvalidString,
		`"a"b`: ErrSyntax, `"a" `: ErrSyntax, `1`: ErrSyntax, ``: ErrSyntax, `"a`: ErrSyntax, `"\x"`: ErrSyntax,
	} {
		_, _, err := StringValue([]byte(in), nil)
		assert.ErrorIs(t, err, want, "%q", in)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, err := StringValue([]byte(`"Patient/123"`), nil); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}

// An error names the member it refuses, clipped: it does not echo a
// long name.
func TestObjectReaderClipsNamesInErrors(t *testing.T) {
	long := strings.Repeat("a", 10000)
	_, err := readAll(t, `{"`+long+`":1,"`+long+`":2}`)
	require.ErrorIs(t, err, ErrDuplicateName)
	assert.Less(t, len(err.Error()), 200)
	assert.Contains(t, err.Error(), strings.Repeat("a", 64)+`..."`)
	_, err = readAll(t, `{"ab":1,"AB":2}`)
	assert.Contains(t, err.Error(), `"AB"`)
}

// A root object of 32 members, larger than most FHIR resources', is
// read without allocating.
func TestObjectReaderLargeObjectDoesNotAllocate(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{`)
	for i := range 32 {
		if i > 0 {
			b.WriteString(`,`)
		}
		b.WriteString(`"member` + strings.Repeat("x", i) + `":1`)
	}
	doc := []byte(b.String() + `}`)
	allocs := testing.AllocsPerRun(100, func() {
		obj := ReadObject(doc, 0, 0)
		if err := obj.Done(true); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}
