package lib

import "testing"

func TestParse(t *testing.T) {
	if Parse("42") != 42 {
		t.Fatal("Parse")
	}
}
