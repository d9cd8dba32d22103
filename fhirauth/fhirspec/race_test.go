//go:build race

package fhirspec

// raceEnabled: the race detector makes sync.Pool drop items and adds
// allocations, so allocation counts are only asserted without it.
const raceEnabled = true
