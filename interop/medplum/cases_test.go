package medplum

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// compare says how a patient-context result relates to the upstream's.
type compare int

const (
	// exact: the gateway returns exactly the upstream's resources minus
	// other patients' (the narrowing equals filtering).
	exact compare = iota
	// noneAllowed: the gateway refuses or finds nothing; the request names
	// only what the token may not see, or asks in a way it may not.
	noneAllowed
	// subset: the gateway's resources are among the upstream's allowed
	// ones; a refusal of a request mixing allowed and forbidden targets
	// (e.g. an OR-list naming two patients) lands here.
	subset
	// ownPages: the search is paged, and narrowing changes what a page
	// holds, so only the leak check applies; followPages checks the union.
	ownPages
)

// request is one FHIR interaction of the case table.
type request struct {
	category string
	method   string
	target   string // relative to the base ("" is the base itself)
	body     string
	// leaks: sent to the upstream directly, the request returns resources
	// of patients other than p1, or a total that counts them. Checked, so
	// that every such case can fail.
	leaks bool
	// patient says what the p1 token gets through the gateway.
	patient compare
}

func (r request) name() string {
	n := r.method + " " + r.target
	if r.body != "" {
		n += " " + bundleSummary(r.body)
	}
	return n
}

// careConnectTypes are the nine resource types of Care Connect.
var careConnectTypes = []string{"Patient", "Observation", "Encounter", "Condition", "Procedure",
	"AllergyIntolerance", "MedicationRequest", "MedicationStatement", "Immunization"}

// p3Ids are p3's resources, one per Care Connect type.
var p3Ids = []string{"Patient/p3", "Observation/obs-p3-1", "Encounter/enc-p3", "Condition/cond-p3", "Procedure/proc-p3",
	"AllergyIntolerance/alg-p3", "MedicationRequest/medreq-p3", "MedicationStatement/medst-p3", "Immunization/imm-p3"}

// cases is the table; firstVersion is obs-p2-1's first version id.
func cases(firstVersion string) []request {
	var out []request
	get := func(category, target string, leaks bool, patient compare) {
		out = append(out, request{category: category, method: http.MethodGet, target: target, leaks: leaks, patient: patient})
	}
	// Reads: every type, another patient's; the own and the shared.
	for _, id := range p3Ids {
		get("read", id, true, noneAllowed)
	}
	get("read", "Patient/p2", true, noneAllowed)
	get("read", "Observation/obs-p2-1", true, noneAllowed)
	get("read", "Patient/p1", false, exact)
	get("read", "Observation/obs-p1-2", false, exact)
	get("read", "Practitioner/dr1", false, exact)
	get("read", "Observation/does-not-exist", false, exact)

	// Searches: every type unconstrained, and parameters naming others.
	for _, t := range careConnectTypes {
		get("search", t, true, exact)
	}
	get("search", "Observation?patient=Patient/p2", true, noneAllowed)
	get("search", "Observation?subject=Patient/p2", true, noneAllowed)
	get("search", "Observation?patient=Patient/p1,Patient/p2", true, subset)
	get("search", "Observation?_id=obs-p2-1", true, exact)
	get("search", "Observation?_id=obs-p1-1,obs-p3-1", true, exact)
	get("search", "Observation?status=final", true, exact)
	get("search", "Patient?_id=p2", true, noneAllowed)
	get("search", "Patient?family=Family2", true, exact)
	get("search", "Immunization?patient=Patient/p1", false, exact)
	get("search", "Observation?_summary=count", true, exact)
	get("search", "Condition?_total=accurate&_count=1", true, ownPages)

	// _include: the included patient of every match, shared targets.
	get("include", "Observation?_include=Observation:subject", true, exact)
	get("include", "Observation?_include=Observation:patient", true, exact)
	get("include", "Observation?_include=Observation:performer", true, exact)
	get("include", "Encounter?_include=Encounter:subject&_include=Encounter:service-provider", true, exact)
	get("include", "Condition?_include=Condition:patient", true, exact)
	get("include", "Observation?_id=obs-p2-1&_include=Observation:subject", true, exact)
	get("include", "Observation?_id=obs-p1-1&_include=Observation:subject", false, exact)

	// _revinclude: from the patient, and from shared resources back into
	// every patient's records.
	get("revinclude", "Patient?_revinclude=Observation:subject", true, exact)
	get("revinclude", "Patient?_revinclude=Immunization:patient&_revinclude=AllergyIntolerance:patient", true, exact)
	get("revinclude", "Practitioner?_revinclude=Observation:performer", true, subset)
	get("revinclude", "Organization?_revinclude=Encounter:service-provider", true, subset)
	get("revinclude", "Practitioner?_revinclude=Patient:general-practitioner", true, subset)
	get("revinclude", "Patient?_id=p1&_revinclude=Observation:subject", false, exact)

	// Chains: through the patient reference into another patient's
	// demographics, and through a shared resource.
	get("chain", "Observation?subject:Patient.family=Family2", true, noneAllowed)
	get("chain", "Observation?patient.family=Family3", true, noneAllowed)
	get("chain", "Encounter?patient.name=Family2", true, noneAllowed)
	get("chain", "Immunization?patient._id=p2", true, noneAllowed)
	get("chain", "Observation?performer:Practitioner.family=Shared", true, subset)
	get("chain", "Observation?subject:Patient.family=Family1", false, subset)
	get("chain", "Encounter?service-provider:Organization.name=Shared", true, subset)

	// Batches and transactions of reads and searches.
	entries := []string{"Patient/p2", "Observation/obs-p2-1", "Observation?patient=Patient/p3",
		"Observation?_include=Observation:subject", "Practitioner?_revinclude=Observation:performer",
		"Patient/p1", "Observation/obs-p1-1/_history"}
	for _, kind := range []string{"batch", "transaction"} {
		out = append(out,
			request{category: kind, method: http.MethodPost, target: "", body: bundle(kind, entries...), leaks: true, patient: subset},
			request{category: kind, method: http.MethodPost, target: "", body: bundle(kind, p3Ids...), leaks: true, patient: noneAllowed},
			request{category: kind, method: http.MethodPost, target: "", body: bundle(kind, "Patient/p1", "Observation?patient=Patient/p1", "Practitioner/dr1"), patient: exact},
			// POST [base]/ (trailing slash), as fhir-kit-client sends batches.
			request{category: kind, method: http.MethodPost, target: "/", body: bundle(kind, entries...), leaks: true, patient: subset},
		)
	}

	// History: another patient's instance and version, the own.
	get("history", "Observation/obs-p2-1/_history", true, noneAllowed)
	get("history", "Observation/obs-p2-1/_history/"+firstVersion, true, noneAllowed)
	get("history", "Patient/p2/_history", true, noneAllowed)
	get("history", "Immunization/imm-p3/_history", true, noneAllowed)
	get("history", "Observation/obs-p1-1/_history", false, exact)

	// Paging links: pages of unnarrowed searches as the upstream links them.
	get("paging", "Observation?_count=2&_offset=2", true, ownPages)
	get("paging", "Observation?_count=2&_offset=4", true, ownPages)
	get("paging", "Patient?_count=1&_offset=1", true, ownPages)
	get("paging", "Observation?_include=Observation:subject&_count=2&_offset=4", true, ownPages)
	return out
}

// bundle is a batch or transaction Bundle of GETs.
func bundle(kind string, urls ...string) string {
	entries := make([]any, len(urls))
	for i, u := range urls {
		entries[i] = map[string]any{"request": map[string]any{"method": "GET", "url": u}}
	}
	b, _ := json.Marshal(map[string]any{"resourceType": "Bundle", "type": kind, "entry": entries})
	return string(b)
}

// bundleSummary names a Bundle body by its type and entry URLs.
func bundleSummary(body string) string {
	var b struct {
		Type  string `json:"type"`
		Entry []struct {
			Request struct {
				URL string `json:"url"`
			} `json:"request"`
		} `json:"entry"`
	}
	if json.Unmarshal([]byte(body), &b) != nil {
		return "(not a Bundle)"
	}
	urls := make([]string, len(b.Entry))
	for i, e := range b.Entry {
		urls[i] = e.Request.URL
	}
	return fmt.Sprintf("%s[%s]", b.Type, strings.Join(urls, " "))
}

func sorted(s []string) []string {
	slices.Sort(s)
	return s
}
