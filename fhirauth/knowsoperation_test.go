package fhirauth

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// KnowsOperation names exactly the operations the policy does not refuse
// as unknown (built-in and registered), and their case variants.
func TestKnowsOperationAgreesWithDecide(t *testing.T) {
	p := testPolicy(t)
	pr := principal(t, "system/*.cruds", "")
	for _, name := range []string{"export", "everything", "lastn", "summary", "stats", "export-poll-status", "binary-access-read"} {
		unknown := false
		for _, target := range []string{"/fhir/$" + name, "/fhir/Observation/$" + name, "/fhir/Patient/p1/$" + name} {
			_, d := authorize(t, p, pr, "GET", target, "", nil)
			unknown = unknown || strings.Contains(d.Reason, "is not allowed by this server's policy")
		}
		assert.Equal(t, !unknown, p.KnowsOperation(name), "%s", name)
		assert.Equal(t, !unknown, p.KnowsOperation("$"+name), "$%s", name)
		assert.Equal(t, !unknown, p.KnowsOperation(strings.ToUpper(name)), "%s in upper case", name)
	}
	assert.False(t, p.KnowsOperation(""))
	assert.False(t, p.KnowsOperation("$"))
}
