package hunt

import (
	"math/rand/v2"
	"testing"
)

func TestPatientRef(t *testing.T) {
	for in, want := range map[string]string{
		"Patient/1":                          "Patient/1",
		"Patient/1/_history/3":               "Patient/1",
		"https://x.example/fhir/Patient/1":   "Patient/1",
		"Group/1":                            "",
		"Patient?identifier=1":               "?Patient?identifier=1",
		"Practitioner?_id=1":                 "",
		"patient?identifier=1":               "?patient?identifier=1",
		"?identifier=1":                      "??identifier=1",
		"#c1":                                "?#c1",
		"urn:uuid:0":                         "?urn:uuid:0",
		"patient/1":                          "", // a type of its own, not Patient
		"Patient//1":                         "?Patient//1",
		"Patient/1/":                         "?Patient/1/",
		"https://x.example/fhir/Patient/1/x": "?https://x.example/fhir/Patient/1/x",
	} {
		if got := PatientRef(in); got != want {
			t.Errorf("PatientRef(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestInCompartmentPassesOverLocalAndPlaceholder(t *testing.T) {
	elements := map[string][]string{"Patient": {"link"}, "Observation": {"subject"}}
	for _, tc := range []struct {
		r    map[string]any
		want bool
	}{
		{map[string]any{"resourceType": "Patient", "id": "p1"}, true},
		{map[string]any{"resourceType": "Patient", "id": "p2"}, false},
		{map[string]any{"resourceType": "Patient", "id": "p1", "link": []any{map[string]any{"other": map[string]any{"reference": "Patient/p2"}}}}, false},
		{map[string]any{"resourceType": "Observation", "subject": map[string]any{"reference": "URN:UUID:1"}}, false},
		{map[string]any{"resourceType": "Observation", "subject": []any{map[string]any{"reference": "#c"}, map[string]any{"reference": "Patient/p1"}}}, true},
		{map[string]any{"resourceType": "Condition", "subject": map[string]any{"reference": "Patient/p1"}}, false},
	} {
		if got, why := InCompartment(tc.r, elements, "p1", PatientRef); got != tc.want {
			t.Errorf("InCompartment(%v) = %v (%s), want %v", tc.r, got, why, tc.want)
		}
	}
}

func TestIsLaboratory(t *testing.T) {
	lab := map[string]any{"resourceType": "Observation", "category": []any{map[string]any{"coding": []any{map[string]any{"code": "laboratory"}}}}}
	if ok, why := IsLaboratory(lab); !ok {
		t.Errorf("laboratory refused: %s", why)
	}
	for _, r := range []map[string]any{
		{"resourceType": "Condition", "category": lab["category"]},
		{"resourceType": "Observation", "category": []any{map[string]any{"coding": []any{map[string]any{"code": "Laboratory"}}}}},
		{"resourceType": "Observation", "category": []any{map[string]any{"text": "laboratory"}}},
	} {
		if ok, _ := IsLaboratory(r); ok {
			t.Errorf("IsLaboratory(%v) = true", r)
		}
	}
}

func TestSwapCase(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	if s, ok := SwapCase("12", r); ok || s != "12" {
		t.Errorf(`SwapCase("12") = %q, %v`, s, ok)
	}
	if s, ok := SwapCase("a1", r); !ok || s != "A1" {
		t.Errorf(`SwapCase("a1") = %q, %v`, s, ok)
	}
}

func TestChangedKeys(t *testing.T) {
	before := map[string]map[string]any{"A/1": {"x": 1.0}, "A/2": {"x": 1.0}, "A/3": {}}
	after := map[string]map[string]any{"A/1": {"x": 1.0}, "A/2": {"x": 2.0}, "A/4": {}}
	got := ChangedKeys(before, after)
	if len(got) != 3 || got[0] != "A/2" || got[1] != "A/3" || got[2] != "A/4" {
		t.Errorf("ChangedKeys = %q", got)
	}
}

func TestEntryStatuses(t *testing.T) {
	got := EntryStatuses([]byte(`{"entry":[{"response":{"status":"201 Created"}},{"response":{"status":"403"}}]}`))
	if len(got) != 2 || got[0] != "201" || got[1] != "403" {
		t.Errorf("EntryStatuses = %q", got)
	}
	if got := EntryStatuses([]byte("<html>")); got != nil {
		t.Errorf("EntryStatuses(not JSON) = %q", got)
	}
}

func TestAnswerResources(t *testing.T) {
	got := AnswerResources([]byte(`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Observation","id":"a"}},` +
		`{"response":{"status":"201"}},{"resource":{"resourceType":"OperationOutcome"}}]}`))
	if len(got) != 1 || got[0]["id"] != "a" {
		t.Errorf("AnswerResources(Bundle) = %v", got)
	}
	for _, body := range []string{`{"resourceType":"OperationOutcome"}`, `[]`, ``} {
		if got := AnswerResources([]byte(body)); got != nil {
			t.Errorf("AnswerResources(%s) = %v", body, got)
		}
	}
	if got := AnswerResources([]byte(`{"resourceType":"Patient","id":"2"}`)); len(got) != 1 {
		t.Errorf("AnswerResources(Patient) = %v", got)
	}
}

func TestAtomicity(t *testing.T) {
	ok := []byte(`{"entry":[{"response":{"status":"201 Created"}},{"response":{"status":"403"}}]}`)
	for _, tc := range []struct {
		entries, status int
		answer          string
		changed         []string
		bad             bool
	}{
		{2, 200, string(ok), []string{"A/1"}, false},
		{3, 200, string(ok), nil, true},
		{2, 400, `{}`, nil, false},
		{2, 400, `{}`, []string{"A/1"}, true},
		{1, 200, `{"entry":[{"response":{"status":"412"}}]}`, nil, true},
	} {
		if got := Atomicity(tc.entries, tc.status, []byte(tc.answer), tc.changed); (len(got) > 0) != tc.bad {
			t.Errorf("Atomicity(%d, %d, %s, %v) = %q", tc.entries, tc.status, tc.answer, tc.changed, got)
		}
	}
}
