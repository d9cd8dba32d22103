package medplum

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/hunt"
)

// The write generator: a seeded grammar of hostile writes (creates,
// updates, update-as-create, JSON Patch and FHIRPath Patch, deletes,
// conditional creates, updates, patches and deletes, method overrides,
// batches and transactions mixing them) sent through the gateway with
// patient-context and user tokens, constrained and not. After each one the
// whole upstream store is read directly and compared with the store
// before: every resource created, changed or deleted must have been the
// token's to write, before and after.

// writeGenSeed makes the generated writes the same on every run;
// WRITEGEN_SEED replays another sequence.
const writeGenSeed = 20261207

// verboseWrites logs every write, its answer and what it changed.
var verboseWrites = os.Getenv("WRITEGEN_VERBOSE") != ""

// defaultWritesPerPrincipal is the number of generated writes per token;
// WRITEGEN_WRITES asks for another (a longer hunt), and a quarter of it
// (at least 30) is the number of linked transactions per token, which
// WRITEGEN_TRANSACTIONS sets on its own.
const defaultWritesPerPrincipal = 200

// storeTypes are the types read back from the upstream after each write.
var storeTypes = []string{"Patient", "Observation", "Encounter", "Condition", "Procedure", "AllergyIntolerance",
	"MedicationRequest", "MedicationStatement", "Immunization", "Practitioner", "Organization"}

// compartmentElements are, per type, the top-level elements through which
// a resource is in a patient's compartment (FHIR R4 CompartmentDefinition
// patient).
var compartmentElements = map[string][]string{
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

// writePrincipal is a token and what it may write.
type writePrincipal struct {
	name  string
	token string
	// within reports whether a stored resource is the token's to write;
	// the reason says why not.
	within func(r map[string]any) (bool, string)
	// foreignMarkers may not appear in any answer.
	foreignMarkers []string
}

// TestWriteGeneratorThroughGateway sends generated hostile writes through
// the gateway and checks, in the upstream, that nothing outside the
// token's rights was created, changed or deleted.
func TestWriteGeneratorThroughGateway(t *testing.T) {
	requirePeer(t)
	s := uint64(writeGenSeed)
	if v := os.Getenv("WRITEGEN_SEED"); v != "" {
		var err error
		s, err = strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, "WRITEGEN_SEED")
	}
	n := defaultWritesPerPrincipal
	if v := os.Getenv("WRITEGEN_WRITES"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(t, err, "WRITEGEN_WRITES")
	}
	m := max(n/4, 30)
	if v := os.Getenv("WRITEGEN_TRANSACTIONS"); v != "" {
		var err error
		m, err = strconv.Atoi(v)
		require.NoError(t, err, "WRITEGEN_TRANSACTIONS")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute+time.Duration(n+m)*50*time.Millisecond)
	defer cancel()
	e := startEnv(t)
	seed(ctx, t, e)
	seedWriteExtras(ctx, t, e)
	t.Logf("write generator seed %d (replay: WRITEGEN_SEED=%d go test -run TestWriteGeneratorThroughGateway -v ./interop/medplum)", s, s)
	g := &writeGen{r: rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15)), e: e}

	principals := []writePrincipal{
		{name: "patient/*.cruds (p1)", token: e.token("patient/*.cruds", contextPatient),
			within: inPatientCompartment, foreignMarkers: []string{marker("p2"), marker("p3"), marker(caseVariant)}},
		{name: "user/Observation.cruds?category=laboratory user/Patient.rs",
			token:  e.token("user/Observation.cruds?category=laboratory user/Patient.rs", ""),
			within: hunt.IsLaboratory},
		{name: "patient/Observation.cruds?category=laboratory patient/Patient.rs (p1)",
			token: e.token("patient/Observation.cruds?category=laboratory patient/Patient.rs", contextPatient),
			within: func(r map[string]any) (bool, string) {
				if ok, why := inPatientCompartment(r); !ok {
					return false, why
				}
				return hunt.IsLaboratory(r)
			},
			foreignMarkers: []string{marker("p2"), marker("p3"), marker(caseVariant)}},
		// Unconstrained, so that conditional writes get through: every
		// Observation is its to write, nothing else.
		{name: "user/Observation.cruds user/Patient.rs",
			token:  e.token("user/Observation.cruds user/Patient.rs", ""),
			within: hunt.IsObservation},
	}
	for _, p := range principals {
		t.Run(p.name, func(t *testing.T) {
			start := time.Now()
			c := runWrites(ctx, t, e, g, p, n)
			t.Logf("%d writes in %v; by status: %v; allowed (2xx) %d, denied %d; changed the upstream %d; answers per shape: %v; Bundle entries by status: %v; stray references to other patients outside compartment elements: %d",
				c.total, time.Since(start).Round(time.Millisecond), c.byStatus, c.allowed, c.total-c.allowed, c.changed, c.byShape, c.entries, c.stray)
			// The generator proves something only if the gateway let
			// a fair share of its writes through.
			require.GreaterOrEqual(t, c.allowed, n/10, "too few allowed writes for the invariant to mean anything")
			require.GreaterOrEqual(t, c.changed, n/10, "too few writes changed the upstream")
		})
	}

	// Transactions whose entries link to each other, with the
	// system token as a control: its transactions get through, and the
	// oracle then judges the upstream's atomicity alone.
	g.linked = true
	linked := []writePrincipal{principals[0], principals[1],
		{name: "system/*.cruds", token: e.token("system/*.cruds", ""),
			within: func(map[string]any) (bool, string) { return true, "" }}}
	for _, p := range linked {
		t.Run("linked transactions "+p.name, func(t *testing.T) {
			start := time.Now()
			c := runWrites(ctx, t, e, g, p, m)
			t.Logf("%d transactions in %v; by status: %v; allowed (2xx) %d; changed the upstream %d; answers per shape: %v; entries by status: %v",
				c.total, time.Since(start).Round(time.Millisecond), c.byStatus, c.allowed, c.changed, c.byShape, c.entries)
			require.GreaterOrEqual(t, c.allowed, m/6, "too few allowed transactions for the invariant to mean anything")
			require.GreaterOrEqual(t, c.changed, m/6, "too few transactions changed the upstream")
		})
	}
}

// seedWriteExtras stores, upstream directly, laboratory and vital-signs
// Observations of each patient, and one whose category code is
// "Laboratory" (not laboratory, which medplum's token search, matching
// without regard to case, finds for category=laboratory), the
// case-variant patient P1 with an Observation, and gives the patients
// identifiers (urn:patients|id).
func seedWriteExtras(ctx context.Context, t *testing.T, e *env) {
	t.Helper()
	extras := caseVariantResources()
	// Identifiers (urn:patients|id) for conditional references and
	// conditional creates to find the patients by.
	for _, r := range seedResources() {
		if r["resourceType"] == "Patient" {
			extras = append(extras, r)
		}
	}
	for _, r := range extras {
		if r["resourceType"] == "Patient" {
			r["identifier"] = []any{map[string]any{"system": "urn:patients", "value": r["id"]}}
		}
	}
	for _, p := range patients {
		for i, cat := range []string{"laboratory", "laboratory", "vital-signs", "Laboratory"} {
			extras = append(extras, map[string]any{"resourceType": "Observation", "id": fmt.Sprintf("cat-%s-%d", p, i+1),
				"status": "final", "code": map[string]any{"text": "potassium"},
				"category": []any{concept(coding(sysCategory, cat))}, "subject": ref("Patient/" + p),
				"text": map[string]any{"status": "generated", "div": `<div xmlns="http://www.w3.org/1999/xhtml">` + marker(p) + `</div>`}})
		}
	}
	for _, r := range extras {
		b, err := json.Marshal(r)
		require.NoError(t, err)
		status, body := send(ctx, t, http.MethodPut, e.upstream, key(r), "", string(b))
		require.Contains(t, []int{http.StatusOK, http.StatusCreated}, status, "%s", body)
	}
}

// writeCounts are the results of one principal's writes.
type writeCounts struct {
	total, allowed, changed, stray int
	byStatus                       map[int]int
	byShape                        map[string]map[string]int // shape -> "2xx"/"denied" -> n
	entries                        map[string]int            // Bundle entry response status -> n
}

// runWrites generates and checks n writes with p's token.
func runWrites(ctx context.Context, t *testing.T, e *env, g *writeGen, p writePrincipal, n int) writeCounts {
	c := writeCounts{byStatus: map[int]int{}, byShape: map[string]map[string]int{}, entries: map[string]int{}}
	before := readUpstream(ctx, t, e)
	failures := 0
	for i := range n {
		g.state, g.within = before, p.within
		w := g.write(p.name, i)
		status, answer := sendWrite(ctx, t, e, w, p.token)
		after := readUpstream(ctx, t, e)
		c.total++
		c.byStatus[status]++
		verdict := "denied"
		if status/100 == 2 {
			c.allowed++
			verdict = "2xx"
		}
		if c.byShape[w.shape] == nil {
			c.byShape[w.shape] = map[string]int{}
		}
		c.byShape[w.shape][verdict]++
		if w.bundle {
			for _, st := range hunt.EntryStatuses(answer) {
				c.entries[st]++
			}
		}
		changed := hunt.ChangedKeys(before, after)
		if verboseWrites {
			t.Logf("write %d (%s) %s %s %v %s\n-> %d %s; changed %v", i, w.shape, w.method, w.target, w.headers, w.body, status, clipAnswer(answer), changed)
		}
		if len(changed) > 0 {
			c.changed++
		}
		problems := checkWrite(e, p, before, after, changed, status, w, answer)
		for _, k := range changed {
			if r := after[k]; r != nil {
				c.stray += len(strayPatients(e, r))
			}
		}
		if len(problems) > 0 {
			failures++
			t.Errorf("HIJACK? write %d (%s) %s %s\nheaders %v\nbody %s\n-> %d %s\nproblems:\n  %s",
				i, w.shape, w.method, w.target, w.headers, w.body, status, clipAnswer(answer), strings.Join(problems, "\n  "))
			if failures >= 10 {
				t.Fatalf("stopping after %d failing writes", failures)
			}
		}
		before = after
	}
	return c
}

func clipAnswer(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "..."
	}
	return string(b)
}

// checkWrite returns what is wrong with the upstream's change: a changed
// resource outside the token's rights (as it was or as it is now), a
// change although the gateway refused a single write, another patient's
// data in the answer.
func checkWrite(e *env, p writePrincipal, before, after map[string]map[string]any, changed []string, status int, w writeRequest, answer []byte) []string {
	var problems []string
	for _, k := range changed {
		for _, side := range []struct {
			name string
			r    map[string]any
		}{{"before", before[k]}, {"after", after[k]}} {
			if side.r == nil {
				continue
			}
			if ok, why := p.within(side.r); !ok {
				problems = append(problems, fmt.Sprintf("%s changed (%s), not the token's to write %s: %s; stored %s",
					k, changeKind(before[k], after[k]), side.name, why, hunt.JSON(side.r)))
			}
		}
	}
	if status/100 != 2 && !w.bundle && len(changed) > 0 {
		problems = append(problems, fmt.Sprintf("the gateway answered %d, yet the upstream changed %v", status, changed))
	}
	if w.txEntries > 0 {
		problems = append(problems, hunt.Atomicity(w.txEntries, status, answer, changed)...)
	}
	for _, m := range p.foreignMarkers {
		if strings.Contains(string(answer), m) {
			problems = append(problems, "the answer holds "+m)
		}
	}
	for _, r := range hunt.AnswerResources(answer) {
		if ok, why := p.within(r); !ok {
			problems = append(problems, fmt.Sprintf("the answer holds %s/%v, not the token's: %s", r["resourceType"], r["id"], why))
		}
	}
	return problems
}

func changeKind(before, after map[string]any) string {
	switch {
	case before == nil:
		return "created"
	case after == nil:
		return "deleted"
	}
	return "updated"
}

// readUpstream reads every resource of storeTypes from the upstream
// directly, by "Type/id".
func readUpstream(ctx context.Context, t *testing.T, e *env) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, typ := range storeTypes {
		status, body := send(ctx, t, http.MethodGet, e.upstream, typ+"?_count=1000", "", "")
		require.Equal(t, http.StatusOK, status, "%s", body)
		var b struct {
			Total int `json:"total"`
		}
		require.NoError(t, json.Unmarshal(body, &b))
		rs := resourcesIn(t, body)
		require.Len(t, rs, b.Total, "the upstream returned all %s at once", typ)
		for _, r := range rs {
			out[fmt.Sprintf("%s/%s", r["resourceType"], r["id"])] = r
		}
	}
	return out
}

// inPatientCompartment: a Patient resource must be p1 (linking no other
// patient), a resource of a compartment type must name, in its
// compartment elements, p1 and no other patient; nothing else may be
// written under patient context. A local reference ("#id", to a
// contained resource or to none) names no patient of the server, nor
// does a stored urn:uuid (in any letter case): medplum stores one as
// written when no entry of its Bundle resolved it (one that resolves is
// stored as the reference it became).
func inPatientCompartment(r map[string]any) (bool, string) {
	return hunt.InCompartment(r, compartmentElements, contextPatient, hunt.PatientRef)
}

// strayPatients are the patients other than the context patient that r
// refers to outside its compartment elements (extensions, focus, ...):
// such a resource is in no other patient's compartment, so writing it is
// within the patient token's rights; they are counted, not refused.
func strayPatients(e *env, r map[string]any) []string {
	typ, _ := r["resourceType"].(string)
	rest := maps.Clone(r)
	for _, el := range compartmentElements[typ] {
		delete(rest, el)
	}
	var out []string
	for _, n := range hunt.PatientRefs(rest, hunt.PatientRef) {
		if n != "Patient/"+contextPatient && !strings.HasPrefix(n, "?") {
			out = append(out, n)
		}
	}
	return out
}

// writeRequest is one generated write.
type writeRequest struct {
	shape          string
	method, target string
	headers        map[string]string
	body           string
	bundle         bool
	// txEntries is the number of entries of a transaction Bundle, 0 for
	// any other write.
	txEntries int
}

// sendWrite sends w through the gateway with token.
func sendWrite(ctx context.Context, t *testing.T, e *env, w writeRequest, token string) (int, []byte) {
	t.Helper()
	u := e.gateway + "/" + strings.TrimPrefix(w.target, "/")
	if w.target == "" {
		u = e.gateway
	}
	var rd io.Reader
	if w.body != "" {
		rd = strings.NewReader(w.body)
	}
	req, err := http.NewRequestWithContext(ctx, w.method, u, rd)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/fhir+json")
	if w.body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for k, v := range w.headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, b
}
