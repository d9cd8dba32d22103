package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// floodChallenges is what a hostile server can put in the
// WWW-Authenticate headers of one answer: net/http takes 10 MiB of
// response header, here 1,200 headers of 4,096 empty challenges each.
func floodChallenges() []string {
	v := strings.Repeat("a,", 4<<10)
	values := make([]string, 1200)
	for i := range values {
		values[i] = v
	}
	return values
}

// TestChallengeFloodBounded: the challenges read from one answer are
// bounded as a whole, not header by header, so a 401 with millions of
// them costs the client little; before, one such answer made it
// allocate about 800 MiB.
func TestChallengeFloodBounded(t *testing.T) {
	values := floodChallenges()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got := parseChallenges(values)
	runtime.ReadMemStats(&after)
	assert.LessOrEqual(t, len(got), maxChallengeHeader/2)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(4<<20), "bytes allocated")

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, v := range values {
			w.Header().Add("WWW-Authenticate", v)
		}
		w.Header().Add("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	c, err := New(srv.URL+"/fhir", StaticToken("at"))
	require.NoError(t, err)
	_, err = c.Read(context.Background(), "Patient", "1")
	assert.ErrorIs(t, err, ErrUnauthorized)
}
