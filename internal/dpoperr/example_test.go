package dpoperr_test

import (
	"errors"
	"fmt"

	"github.com/fhirwarden/fhirwarden/internal/dpoperr"
	"github.com/fhirwarden/fhirwarden/token"
)

// The errors are token's: an error wrapping token.ErrDPoPNonce is an
// ErrNonce.
func Example() {
	err := fmt.Errorf("checking the proof: %w", token.ErrDPoPNonce)
	fmt.Println(errors.Is(err, dpoperr.ErrNonce), errors.Is(err, dpoperr.ErrReplayUnavailable))
	// Output: true false
}
