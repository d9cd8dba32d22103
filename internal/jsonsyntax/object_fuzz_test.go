package jsonsyntax

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax/hostile"
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// FuzzFoldMatchesEncodingJSON holds the fold rule to encoding/json v1:
// ObjectReader refuses an object with members named a and b exactly when
// v1, decoding a member b into a struct whose field is tagged a, fills
// the field (and FoldEqual agrees).
func FuzzFoldMatchesEncodingJSON(f *testing.F) {
	for _, p := range [][2]string{
		{"a", "A"}, {"s", "ſ"}, {"k", "\u212a"}, {"i", "İ"}, {"i", "ı"}, {"ss", "ß"}, {"σ", "ς"}, {"θ", "ϑ"},
		{"resourceType", "RESOURCETYPE"}, {"ab", "ba"}, {"µ", "μ"}, {"ǅ", "ǆ"}, {"@", "`"}, {"Ꭰ", "ꭰ"},
	} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if !validTagName(a) || !utf8.ValidString(b) {
			return
		}
		typ := reflect.StructOf([]reflect.StructField{{Name: "F", Type: reflect.TypeFor[int](), Tag: reflect.StructTag(`json:"` + a + `"`)}})
		v := reflect.New(typ)
		nameB, _ := json.Marshal(b)
		if err := json.Unmarshal([]byte(`{`+string(nameB)+`:1}`), v.Interface()); err != nil {
			t.Fatalf("v1 Unmarshal: %v", err)
		}
		matched := v.Elem().Field(0).Int() == 1

		nameA, _ := json.Marshal(a)
		obj := ReadObject([]byte(`{`+string(nameA)+`:0,`+string(nameB)+`:1}`), 0, 0)
		err := obj.Done(true)
		if matched != errors.Is(err, ErrDuplicateName) {
			t.Fatalf("v1 fills field %q from member %q: %v; ObjectReader: %v", a, b, matched, err)
		}
		if !matched && err != nil {
			t.Fatalf("ObjectReader refuses %q, %q: %v", a, b, err)
		}
		if FoldEqual(a, b) != matched {
			t.Fatalf("FoldEqual(%q, %q) = %v, v1 %v", a, b, !matched, matched)
		}
	})
}

// validTagName reports whether encoding/json v1 takes s as a field name
// from a struct tag (its rule: letters, digits and some punctuation).
func validTagName(s string) bool {
	if s == "" || s == "-" {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c) && !unicode.IsLetter(c) && !unicode.IsDigit(c) {
			return false
		}
	}
	return true
}

// FuzzObjectReaderMatchesV2 holds a strict walk built on ObjectReader and
// ArrayReader (every object read with ObjectReader, every string
// unquoted) to encoding/json v2's defaults, which refuse duplicate names
// and invalid UTF-8: what the walk accepts, v2 accepts; what v2 accepts,
// the walk accepts, unless an object holds two names that differ but
// fold alike (the walk's one deliberate refusal beyond v2's).
func FuzzObjectReaderMatchesV2(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `{"a":1,"A":2}`, `{"a":{"b":1,"b":2}}`, `{"a":[{"ſ":1,"S":2}]}`,
		`{"a":"\ud800"}`, "{\"a\":\"\xff\"}", `{"a":"\ud83d\ude00","b":[1,2.5e3,true,null,""]}`, `{"a":1} x`, `[{"k":1,"K":2}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		walkErr := walkStrict(data)
		var v2 jsontext.Value
		v2Err := jsonv2.Unmarshal(data, &v2)
		switch {
		case walkErr == nil && v2Err != nil:
			t.Fatalf("walk accepts, v2 refuses (%v): %q", v2Err, data)
		case walkErr != nil && v2Err == nil && !(errors.Is(walkErr, ErrDuplicateName) && hasFoldVariants(data)):
			t.Fatalf("walk refuses (%v), v2 accepts: %q", walkErr, data)
		}
	})
}

// walkStrict reads data as one JSON value, objects with ObjectReader and
// arrays with ArrayReader, descending into every value.
func walkStrict(data []byte) error {
	end, err := walkValue(data, SkipSpace(data, 0), 0)
	if err == nil && SkipSpace(data, end) != len(data) {
		err = ErrSyntax
	}
	return err
}

func walkValue(data []byte, i, depth int) (int, error) {
	i = SkipSpace(data, i)
	if i >= len(data) {
		return -1, ErrSyntax
	}
	switch data[i] {
	case '{':
		obj := ReadObject(data, i, depth)
		for obj.Next() {
			at, d := obj.ValueStart()
			end, err := walkValue(data, at, d)
			if err != nil {
				return -1, err
			}
			obj.SkipTo(end)
		}
		return obj.End(), obj.Err()
	case '[':
		arr := ReadArray(data, i, depth)
		for arr.Next() {
			at, d := arr.ValueStart()
			end, err := walkValue(data, at, d)
			if err != nil {
				return -1, err
			}
			arr.SkipTo(end)
		}
		return arr.End(), arr.Err()
	case '"':
		end := ScanString(data, i)
		if end < 0 {
			return -1, ErrSyntax
		}
		_, err := Unquote(data[i:end])
		return end, err
	}
	end := ValidValue(data, i, depth)
	if end < 0 {
		return -1, ErrSyntax
	}
	return end, nil
}

// hasFoldVariants reports whether some object in data (valid to v2)
// holds two different names that strings.EqualFold takes for one.
func hasFoldVariants(data []byte) bool {
	var v any
	return jsonv2.Unmarshal(data, &v) == nil && hostile.FoldVariants(v)
}
