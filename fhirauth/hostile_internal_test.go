package fhirauth

import (
	"testing"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax/hostile"
	"github.com/stretchr/testify/assert"
)

// fhirauth's reader reaches the verdict every JSON reader of the library
// reaches on each hostile document.
func TestHostileJSONSameVerdict(t *testing.T) {
	for _, c := range hostile.Objects {
		_, err := checkedType([]byte(c.Doc))
		assert.Equal(t, c.Refused, err != nil, "%s: %v", c.Name, err)
	}
}
