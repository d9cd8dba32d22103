package authserver

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A clients file is read as a person reads it: a member written twice,
// or twice under names encoding/json folds into one field, is an error,
// not a silent choice of the last one.
func TestLoadClientsRefusesRepeatedNames(t *testing.T) {
	for name, doc := range map[string]string{
		"repeated scope":        `[{"client_id":"a","client_secret":"s","scope":"user/Patient.read","scope":"user/*.cruds"}]`,
		"scope in another case": `[{"client_id":"a","client_secret":"s","scope":"user/Patient.read","Scope":"user/*.cruds"}]`,
		"escaped name":          `[{"client_id":"a","client_secret":"s","scope":"user/Patient.read","\u0073cope":"user/*.cruds"}]`,
		"folded patient":        `[{"client_id":"a","client_secret":"s","scope":"patient/*.rs","patient":"1","PATIENT":"2"}]`,
		"repeated client_id":    `[{"client_id":"a","client_secret":"s","scope":"user/Patient.read","client_id":"b"}]`,
		"repeated jwks member":  `[{"client_id":"a","client_secret":"s","scope":"user/Patient.read","jwks":{"keys":[],"keys":[]}}]`,
	} {
		clients, err := LoadClients(strings.NewReader(doc))
		assert.ErrorIs(t, err, ErrInvalidClient, "%s: loaded %+v", name, clients)
	}
	clients, err := LoadClients(strings.NewReader(`[{"client_id":"a","client_secret":"s","scope":"user/Patient.read"}]`))
	require.NoError(t, err)
	require.Len(t, clients, 1)
}
