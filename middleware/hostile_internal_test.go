package middleware

import (
	"testing"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax/hostile"
	"github.com/stretchr/testify/assert"
)

// The middleware's readers reach the verdict every JSON reader of the
// library reaches on each hostile document.
func TestHostileJSONSameVerdict(t *testing.T) {
	for _, c := range hostile.Objects {
		_, err := strictObject([]byte(c.Doc))
		assert.Equal(t, c.Refused, err != nil, "strictObject, %s: %v", c.Name, err)
		rt, _ := resourceID([]byte(c.Doc))
		assert.Equal(t, c.Refused, rt == "", "resourceID, %s", c.Name)
		// A Bundle entry's resource, as the entries of a checked
		// batch response are rebuilt.
		_, kept := sanitizeEntry([]byte(`{"fullUrl":"x","resource":` + c.Doc + `}`))
		assert.Equal(t, c.Refused, !kept, "sanitizeEntry, resource, %s", c.Name)
	}
}
