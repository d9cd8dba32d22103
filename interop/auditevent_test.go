package interop

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/middleware"
)

// TestAuditEvent: the AuditEvent built from a record is valid R4 (parsed
// and validated by google/fhir's R4 parser) and says what the record says.
func TestAuditEvent(t *testing.T) {
	um, err := jsonformat.NewUnmarshaller("UTC", fhirversion.R4)
	require.NoError(t, err)
	allowed := middleware.AuditRecord{
		Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), ClientID: "app-1", Subject: "user-1", Patient: "p1",
		Method: "GET", Path: "/fhir/Observation", Interactions: []string{"search-type"}, ResourceTypes: []string{"Observation"},
		Decision: middleware.AuditAllow, Reason: "allowed by patient/Observation.rs", Status: 200, Issuer: "https://idp.example",
		TokenID: "jti-1", Narrowing: url.Values{"patient": {"Patient/p1"}}, RemoteAddr: "10.1.2.3:5555", RequestID: "req-1",
		TraceID: "4bf92f3577b34da6a3ce929d0e0e4736",
	}
	denied := middleware.AuditRecord{Time: time.Now(), Method: "DELETE", Path: "/fhir/Patient/2", Decision: middleware.AuditDeny,
		Status: 401, Reason: "no bearer access token", ErrorKind: middleware.ReasonInvalidToken, RemoteAddr: "[::1]:80"}
	failed := middleware.AuditRecord{Time: time.Now(), Method: "POST", Path: "/fhir", Interactions: []string{"transaction", "create"}, Status: 502, Decision: middleware.AuditAllow}
	for name, rec := range map[string]middleware.AuditRecord{"allowed": allowed, "denied": denied, "upstream failed": failed} {
		body, err := rec.AuditEvent()
		require.NoError(t, err, name)
		_, err = um.Unmarshal(body)
		require.NoError(t, err, "%s: valid R4: %s", name, body)
	}
	body, _ := allowed.AuditEvent()
	var ev struct {
		Action, Outcome, Recorded string
		Subtype                   []struct{ Code string }
		Agent                     []struct {
			Requestor bool
			Who       struct {
				Identifier struct{ System, Value string }
			}
			Network struct{ Address string }
		}
		Entity []struct {
			What struct {
				Reference  string
				Identifier struct{ Value string }
			}
			Query []byte
		}
	}
	require.NoError(t, json.Unmarshal(body, &ev))
	assert.Equal(t, "R", ev.Action)
	assert.Equal(t, "0", ev.Outcome)
	assert.Equal(t, "2026-01-02T03:04:05Z", ev.Recorded)
	assert.Equal(t, "search-type", ev.Subtype[0].Code)
	require.Len(t, ev.Agent, 2)
	assert.True(t, ev.Agent[0].Requestor)
	assert.Equal(t, "user-1", ev.Agent[0].Who.Identifier.Value)
	assert.Equal(t, "https://idp.example", ev.Agent[0].Who.Identifier.System)
	assert.Equal(t, "10.1.2.3", ev.Agent[0].Network.Address)
	assert.Equal(t, "app-1", ev.Agent[1].Who.Identifier.Value)
	require.Len(t, ev.Entity, 3)
	assert.Equal(t, "Patient/p1", ev.Entity[0].What.Reference)
	assert.Equal(t, "req-1", ev.Entity[1].What.Identifier.Value)
	assert.Equal(t, "patient=Patient%2Fp1", string(ev.Entity[2].Query))

	body, _ = denied.AuditEvent()
	require.NoError(t, json.Unmarshal(body, &ev))
	assert.Equal(t, "D", ev.Action)
	assert.Equal(t, "4", ev.Outcome)
	body, _ = failed.AuditEvent()
	require.NoError(t, json.Unmarshal(body, &ev))
	assert.Equal(t, "8", ev.Outcome)
}
