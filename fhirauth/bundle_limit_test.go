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
