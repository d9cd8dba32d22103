package middleware

import (
	"encoding/json"
	"net"
	"strings"
	"time"
)

// AuditEvent returns r as a FHIR R4 AuditEvent (JSON), shaped after IHE's
// Basic Audit Log Patterns (BALP) for RESTful activity: type rest with
// the interaction as subtype, the client application and the user as
// agents (the requestor with the network address), the patient as an
// entity, the request id as a transaction entity, the narrowing as a
// query entity. A server can store its audit trail as FHIR with it. It
// builds a new document each call; it is not meant for the request path.
func (r AuditRecord) AuditEvent() ([]byte, error) {
	ev := map[string]any{
		"resourceType": "AuditEvent",
		"type":         coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest"),
		"action":       auditAction(r.Method),
		"recorded":     r.Time.UTC().Format(time.RFC3339Nano),
		"outcome":      auditOutcome(r),
		"source": map[string]any{
			"observer": map[string]any{"display": "fhirwarden"},
			"type":     []any{coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4")},
		},
		"agent": r.auditAgents(),
	}
	if len(r.Interactions) > 0 {
		ev["subtype"] = []any{coding("http://hl7.org/fhir/restful-interaction", r.Interactions[0])}
	}
	if r.Reason != "" {
		ev["outcomeDesc"] = r.Reason
	}
	if entities := r.auditEntities(); len(entities) > 0 {
		ev["entity"] = entities
	}
	return json.Marshal(ev)
}

func coding(system, code string) map[string]any {
	return map[string]any{"system": system, "code": code}
}

// auditAction is the AuditEvent action of an HTTP method.
func auditAction(method string) string {
	switch method {
	case "GET", "HEAD":
		return "R"
	case "PUT", "PATCH":
		return "U"
	case "DELETE":
		return "D"
	case "POST":
		return "E" // create, search, batch or operation: execute
	}
	return "E"
}

// auditOutcome: 0 success, 4 refused (minor failure), 8 server error.
func auditOutcome(r AuditRecord) string {
	switch {
	case r.Status >= 500:
		return "8"
	case r.Decision == AuditDeny || r.Status >= 400:
		return "4"
	}
	return "0"
}

// auditAgents are the user (when the token names one) and the client
// application; the first is the requestor and carries the network
// address.
func (r AuditRecord) auditAgents() []any {
	var agents []any
	requestor := true
	add := func(role map[string]any, value string) {
		a := map[string]any{
			"type":      map[string]any{"coding": []any{role}},
			"who":       map[string]any{"identifier": identifier(r.Issuer, value)},
			"requestor": requestor,
		}
		if requestor {
			if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil && host != "" {
				a["network"] = map[string]any{"address": host, "type": "2"} // IP address
			}
		}
		requestor = false
		agents = append(agents, a)
	}
	user := coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP") // information recipient
	if r.Subject != "" && r.Subject != r.ClientID {
		add(user, r.Subject)
	}
	if r.ClientID != "" {
		add(coding("http://dicom.nema.org/resources/ontology/DCM", "110150"), r.ClientID) // application
	}
	if len(agents) == 0 {
		add(user, "anonymous")
	}
	return agents
}

func identifier(system, value string) map[string]any {
	id := map[string]any{"value": value}
	if system != "" {
		id["system"] = system
	}
	return id
}

// auditEntities are the patient, the request (path, id, trace) and the
// narrowing query.
func (r AuditRecord) auditEntities() []any {
	const balp = "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType"
	var out []any
	if r.Patient != "" {
		out = append(out, map[string]any{
			"what": map[string]any{"reference": "Patient/" + r.Patient},
			"role": coding("http://terminology.hl7.org/CodeSystem/object-role", "1"),
		})
	}
	if r.RequestID != "" {
		out = append(out, map[string]any{
			"what": map[string]any{"identifier": map[string]any{"value": r.RequestID}},
			"type": coding(balp, "XrequestId"),
		})
	}
	if r.Path != "" {
		e := map[string]any{
			"what":        map[string]any{"display": r.Method + " " + r.Path},
			"type":        coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2"), // system object
			"description": strings.Join(r.ResourceTypes, " "),
		}
		if r.TraceID != "" {
			e["detail"] = []any{map[string]any{"type": "traceparent-trace-id", "valueString": r.TraceID}}
		}
		if len(r.Narrowing) > 0 {
			e["query"] = []byte(r.Narrowing.Encode()) // base64Binary
		}
		out = append(out, e)
	}
	return out
}
