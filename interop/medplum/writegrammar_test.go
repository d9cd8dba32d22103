package medplum

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"

	"github.com/fhirwarden/fhirwarden/internal/hunt"
)

// The grammar of the write generator (writegen_test.go).

// writeGen draws writes from the upstream's current state.
type writeGen struct {
	r     *rand.Rand
	e     *env
	state map[string]map[string]any // the upstream before the write
	n     int                       // new ids drawn so far
	// within is the principal's rights; a tame write (two in five)
	// stays within them where the grammar can (its own resources, plain
	// references, the laboratory category), so that enough writes get
	// through for the invariant to be tested on allowed writes too.
	within func(r map[string]any) (bool, string)
	tame   bool
	// linked draws only transactions whose entries link to each other
	// (linkedTransaction); obsOnly is whether the token writes only
	// Observations.
	linked, obsOnly bool
}

func (g *writeGen) pick(list []string) string { return list[g.r.IntN(len(list))] }
func (g *writeGen) chance(n int) bool         { return g.r.IntN(n) == 0 }

// writeShapes are the kinds of write, each drawn with the same weight.
var writeShapes = []string{"create", "update", "update", "patch", "patch", "fhirpath-patch", "delete",
	"conditional-create", "conditional-update", "conditional-delete", "conditional-patch", "override",
	"batch", "transaction", "transaction"}

// write draws the i-th write of principal.
func (g *writeGen) write(principal string, i int) writeRequest {
	obsOnly := strings.Contains(principal, "Observation.cruds")
	if g.linked {
		return g.linkedTransaction(obsOnly)
	}
	g.tame = g.r.IntN(5) < 2
	shape := g.pick(writeShapes)
	typ := g.writeType(obsOnly)
	switch shape {
	case "create", "update", "patch", "fhirpath-patch", "delete", "conditional-create":
		return g.single(shape, typ)
	case "conditional-update", "conditional-delete", "conditional-patch":
		return g.conditional(shape, typ)
	case "override":
		return g.override(typ)
	}
	return g.bundle(shape, obsOnly)
}

// writeType draws the type written: mostly Observation for tokens that
// write only Observations, else any compartment type, Patient or a shared
// type.
func (g *writeGen) writeType(obsOnly bool) string {
	if obsOnly && (g.tame || !g.chance(4)) {
		return "Observation"
	}
	if g.chance(3) {
		return "Observation"
	}
	return g.pick([]string{"Patient", "Patient", "Encounter", "Condition", "Procedure", "AllergyIntolerance",
		"MedicationRequest", "MedicationStatement", "Immunization", "Practitioner"})
}

// single is one write on one resource.
func (g *writeGen) single(shape, typ string) writeRequest {
	id := g.targetID(typ)
	w := writeRequest{shape: shape, headers: map[string]string{}}
	switch shape {
	case "create":
		w.method, w.target = "POST", typ
		w.body = hunt.JSON(g.resource(typ, g.maybe(id)))
	case "conditional-create":
		w.method, w.target = "POST", typ
		w.body = hunt.JSON(g.resource(typ, g.maybe(id)))
		w.headers["If-None-Exist"] = g.ifNoneExist(typ)
	case "update":
		w.method, w.target = "PUT", typ+"/"+id
		bodyID := id
		if g.chance(6) {
			bodyID = g.targetID(typ)
		}
		w.body = hunt.JSON(g.resource(typ, bodyID))
	case "patch":
		w.method, w.target = "PATCH", typ+"/"+id
		w.body = hunt.JSON(g.jsonPatch(typ))
		w.headers["Content-Type"] = g.pick([]string{"application/json-patch+json", "application/json-patch+json",
			"application/json", "application/fhir+json", "application/json-patch+json; charset=utf-8"})
	case "fhirpath-patch":
		w.method, w.target = "PATCH", typ+"/"+id
		w.body = hunt.JSON(g.fhirPathPatch(typ))
		w.headers["Content-Type"] = g.pick([]string{"application/fhir+json", "application/json-patch+json"})
	case "delete":
		w.method, w.target = "DELETE", typ+"/"+id
	}
	if !g.tame && strings.HasPrefix(w.body, "{") && g.chance(5) {
		w.body = g.respell(w.body, typ)
	}
	return w
}

// respell rewrites a JSON body as text in ways a JSON reader may not read
// as JavaScript's JSON.parse does (medplum's): a member repeated at the
// end (the last one wins there), a member name with a \u escape, a
// member name in another letter case.
func (g *writeGen) respell(body, typ string) string {
	owner := hunt.PatientElement(typ)
	switch g.r.IntN(3) {
	case 0:
		name := g.pick([]string{owner, owner, "resourceType", "id", "category"})
		value := map[string]string{
			owner:          hunt.JSON(map[string]any{"reference": "Patient/" + g.pick([]string{"p2", "p3", caseVariant})}),
			"resourceType": `"Condition"`,
			"id":           hunt.JSON(g.targetID(typ)),
			"category":     hunt.JSON([]any{concept(coding(sysCategory, "vital-signs"))}),
		}[name]
		return hunt.RepeatMember(body, name, value)
	case 1:
		return hunt.EscapeName(body, owner)
	}
	return hunt.RecaseName(body, owner)
}

// conditional is a conditional update, delete or patch (Type?params).
func (g *writeGen) conditional(shape, typ string) writeRequest {
	w := writeRequest{shape: shape, target: typ + "?" + g.searchParams(typ), headers: map[string]string{}}
	switch shape {
	case "conditional-update":
		w.method = "PUT"
		w.body = hunt.JSON(g.resource(typ, g.maybe(g.targetID(typ))))
	case "conditional-delete":
		w.method = "DELETE"
	case "conditional-patch":
		w.method = "PATCH"
		w.body = hunt.JSON(g.jsonPatch(typ))
		w.headers["Content-Type"] = "application/json-patch+json"
	}
	return w
}

// override is a POST that asks, by _method or a method-override header,
// to be taken as another method.
func (g *writeGen) override(typ string) writeRequest {
	id := g.targetID(typ)
	method := g.pick([]string{"DELETE", "PUT", "PATCH", "GET"})
	w := writeRequest{shape: "override", method: "POST", headers: map[string]string{}}
	w.target = g.pick([]string{typ + "/" + id, typ})
	if g.chance(2) {
		w.target += "?_method=" + method
	} else {
		w.headers[g.pick([]string{"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"})] = method
	}
	if method != "DELETE" || g.chance(2) {
		w.body = hunt.JSON(g.resource(typ, id))
	}
	return w
}

// maybe is id or, half the time (a tame write always), no id.
func (g *writeGen) maybe(id string) string {
	if g.tame || g.chance(2) {
		return ""
	}
	return id
}

// targetID draws an id of typ: one that exists (the context patient's,
// another patient's, any), a new one, or a case variant of one.
func (g *writeGen) targetID(typ string) string {
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
		return id + "X"
	case k < 9 && typ == "Patient":
		return g.pick([]string{"p1", "P1", "p2", "p1 ", "p01"})
	}
	g.n++
	return fmt.Sprintf("gen-%d", g.n)
}

// patientID draws the patient a reference names: mostly the context
// patient, then the other two and the case variant.
func (g *writeGen) patientID() string {
	if g.tame {
		return contextPatient
	}
	return g.pick([]string{"p1", "p1", "p1", "p1", "p2", "p3", caseVariant})
}

// referenceString spells a reference to Patient/pid.
func (g *writeGen) referenceString(pid string) string {
	if g.tame {
		return "Patient/" + pid
	}
	switch g.r.IntN(12) {
	case 0:
		return g.e.gateway + "/Patient/" + pid
	case 1:
		return g.e.upstream + "/Patient/" + pid
	case 2:
		return "Patient/" + pid + "/_history/1"
	case 3:
		return "http://other.example/fhir/Patient/" + pid
	case 4:
		return g.pick([]string{"patient/", "/Patient/", "Patient//", " Patient/"}) + pid
	case 5:
		return "Patient/" + pid + g.pick([]string{"/", "?", "#x", "%2F", " "})
	case 6:
		return "Patient?identifier=" + pid
	}
	return "Patient/" + pid
}

// reference draws a Reference to a patient: a literal one in some
// spelling, an identifier, a contained resource, or both a literal
// reference and an identifier of different patients. It may add a
// contained Patient to r.
func (g *writeGen) reference(r map[string]any) map[string]any {
	pid := g.patientID()
	if g.tame {
		return map[string]any{"reference": g.referenceString(pid)}
	}
	switch g.r.IntN(10) {
	case 0:
		return map[string]any{"identifier": map[string]any{"system": "urn:patients", "value": pid}}
	case 1:
		r["contained"] = []any{map[string]any{"resourceType": "Patient", "id": "c1",
			"link": []any{map[string]any{"type": "seealso", "other": map[string]any{"reference": "Patient/" + g.patientID()}}}}}
		return map[string]any{"reference": "#c1"}
	case 2:
		return map[string]any{"reference": g.referenceString(pid), "type": "Patient",
			"identifier": map[string]any{"system": "urn:patients", "value": g.patientID()}}
	}
	return map[string]any{"reference": g.referenceString(pid)}
}

// category draws an Observation category: laboratory in the right and
// wrong spellings, another category, both, or none.
func (g *writeGen) category() []any {
	if g.tame {
		return []any{concept(coding(sysCategory, "laboratory"))}
	}
	switch g.r.IntN(8) {
	case 0:
		return nil
	case 1:
		return []any{concept(coding(sysCategory, "vital-signs"))}
	case 2:
		return []any{concept(coding(sysCategory, "Laboratory"))}
	case 3:
		return []any{concept(coding("", "laboratory"))}
	case 4:
		return []any{concept(coding(sysCategory, "vital-signs")), concept(coding(sysCategory, "laboratory"))}
	case 5:
		return []any{map[string]any{"text": "laboratory"}}
	}
	return []any{concept(coding(sysCategory, "laboratory"))}
}

// resource draws a body of typ with id (none when ""): its patient
// reference, a second compartment reference, an extension or a focus
// naming a patient, and for Observations a category.
func (g *writeGen) resource(typ, id string) map[string]any {
	r := map[string]any{"resourceType": typ}
	if !g.tame && g.chance(12) {
		r["resourceType"] = g.pick([]string{"Observation", "Condition", "Patient", "observation"})
	}
	if id != "" {
		r["id"] = id
	}
	switch typ {
	case "Patient":
		r["name"] = []any{map[string]any{"family": "Generated"}}
		if g.chance(3) {
			r["link"] = []any{map[string]any{"type": "seealso", "other": g.reference(r)}}
		}
	case "Practitioner":
		r["name"] = []any{map[string]any{"family": "Generated"}}
	default:
		for k, v := range clinicalTemplate(typ) {
			r[k] = v
		}
		if !g.chance(10) {
			r[hunt.PatientElement(typ)] = g.reference(r)
		}
	}
	if typ == "Observation" {
		if cat := g.category(); cat != nil {
			r["category"] = cat
		}
		if g.chance(3) {
			r["performer"] = []any{g.pick2(g.reference(r), ref("Practitioner/dr1"))}
		}
		if !g.tame && g.chance(5) {
			r["focus"] = []any{g.reference(r)}
		}
	}
	if !g.tame && g.chance(5) {
		r["extension"] = []any{map[string]any{"url": "http://example.org/fhir/patient", "valueReference": g.reference(r)}}
	}
	return r
}

func (g *writeGen) pick2(a, b map[string]any) map[string]any {
	if g.chance(2) {
		return a
	}
	return b
}

// clinicalTemplate is the seeded resource of typ without id, text and
// patient reference.
func clinicalTemplate(typ string) map[string]any {
	for _, r := range clinical("p1") {
		if r["resourceType"] == typ {
			out := map[string]any{}
			for k, v := range r {
				switch k {
				case "id", "text", "subject", "patient", "performer", "resourceType":
				default:
					out[k] = v
				}
			}
			return out
		}
	}
	return map[string]any{}
}

// jsonPatch draws one to three JSON Patch operations.
func (g *writeGen) jsonPatch(typ string) []any {
	var ops []any
	for range 1 + g.r.IntN(3) {
		ops = append(ops, g.patchOp(typ))
	}
	return ops
}

// patchOp draws one JSON Patch operation: harmless ones, and ones that
// move the resource to another patient, id, type or category.
func (g *writeGen) patchOp(typ string) map[string]any {
	owner := "/" + hunt.PatientElement(typ)
	scratch := map[string]any{}
	if g.tame {
		return map[string]any{"op": "replace", "path": "/status", "value": g.pick([]string{"amended", "final", "completed", "active"})}
	}
	switch g.r.IntN(16) {
	case 0, 1, 2:
		return map[string]any{"op": "replace", "path": "/status", "value": g.pick([]string{"amended", "final", "completed", "active"})}
	case 3:
		return map[string]any{"op": "replace", "path": g.pick([]string{owner, "/Subject", "/sub~0ject", owner + "/reference"}), "value": g.reference(scratch)}
	case 4:
		return map[string]any{"op": "add", "path": "/performer", "value": []any{g.reference(scratch)}}
	case 5, 6:
		return map[string]any{"op": "replace", "path": g.pick([]string{"/id", "/id", "/ID"}), "value": g.targetID(typ)}
	case 7, 8:
		return map[string]any{"op": "replace", "path": "/resourceType", "value": g.pick([]string{"Patient", "Condition", "Observation"})}
	case 9:
		return map[string]any{"op": g.pick([]string{"move", "copy"}), "from": g.pick([]string{owner, "/performer/0", "/focus/0"}), "path": g.pick([]string{owner, "/basedOn", "/focus"})}
	case 10:
		return map[string]any{"op": "remove", "path": g.pick([]string{owner, "/category", "/performer"})}
	case 11:
		return map[string]any{"op": "replace", "path": "/category", "value": g.category()}
	case 12:
		return map[string]any{"op": "replace", "path": "/category/0/coding/0/code", "value": g.pick([]string{"vital-signs", "laboratory", "Laboratory"})}
	case 13:
		return map[string]any{"op": "add", "path": "/extension", "value": []any{map[string]any{"url": "http://example.org/x", "valueReference": g.reference(scratch)}}}
	case 14:
		return map[string]any{"op": "test", "path": "/status", "value": "final"}
	}
	return map[string]any{"op": "replace", "path": g.pick([]string{"", "/"}), "value": g.resource(typ, "")}
}

// fhirPathPatch draws a FHIRPath Patch Parameters body of one or two
// operations; medplum reads the JSON Patch form of the same Parameters
// (op, path, from, value) in Bundle entries.
func (g *writeGen) fhirPathPatch(typ string) map[string]any {
	var params []any
	for range 1 + g.r.IntN(2) {
		op := g.patchOp(typ)
		parts := []any{map[string]any{"name": "type", "valueCode": op["op"]}, map[string]any{"name": "op", "valueCode": op["op"]},
			map[string]any{"name": "path", "valueString": typ + strings.ReplaceAll(fmt.Sprint(op["path"]), "/", ".")}}
		if v, ok := op["value"]; ok {
			parts = append(parts, map[string]any{"name": "value", "valueString": hunt.JSON(v)})
		}
		if from, ok := op["from"].(string); ok {
			parts = append(parts, map[string]any{"name": "from", "valueString": from})
		}
		params = append(params, map[string]any{"name": "operation", "part": parts})
	}
	return map[string]any{"resourceType": "Parameters", "parameter": params}
}

// entryPatch is a Bundle entry's patch resource: the Parameters form
// medplum reads (JSON Patch pointers in valueString parts), or a Binary
// holding a JSON Patch document.
func (g *writeGen) entryPatch(typ string) map[string]any {
	if g.chance(2) {
		data := base64.StdEncoding.EncodeToString([]byte(hunt.JSON(g.jsonPatch(typ))))
		return map[string]any{"resourceType": "Binary", "contentType": "application/json-patch+json", "data": data}
	}
	var params []any
	for _, o := range g.jsonPatch(typ) {
		op := o.(map[string]any)
		parts := []any{map[string]any{"name": "op", "valueCode": op["op"]}, map[string]any{"name": "path", "valueString": op["path"]}}
		if v, ok := op["value"]; ok {
			parts = append(parts, map[string]any{"name": "value", "valueString": hunt.JSON(v)})
		}
		if from, ok := op["from"]; ok {
			parts = append(parts, map[string]any{"name": "from", "valueString": from})
		}
		params = append(params, map[string]any{"name": "operation", "part": parts})
	}
	return map[string]any{"resourceType": "Parameters", "parameter": params}
}

// searchParams draws the query of a conditional write.
func (g *writeGen) searchParams(typ string) string {
	if g.tame {
		return "_id=" + url.QueryEscape(g.targetID(typ))
	}
	var ps []string
	for range 1 + g.r.IntN(2) {
		switch g.r.IntN(7) {
		case 0, 1:
			ps = append(ps, "_id="+url.QueryEscape(g.targetID(typ)))
		case 2:
			ps = append(ps, g.pick([]string{"subject", "patient", "performer"})+"="+url.QueryEscape(g.referenceString(g.patientID())))
		case 3:
			ps = append(ps, "category="+g.pick([]string{"laboratory", "vital-signs", sysCategory + "|laboratory", "Laboratory"}))
		case 4:
			ps = append(ps, "identifier="+fmt.Sprintf("none-%d", g.r.IntN(1000)))
		case 5:
			ps = append(ps, g.pick([]string{"_id:not=obs-p1-1", "subject:missing=true", "code=heart rate", "status=final", "_id=obs-p1-1,obs-p2-1"}))
		default:
			ps = append(ps, "_id="+g.pick([]string{"p1", "P1", "obs-p1-1", "obs-p2-1", "cat-p1-1", "cat-p2-1", "cat-p1-3"}))
		}
	}
	return strings.Join(ps, "&")
}

// ifNoneExist draws an If-None-Exist header in its various forms.
func (g *writeGen) ifNoneExist(typ string) string {
	q := g.searchParams(typ)
	if g.tame {
		return fmt.Sprintf("identifier=none-%d", g.r.IntN(1000))
	}
	switch g.r.IntN(6) {
	case 0:
		return typ + "?" + q
	case 1:
		return g.e.gateway + "/" + typ + "?" + q
	case 2:
		return "?" + q
	case 3:
		return g.pick([]string{"", "_id", "identifier=", "&"})
	}
	return q
}

// bundle draws a batch or transaction of one to four entries, and
// sometimes: an entry whose resource names another entry's urn:uuid, a
// PUT followed by a DELETE of the same resource, an entry whose resource
// type disagrees with its url, a duplicated entry.
func (g *writeGen) bundle(kind string, obsOnly bool) writeRequest {
	var entries []map[string]any
	for range 1 + g.r.IntN(4) {
		entries = append(entries, g.entry(g.writeType(obsOnly)))
	}
	if g.chance(3) {
		entries = g.linkedEntries(entries)
	}
	if g.tame {
		return g.bundleRequest(kind, entries)
	}
	if g.chance(3) {
		entries = append(entries, g.placeholderEntries(g.writeType(obsOnly))...)
	}
	if g.chance(5) {
		typ := g.writeType(obsOnly)
		id := g.targetID(typ)
		entries = append(entries,
			map[string]any{"resource": g.resource(typ, id), "request": map[string]any{"method": "PUT", "url": typ + "/" + id}},
			map[string]any{"request": map[string]any{"method": "DELETE", "url": typ + "/" + id}})
	}
	if g.chance(6) {
		other := g.pick([]string{"Condition", "Patient", "Observation"})
		entries = append(entries, map[string]any{"resource": g.resource(other, ""),
			"request": map[string]any{"method": g.pick([]string{"POST", "PUT"}), "url": g.writeType(obsOnly) + "/" + g.targetID(other)}})
	}
	if g.chance(6) {
		entries = append(entries, entries[g.r.IntN(len(entries))])
	}
	return g.bundleRequest(kind, entries)
}

func (g *writeGen) bundleRequest(kind string, entries []map[string]any) writeRequest {
	list := make([]any, len(entries))
	for i, en := range entries {
		list[i] = en
	}
	body := hunt.JSON(map[string]any{"resourceType": "Bundle", "type": kind, "entry": list})
	w := writeRequest{shape: kind, method: "POST", target: "", body: body, bundle: true, headers: map[string]string{}}
	if kind == "transaction" {
		w.txEntries = len(entries)
	}
	return w
}

// entry draws one Bundle entry on typ.
func (g *writeGen) entry(typ string) map[string]any {
	id := g.targetID(typ)
	req := map[string]any{}
	en := map[string]any{"request": req}
	switch g.r.IntN(8) {
	case 0, 1:
		req["method"], req["url"] = "POST", typ
		en["resource"] = g.resource(typ, g.maybe(id))
		en["fullUrl"] = hunt.URN(g.r)
	case 2:
		req["method"], req["url"] = "POST", typ
		req["ifNoneExist"] = g.ifNoneExist(typ)
		en["resource"] = g.resource(typ, "")
	case 3, 4:
		req["method"], req["url"] = "PUT", typ+"/"+id
		en["resource"] = g.resource(typ, id)
		if g.chance(2) {
			en["fullUrl"] = g.pick([]string{hunt.URN(g.r), g.e.gateway + "/" + typ + "/" + g.targetID(typ)})
		}
	case 5:
		req["method"], req["url"] = "PATCH", typ+"/"+id
		en["resource"] = g.entryPatch(typ)
	case 6:
		req["method"], req["url"] = "DELETE", typ+"/"+id
	default:
		req["method"], req["url"] = g.pick([]string{"PUT", "DELETE", "PATCH"}), typ+"?"+g.searchParams(typ)
		switch req["method"] {
		case "PUT":
			en["resource"] = g.resource(typ, "")
		case "PATCH":
			en["resource"] = g.entryPatch(typ)
		}
	}
	return en
}

// placeholderEntries are an entry whose fullUrl is a urn:uuid that the
// server resolves to a resource (a conditional create that may match
// another patient's, an update, a create) and an entry that names that
// urn where medplum replaces it: in its request.url, in a reference
// followed by more characters, percent-encoded.
func (g *writeGen) placeholderEntries(typ string) []map[string]any {
	u := hunt.URN(g.r)
	first := map[string]any{"fullUrl": u}
	switch g.r.IntN(3) {
	case 0:
		first["request"] = map[string]any{"method": "POST", "url": typ, "ifNoneExist": g.ifNoneExist(typ)}
		first["resource"] = g.resource(typ, "")
	case 1:
		id := g.targetID(typ)
		first["request"] = map[string]any{"method": "PUT", "url": typ + "/" + id}
		first["resource"] = g.resource(typ, id)
	default:
		first["request"] = map[string]any{"method": "POST", "url": typ}
		first["resource"] = g.resource(typ, "")
	}
	spelled := g.pick([]string{u, strings.ReplaceAll(u, ":", "%3A"), u + "0", u + "/_history/1", strings.ToUpper(u)})
	second := map[string]any{}
	if g.chance(2) {
		method := g.pick([]string{"DELETE", "PATCH", "PUT"})
		second["request"] = map[string]any{"method": method, "url": g.pick([]string{spelled, typ + "/" + spelled, typ + "?_id=" + spelled})}
		switch method {
		case "PATCH":
			second["resource"] = g.entryPatch(typ)
		case "PUT":
			second["resource"] = g.resource(typ, "")
		}
		return []map[string]any{first, second}
	}
	r := g.resource(g.pick([]string{"Observation", typ}), "")
	r[hunt.PatientElement(r["resourceType"].(string))] = map[string]any{"reference": spelled}
	second["request"] = map[string]any{"method": "POST", "url": r["resourceType"]}
	second["resource"] = r
	return []map[string]any{first, second}
}

// linkedEntries puts a Patient entry with a urn:uuid fullUrl (a create,
// or an update of an existing or case-variant patient) first, and makes
// the patient reference of a later entry name that urn.
func (g *writeGen) linkedEntries(entries []map[string]any) []map[string]any {
	u := hunt.URN(g.r)
	pid := g.pick([]string{"p1", "p2", "P1", ""})
	if g.tame {
		pid = contextPatient
	}
	patient := map[string]any{"fullUrl": u, "resource": g.resource("Patient", pid)}
	if pid == "" {
		patient["request"] = map[string]any{"method": "POST", "url": "Patient"}
	} else {
		patient["request"] = map[string]any{"method": "PUT", "url": "Patient/" + pid}
	}
	obs := g.resource("Observation", "")
	obs["subject"] = map[string]any{"reference": u}
	if g.chance(3) {
		obs["performer"] = []any{map[string]any{"reference": u}}
		obs["subject"] = g.reference(obs)
	}
	linked := map[string]any{"fullUrl": hunt.URN(g.r), "resource": obs, "request": map[string]any{"method": "POST", "url": "Observation"}}
	return append([]map[string]any{patient, linked}, entries...)
}

// linkedShapes are the kinds of transaction whose entries link to each
// other, drawn by linkedTransaction with the same weight.
var linkedShapes = []string{"urn-patient", "urn-link", "conditional-reference", "foreign-match",
	"put-create", "delete-recreate", "order", "failing"}

// linkedTransaction draws a transaction Bundle whose entries depend on
// each other: on a Patient the Bundle creates, on a urn:uuid another
// entry resolves (to a resource it creates, or to one a conditional
// create finds, maybe another patient's), on a conditional reference the
// server resolves by a search, on a resource another entry deletes or
// creates first, or with an entry bound to fail so that the whole
// Bundle must be undone.
func (g *writeGen) linkedTransaction(obsOnly bool) writeRequest {
	g.tame, g.obsOnly = g.r.IntN(5) < 3, obsOnly
	typ := g.writeType(obsOnly)
	shape := g.pick(linkedShapes)
	if g.tame && typ != "Observation" {
		// Patients and shared types are not written tamely: only
		// resources of a patient's compartment are.
		typ = g.pick([]string{"Observation", "Condition", "Encounter", "Immunization"})
		if obsOnly {
			typ = "Observation"
		}
	}
	var entries []map[string]any
	switch shape {
	case "urn-patient":
		entries = g.urnPatient()
	case "urn-link":
		entries = g.urnLink(typ)
	case "conditional-reference":
		entries = g.conditionalReferenceEntries(typ)
	case "foreign-match":
		entries = g.foreignMatch(typ)
	case "put-create":
		entries = g.putCreate(typ)
	case "delete-recreate":
		entries = g.deleteRecreate(typ)
	case "order":
		entries = g.order(typ)
	default:
		entries = g.failing(typ)
	}
	w := g.bundleRequest("transaction", entries)
	w.shape, w.txEntries = "tx-"+shape, len(entries)
	return w
}

// compartmentResource draws a resource of typ with id (none when "")
// that, when the write is tame, names the context patient as written.
func (g *writeGen) compartmentResource(typ, id string) map[string]any {
	r := g.resource(typ, id)
	if g.tame && typ != "Patient" && typ != "Practitioner" {
		r[hunt.PatientElement(typ)] = map[string]any{"reference": "Patient/" + contextPatient}
	}
	return r
}

// post is a create entry of r with the fullUrl u (none when "").
func post(u string, r map[string]any) map[string]any {
	en := map[string]any{"resource": r, "request": map[string]any{"method": "POST", "url": r["resourceType"]}}
	if u != "" {
		en["fullUrl"] = u
	}
	return en
}

// linking draws one to two creates of compartment resources whose
// patient (and for an Observation, maybe its performer) is link.
func (g *writeGen) linking(link string, obsOnly bool) []map[string]any {
	var out []map[string]any
	for range 1 + g.r.IntN(2) {
		typ := "Observation"
		if !obsOnly && g.chance(2) {
			typ = g.pick([]string{"Condition", "Encounter", "Immunization", "AllergyIntolerance", "MedicationRequest"})
		}
		r := g.resource(typ, "")
		r[hunt.PatientElement(typ)] = map[string]any{"reference": link}
		if typ == "Observation" && g.chance(3) {
			r["performer"] = []any{map[string]any{"reference": link}}
			if g.chance(2) {
				r["subject"] = g.reference(r)
			}
		}
		out = append(out, post(hunt.URN(g.r), r))
	}
	return out
}

// urnPatient is a Patient the Bundle creates (by POST, or PUT of a new
// id) or updates, under a urn:uuid fullUrl, and resources that name it
// by that urn: a patient-context token must not create a second patient
// and fill it.
func (g *writeGen) urnPatient() []map[string]any {
	u := hunt.URN(g.r)
	var patient map[string]any
	switch {
	case g.tame && g.obsOnly:
		return g.linking("Patient/"+contextPatient, true)
	case g.tame:
		// The Patient under its own url, which names no other entry's
		// resource, and links to it as written.
		u = g.e.gateway + "/Patient/" + contextPatient
		patient = map[string]any{"fullUrl": u, "resource": g.resource("Patient", contextPatient),
			"request": map[string]any{"method": "PUT", "url": "Patient/" + contextPatient}}
		return append([]map[string]any{patient}, g.linking("Patient/"+contextPatient, false)...)
	case g.chance(2):
		patient = post(u, g.resource("Patient", ""))
	default:
		g.n++
		id := g.pick([]string{fmt.Sprintf("gen-%d", g.n), "p2", caseVariant})
		patient = map[string]any{"fullUrl": u, "resource": g.resource("Patient", id),
			"request": map[string]any{"method": "PUT", "url": "Patient/" + id}}
	}
	return append([]map[string]any{patient}, g.linking(u, g.obsOnly)...)
}

// urnLink is a resource created under a urn:uuid fullUrl and others that
// name it (as their patient when it is a Patient, else through focus,
// hasMember or derivedFrom), in an order that may put the links first.
func (g *writeGen) urnLink(typ string) []map[string]any {
	u := hunt.URN(g.r)
	first := post(u, g.compartmentResource(typ, ""))
	var out []map[string]any
	for range 1 + g.r.IntN(2) {
		r := g.compartmentResource("Observation", "")
		link := map[string]any{"reference": g.spellURN(u)}
		switch {
		case typ == "Patient":
			r["subject"] = link
		default:
			r[g.pick([]string{"focus", "hasMember", "derivedFrom"})] = []any{link}
		}
		out = append(out, post(hunt.URN(g.r), r))
	}
	if g.chance(2) {
		return append(out, first)
	}
	return append([]map[string]any{first}, out...)
}

// spellURN spells the urn u as an entry names it: as it is, mostly, or
// in a form medplum replaces too (percent-encoded, followed by more) or
// does not (upper case).
func (g *writeGen) spellURN(u string) string {
	if g.tame || g.chance(2) {
		return u
	}
	return g.pick([]string{strings.ReplaceAll(u, ":", "%3A"), u + "/_history/1", strings.ToUpper(u), "Patient/" + u})
}

// conditionalSearch draws a search that finds a patient: by identifier
// (seeded as urn:patients|id), by id or by name, the context patient's or
// another's, or none or several.
func (g *writeGen) conditionalSearch() string {
	pid := g.patientID()
	if g.tame {
		return "Patient?identifier=urn:patients|" + pid
	}
	switch g.r.IntN(6) {
	case 0:
		return "Patient?_id=" + pid
	case 1:
		return "Patient?name=" + g.pick([]string{"Family1", "Family2", "Variant", "Family"})
	case 2:
		return "Patient?identifier=" + pid
	case 3:
		return "Patient?identifier=urn:patients|" + pid + "&_id=" + g.patientID()
	}
	return "Patient?identifier=urn:patients|" + pid
}

// conditionalReferenceEntries are writes whose patient reference (or
// performer, or a Patient's link) is a conditional reference, which the
// server resolves to whatever patient matches.
func (g *writeGen) conditionalReferenceEntries(typ string) []map[string]any {
	var out []map[string]any
	for range 1 + g.r.IntN(2) {
		r := g.compartmentResource(typ, "")
		link := map[string]any{"reference": g.conditionalSearch()}
		switch {
		case g.tame && !g.obsOnly:
			// A conditional reference to a shared type, which patient/
			// scopes search unnarrowed.
			r = g.compartmentResource("Observation", "")
			r["performer"] = []any{map[string]any{"reference": g.pick([]string{"Practitioner?_id=dr1", "Practitioner?name=Shared"})}}
		case typ == "Patient":
			r["link"] = []any{map[string]any{"type": "seealso", "other": link}}
		case typ == "Observation" && g.chance(3):
			r["performer"] = []any{link}
		case typ != "Practitioner":
			r[hunt.PatientElement(typ)] = link
		}
		en := post("", r)
		if g.chance(3) {
			id := g.targetID(typ)
			r["id"] = id
			en["request"] = map[string]any{"method": "PUT", "url": typ + "/" + id}
		}
		out = append(out, en)
	}
	return out
}

// foreignSearch draws an If-None-Exist search for typ that matches one
// resource: the context patient's (tame) or anyone's.
func (g *writeGen) foreignSearch(typ string) string {
	pid := g.patientID()
	switch typ {
	case "Patient":
		return g.pick([]string{"identifier=urn:patients|" + pid, "_id=" + pid})
	case "Observation":
		if g.tame {
			return "_id=" + g.targetID(typ)
		}
		if g.chance(2) {
			// Its category is "Laboratory", which medplum finds for
			// category=laboratory.
			return "_id=cat-" + pid + "-4"
		}
		return g.pick([]string{"_id=obs-" + pid + "-1", "_id=cat-" + pid + "-1", "subject=Patient/" + pid + "&_id=obs-" + pid + "-2"})
	case "Practitioner":
		return "_id=dr1"
	}
	return "subject=Patient/" + pid
}

// foreignMatch is a conditional create under a urn:uuid fullUrl whose
// search may find another patient's resource (or one outside the
// token's constraints), which the answer then holds and the urn stands
// for: in other entries' references, or as their request.url.
func (g *writeGen) foreignMatch(typ string) []map[string]any {
	u := hunt.URN(g.r)
	first := post(u, g.compartmentResource(typ, ""))
	first["request"].(map[string]any)["ifNoneExist"] = g.foreignSearch(typ)
	out := []map[string]any{first}
	switch {
	case g.chance(3):
		// Alone: its answer is what its search found.
	case typ == "Patient" && g.chance(2):
		out = append(out, g.linking(g.spellURN(u), g.obsOnly)...)
	case g.chance(4) && !g.tame:
		method := g.pick([]string{"PUT", "PATCH", "DELETE"})
		en := map[string]any{"request": map[string]any{"method": method, "url": g.spellURN(u)}}
		switch method {
		case "PUT":
			en["resource"] = g.compartmentResource(typ, "")
		case "PATCH":
			en["resource"] = g.entryPatch(typ)
		}
		out = append(out, en)
	default:
		r := g.compartmentResource("Observation", "")
		r["focus"] = []any{map[string]any{"reference": g.spellURN(u)}}
		out = append(out, post("", r))
	}
	return out
}

// putCreate is an update that creates a resource (a new id, or a case
// variant of an existing one) under a urn:uuid fullUrl, and resources
// that name it by the urn or by its new id.
func (g *writeGen) putCreate(typ string) []map[string]any {
	g.n++
	id := fmt.Sprintf("gen-%d", g.n)
	if !g.tame && g.chance(3) {
		id = g.targetID(typ)
	}
	u := hunt.URN(g.r)
	first := map[string]any{"fullUrl": u, "resource": g.compartmentResource(typ, id), "request": map[string]any{"method": "PUT", "url": typ + "/" + id}}
	link := g.pick([]string{u, typ + "/" + id})
	if typ == "Patient" {
		return append([]map[string]any{first}, g.linking(link, g.obsOnly)...)
	}
	r := g.compartmentResource("Observation", "")
	r["focus"] = []any{map[string]any{"reference": link}}
	return []map[string]any{first, post("", r)}
}

// deleteRecreate deletes a resource and writes the same id again in the
// same Bundle (by PUT, or by POST with the id in the body), in either
// order; medplum runs every delete before every create and update.
func (g *writeGen) deleteRecreate(typ string) []map[string]any {
	id := g.targetID(typ)
	del := map[string]any{"request": map[string]any{"method": "DELETE", "url": typ + "/" + id}}
	again := map[string]any{"resource": g.compartmentResource(typ, id), "request": map[string]any{"method": "PUT", "url": typ + "/" + id}}
	if g.chance(3) {
		again = post(g.pick([]string{"", hunt.URN(g.r), g.e.gateway + "/" + typ + "/" + id}), g.compartmentResource(typ, id))
	}
	if g.chance(2) {
		return []map[string]any{again, del}
	}
	return []map[string]any{del, again}
}

// order lists entries before the entry they depend on, which medplum
// runs by kind (every delete, then every create, update and patch), not
// in the Bundle's order: resources that name a urn:uuid listed before
// the entry that resolves it (a create, or an update whose search may
// find nothing and create); one time in four a patch, update or delete
// whose request.url is that urn; one time in four several entries on
// one id, shuffled, which medplum refuses as a duplicate.
func (g *writeGen) order(typ string) []map[string]any {
	id := g.targetID(typ)
	if !g.tame && g.chance(4) {
		all := []map[string]any{
			{"resource": g.compartmentResource(typ, id), "request": map[string]any{"method": "PUT", "url": typ + "/" + id}},
			{"resource": g.entryPatch(typ), "request": map[string]any{"method": "PATCH", "url": typ + "/" + id}},
			{"request": map[string]any{"method": "DELETE", "url": typ + "/" + id}},
		}
		g.r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		return all[:2]
	}
	u := hunt.URN(g.r)
	created := post(u, g.compartmentResource(typ, ""))
	if g.chance(2) {
		created["request"] = map[string]any{"method": "PUT", "url": typ + "?" + g.searchParams(typ)}
	}
	if g.tame || !g.chance(3) {
		var out []map[string]any
		if typ == "Patient" {
			out = g.linking(g.spellURN(u), g.obsOnly)
		} else {
			r := g.compartmentResource("Observation", "")
			r["focus"] = []any{map[string]any{"reference": g.spellURN(u)}}
			out = []map[string]any{post(hunt.URN(g.r), r)}
		}
		return append(out, created)
	}
	var first map[string]any
	switch g.r.IntN(3) {
	case 0:
		first = map[string]any{"resource": g.entryPatch(typ), "request": map[string]any{"method": "PATCH", "url": g.spellURN(u)}}
	case 1:
		first = map[string]any{"resource": g.compartmentResource(typ, ""), "request": map[string]any{"method": "PUT", "url": g.spellURN(u)}}
	default:
		first = map[string]any{"request": map[string]any{"method": "DELETE", "url": g.spellURN(u)}}
	}
	return []map[string]any{first, created}
}

// failing is a write the token may make, maybe linked, followed (in
// the Bundle or in medplum's order) by an entry the server fails: a
// version that does not match, a delete or patch of nothing, a
// conditional reference that matches no one. The Bundle must leave the
// store as it was.
func (g *writeGen) failing(typ string) []map[string]any {
	out := g.linking("Patient/"+contextPatient, g.obsOnly)
	id := g.targetID(typ)
	switch g.r.IntN(4) {
	case 0:
		out = append(out, map[string]any{"resource": g.compartmentResource(typ, id),
			"request": map[string]any{"method": "PUT", "url": typ + "/" + id, "ifMatch": `W/"0"`}})
	case 1:
		g.n++
		out = append(out, map[string]any{"request": map[string]any{"method": "DELETE", "url": fmt.Sprintf("%s/gen-%d", typ, g.n)}})
	case 2:
		g.n++
		out = append(out, map[string]any{"resource": g.entryPatch(typ), "request": map[string]any{"method": "PATCH", "url": fmt.Sprintf("%s/gen-%d", typ, g.n)}})
	default:
		r := g.compartmentResource("Observation", "")
		r["subject"] = map[string]any{"reference": "Patient?identifier=urn:patients|nobody"}
		out = append(out, post("", r))
	}
	return out
}
