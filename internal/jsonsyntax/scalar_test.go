package jsonsyntax

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSkipSpace(t *testing.T) {
	for _, tc := range []struct {
		in   string
		at   int
		want int
	}{
		{" \t\r\n x", 0, 5}, {"x", 0, 0}, {"  ", 0, 2}, {"", 0, 0}, {"a b", 1, 2}, {"\u00a0x", 0, 0}, {"\fx", 0, 0}, {"ab", 5, 5},
	} {
		assert.Equal(t, tc.want, SkipSpace(tc.in, tc.at), "%q", tc.in)
		assert.Equal(t, tc.want, SkipSpace([]byte(tc.in), tc.at), "%q", tc.in)
	}
}

// ScanNumber ends a number where encoding/json's grammar does, and leaves
// what follows to the caller.
func TestScanNumber(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{`0`, 1}, {`-0`, 2}, {`7`, 1}, {`123`, 3}, {`-1.5e-07`, 8}, {`1E+5`, 4}, {`2.50`, 4}, {`1e5,`, 3},
		{`01`, 1}, {`1.5x`, 3}, {`0x10`, 1}, {`12]`, 2},
		{``, -1}, {`-`, -1}, {`- 1`, -1}, {`+1`, -1}, {`.5`, -1}, {`1.`, -1}, {`1.e5`, -1}, {`1e`, -1}, {`1e+`, -1}, {`1E-x`, -1},
		{`x`, -1}, {`--1`, -1}, {`-a`, -1},
	} {
		got := ScanNumber([]byte(tc.in), 0)
		assert.Equal(t, tc.want, got, "%q", tc.in)
		if got > 0 {
			assert.True(t, json.Valid([]byte(tc.in[:got])), "%q", tc.in[:got])
		}
		if json.Valid([]byte(tc.in)) {
			assert.Equal(t, len(tc.in), got, "%q", tc.in)
		}
	}
	assert.Equal(t, 6, ScanNumber([]byte(`[1, 25]`), 4))
}
