//go:build !race

package fhirauth

const raceEnabled = false
