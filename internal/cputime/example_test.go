package cputime_test

import (
	"crypto/sha256"
	"fmt"

	"github.com/fhirwarden/fhirwarden/internal/cputime"
)

func ExampleProcess() {
	start := cputime.Process()
	sum := sha256.Sum256(nil)
	for range 100000 {
		sum = sha256.Sum256(sum[:])
	}
	used := cputime.Process() - start
	fmt.Println(used >= 0)
	// Output: true
}
