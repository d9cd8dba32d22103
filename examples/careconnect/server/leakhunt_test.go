package server_test

// A seeded read leak hunt against careconnect as a whole: fhirwarden's
// decisions applied inside the server, by its own store and query engine.
// A grammar fitted to the parameters the store supports writes a few
// hundred hostile GETs (searches, reads, vreads, histories, compartment
// searches, $everything, path tricks), POST _search requests and
// batch/transaction Bundles of GET entries; each is sent with two
// patient-context tokens (v1 and v2 scopes) and a v2 constrained user
// token. Every resource of every 2xx answer (Bundles walked recursively,
// next links followed) is judged by an oracle written here, independent
// of fhirauth, by the returned content and by the stored version of the
// same id and versionId; every searchset total must not exceed what the
// token may see. Before the hunt some resources are moved across the
// tokens' limits (another patient, another category) so that their
// histories hold versions a token may not see. The same request sent with
// a user/*.rs token shows whether it reached forbidden data at all, so
// the floors prove the hunt provoked something.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/server"
	"github.com/fhirwarden/fhirwarden/internal/logbuf"
)

// huntClients are the clients of the leak hunt; every secret is "s3cret".
const huntClients = `[
 {"client_id":"hunt-pv2","client_secret":"s3cret","scope":"patient/*.rs","patient":"1"},
 {"client_id":"hunt-pv1","client_secret":"s3cret","scope":"patient/*.read","patient":"1"},
 {"client_id":"hunt-lab","client_secret":"s3cret","scope":"user/Observation.rs?category=laboratory user/Patient.rs"},
 {"client_id":"hunt-labsys","client_secret":"s3cret","scope":"user/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory"},
 {"client_id":"hunt-all","client_secret":"s3cret","scope":"user/*.rs"},
 {"client_id":"hunt-admin","client_secret":"s3cret","scope":"user/*.cruds"}
]`

// huntTypes are the types the sample data holds or the server knows.
var huntTypes = []string{"Patient", "Observation", "Encounter", "Condition", "Procedure", "AllergyIntolerance",
	"MedicationRequest", "MedicationStatement", "Immunization", "Practitioner", "Organization", "Location", "Medication"}

// huntParams mirrors the store's search parameters (and some it refuses).
var huntParams = map[string][]string{
	"Patient":             {"identifier", "name", "family", "given", "gender", "birthdate", "link", "general-practitioner", "organization"},
	"Observation":         {"identifier", "patient", "subject", "category", "code", "status", "encounter", "performer"},
	"Encounter":           {"identifier", "patient", "subject", "status", "class", "type"},
	"Condition":           {"identifier", "patient", "subject", "category", "code", "clinical-status", "asserter", "encounter"},
	"Procedure":           {"identifier", "patient", "subject", "category", "code", "status", "performer", "encounter"},
	"AllergyIntolerance":  {"identifier", "patient", "category", "code", "clinical-status", "criticality", "type", "recorder", "asserter"},
	"MedicationRequest":   {"identifier", "patient", "subject", "category", "code", "status", "intent", "encounter"},
	"MedicationStatement": {"identifier", "patient", "subject", "category", "code", "status", "source"},
	"Immunization":        {"identifier", "patient", "vaccine-code", "status", "performer"},
	"Practitioner":        {"identifier", "name"},
	"Organization":        {"identifier", "name"},
	"Location":            {"identifier", "name"},
	"Medication":          {"code"},
}

var (
	huntRefs = []string{"1", "2", "3", "Patient/1", "Patient/2", "Patient/3", "1,2", "2,1", "Patient/1,Patient/2",
		"Patient/2/_history/1", "http://elsewhere.example/fhir/Patient/2", "Group/2", "gp-1", "Practitioner/gp-1",
		"Organization/org-1", "enc-2", "Encounter/enc-2", "Encounter/enc-1", "2\\,1", "", "Patient/", "patient/2"}
	huntTokens = []string{"laboratory", "vital-signs", "|laboratory", "http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
		"http://hl7.org/fhir/observation-category|vital-signs", "laboratory,vital-signs", "8867-4", "http://loinc.org|8867-4",
		"9990000018", "9990000026", "https://fhir.nhs.uk/Id/nhs-number|9990000034", "final", "female", "male", "active",
		"medication", "1968-03-14", "1975-11-02", "364075005", "27113001", "problem-list-item", "true", "x|"}
	huntStrings = []string{"Smith", "Jones", "sm", "Oliver", "priya", "a", "Patel", "Amelia Jones", "%", "*"}
	huntIDs     = []string{"1", "2", "3", "obs-lab-1", "obs-lab-2", "obs-vital-1", "obs-vital-3", "enc-2", "cond-3",
		"proc-2", "allergy-3", "medreq-2", "medstmt-3", "imm-2", "gp-1", "org-1", "nope", "obs-lab-1,obs-lab-2",
		"obs-vital-2", "cond-1", "obs-lab-3", "imm-1", "obs-vital-2,obs-lab-1", "obs-elsewhere-1"}
	huntModifiers = []string{"Patient", "exact", "contains", "missing", "not", "Group", "Practitioner", "Encounter", "text", "below", "identifier"}
)

// huntGen writes hostile requests from a seeded source.
type huntGen struct {
	r    *rand.Rand
	base string
}

func (g *huntGen) pick(list []string) string { return list[g.r.IntN(len(list))] }

// typ picks a resource type, two times in three Patient or Observation,
// the types the constrained clients are granted (so that answers hold
// resources to judge).
func (g *huntGen) typ() string {
	if g.r.IntN(3) > 0 {
		return g.pick([]string{"Patient", "Observation", "Observation"})
	}
	return g.pick(huntTypes)
}

type huntRequest struct {
	method, path, contentType, body string
}

// next returns one request: a GET, a POST _search or a Bundle of GETs.
func (g *huntGen) next() huntRequest {
	switch n := g.r.IntN(10); {
	case n < 6:
		return huntRequest{method: http.MethodGet, path: "/" + g.getPath()}
	case n < 8:
		typ := g.typ()
		form := g.query(typ)
		path := "/" + typ + "/_search"
		if g.r.IntN(3) == 0 {
			path += "?" + g.query(typ)
		}
		return huntRequest{method: http.MethodPost, path: path, contentType: "application/x-www-form-urlencoded", body: form}
	default:
		return huntRequest{method: http.MethodPost, path: "", contentType: "application/fhir+json", body: g.bundle()}
	}
}

// getPath is a relative URL: a search, read, vread, history, compartment
// search or $everything.
func (g *huntGen) getPath() string {
	typ := g.typ()
	id := g.pick(huntIDs)
	switch n := g.r.IntN(14); {
	case n < 6:
		return typ + "?" + g.query(typ)
	case n > 11:
		return typ
	case n == 6:
		return typ + "/" + id
	case n == 7:
		return typ + "/" + id + "/_history/" + g.pick([]string{"1", "2", "0"})
	case n == 8:
		return typ + "/" + id + "/_history"
	case n == 9:
		return "Patient/" + g.pick([]string{"1", "2", "3"}) + "/" + typ + "?" + g.query(typ)
	case n == 10:
		return "Patient/" + g.pick([]string{"1", "2", "3"}) + "/$everything"
	default:
		return g.pathTrick(typ, id)
	}
}

// pathTrick is a path a router or a policy might read differently:
// encoded slashes, dot segments, empty segments, matrix parameters,
// letter case, and a compartment path with an id below it.
func (g *huntGen) pathTrick(typ, id string) string {
	return g.pick([]string{
		typ,
		typ + "/" + id + "/",
		typ + "%2F" + id,
		"Patient%2F2/" + typ,
		"Patient/1/../2/" + typ,
		"Patient/1/%2E%2E/2",
		typ + "//" + id,
		typ + "/" + id + ";x=1",
		strings.ToLower(typ) + "/" + id,
		"Patient/1/" + typ + "/" + id,
		"Patient/2/" + typ + "/" + id,
		typ + "/" + id + "/_history/1/",
		typ + "/" + id + "/_history/%31",
		"Patient/1%2C2/" + typ,
		"Patient/%31/$everything",
		"Patient/1/$everything?_count=1",
		"Patient/1/$everything?patient=2",
		typ + "/_search?" + g.query(typ),
		"?_type=" + typ,
		"_history",
		typ + "/_history",
	})
}

// query writes 0-3 search parameters (most often one), with result
// parameters mixed in.
func (g *huntGen) query(typ string) string {
	var parts []string
	for range g.pick([]string{"0", "1", "1", "1", "2", "2", "3"})[0] - '0' {
		name, value := g.param(typ)
		parts = append(parts, g.encode(name)+"="+g.encode(value))
	}
	return strings.Join(parts, "&")
}

// encode percent-encodes a name or value, and sometimes leaves it raw or
// encodes it twice.
func (g *huntGen) encode(s string) string {
	switch g.r.IntN(16) {
	case 0, 1:
		return s
	case 2:
		return url.QueryEscape(url.QueryEscape(s))
	default:
		return url.QueryEscape(s)
	}
}

func (g *huntGen) param(typ string) (string, string) {
	switch n := g.r.IntN(14); {
	case n < 6 && len(huntParams[typ]) > 0:
		name := g.pick(huntParams[typ])
		if g.r.IntN(5) == 0 {
			name += ":" + g.pick(huntModifiers)
		}
		return g.caseOf(name), g.value(name)
	case n < 8:
		return "_id", g.pick(huntIDs)
	case n == 8:
		return "_include", typ + ":" + g.pick([]string{"patient", "subject", "subject:Patient", "performer", "encounter", "asserter", "*", "source", "link"})
	case n == 9:
		return "_revinclude", g.pick(huntTypes) + ":" + g.pick([]string{"patient", "subject", "performer", "asserter", "recorder", "source", "link", "*", "subject:" + typ})
	case n == 10:
		return g.pick([]string{"_count", "_offset"}), g.pick([]string{"0", "1", "2", "5", "100", "-1"})
	case n == 11:
		return g.pick([]string{"_summary", "_total", "_format", "_elements", "_sort", "_pretty"}),
			g.pick([]string{"count", "true", "false", "accurate", "json", "subject", "id", "data"})
	case n == 12:
		return g.pick([]string{"_has:Observation:patient:code", "subject.name", "patient.identifier", "_list", "_type"}), g.pick(huntStrings)
	default:
		return g.pick([]string{"patient", "subject", "PATIENT", "Patient", "patient:Patient", "subject:Patient"}), g.pick(huntRefs)
	}
}

func (g *huntGen) caseOf(name string) string {
	if g.r.IntN(10) == 0 {
		return strings.ToUpper(name)
	}
	return name
}

func (g *huntGen) value(name string) string {
	name, _, _ = strings.Cut(name, ":")
	switch name {
	case "patient", "subject", "encounter", "performer", "asserter", "recorder", "source", "link":
		return g.pick(huntRefs)
	case "name", "family", "given":
		return g.pick(huntStrings)
	}
	return g.pick(huntTokens)
}

// bundle is a batch (sometimes a transaction) of 1-4 GET entries.
func (g *huntGen) bundle() string {
	typ := "batch"
	if g.r.IntN(4) == 0 {
		typ = "transaction"
	}
	var entries []any
	for range 1 + g.r.IntN(4) {
		u := g.getPath()
		switch g.r.IntN(20) {
		case 0:
			u = g.base + "/" + u
		case 1:
			u = g.pick([]string{"/fhir/", "./", "http://elsewhere.example/fhir/", g.base + "/../fhir/"}) + u
		case 2:
			u += "#" + g.pick(huntIDs)
		}
		entries = append(entries, map[string]any{"request": map[string]any{"method": "GET", "url": u}})
	}
	b, _ := json.Marshal(map[string]any{"resourceType": "Bundle", "type": typ, "entry": entries})
	return string(b)
}

// huntOracle says whether a client may see a resource (nil) or why not.
type huntOracle func(doc map[string]any) error

// owner returns the patient a resource belongs to: the Patient's own id,
// or the patient its subject or patient element refers to.
func huntOwner(doc map[string]any) string {
	if doc["resourceType"] == "Patient" {
		id, _ := doc["id"].(string)
		return id
	}
	for _, k := range []string{"subject", "patient"} {
		if m, ok := doc[k].(map[string]any); ok {
			if ref, _ := m["reference"].(string); strings.HasPrefix(ref, "Patient/") {
				return strings.TrimPrefix(ref, "Patient/")
			}
			return "?" // a reference to something else: nobody's to see
		}
	}
	return ""
}

// huntPatientOracle: the patient's compartment and the shared types.
func huntPatientOracle(patient string) huntOracle {
	return func(doc map[string]any) error {
		switch doc["resourceType"] {
		case "Practitioner", "Organization":
			return nil
		}
		if o := huntOwner(doc); o != patient {
			return fmt.Errorf("belongs to %q, not Patient/%s", o, patient)
		}
		return nil
	}
}

// huntLabOracle: laboratory Observations (of the code system, when
// system is not empty), and any Patient when patients is set.
func huntLabOracle(system string, patients bool) huntOracle {
	return func(doc map[string]any) error {
		switch doc["resourceType"] {
		case "Patient":
			if patients {
				return nil
			}
		case "Observation":
			cats, _ := doc["category"].([]any)
			for _, c := range cats {
				cm, _ := c.(map[string]any)
				codings, _ := cm["coding"].([]any)
				for _, cd := range codings {
					m, _ := cd.(map[string]any)
					if m["code"] == "laboratory" && (system == "" || m["system"] == system) {
						return nil
					}
				}
			}
			return fmt.Errorf("category %v is not %s|laboratory", doc["category"], system)
		}
		return fmt.Errorf("type %v is not granted", doc["resourceType"])
	}
}

// huntClient is a token under test and what it may see.
type huntClient struct {
	name, token string
	may         huntOracle
}

// huntRun holds the server, the reference token and the stored data.
type huntRun struct {
	a      *attackServer
	all    string
	stored map[string]map[string]any // "Type/id" -> stored resource (current version)
	// versions holds every stored version: "Type/id/_history/N".
	versions map[string]map[string]any
}

func TestCareConnectReadLeakHunt(t *testing.T) {
	if testing.Short() {
		t.Skip("leak hunt")
	}
	seed := uint64(1)
	if s := os.Getenv("CARECONNECT_LEAKHUNT_SEED"); s != "" {
		var err error
		seed, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "CARECONNECT_LEAKHUNT_SEED")
	}
	t.Logf("seed %d (replay: CARECONNECT_LEAKHUNT_SEED=%d go test -run TestCareConnectReadLeakHunt ./examples/careconnect/server)", seed, seed)
	for i, version := range []string{"STU3", "R4"} {
		t.Run(version, func(t *testing.T) { huntVersion(t, version, seed+uint64(i), 300) })
	}
}

func huntVersion(t *testing.T, version string, seed uint64, n int) {
	started := time.Now()
	a := startHunt(t, huntClients, version)
	h := &huntRun{a: a, all: a.token(t, "hunt-all", "")}
	h.seed(t, a.token(t, "hunt-admin", ""))
	h.load(t)
	clients := []huntClient{
		{"patient/*.rs Patient/1", a.token(t, "hunt-pv2", ""), huntPatientOracle("1")},
		{"patient/*.read Patient/1", a.token(t, "hunt-pv1", ""), huntPatientOracle("1")},
		{"user/Observation.rs?category=laboratory user/Patient.rs", a.token(t, "hunt-lab", ""), huntLabOracle("", true)},
		{"user/Observation.rs?category=(R4 system)|laboratory", a.token(t, "hunt-labsys", ""),
			huntLabOracle("http://terminology.hl7.org/CodeSystem/observation-category", false)},
	}
	g := &huntGen{r: rand.New(rand.NewPCG(seed, 0x1ea4)), base: a.s.BaseURL()}
	var sent, answered, withEntries, denied, rejected, provoked int
	for range n {
		req := g.next()
		ref := h.send(t, req, h.all)
		for _, c := range clients {
			sent++
			if ref.status < 300 && h.forbiddenIn(ref, c.may) {
				provoked++
			}
			r := h.send(t, req, c.token)
			switch {
			case r.status < 300:
				answered++
				if h.judge(t, c, req, r, 0) > 0 {
					withEntries++
				}
			case r.status == 401 || r.status == 403 || r.status == 404:
				denied++
			case r.status < 500:
				rejected++
			default:
				t.Errorf("%s %s %s: status %d: %.300s", c.name, req.method, req.path, r.status, r.body)
			}
		}
	}
	t.Logf("%s: %d requests: %d answered (%d with resources), %d denied (401/403/404), %d rejected (other 4xx); "+
		"%d where the user/*.rs answer held resources the token may not see; %v",
		version, sent, answered, withEntries, denied, rejected, provoked, time.Since(started).Round(time.Millisecond))
	assert.GreaterOrEqual(t, withEntries*100, sent*10, "at least 10 percent of the requests answered with resources")
	assert.GreaterOrEqual(t, provoked*100, sent*10, "at least 10 percent of the requests reached forbidden data with user/*.rs")
}

// load reads every stored resource with the user/*.rs token.
func (h *huntRun) load(t *testing.T) {
	h.stored = map[string]map[string]any{}
	for _, typ := range huntTypes {
		r := h.a.do(t, http.MethodGet, "/"+typ+"?_count=100", h.all, "", "")
		require.Equal(t, http.StatusOK, r.status, "%s: %s", typ, r.body)
		entries, _ := r.doc["entry"].([]any)
		for _, e := range entries {
			res, _ := e.(map[string]any)["resource"].(map[string]any)
			h.stored[fmt.Sprintf("%v/%v", res["resourceType"], res["id"])] = res
		}
	}
	require.GreaterOrEqual(t, len(h.stored), 30, "the sample data is loaded")
	h.versions = map[string]map[string]any{}
	keys := []string{"Immunization/imm-1"} // deleted: no search finds it
	for key := range h.stored {
		keys = append(keys, key)
	}
	for _, key := range keys {
		r := h.a.do(t, http.MethodGet, "/"+key+"/_history", h.all, "", "")
		require.Equal(t, http.StatusOK, r.status, "%s: %s", key, r.body)
		for _, res := range huntAnswer(r).resources {
			h.versions[key+"/_history/"+huntVersionID(res)] = res
		}
	}
	require.Greater(t, len(h.versions), len(h.stored), "the moved resources have history")
}

// huntVersionID is a resource's meta.versionId.
func huntVersionID(doc map[string]any) string {
	meta, _ := doc["meta"].(map[string]any)
	v, _ := meta["versionId"].(string)
	return v
}

// seed gives resources a history that crosses the tokens' limits: an
// Observation moved into Patient/1's compartment and a Condition moved
// out of it, laboratory and vital-signs Observations swapping category,
// a deleted Immunization of Patient/1, and an Observation about another
// server's Patient/1 (an absolute reference). A version the token may not
// see must not come out through vread, history or a search.
func (h *huntRun) seed(t *testing.T, admin string) {
	get := func(key string) map[string]any {
		r := h.a.do(t, http.MethodGet, "/"+key, admin, "", "")
		require.Equal(t, http.StatusOK, r.status, "%s: %s", key, r.body)
		return r.doc
	}
	put := func(key string, doc map[string]any) {
		delete(doc, "meta")
		doc["id"] = key[strings.Index(key, "/")+1:]
		b, err := json.Marshal(doc)
		require.NoError(t, err)
		r := h.a.do(t, http.MethodPut, "/"+key, admin, "application/fhir+json", string(b))
		require.Contains(t, []int{http.StatusOK, http.StatusCreated}, r.status, "%s: %s", key, r.body)
	}
	lab, vital := get("Observation/obs-lab-1")["category"], get("Observation/obs-vital-1")["category"]
	moved := get("Observation/obs-vital-2")
	moved["subject"] = map[string]any{"reference": "Patient/1"}
	put("Observation/obs-vital-2", moved)
	out := get("Condition/cond-1")
	out["subject"] = map[string]any{"reference": "Patient/2"}
	put("Condition/cond-1", out)
	toVital := get("Observation/obs-lab-3")
	toVital["category"] = vital
	put("Observation/obs-lab-3", toVital)
	toLab := get("Observation/obs-vital-3")
	toLab["category"] = lab
	put("Observation/obs-vital-3", toLab)
	elsewhere := get("Observation/obs-lab-1")
	elsewhere["subject"] = map[string]any{"reference": "http://elsewhere.example/fhir/Patient/1"}
	put("Observation/obs-elsewhere-1", elsewhere)
	r := h.a.do(t, http.MethodDelete, "/Immunization/imm-1", admin, "", "")
	require.Less(t, r.status, 300, "delete: %s", r.body)
}

func (h *huntRun) send(t *testing.T, req huntRequest, tok string) reply {
	t.Helper()
	return h.a.do(t, req.method, req.path, tok, req.contentType, req.body)
}

// huntFound is what an answer holds: its resources (Bundles walked
// recursively: a batch answer holds searchset Bundles), the next links and
// the totals of its searchset Bundles.
type huntFound struct {
	resources []map[string]any
	next      []string
	totals    []huntTotal
}

// huntTotal is a searchset Bundle's total and the type its self link
// searched.
type huntTotal struct {
	typ   string
	total int
}

func (f *huntFound) walk(doc map[string]any) {
	if doc == nil {
		return
	}
	if doc["resourceType"] != "Bundle" {
		f.resources = append(f.resources, doc)
		return
	}
	ls, _ := doc["link"].([]any)
	for _, l := range ls {
		m, _ := l.(map[string]any)
		u, _ := m["url"].(string)
		switch m["relation"] {
		case "next":
			f.next = append(f.next, u)
		case "self":
			total, ok := doc["total"].(float64)
			if p, err := url.Parse(u); ok && err == nil && doc["type"] == "searchset" {
				f.totals = append(f.totals, huntTotal{typ: p.Path[strings.LastIndex(p.Path, "/")+1:], total: int(total)})
			}
		}
	}
	entries, _ := doc["entry"].([]any)
	for _, e := range entries {
		em, _ := e.(map[string]any)
		if res, ok := em["resource"].(map[string]any); ok {
			f.walk(res)
		}
	}
}

func huntAnswer(r reply) huntFound {
	var f huntFound
	f.walk(r.doc)
	return f
}

// forbiddenIn reports whether an answer holds a resource may refuses.
func (h *huntRun) forbiddenIn(r reply, may huntOracle) bool {
	for _, res := range huntAnswer(r).resources {
		if res["resourceType"] != "OperationOutcome" && may(res) != nil {
			return true
		}
	}
	return false
}

// visibleOf counts the stored resources of a type the client may see (of
// every type for an operation such as $everything): no search total may
// exceed it.
func (h *huntRun) visibleOf(typ string, may huntOracle) int {
	n := 0
	for _, doc := range h.stored {
		if (doc["resourceType"] == typ || strings.HasPrefix(typ, "$")) && may(doc) == nil {
			n++
		}
	}
	return n
}

// judge checks every resource of a 2xx answer by its content and by the
// stored resource of its id, and every searchset total against what the
// client may see; it follows next links (up to three pages) and returns
// how many resources the answer held.
func (h *huntRun) judge(t *testing.T, c huntClient, req huntRequest, r reply, depth int) int {
	t.Helper()
	f := huntAnswer(r)
	n := 0
	for _, res := range f.resources {
		if res["resourceType"] == "OperationOutcome" {
			continue
		}
		n++
		key := fmt.Sprintf("%v/%v/_history/%s", res["resourceType"], res["id"], huntVersionID(res))
		stored, ok := h.versions[key]
		if !assert.True(t, ok, "%s: %s %s returned %s, which is not stored", c.name, req.method, req.path, key) {
			continue
		}
		for what, doc := range map[string]map[string]any{"returned": res, "stored version": stored} {
			if err := c.may(doc); err != nil {
				t.Errorf("LEAK %s: %s %s %s returned %s (%s: %v)", c.name, req.method, req.path, req.body, key, what, err)
			}
		}
	}
	for _, tot := range f.totals {
		if limit := h.visibleOf(tot.typ, c.may); tot.total > limit {
			t.Errorf("LEAK %s: %s %s %s: total %d for %s, but the token may see %d", c.name, req.method, req.path, req.body, tot.total, tot.typ, limit)
		}
	}
	for _, next := range f.next {
		if !assert.True(t, strings.HasPrefix(next, h.a.s.BaseURL()+"/"), "%s: next link %q leaves the base", c.name, next) || depth >= 3 {
			continue
		}
		page := h.a.do(t, http.MethodGet, next, c.token, "", "")
		if page.status < 300 {
			n += h.judge(t, c, huntRequest{method: http.MethodGet, path: next}, page, depth+1)
		}
	}
	return n
}

// startHunt starts careconnect with a -clients file, for a FHIR version.
func startHunt(t *testing.T, clients, version string) *attackServer {
	t.Helper()
	file := filepath.Join(t.TempDir(), "clients.json")
	require.NoError(t, os.WriteFile(file, []byte(clients), 0o600))
	cfg, err := server.ParseArgs([]string{"-addr", "127.0.0.1:0", "-clients", file, "-fhir-version", version}, io.Discard)
	require.NoError(t, err)
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := server.Start(context.Background(), cfg, io.Discard)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return &attackServer{s: s, logs: &logbuf.Buffer{}}
}
