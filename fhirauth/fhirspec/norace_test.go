//go:build !race

package fhirspec

const raceEnabled = false
