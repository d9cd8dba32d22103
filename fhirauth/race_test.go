//go:build race

package fhirauth

// raceEnabled: the race detector adds allocations, so allocation counts
// are asserted only without it.
const raceEnabled = true
