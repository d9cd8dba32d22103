package server_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/server"
)

// TestClientsFileValidation: each mistake in a -clients file stops the
// server at start with an error naming the client, its entry and line.
func TestClientsFileValidation(t *testing.T) {
	const good = `{"client_id":"ok","client_secret":"s","scope":"user/Patient.rs"},`
	cases := []struct{ name, second, want string }{
		{"patient scope without patient", `{"client_id":"app","client_secret":"s","scope":"patient/*.rs"}`,
			`client "app" (entry 2, line 3): scope "patient/*.rs": a patient/ scope needs "patient"`},
		{"unknown type", `{"client_id":"typo","client_secret":"s","scope":"user/Observaton.rs"}`,
			`client "typo" (entry 2, line 3): scope "user/Observaton.rs": Observaton is not a FHIR STU3 resource type`},
		{"scope that grants nothing", `{"client_id":"prac","client_secret":"s","scope":"patient/Practitioner.c","patient":"1"}`,
			`client "prac" (entry 2, line 3): scope "patient/Practitioner.c" grants nothing on this server`},
		{"type outside the compartment", `{"client_id":"org","client_secret":"s","scope":"patient/Location.rs","patient":"1"}`,
			`client "org" (entry 2, line 3): scope "patient/Location.rs" grants nothing`},
		{"constraint naming another patient", `{"client_id":"obs","client_secret":"s","scope":"patient/Observation.c?patient=Patient/2","patient":"1"}`,
			`client "obs" (entry 2, line 3): scope "patient/Observation.c?patient=Patient/2" grants nothing on this server (patient=Patient/2 names Patient/2 in Observation.subject`},
		{"invalid scope", `{"client_id":"bad","client_secret":"s","scope":"Patient/*.read"}`,
			`line 3: `},
		{"no credentials", `{"client_id":"nokey","scope":"user/Patient.rs"}`,
			`line 3: `},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "clients.json")
			require.NoError(t, os.WriteFile(file, []byte("[\n "+good+"\n "+c.second+"\n]\n"), 0o600))
			s, err := server.Start(context.Background(), server.Config{Addr: "127.0.0.1:0", ClientsFile: file,
				Logger: slog.New(slog.DiscardHandler)}, io.Discard)
			if s != nil {
				_ = s.Shutdown(context.Background())
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.Contains(t, err.Error(), file)
		})
	}
}
