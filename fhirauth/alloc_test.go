package fhirauth

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The hot path's allocation counts (the time target is checked by
// BenchmarkDecide): a read allocates the Request and the Decision; a
// narrowed search also the query map (and its group), the narrowing map
// (and its group) and the "Patient/<id>" value.
func TestDecideAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector adds allocations")
	}
	p := testPolicy(t)
	pr := principal(t, benchScopes, "123")
	ctx := context.Background()
	for target, max := range map[string]float64{
		"/fhir/Observation/obs-1":                 2,
		"/fhir/Observation?patient=123&_count=50": 7,
	} {
		r := httptest.NewRequest("GET", target, nil)
		got := testing.AllocsPerRun(200, func() {
			if _, d := p.Authorize(ctx, pr, r); !d.Allowed {
				t.Fatal(d.Reason)
			}
		})
		assert.LessOrEqual(t, got, max, target)
	}
}

// Deciding the same Request again (or concurrently) yields independent
// Decisions.
func TestDecideSameRequestTwice(t *testing.T) {
	p := testPolicy(t)
	req, err := p.Classify(newRequest("GET", "/fhir/Observation?code=x", "", nil))
	require.NoError(t, err)
	a := p.Decide(context.Background(), principal(t, patientAll, "123"), req)
	b := p.Decide(context.Background(), principal(t, patientAll, "789"), req)
	require.True(t, a.Allowed)
	require.True(t, b.Allowed)
	assert.NotSame(t, a, b)
	assert.Equal(t, "Patient/123", a.Narrow["patient"][0])
	assert.Equal(t, "Patient/789", b.Narrow["patient"][0])

	req, err = p.Classify(newRequest("GET", "/fhir/Observation?code=x", "", nil))
	require.NoError(t, err)
	var wg sync.WaitGroup
	out := make([]*Decision, 8)
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = p.Decide(context.Background(), principal(t, patientAll, "123"), req)
		}()
	}
	wg.Wait()
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			assert.NotSame(t, out[i], out[j])
		}
		assert.Equal(t, "Patient/123", out[i].Narrow["patient"][0])
	}
}
