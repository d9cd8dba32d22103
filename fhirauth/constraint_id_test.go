package fhirauth

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A create stores the resource under an id the server chooses (FHIR: the
// server ignores the id of a create's body), so the body's id cannot
// satisfy an _id constraint: the created resource would be another
// resource than the constraint names. A conditional update that finds
// nothing creates too, and a server may assign the id then as well. An
// update by id keeps its id (the body's id must be the URL's).
func TestConstraintIDNeverHoldsOnCreate(t *testing.T) {
	p := testPolicy(t)
	body := `{"resourceType":"Organization","id":"org1","name":"x"}`
	for _, tc := range []struct {
		name, scopes, method, target string
		allow                        bool
	}{
		{"create", "user/Organization.c?_id=org1", "POST", "/fhir/Organization", false},
		{"create, two alternatives", "user/Organization.c?_id=org1 user/Organization.c?_id=org2", "POST", "/fhir/Organization", false},
		{"conditional update that may create", "user/Organization.cus?_id=org1", "PUT", "/fhir/Organization?identifier=a", false},
		{"update by id", "user/Organization.u?_id=org1", "PUT", "/fhir/Organization/org1", true},
		{"update by id that may create", "user/Organization.cu?_id=org1", "PUT", "/fhir/Organization/org1", true},
		{"create under another alternative", "user/Organization.c?_id=org1 user/Organization.c?name=x", "POST", "/fhir/Organization", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr := principal(t, tc.scopes, "")
			_, d := authorize(t, p, pr, tc.method, tc.target, body, nil)
			if d.Allowed && tc.method == "PUT" && tc.target != "/fhir/Organization/org1" {
				// allowed to update what it finds; it must not create
				assert.Error(t, d.CheckStored(nil), "a conditional update under _id must not create")
				return
			}
			assert.Equal(t, tc.allow, d.Allowed, "%d %s", d.Status, d.Reason)
			if d.Allowed && tc.name == "update by id that may create" {
				assert.NoError(t, d.CheckStored(nil), "PUT Organization/org1 creates org1")
			}
		})
	}
	// Explain does not offer a create that every body is refused.
	pr := principal(t, "user/Organization.c?_id=org1", "")
	e := p.Explain(context.Background(), pr)
	_, ok := findGrant(e, ExplainCreate, "Organization")
	assert.False(t, ok, "Explain offers create under _id: %s", e)
}
