//go:build !race

package fhirauth

import (
	"bytes"
	"io"
	"net/http"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A body of declared length is read into memory of that size: reading it
// by doubling a buffer would allocate several times the body (garbage
// that a few concurrent writes at the size limit turn into hundreds of
// megabytes of heap).
func TestReadBodyOfDeclaredLengthAllocatesItsSize(t *testing.T) {
	p, err := NewPolicy()
	require.NoError(t, err)
	body := bytes.Repeat([]byte("a"), 4<<20)
	for _, declared := range []bool{true, false} {
		r, err := http.NewRequest(http.MethodPost, "http://fhir.test/Observation", io.NopCloser(bytes.NewReader(body)))
		require.NoError(t, err)
		r.ContentLength = -1
		if declared {
			r.ContentLength = int64(len(body))
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		got, err := p.readBody(r)
		runtime.ReadMemStats(&after)
		require.NoError(t, err)
		require.Equal(t, body, got)
		allocated := after.TotalAlloc - before.TotalAlloc
		if declared {
			assert.Less(t, allocated, uint64(len(body))+64<<10, "allocated %d bytes for a body of %d", allocated, len(body))
		}
		t.Logf("declared %v: allocated %d bytes for %d", declared, allocated, len(body))
		rest, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		assert.Equal(t, body, rest, "the body is put back")
	}
}

// A body that does not match the length it declares is not judged: the
// bytes judged must be the bytes the server reads.
func TestReadBodyRefusesBodyOtherThanDeclared(t *testing.T) {
	p, err := NewPolicy()
	require.NoError(t, err)
	for _, declared := range []int64{5, 30} {
		r, err := http.NewRequest(http.MethodPost, "http://fhir.test/Observation",
			io.NopCloser(bytes.NewReader([]byte(`{"resourceType":"Observation"}`[:20]))))
		require.NoError(t, err)
		r.ContentLength = declared
		_, err = p.readBody(r)
		assert.ErrorIs(t, err, ErrInvalidRequest, "declared %d for 20 bytes", declared)
	}
}
