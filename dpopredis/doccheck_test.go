package dpopredis_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/doccheck"
)

// TestDocumentation holds this module to fhirwarden's documentation
// standard (see package doccheck): the main module's check skips nested
// modules, so each checks itself.
func TestDocumentation(t *testing.T) {
	findings, err := doccheck.Check(".")
	require.NoError(t, err)
	for _, f := range findings {
		t.Errorf("%s", f)
	}
}
