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
	return writeRequest{shape: kind, method: "POST", target: "", body: body, bundle: true, headers: map[string]string{}}
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
