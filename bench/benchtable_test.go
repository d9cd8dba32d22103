package bench

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sampleBench = `goos: linux
pkg: github.com/fhirwarden/fhirwarden/token
BenchmarkVerify/raw-rs256-2         	   10000	     40000 ns/op	    2208 B/op	      11 allocs/op
BenchmarkVerify/uncached-rs256-2    	   10000	     48000 ns/op	    6000 B/op	      40 allocs/op
BenchmarkVerify/raw-es256-2         	   10000	     60000 ns/op	    2000 B/op	      30 allocs/op
BenchmarkVerify/uncached-es256-2    	   10000	     66000 ns/op	    6000 B/op	      60 allocs/op
BenchmarkVerify/cached-2            	 5000000	       200 ns/op	       0 B/op	       0 allocs/op
BenchmarkVerify/raw-rs256-2         	   10000	     44000 ns/op	    2208 B/op	      11 allocs/op
BenchmarkVerify/uncached-rs256-2    	   10000	     52000 ns/op	    6000 B/op	      40 allocs/op
BenchmarkVerify/raw-rs256-2         	   10000	     42000 ns/op	    2208 B/op	      11 allocs/op
PASS
pkg: github.com/fhirwarden/fhirwarden/fhirauth
BenchmarkDecide/transaction20-2                                  1000  300000 ns/op  100 B/op  10 allocs/op
BenchmarkDecide/transaction20-baseline-google-fhir-unmarshal-2   1000  900000 ns/op  900 B/op  90 allocs/op
BenchmarkDecide/read-2                                           1000     500 ns/op    0 B/op   0 allocs/op
pkg: github.com/fhirwarden/fhirwarden/middleware
BenchmarkMiddleware/bare-2           1000     1000 ns/op    0 B/op   0 allocs/op
BenchmarkMiddleware/cached-token-2   1000     2500 ns/op  300 B/op   5 allocs/op
BenchmarkPlain	100	5 ns/op
`

func TestBenchTable(t *testing.T) {
	rows, err := ParseBenchOutput(strings.NewReader(sampleBench))
	require.NoError(t, err)
	require.Len(t, rows, 11)
	assert.Equal(t, "BenchmarkVerify/raw-rs256", rows[0].Name)
	assert.Equal(t, []float64{40000, 44000, 42000}, rows[0].NsOp)
	assert.Equal(t, 42000.0, rows[0].MedianNs())
	assert.Equal(t, 50000.0, rows[1].MedianNs(), "median of two runs is their mean")
	assert.Equal(t, "BenchmarkPlain", rows[10].Name)

	by := map[string]*BenchRow{}
	for _, r := range rows {
		by[r.Name] = r
	}
	base := func(name string) string {
		b := Baseline(rows, by[name])
		if b == nil {
			return ""
		}
		return b.Name
	}
	assert.Equal(t, "BenchmarkVerify/raw-rs256", base("BenchmarkVerify/uncached-rs256"))
	assert.Equal(t, "BenchmarkVerify/raw-es256", base("BenchmarkVerify/uncached-es256"))
	assert.Equal(t, "BenchmarkVerify/raw-rs256", base("BenchmarkVerify/cached"), "first raw sibling")
	assert.Equal(t, "BenchmarkDecide/transaction20-baseline-google-fhir-unmarshal", base("BenchmarkDecide/transaction20"))
	assert.Equal(t, "", base("BenchmarkDecide/read"))
	assert.Equal(t, "BenchmarkMiddleware/bare", base("BenchmarkMiddleware/cached-token"))
	assert.Equal(t, "", base("BenchmarkPlain"))

	var b strings.Builder
	WriteBenchTable(&b, rows)
	out := b.String()
	assert.Contains(t, out, "| token | BenchmarkVerify/uncached-rs256 | 2 | 50000 | 6000 | 40 | 1.19x raw-rs256 |")
	assert.Contains(t, out, "| token | BenchmarkVerify/cached | 1 | 200 | 0 | 0 | 0.00476x raw-rs256 |")
	assert.Contains(t, out, "| fhirauth | BenchmarkDecide/transaction20 | 1 | 300000 | 100 | 10 | 0.333x transaction20-baseline-google-fhir-unmarshal |")
	assert.Contains(t, out, "| middleware | BenchmarkMiddleware/cached-token | 1 | 2500 | 300 | 5 | 2.5x bare |")
	assert.Contains(t, out, "| token | BenchmarkVerify/raw-rs256 | 3 | 42000 | 2208 | 11 | baseline |")
	assert.Contains(t, out, "| middleware | BenchmarkPlain | 1 | 5.00 | — | — | — |")
}
