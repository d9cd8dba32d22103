package jsonsyntax

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestAppendQuote(t *testing.T) {
	for _, s := range []string{
		"", "plain", `"quoted" \ back`, "a\b\f\n\r\t\x00\x01\x1f\x7f", "<a href=x>&amp;</a>",
		"line\u2028para\u2029", "é ſ \u212a 😀", "bad \xff \xed\xa0\x80 end\xe2\x82",
	} {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendQuote([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("AppendQuote(%q) = %s, encoding/json %s", s, got[1:], want)
		}
	}
}

// FuzzAppendQuoteMatchesEncodingJSON holds AppendQuote to encoding/json's
// Marshal of a string, byte for byte, and to Unquote reading it back
// (for valid UTF-8).
func FuzzAppendQuoteMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{"", "a\"b\\c", "\x00\u2028<>&", "\xff\xfe", "é😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		got := AppendQuote(nil, s)
		if string(got) != string(want) {
			t.Fatalf("AppendQuote(%q) = %s, encoding/json %s", s, got, want)
		}
		if back, err := Unquote(got); err != nil || (back != s && utf8.ValidString(s)) {
			t.Fatalf("Unquote(AppendQuote(%q)) = %q, %v", s, back, err)
		}
	})
}
