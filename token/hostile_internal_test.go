package token

import (
	"testing"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax/hostile"
	"github.com/stretchr/testify/assert"
)

// The claims decoder reaches the verdict every JSON reader of the
// library reaches on each hostile document.
func TestHostileJSONSameVerdict(t *testing.T) {
	for _, c := range hostile.Objects {
		_, err := decodeJSONObject(c.Doc)
		assert.Equal(t, c.Refused, err != nil, "%s: %v", c.Name, err)
	}
}
