package fhirspec

import (
	"testing"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax/hostile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The compartment walker reaches the verdict every JSON reader of the
// library reaches on each hostile document.
func TestHostileJSONSameVerdict(t *testing.T) {
	m, err := NewMatcher(R4)
	require.NoError(t, err)
	for _, c := range hostile.Objects {
		in, err := m.InPatientCompartment([]byte(c.Doc), "123")
		assert.Equal(t, c.Refused, err != nil, "%s: %v", c.Name, err)
		if !c.Refused {
			assert.True(t, in, c.Name)
		}
	}
}
