package fhirspec

import (
	"strings"
	"testing"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax/hostile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The compartment walk and the resource type's read reach the verdict
// every JSON reader of the library reaches on each hostile document.
func TestHostileJSONSameVerdict(t *testing.T) {
	m, err := NewMatcher(R4)
	require.NoError(t, err)
	typeLast := 0
	for _, c := range hostile.Objects {
		doc := []byte(c.Doc)
		in, err := m.InPatientCompartment(doc, "123")
		assert.Equal(t, c.Refused, err != nil, "InPatientCompartment, %s: %v", c.Name, err)
		if !c.Refused {
			assert.True(t, in, c.Name)
		}
		_, ids, err := m.PatientCompartmentsStrict(doc)
		assert.Equal(t, c.Refused, err != nil, "PatientCompartmentsStrict, %s: %v", c.Name, err)
		if !c.Refused {
			assert.Equal(t, []string{"123"}, ids, c.Name)
		}
		_, err = ResourceTypeOf(R4, doc)
		assert.Equal(t, c.Refused, err != nil, "ResourceTypeOf, %s: %v", c.Name, err)

		// The same with the type last: the walk looks ahead for it.
		lead := `{"resourceType":"Observation",`
		if !strings.HasPrefix(c.Doc, lead) {
			continue
		}
		last := strings.LastIndexByte(c.Doc, '}')
		moved := []byte("{" + c.Doc[len(lead):last] + `,"resourceType":"Observation"` + c.Doc[last:])
		in, err = m.InPatientCompartment(moved, "123")
		assert.Equal(t, c.Refused, err != nil, "InPatientCompartment, type last, %s: %v", c.Name, err)
		assert.Equal(t, !c.Refused, in, "type last, %s", c.Name)
		typeLast++
	}
	assert.Greater(t, typeLast, 10)
}
