package fhirauth

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
)

// A server drops a search parameter it does not know when the client
// sends Prefer: handling=lenient (HAPI FHIR's default handling as well),
// and runs the search without it. A narrowing parameter must therefore be
// one every server of the release knows: a search parameter of the
// searched type in that release, never only a CompartmentDefinition code.
func TestNarrowingParametersAreSearchParameters(t *testing.T) {
	pr := principal(t, patientAll, "123")
	for _, v := range []fhirspec.Version{fhirspec.STU3, fhirspec.R4} {
		p := testPolicy(t, WithVersion(v))
		for _, typ := range fhirspec.PatientCompartmentTypes(v) {
			_, d := authorize(t, p, pr, "GET", "/fhir/"+typ, "", nil)
			if !d.Allowed {
				continue // not narrowable: refused, not sent
			}
			assert.NotEmpty(t, d.Narrow, "%v %s: allowed unnarrowed", v, typ)
			for name := range d.Narrow {
				assert.True(t, fhirspec.IsSearchParam(v, typ, name), "%v %s is narrowed by %q, which is not one of its search parameters", v, typ, name)
			}
		}
	}
}
