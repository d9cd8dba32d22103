package medplum

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// patients are the seeded patients; the patient-context token is for the first.
var patients = []string{"p1", "p2", "p3"}

// observationsPerPatient makes searches span several pages at _count=2.
const observationsPerPatient = 3

// marker is the text in the narrative of every resource of patient p: any
// appearance of another patient's marker in a response is a leak, wherever
// it is (entries, OperationOutcome diagnostics, nested Bundles).
func marker(p string) string { return "MARKER-" + p + "-END" }

// clinical returns the resources of one patient, of the eight Care Connect
// types besides Patient, keyed by "Type/id".
func clinical(p string) []map[string]any {
	subject := map[string]any{"reference": "Patient/" + p}
	code := func(text string) map[string]any { return map[string]any{"text": text} }
	var out []map[string]any
	for i := 1; i <= observationsPerPatient; i++ {
		out = append(out, map[string]any{"resourceType": "Observation", "id": fmt.Sprintf("obs-%s-%d", p, i),
			"status": "final", "code": code("heart rate"), "subject": subject,
			"performer": []any{map[string]any{"reference": "Practitioner/dr1"}}})
	}
	return append(out,
		map[string]any{"resourceType": "Encounter", "id": "enc-" + p, "status": "finished",
			"class":   map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
			"subject": subject, "serviceProvider": map[string]any{"reference": "Organization/org1"}},
		map[string]any{"resourceType": "Condition", "id": "cond-" + p, "code": code("asthma"), "subject": subject},
		map[string]any{"resourceType": "Procedure", "id": "proc-" + p, "status": "completed", "code": code("spirometry"), "subject": subject},
		map[string]any{"resourceType": "AllergyIntolerance", "id": "alg-" + p, "code": code("peanut"), "patient": subject},
		map[string]any{"resourceType": "MedicationRequest", "id": "medreq-" + p, "status": "active", "intent": "order",
			"medicationCodeableConcept": code("salbutamol"), "subject": subject},
		map[string]any{"resourceType": "MedicationStatement", "id": "medst-" + p, "status": "active",
			"medicationCodeableConcept": code("salbutamol"), "subject": subject},
		map[string]any{"resourceType": "Immunization", "id": "imm-" + p, "status": "completed",
			"vaccineCode": code("influenza"), "patient": subject, "occurrenceDateTime": "2024-10-01"},
	)
}

// seedResources is every seeded resource.
func seedResources() []map[string]any {
	out := []map[string]any{
		{"resourceType": "Practitioner", "id": "dr1", "name": []any{map[string]any{"family": "Shared"}}},
		{"resourceType": "Organization", "id": "org1", "name": "Shared Trust"},
	}
	for i, p := range patients {
		out = append(out, map[string]any{"resourceType": "Patient", "id": p,
			"name":                []any{map[string]any{"family": fmt.Sprintf("Family%d", i+1)}},
			"generalPractitioner": []any{map[string]any{"reference": "Practitioner/dr1"}}})
		out = append(out, clinical(p)...)
	}
	for _, r := range out {
		if p := owner(r); p != "" {
			r["text"] = map[string]any{"status": "generated",
				"div": `<div xmlns="http://www.w3.org/1999/xhtml">` + marker(p) + `</div>`}
		}
	}
	return out
}

// seed stores the resources in the upstream directly, with one transaction
// of PUTs, then updates obs-p2-1 so that it has a history of two versions.
func seed(ctx context.Context, t *testing.T, e *env) {
	t.Helper()
	var entries []any
	for _, r := range seedResources() {
		u := fmt.Sprintf("%s/%s", r["resourceType"], r["id"])
		entries = append(entries, map[string]any{"fullUrl": e.upstream + "/" + u, "resource": r,
			"request": map[string]any{"method": "PUT", "url": u}})
	}
	body, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries})
	require.NoError(t, err)
	status, out := send(ctx, t, http.MethodPost, e.upstream, "", "", string(body))
	require.Equal(t, http.StatusOK, status, "seeding: %s", out)
	for _, r := range seedResources() {
		if r["id"] == "obs-p2-1" {
			r["status"] = "amended"
			b, err := json.Marshal(r)
			require.NoError(t, err)
			status, out := send(ctx, t, http.MethodPut, e.upstream, "Observation/obs-p2-1", "", string(b))
			require.Equal(t, http.StatusOK, status, "second version: %s", out)
		}
	}
	status, out = send(ctx, t, http.MethodGet, e.upstream, "Observation?_count=100", "", "")
	require.Equal(t, http.StatusOK, status)
	require.Len(t, resourcesIn(t, out), len(patients)*observationsPerPatient, "the upstream holds the seeded Observations: %s", out)
}

// owner is the patient a resource belongs to ("" for shared resources):
// the Patient itself, or the patient its subject or patient element names.
func owner(r map[string]any) string {
	if r["resourceType"] == "Patient" {
		id, _ := r["id"].(string)
		return id
	}
	for _, field := range []string{"subject", "patient"} {
		if ref, ok := r[field].(map[string]any); ok {
			if s, ok := ref["reference"].(string); ok {
				if id, ok := strings.CutPrefix(s, "Patient/"); ok {
					return id
				}
				return "?" + s
			}
		}
	}
	return ""
}

// resourcesIn returns every resource in a response body, looking inside
// Bundles (their entries and nested Bundles) but returning the Bundles
// themselves only as containers. A body that is not JSON has none.
func resourcesIn(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	var top map[string]any
	if json.Unmarshal(body, &top) != nil {
		return nil
	}
	var out []map[string]any
	var walk func(r map[string]any)
	walk = func(r map[string]any) {
		if r["resourceType"] != "Bundle" {
			out = append(out, r)
			return
		}
		entries, _ := r["entry"].([]any)
		for _, e := range entries {
			em, _ := e.(map[string]any)
			if res, ok := em["resource"].(map[string]any); ok {
				walk(res)
			}
		}
	}
	walk(top)
	return out
}

// keys names the resources of a body ("Type/id" or "Type/id@version" for
// history), sorted, OperationOutcomes left out.
func keys(t *testing.T, body []byte) []string {
	t.Helper()
	var out []string
	for _, r := range resourcesIn(t, body) {
		if r["resourceType"] == "OperationOutcome" {
			continue
		}
		out = append(out, key(r))
	}
	return sorted(out)
}

func key(r map[string]any) string {
	k := fmt.Sprintf("%s/%s", r["resourceType"], r["id"])
	if meta, ok := r["meta"].(map[string]any); ok {
		k += fmt.Sprintf("@%s", meta["versionId"])
	}
	return k
}
