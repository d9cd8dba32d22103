package cardinality

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRepeating(t *testing.T) {
	tests := []struct {
		release, typ, path, want string
	}{
		{"R4", "Observation", "subject", ""},
		{"STU3", "Observation", "subject", ""},
		{"R4", "Group", "member.entity", "member"},
		{"STU3", "Group", "member.entity", "member"},
		{"R4", "Appointment", "participant.actor", "participant"},
		{"R4", "Schedule", "actor", "actor"},
		{"R4", "Provenance", "target", "target"},
		{"R4", "Person", "link.target", "link"},
		{"R4", "AuditEvent", "agent.who", "agent"},
		{"R4", "AuditEvent", "entity.what", "entity"},
		// Account.subject became 0..* in R4.
		{"STU3", "Account", "subject", ""},
		{"R4", "Account", "subject", "subject"},
		// Choice elements: medication[x] is 1..1, Claim.item 0..*.
		{"R4", "MedicationRequest", "medicationReference", ""},
		{"R4", "Claim", "item.locationReference", "item"},
		{"R4", "CarePlan", "activity.detail.performer", "activity"},
	}
	for _, tt := range tests {
		res, err := Resources(tt.release)
		require.NoError(t, err)
		got, err := Repeating(res[tt.typ], tt.path)
		require.NoError(t, err, "%s %s.%s", tt.release, tt.typ, tt.path)
		assert.Equal(t, tt.want, got, "%s %s.%s", tt.release, tt.typ, tt.path)
	}
}

func TestRepeatingUnknown(t *testing.T) {
	res, err := Resources("R4")
	require.NoError(t, err)
	for _, path := range []string{"nosuch", "subject.nosuch", "valueQuantity", "status", "valueNosuch", "subject.reference"} {
		_, err := Repeating(res["Observation"], path)
		assert.True(t, errors.Is(err, ErrUnknown), "%s: %v", path, err)
	}
	_, err = Resources("R5")
	assert.True(t, errors.Is(err, ErrUnknown))
}
