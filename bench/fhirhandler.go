package bench

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// SearchHandler is a small but realistic FHIR server for the load tests:
// GET {base}/Observation?patient=ID (or subject=Patient/ID) answers a
// searchset Bundle of that patient's vital signs, and GET
// {base}/Observation/{id} one Observation, encoded per request with
// encoding/json as a real server would. It ignores authorization entirely,
// so whatever protects it is the middleware in front.
type SearchHandler struct {
	base string
	obs  map[string][]observation // by patient id
}

// NewSearchHandler builds the handler for FHIR base path base (e.g.
// "/fhir") with patients p-0001 ... p-NNNN, each with perPatient
// Observations.
func NewSearchHandler(base string, patients, perPatient int) *SearchHandler {
	h := &SearchHandler{base: strings.TrimSuffix(base, "/"), obs: map[string][]observation{}}
	codes := []struct{ code, display, unit string }{
		{"8867-4", "Heart rate", "/min"},
		{"8310-5", "Body temperature", "Cel"},
		{"9279-1", "Respiratory rate", "/min"},
		{"29463-7", "Body weight", "kg"},
	}
	for p := 1; p <= patients; p++ {
		pid := PatientID(p)
		for i := range perPatient {
			c := codes[i%len(codes)]
			h.obs[pid] = append(h.obs[pid], observation{
				ResourceType: "Observation",
				ID:           observationID(p, i),
				Meta:         meta{VersionID: "1", LastUpdated: "2026-01-15T09:30:00Z"},
				Status:       "final",
				Category: []codeableConcept{{Coding: []coding{{
					System: "http://terminology.hl7.org/CodeSystem/observation-category", Code: "vital-signs", Display: "Vital Signs",
				}}}},
				Code:              codeableConcept{Coding: []coding{{System: "http://loinc.org", Code: c.code, Display: c.display}}, Text: c.display},
				Subject:           reference{Reference: "Patient/" + pid},
				EffectiveDateTime: fmt.Sprintf("2026-01-%02dT09:30:00Z", 1+i%28),
				ValueQuantity:     quantity{Value: 60 + float64(i), Unit: c.unit, System: "http://unitsofmeasure.org", Code: c.unit},
			})
		}
	}
	return h
}

// PatientID is the id of the n-th sample patient (1-based): "p-0001".
func PatientID(n int) string { return fmt.Sprintf("p-%04d", n) }

// SearchPath is the search the load tests send for patient id.
func SearchPath(base, patient string) string {
	return strings.TrimSuffix(base, "/") + "/Observation?patient=" + patient + "&_count=20"
}

// ReadPath is the read of the n-th Observation (0-based) of patient number p.
func ReadPath(base string, p, n int) string {
	return strings.TrimSuffix(base, "/") + "/Observation/" + observationID(p, n)
}

func observationID(p, n int) string { return fmt.Sprintf("obs-%04d-%02d", p, n) }

// ServeHTTP answers the search or the read; anything else is a 404 or 400
// OperationOutcome.
func (h *SearchHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if id, ok := strings.CutPrefix(r.URL.Path, h.base+"/Observation/"); ok && r.Method == http.MethodGet {
		h.read(w, id)
		return
	}
	if r.Method != http.MethodGet || r.URL.Path != h.base+"/Observation" {
		writeOutcome(w, http.StatusNotFound, "not-found", "only GET "+h.base+"/Observation is served here")
		return
	}
	q := r.URL.Query()
	pid := q.Get("patient")
	if pid == "" {
		pid = strings.TrimPrefix(q.Get("subject"), "Patient/")
	}
	pid = strings.TrimPrefix(pid, "Patient/")
	if pid == "" {
		writeOutcome(w, http.StatusBadRequest, "required", "this server needs a patient or subject parameter")
		return
	}
	matches := h.obs[pid]
	if n, err := strconv.Atoi(q.Get("_count")); err == nil && n >= 0 && n < len(matches) {
		matches = matches[:n]
	}
	b := bundle{
		ResourceType: "Bundle",
		Type:         "searchset",
		Total:        len(matches),
		Link:         []link{{Relation: "self", URL: "http://" + r.Host + r.URL.RequestURI()}},
		Entry:        make([]entry, len(matches)),
	}
	for i := range matches {
		o := &matches[i]
		b.Entry[i] = entry{
			FullURL:  "http://" + r.Host + h.base + "/Observation/" + o.ID,
			Resource: o,
			Search:   searchInfo{Mode: "match"},
		}
	}
	w.Header().Set("Content-Type", "application/fhir+json")
	_ = json.NewEncoder(w).Encode(&b)
}

func (h *SearchHandler) read(w http.ResponseWriter, id string) {
	var pnum, n int
	if _, err := fmt.Sscanf(id, "obs-%04d-%02d", &pnum, &n); err == nil {
		if obs := h.obs[PatientID(pnum)]; n >= 0 && n < len(obs) && obs[n].ID == id {
			w.Header().Set("Content-Type", "application/fhir+json")
			_ = json.NewEncoder(w).Encode(&obs[n])
			return
		}
	}
	writeOutcome(w, http.StatusNotFound, "not-found", "no Observation "+id)
}

func writeOutcome(w http.ResponseWriter, status int, code, text string) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"resourceType": "OperationOutcome",
		"issue":        []map[string]string{{"severity": "error", "code": code, "diagnostics": text}},
	})
}

// The FHIR shapes the handler encodes.
type (
	bundle struct {
		ResourceType string  `json:"resourceType"`
		Type         string  `json:"type"`
		Total        int     `json:"total"`
		Link         []link  `json:"link"`
		Entry        []entry `json:"entry"`
	}
	link struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	}
	entry struct {
		FullURL  string       `json:"fullUrl"`
		Resource *observation `json:"resource"`
		Search   searchInfo   `json:"search"`
	}
	searchInfo struct {
		Mode string `json:"mode"`
	}
	observation struct {
		ResourceType      string            `json:"resourceType"`
		ID                string            `json:"id"`
		Meta              meta              `json:"meta"`
		Status            string            `json:"status"`
		Category          []codeableConcept `json:"category"`
		Code              codeableConcept   `json:"code"`
		Subject           reference         `json:"subject"`
		EffectiveDateTime string            `json:"effectiveDateTime"`
		ValueQuantity     quantity          `json:"valueQuantity"`
	}
	meta struct {
		VersionID   string `json:"versionId"`
		LastUpdated string `json:"lastUpdated"`
	}
	codeableConcept struct {
		Coding []coding `json:"coding"`
		Text   string   `json:"text,omitempty"`
	}
	coding struct {
		System  string `json:"system"`
		Code    string `json:"code"`
		Display string `json:"display,omitempty"`
	}
	reference struct {
		Reference string `json:"reference"`
	}
	quantity struct {
		Value  float64 `json:"value"`
		Unit   string  `json:"unit"`
		System string  `json:"system"`
		Code   string  `json:"code"`
	}
)
