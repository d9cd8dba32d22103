package fhirauth

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The hot path's allocations, as ceilings with room for a change of Go
// version (the time target is checked by BenchmarkDecide). A read
// allocates 3 times (the Request, its Reaches and the Decision); a
// narrowed search 10 (also the query map and its values, the narrowing
// map, its value and "Patient/<id>"). A change that adds more than two
// fails here.
func TestDecideAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector adds allocations")
	}
	p := testPolicy(t)
	pr := principal(t, benchScopes, "123")
	ctx := context.Background()
	for target, max := range map[string]float64{
		"/fhir/Observation/obs-1":                 3 + 2,
		"/fhir/Observation?patient=123&_count=50": 10 + 2,
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

// Patient ids of any length are narrowed correctly, and deciding again
// does not change an earlier decision's narrowing.
func TestNarrowPatientReference(t *testing.T) {
	p := testPolicy(t)
	for _, id := range []string{"1", "123", strings.Repeat("a", 48), strings.Repeat("b", 49), strings.Repeat("c", 64)} {
		_, d := p.Authorize(context.Background(), principal(t, benchScopes, id), httptest.NewRequest("GET", "/fhir/Observation?code=x", nil))
		require.True(t, d.Allowed, d.Reason)
		assert.Equal(t, []string{"Patient/" + id}, d.Narrow["patient"], id)
		// Deciding again must not change the first decision's value.
		_, d2 := p.Authorize(context.Background(), principal(t, benchScopes, "zz"), httptest.NewRequest("GET", "/fhir/Observation?code=x", nil))
		assert.Equal(t, []string{"Patient/zz"}, d2.Narrow["patient"])
		assert.Equal(t, []string{"Patient/" + id}, d.Narrow["patient"], id)
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
