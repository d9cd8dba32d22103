package jsonsyntax

import (
	"testing"
	"unsafe"
)

// TestView: View's string has b's bytes and shares b's memory (the point
// of it: no copy), and an empty b is "".
func TestView(t *testing.T) {
	b := []byte(`"subject"`)[1:8]
	s := View(b)
	if s != "subject" {
		t.Fatalf("View = %q", s)
	}
	if unsafe.StringData(s) != &b[0] {
		t.Fatal("View copied the bytes")
	}
	if View(nil) != "" || View(b[:0]) != "" {
		t.Fatal("View of no bytes is not empty")
	}
}
