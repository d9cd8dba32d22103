package fhirauth

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// transactionOf is a transaction Bundle of n reads of Patient, followed
// by the raw entries in tail.
func transactionOf(n int, tail ...string) []byte {
	var b strings.Builder
	b.WriteString(`{"resourceType":"Bundle","type":"transaction","entry":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"request":{"method":"GET","url":"Patient/` + itoa(i) + `"}}`)
	}
	for _, t := range tail {
		b.WriteString("," + t)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func TestBundleEntryLimit(t *testing.T) {
	p := testPolicy(t, WithMaxBundleEntries(50))

	req, err := p.parseBundleEntries(transactionOf(50))
	require.NoError(t, err)
	assert.Len(t, req.Entries, 50)

	// Entry 51 is over the limit; entry 52 is malformed, and would be
	// refused as such were it read: the refusal names the limit instead.
	_, err = p.parseBundleEntries(transactionOf(50, `{"request":{"method":"GET","url":"Patient/x"}}`, `{"request":{"method":"GET","url":"http://evil.example/Patient/1"}}`))
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrInvalidRequest))
	assert.Contains(t, err.Error(), "too many entries: the Bundle has more than 50,")
	assert.NotContains(t, err.Error(), "entry 51")

	// The default.
	def := testPolicy(t)
	_, err = def.parseBundleEntries(transactionOf(maxBundleEntries + 1))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "more than 10000,")

	for _, bad := range []int{0, -1, 1_000_001} {
		_, err := NewPolicy(WithMaxBundleEntries(bad))
		assert.Error(t, err, "%d", bad)
	}
}

// The limit is enforced while the Bundle is read: entry limit+1 refuses
// it before anything after it is validated or parsed, so a malformed
// tail (or a malformed entry limit+1) does not change the verdict, while
// the same tail within the limit is refused as what it is.
func TestBundleEntryLimitStopsReading(t *testing.T) {
	p := testPolicy(t, WithMaxBundleEntries(10))
	over := func(body string) {
		t.Helper()
		_, err := p.parseBundleEntries([]byte(body))
		require.Error(t, err)
		assert.True(t, errors.Is(err, ErrInvalidRequest))
		assert.Contains(t, err.Error(), "too many entries: the Bundle has more than 10,")
	}
	entries := strings.TrimSuffix(string(transactionOf(10)), "]}")
	over(entries + `,{"request":{"method":"GET","url":"Patient/10"}}` + `,{"request":` + strings.Repeat("[", 100000))
	over(entries + `,{"request":}]}`)
	over(entries + `,x`)
	over(entries + `,{"request":{"method":"GET","url":"Patient/10"}}]}, "type":"batch", "type":"x"}`)

	few := strings.TrimSuffix(string(transactionOf(5)), "]}")
	for body, want := range map[string]string{
		few + `,x`: "not valid JSON",
		few + `,{"request":` + strings.Repeat("[", 100000): "not valid JSON",
		few + `]}}`:                            "not valid JSON",
		few + `]`:                              "not valid JSON",
		few[:len(few)-30]:                      "not valid JSON",
		few + `],"Entry":[]}`:                  "malformed Bundle",
		few + `],"entry":[]}`:                  "malformed Bundle",
		`{"resourceType":"Bundle","entry":{}}`: "malformed Bundle: not a JSON array",
		`[]`:                                   "malformed Bundle: not a JSON object",
		` x`:                                   "not valid JSON",
		"{\"\xff\":1}":                         "malformed Bundle",
	} {
		_, err := p.parseBundleEntries([]byte(body))
		require.Error(t, err, "%.80s", body)
		assert.True(t, errors.Is(err, ErrInvalidRequest), "%.80s", body)
		assert.Contains(t, err.Error(), want, "%.80s", body)
	}
}

// A Bundle of ten times the limit costs what one entry over it costs:
// the same allocations, since nothing after entry limit+1 is read.
func TestBundleEntryLimitCost(t *testing.T) {
	p := testPolicy(t, WithMaxBundleEntries(100))
	justOver, tenTimes := transactionOf(101), transactionOf(1000)
	allocs := func(body []byte) float64 {
		return testing.AllocsPerRun(20, func() {
			if _, err := p.parseBundleEntries(body); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	a, b := allocs(justOver), allocs(tenTimes)
	t.Logf("allocations: %v for %d entries, %v for %d", a, 101, b, 1000)
	assert.LessOrEqual(t, b, a+2, "the entries after the limit were read")
	assert.Greater(t, a, float64(100), "the entries within the limit are read, allocating")
}

// BenchmarkBundleEntryLimit: refusing a Bundle of ten times the limit
// costs about what refusing one entry over it costs (x-just-over: the
// ratio of the two in the same run).
func BenchmarkBundleEntryLimit(b *testing.B) {
	p := testPolicy(b, WithMaxBundleEntries(1000))
	var justOver float64 // ns per Bundle of limit+1 entries
	for _, n := range []int{1001, 10000} {
		body := transactionOf(n)
		b.Run("entries="+itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.parseBundleEntries(body); err == nil {
					b.Fatal("accepted")
				}
			}
			per := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			if n == 1001 {
				justOver = per
			} else if justOver > 0 {
				b.ReportMetric(per/justOver, "x-just-over")
			}
		})
	}
}
