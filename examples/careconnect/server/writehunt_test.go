package server_test

// A seeded hunt for write hijacks against careconnect as a whole: the
// middleware's decision applied inside the server by its access layer and
// its own store. Generated hostile writes (creates, updates of own, other,
// new and case-variant ids, JSON Patches, deletes, conditional creates,
// updates and deletes, method overrides, batches and transactions with
// urn:uuid references, bodies naming other patients in many spellings)
// are sent with write tokens of the embedded issuer; after each one the
// whole store is read with a system token and compared with the store
// before: every resource created, changed or deleted must have been the
// token's to write, as it was and as it is now. Then transactions whose
// entries link to each other (writehuntlinked_test.go) are sent with a
// patient token, a laboratory token and a system/*.cruds control, and
// each is judged whole as well: a transaction answered other than 2xx
// leaves the store as it was.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/fhir/go/fhirversion"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/server"
	"github.com/fhirwarden/fhirwarden/internal/hunt"
	"github.com/fhirwarden/fhirwarden/internal/logbuf"
)

// writeHuntSeed makes the generated writes the same on every run;
// WRITEHUNT_SEED replays another sequence.
const writeHuntSeed = 20261207

// whVerbose logs every write, its answer and what it changed.
var whVerbose = os.Getenv("WRITEHUNT_VERBOSE") != ""

// writeHuntClients are the clients of the hunt; every secret is "s3cret".
const writeHuntClients = `[
 {"client_id":"pw","client_secret":"s3cret","scope":"patient/*.cruds","patient":"1"},
 {"client_id":"labw","client_secret":"s3cret","scope":"user/Observation.cruds?category=laboratory user/Patient.rs"},
 {"client_id":"plabw","client_secret":"s3cret","scope":"patient/Observation.cruds?category=laboratory patient/Patient.rs","patient":"1"},
 {"client_id":"obsw","client_secret":"s3cret","scope":"user/Observation.cruds user/Patient.rs"},
 {"client_id":"sys","client_secret":"s3cret","scope":"system/*.rs"},
 {"client_id":"sysw","client_secret":"s3cret","scope":"system/*.cruds"}
]`

// whPatient is the patient of the patient-context clients.
const whPatient = "1"

// whTypes are the types read back from the store after each write.
var whTypes = []string{"Patient", "Observation", "Encounter", "Condition", "Procedure", "AllergyIntolerance",
	"MedicationRequest", "MedicationStatement", "Immunization", "Practitioner", "Organization"}

// whCompartment are, per type, the top-level elements through which a
// resource is in a patient's compartment (FHIR STU3 CompartmentDefinition
// patient, which careconnect serves by default).
var whCompartment = map[string][]string{
	"Patient":             {"link"},
	"Observation":         {"subject", "performer"},
	"Encounter":           {"subject"},
	"Condition":           {"subject", "asserter"},
	"Procedure":           {"subject", "performer"},
	"AllergyIntolerance":  {"patient", "recorder", "asserter"},
	"MedicationRequest":   {"subject"},
	"MedicationStatement": {"subject", "informationSource"},
	"Immunization":        {"patient"},
}

// whOthersMarkers are strings of the records of sample patients 2 and 3
// that no generated body holds: a patient-context answer may not hold them.
var whOthersMarkers = []string{"Oliver", "Priya", "9990000026", "9990000034", "Manchester", "Birmingham"}

// whPrincipal is a token and what it may write.
type whPrincipal struct {
	client string
	token  string
	within func(r map[string]any) (bool, string)
	// obsOnly: it writes Observations only (the generator mostly
	// draws those); markers may not appear in any answer.
	obsOnly bool
	markers []string
}

// TestWriteHunt sends generated hostile writes with write tokens of the
// embedded issuer and checks, in the store, that nothing outside each
// token's rights was created, changed or deleted.
func TestWriteHunt(t *testing.T) {
	s := uint64(writeHuntSeed)
	if v := os.Getenv("WRITEHUNT_SEED"); v != "" {
		var err error
		s, err = strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, "WRITEHUNT_SEED")
	}
	n := 100
	if v := os.Getenv("WRITEHUNT_WRITES"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(t, err, "WRITEHUNT_WRITES")
	}
	a := startWriteHunt(t, os.Getenv("WRITEHUNT_FHIR"))
	sys := a.token(t, "sys", "")
	t.Logf("write hunt seed %d (replay: WRITEHUNT_SEED=%d go test -run TestWriteHunt -v ./examples/careconnect/server)", s, s)
	g := &whGen{r: rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15)), base: a.s.BaseURL()}
	inCompartment := func(r map[string]any) (bool, string) { return whInCompartment(r) }
	principals := []whPrincipal{
		{client: "pw", within: inCompartment, markers: whOthersMarkers},
		{client: "labw", within: hunt.IsLaboratory, obsOnly: true},
		{client: "plabw", obsOnly: true, markers: whOthersMarkers, within: func(r map[string]any) (bool, string) {
			if ok, why := whInCompartment(r); !ok {
				return false, why
			}
			return hunt.IsLaboratory(r)
		}},
		{client: "obsw", within: hunt.IsObservation, obsOnly: true},
	}
	g.setTemplates(whReadStore(t, a, sys))
	for _, p := range principals {
		t.Run(p.client, func(t *testing.T) {
			p.token = a.token(t, p.client, "")
			c := whRun(t, a, sys, g, p, n)
			t.Logf("%d writes; by status %v; allowed %d, denied %d; changed the store %d; per shape %v; entries by status %v",
				c.total, c.byStatus, c.allowed, c.total-c.allowed, c.changed, c.byShape, c.entries)
			require.GreaterOrEqual(t, c.allowed, n/10, "too few allowed writes for the invariant to mean anything")
			require.GreaterOrEqual(t, c.changed, n/10, "too few writes changed the store")
		})
	}
	m := 20
	if v := os.Getenv("WRITEHUNT_TRANSACTIONS"); v != "" {
		var err error
		m, err = strconv.Atoi(v)
		require.NoError(t, err, "WRITEHUNT_TRANSACTIONS")
	}
	whLinkedRun(t, a, sys, g, s, m)
}

// startWriteHunt starts careconnect with the hunt's clients, serving FHIR
// version: STU3 (also when "") or R4.
func startWriteHunt(t *testing.T, version string) *attackServer {
	t.Helper()
	if version == "" || version == "STU3" {
		return startAttack(t, writeHuntClients)
	}
	require.Equal(t, "R4", version, "WRITEHUNT_FHIR is STU3 (by default) or R4")
	file := filepath.Join(t.TempDir(), "clients.json")
	require.NoError(t, os.WriteFile(file, []byte(writeHuntClients), 0o600))
	logs := &logbuf.Buffer{}
	s, err := server.Start(context.Background(), server.Config{Addr: "127.0.0.1:0", ClientsFile: file, FHIRVersion: fhirversion.R4,
		Logger: slog.New(slog.NewJSONHandler(logs, nil))}, io.Discard)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return &attackServer{s: s, logs: logs}
}

// whCounts are the results of one principal's writes.
type whCounts struct {
	total, allowed, changed int
	byStatus                map[int]int
	byShape                 map[string]map[string]int
	entries                 map[string]int
}

// whRun generates and checks n writes with p's token.
func whRun(t *testing.T, a *attackServer, sys string, g *whGen, p whPrincipal, n int) whCounts {
	c := whCounts{byStatus: map[int]int{}, byShape: map[string]map[string]int{}, entries: map[string]int{}}
	before := whReadStore(t, a, sys)
	failures := 0
	for i := range n {
		g.state, g.within, g.obsOnly = before, p.within, p.obsOnly
		w := g.write()
		r := a.whSend(t, w, p.token)
		after := whReadStore(t, a, sys)
		c.total++
		c.byStatus[r.status]++
		verdict := "denied"
		if r.status/100 == 2 {
			c.allowed++
			verdict = "2xx"
		}
		if c.byShape[w.shape] == nil {
			c.byShape[w.shape] = map[string]int{}
		}
		c.byShape[w.shape][verdict]++
		if w.bundle {
			for _, st := range hunt.EntryStatuses(r.body) {
				c.entries[st]++
			}
		}
		changed := hunt.ChangedKeys(before, after)
		if whVerbose {
			t.Logf("write %d (%s) %s %s %v %s\n-> %d %.400s; changed %v", i, w.shape, w.method, w.target, w.headers, w.body, r.status, r.body, changed)
		}
		if len(changed) > 0 {
			c.changed++
		}
		if problems := whCheck(p, before, after, changed, r, w); len(problems) > 0 {
			failures++
			t.Errorf("HIJACK? write %d (%s) %s %s\nheaders %v\nbody %s\n-> %d %.600s\nproblems:\n  %s",
				i, w.shape, w.method, w.target, w.headers, w.body, r.status, r.body, strings.Join(problems, "\n  "))
			if failures >= 10 {
				t.Fatalf("stopping after %d failing writes", failures)
			}
		}
		before = after
	}
	return c
}

// whCheck returns what is wrong with a write's effect on the store.
func whCheck(p whPrincipal, before, after map[string]map[string]any, changed []string, r reply, w whWrite) []string {
	var problems []string
	for _, k := range changed {
		for side, res := range map[string]map[string]any{"before": before[k], "after": after[k]} {
			if res == nil {
				continue
			}
			if ok, why := p.within(res); !ok {
				problems = append(problems, fmt.Sprintf("%s changed, not the token's to write %s: %s; stored %s", k, side, why, hunt.JSON(res)))
			}
		}
	}
	if r.status/100 != 2 && len(changed) > 0 {
		problems = append(problems, fmt.Sprintf("answered %d, yet the store changed %v", r.status, changed))
	}
	if w.txEntries > 0 {
		problems = append(problems, hunt.Atomicity(w.txEntries, r.status, r.body, changed)...)
	}
	for _, res := range hunt.AnswerResources(r.body) {
		if ok, why := p.within(res); !ok {
			problems = append(problems, fmt.Sprintf("the answer holds %s/%v, not the token's: %s", res["resourceType"], res["id"], why))
		}
	}
	if w.shape == "transaction" && r.status/100 == 2 && len(changed) == 0 && strings.Contains(w.body, `"POST"`) && !strings.Contains(w.body, "ifNoneExist") {
		problems = append(problems, "a transaction with a create answered 2xx, yet nothing changed")
	}
	for _, m := range p.markers {
		// A marker the write itself sent (a search by another
		// patient's NHS number) may come back in a refusal's reason.
		if strings.Contains(string(r.body), m) && !strings.Contains(w.body+w.target+hunt.JSON(w.headers), m) {
			problems = append(problems, "the answer holds "+m)
		}
	}
	return problems
}

// whInCompartment: a Patient must be the context patient (linking no
// other), a resource of a compartment type must name, in its compartment
// elements, the context patient and no other; nothing else may be written
// under patient context. A local reference ("#id", to a contained
// resource) names no patient of the server, nor does a urn:uuid no entry
// of its Bundle resolved (stored as written).
func whInCompartment(r map[string]any) (bool, string) {
	return hunt.InCompartment(r, whCompartment, whPatient, whPatientRef)
}

// whPatientRef normalizes a reference as hunt.PatientRef does, and
// keeps one to another type that holds a space ("Group /1") as written,
// so that the oracle refuses it.
func whPatientRef(s string) string {
	n := hunt.PatientRef(s)
	if n == "" && strings.Contains(s, " ") {
		return "?" + s
	}
	return n
}

// whReadStore reads every resource of whTypes with a system token,
// following the paging links, by "Type/id".
func whReadStore(t *testing.T, a *attackServer, sys string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, typ := range whTypes {
		next := a.s.BaseURL() + "/" + typ + "?_count=100"
		total := -1
		seen := 0
		for next != "" {
			r := call(t, http.MethodGet, next, sys, nil)
			require.Equal(t, http.StatusOK, r.status, "%s", r.body)
			var b struct {
				Total int `json:"total"`
				Link  []struct {
					Relation string `json:"relation"`
					URL      string `json:"url"`
				} `json:"link"`
				Entry []struct {
					Resource map[string]any `json:"resource"`
				} `json:"entry"`
			}
			require.NoError(t, json.Unmarshal(r.body, &b))
			total = b.Total
			for _, e := range b.Entry {
				out[fmt.Sprintf("%s/%s", e.Resource["resourceType"], e.Resource["id"])] = e.Resource
				seen++
			}
			next = ""
			for _, l := range b.Link {
				if l.Relation == "next" {
					next = l.URL
				}
			}
		}
		require.Equal(t, total, seen, "every %s read", typ)
	}
	return out
}

// whWrite is one generated write.
type whWrite struct {
	shape, method, target string
	headers               map[string]string
	body                  string
	bundle                bool
	// txEntries is the number of entries of a linked transaction, 0
	// for any other write.
	txEntries int
}

// whSend sends w with token.
func (a *attackServer) whSend(t *testing.T, w whWrite, token string) reply {
	t.Helper()
	u := a.s.BaseURL()
	if w.target != "" {
		u += "/" + w.target
	}
	hdr := []string{"Accept", "application/fhir+json"}
	if w.body != "" {
		hdr = append(hdr, "Content-Type", "application/fhir+json")
	}
	for k, v := range w.headers {
		hdr = append(hdr, k, v)
	}
	var rd *strings.Reader
	if w.body != "" {
		rd = strings.NewReader(w.body)
	}
	if rd == nil {
		return call(t, w.method, u, token, nil, hdr...)
	}
	return call(t, w.method, u, token, rd, hdr...)
}

// whGen draws writes from the store's current state.
type whGen struct {
	r     *rand.Rand
	base  string
	state map[string]map[string]any
	n     int
	// within is the principal's rights; a tame write (two in five)
	// stays within them where the grammar can, so that enough writes
	// get through for the invariant to be tested on allowed writes.
	within    func(r map[string]any) (bool, string)
	obsOnly   bool
	tame      bool
	templates map[string]map[string]any
	// linked draws only transactions whose entries link to each other
	// (linkedTransaction).
	linked bool
}

func (g *whGen) pick(list []string) string { return list[g.r.IntN(len(list))] }
func (g *whGen) chance(n int) bool         { return g.r.IntN(n) == 0 }

// whShapes are the kinds of write, each drawn with the same weight.
var whShapes = []string{"create", "update", "update", "patch", "patch", "delete", "conditional-create",
	"conditional-update", "conditional-delete", "override", "batch", "transaction", "transaction"}

// write draws one write.
func (g *whGen) write() whWrite {
	if g.linked {
		return g.linkedTransaction()
	}
	g.tame = g.r.IntN(5) < 2
	shape := g.pick(whShapes)
	typ := g.writeType()
	switch shape {
	case "create", "update", "patch", "delete", "conditional-create":
		return g.single(shape, typ)
	case "conditional-update", "conditional-delete":
		return g.conditional(shape, typ)
	case "override":
		return g.override(typ)
	}
	return g.bundle(shape)
}

// writeType draws the type written.
func (g *whGen) writeType() string {
	if g.obsOnly && (g.tame || !g.chance(4)) {
		return "Observation"
	}
	if g.chance(3) {
		return "Observation"
	}
	return g.pick([]string{"Patient", "Patient", "Encounter", "Condition", "Procedure", "AllergyIntolerance",
		"MedicationRequest", "MedicationStatement", "Immunization", "Practitioner"})
}

// single is one write on one resource.
func (g *whGen) single(shape, typ string) whWrite {
	id := g.targetID(typ)
	w := whWrite{shape: shape, headers: map[string]string{}}
	switch shape {
	case "create", "conditional-create":
		w.method, w.target = http.MethodPost, typ
		w.body = hunt.JSON(g.resource(typ, g.maybe(id)))
		if shape == "conditional-create" {
			w.headers["If-None-Exist"] = g.ifNoneExist(typ)
		}
	case "update":
		w.method, w.target = http.MethodPut, typ+"/"+id
		bodyID := id
		if g.chance(6) {
			bodyID = g.targetID(typ)
		}
		w.body = hunt.JSON(g.resource(typ, bodyID))
	case "patch":
		w.method, w.target = http.MethodPatch, typ+"/"+id
		w.body = hunt.JSON(g.jsonPatch(typ, id))
		w.headers["Content-Type"] = g.pick([]string{"application/json-patch+json", "application/json-patch+json",
			"application/json", "application/json-patch+json; charset=utf-8"})
	case "delete":
		w.method, w.target = http.MethodDelete, typ+"/"+id
	}
	if !g.tame && w.method != http.MethodPost && g.chance(5) {
		w.headers["If-Match"] = g.pick([]string{`W/"1"`, `W/"2"`, `"1"`, `W/"0"`, "*"})
	}
	if !g.tame && strings.HasPrefix(w.body, "{") && g.chance(5) {
		w.body = g.respell(w.body, typ)
	}
	return w
}

// respell rewrites a JSON body as text: a member repeated at the end
// (which a last-wins reader and a first-wins reader disagree on), a
// member name with a \u escape, a member name in another letter case.
func (g *whGen) respell(body, typ string) string {
	owner := hunt.PatientElement(typ)
	switch g.r.IntN(3) {
	case 0:
		name := g.pick([]string{owner, owner, "resourceType", "id", "category"})
		value := map[string]string{
			owner:          hunt.JSON(map[string]any{"reference": "Patient/" + g.pick([]string{"2", "3"})}),
			"resourceType": `"Condition"`,
			"id":           hunt.JSON(g.targetID(typ)),
			"category":     hunt.JSON([]any{g.concept("vital-signs")}),
		}[name]
		return hunt.RepeatMember(body, name, value)
	case 1:
		return hunt.EscapeName(body, owner)
	}
	return hunt.RecaseName(body, owner)
}

// conditional is a conditional update or delete (Type?params).
func (g *whGen) conditional(shape, typ string) whWrite {
	w := whWrite{shape: shape, target: typ + "?" + g.searchParams(typ), headers: map[string]string{}}
	if shape == "conditional-update" {
		w.method = http.MethodPut
		w.body = hunt.JSON(g.resource(typ, g.maybe(g.targetID(typ))))
		return w
	}
	w.method = http.MethodDelete
	return w
}

// override is a POST asking, by _method or a method-override header, to
// be taken as another method.
func (g *whGen) override(typ string) whWrite {
	id := g.targetID(typ)
	method := g.pick([]string{"DELETE", "PUT", "PATCH", "GET"})
	w := whWrite{shape: "override", method: http.MethodPost, headers: map[string]string{}}
	w.target = g.pick([]string{typ + "/" + id, typ})
	if g.chance(2) {
		w.target += "?_method=" + method
	} else {
		w.headers[g.pick([]string{"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"})] = method
	}
	w.body = hunt.JSON(g.resource(typ, id))
	return w
}

// maybe is id or, half the time (a tame write always), no id.
func (g *whGen) maybe(id string) string {
	if g.tame || g.chance(2) {
		return ""
	}
	return id
}

// targetID draws an id of typ: one that exists (the principal's, another
// patient's, any), a new one, or a variant of one.
func (g *whGen) targetID(typ string) string {
	ids := hunt.IDsOf(g.state, typ)
	if g.tame {
		if own := hunt.WritableIDs(g.state, typ, ids, g.within); len(own) > 0 && !g.chance(4) {
			return g.pick(own)
		}
		g.n++
		return fmt.Sprintf("gen-%d", g.n)
	}
	switch k := g.r.IntN(10); {
	case k < 6 && len(ids) > 0:
		return g.pick(ids)
	case k < 8 && len(ids) > 0:
		id := g.pick(ids)
		if v, ok := hunt.SwapCase(id, g.r); ok {
			return v
		}
		return id + "x"
	case k < 9:
		return g.pick([]string{"1", "01", "1.", "2", "3", "obs-lab-2", "OBS-LAB-1", "enc-2", "1-"})
	}
	g.n++
	return fmt.Sprintf("gen-%d", g.n)
}

// patientID draws the patient a reference names.
func (g *whGen) patientID() string {
	if g.tame {
		return whPatient
	}
	return g.pick([]string{"1", "1", "1", "2", "3", "01", "gen-0"})
}

// referenceString spells a reference to Patient/pid.
func (g *whGen) referenceString(pid string) string {
	if g.tame {
		return "Patient/" + pid
	}
	switch g.r.IntN(12) {
	case 0:
		return g.base + "/Patient/" + pid
	case 1:
		return "Patient/" + pid + "/_history/1"
	case 2:
		return "http://other.example/fhir/Patient/" + pid
	case 3:
		return g.pick([]string{"patient/", "/Patient/", "Patient//", " Patient/", "PATIENT/"}) + pid
	case 4:
		return "Patient/" + pid + g.pick([]string{"/", "?", "#x", "%2F", " ", "/../2"})
	case 5:
		return "Patient?identifier=" + pid
	case 6:
		return g.pick([]string{"Group/", "Practitioner/", "RelatedPerson/"}) + pid
	}
	return "Patient/" + pid
}

// reference draws a Reference to a patient: a literal one in some
// spelling, an identifier, a contained resource.
func (g *whGen) reference(r map[string]any) map[string]any {
	pid := g.patientID()
	if g.tame {
		return map[string]any{"reference": g.referenceString(pid)}
	}
	switch g.r.IntN(10) {
	case 0:
		return map[string]any{"identifier": map[string]any{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": pid}}
	case 1:
		r["contained"] = []any{map[string]any{"resourceType": "Patient", "id": "c1",
			"link": []any{map[string]any{"type": "seealso", "other": map[string]any{"reference": "Patient/" + g.patientID()}}}}}
		return map[string]any{"reference": "#c1"}
	case 2:
		return map[string]any{"reference": g.referenceString(pid), "display": "Patient/" + g.patientID()}
	}
	return map[string]any{"reference": g.referenceString(pid)}
}

// concept is an Observation category concept with code.
func (g *whGen) concept(code string) map[string]any {
	return map[string]any{"coding": []any{map[string]any{"system": "http://hl7.org/fhir/observation-category", "code": code}}}
}

// category draws an Observation category.
func (g *whGen) category() []any {
	if g.tame {
		return []any{g.concept("laboratory")}
	}
	switch g.r.IntN(8) {
	case 0:
		return nil
	case 1:
		return []any{g.concept("vital-signs")}
	case 2:
		return []any{g.concept("Laboratory")}
	case 3:
		return []any{map[string]any{"coding": []any{map[string]any{"code": "laboratory"}}}}
	case 4:
		return []any{g.concept("vital-signs"), g.concept("laboratory")}
	case 5:
		return []any{map[string]any{"text": "laboratory"}}
	}
	return []any{g.concept("laboratory")}
}
