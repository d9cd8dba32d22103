package server_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/fhirwarden/fhirwarden/internal/hunt"
)

// The grammar of the write hunt (writehunt_test.go), fitted to what
// careconnect serves: JSON Patch only, conditional create, update and
// delete, batch and transaction entries of GET, POST, PUT and DELETE.

// whTemplates are the sample resources of patient 1 that generated
// bodies start from (valid for the store's validator), by type.
var whTemplates = map[string]string{
	"Patient": "Patient/1", "Observation": "Observation/obs-lab-1", "Encounter": "Encounter/enc-1",
	"Condition": "Condition/cond-1", "Procedure": "Procedure/proc-1", "AllergyIntolerance": "AllergyIntolerance/allergy-1",
	"MedicationRequest": "MedicationRequest/medreq-1", "MedicationStatement": "MedicationStatement/medstmt-1",
	"Immunization": "Immunization/imm-1", "Practitioner": "Practitioner/gp-1",
}

// setTemplates keeps the template resources of the store as first read,
// without id, meta, text and patient references.
func (g *whGen) setTemplates(state map[string]map[string]any) {
	g.templates = map[string]map[string]any{}
	for typ, key := range whTemplates {
		out := map[string]any{}
		for k, v := range state[key] {
			switch k {
			case "id", "meta", "text", "subject", "patient", "performer", "informationSource", "asserter", "recorder":
			default:
				out[k] = v
			}
		}
		g.templates[typ] = out
	}
}

// resource draws a body of typ with id (none when ""): its patient
// reference, a second compartment reference, an extension naming a
// patient, and for Observations a category.
func (g *whGen) resource(typ, id string) map[string]any {
	r := map[string]any{}
	for k, v := range g.templates[typ] {
		r[k] = v
	}
	r["resourceType"] = typ
	if !g.tame && g.chance(12) {
		r["resourceType"] = g.pick([]string{"Observation", "Condition", "Patient", "observation"})
	}
	if id != "" {
		r["id"] = id
	}
	switch typ {
	case "Patient":
		if g.chance(3) {
			r["link"] = []any{map[string]any{"type": "seealso", "other": g.reference(r)}}
		}
	case "Practitioner":
	default:
		if g.tame || !g.chance(10) {
			r[hunt.PatientElement(typ)] = g.reference(r)
		}
	}
	if typ == "Observation" {
		delete(r, "category")
		if cat := g.category(); cat != nil {
			r["category"] = cat
		}
		if g.chance(3) {
			r["performer"] = []any{g.pick2(g.reference(r), map[string]any{"reference": "Practitioner/gp-1"})}
		}
	}
	if typ == "Condition" && !g.tame && g.chance(4) {
		r["asserter"] = g.reference(r)
	}
	if !g.tame && g.chance(5) {
		r["extension"] = []any{map[string]any{"url": "http://example.org/fhir/patient", "valueReference": g.reference(r)}}
	}
	return r
}

func (g *whGen) pick2(a, b map[string]any) map[string]any {
	if g.chance(2) {
		return a
	}
	return b
}

// jsonPatch draws one to three JSON Patch operations on typ/id.
func (g *whGen) jsonPatch(typ, id string) []any {
	var ops []any
	for range 1 + g.r.IntN(3) {
		ops = append(ops, g.patchOp(typ, id))
	}
	return ops
}

// patchOp draws one JSON Patch operation: harmless ones, and ones that
// move the resource to another patient, id, type or category.
func (g *whGen) patchOp(typ, id string) map[string]any {
	owner := "/" + hunt.PatientElement(typ)
	scratch := map[string]any{}
	status := g.pick([]string{"amended", "final", "completed", "active"})
	if g.tame {
		if typ == "Observation" {
			return map[string]any{"op": "replace", "path": "/status", "value": g.pick([]string{"amended", "final", "corrected"})}
		}
		return map[string]any{"op": "add", "path": "/language", "value": g.pick([]string{"en-GB", "en"})}
	}
	switch g.r.IntN(16) {
	case 0, 1:
		return map[string]any{"op": "replace", "path": "/status", "value": status}
	case 2:
		return map[string]any{"op": "add", "path": "/language", "value": "en-GB"}
	case 3:
		return map[string]any{"op": "replace", "path": g.pick([]string{owner, "/Subject", "/sub~0ject", owner + "/reference"}),
			"value": g.pick2(g.reference(scratch), map[string]any{"x": g.referenceString(g.patientID())})["reference"]}
	case 4:
		return map[string]any{"op": "add", "path": g.pick([]string{"/performer", "/performer/-", "/asserter"}), "value": []any{g.reference(scratch)}}
	case 5, 6:
		return map[string]any{"op": "replace", "path": g.pick([]string{"/id", "/id", "/ID"}), "value": g.targetID(typ)}
	case 7:
		return map[string]any{"op": "replace", "path": "/resourceType", "value": g.pick([]string{"Patient", "Condition", "Observation"})}
	case 8:
		return map[string]any{"op": g.pick([]string{"move", "copy"}), "from": g.pick([]string{owner, "/performer/0", "/extension/0/valueReference"}),
			"path": g.pick([]string{owner, "/performer/0", "/basedOn", "/link/0/other"})}
	case 9:
		return map[string]any{"op": "remove", "path": g.pick([]string{owner, "/category", "/performer", "/link"})}
	case 10:
		return map[string]any{"op": "replace", "path": "/category", "value": g.category()}
	case 11:
		return map[string]any{"op": "replace", "path": "/category/0/coding/0/code", "value": g.pick([]string{"vital-signs", "laboratory", "Laboratory"})}
	case 12:
		return map[string]any{"op": "add", "path": "/extension", "value": []any{map[string]any{"url": "http://example.org/x", "valueReference": g.reference(scratch)}}}
	case 13:
		return map[string]any{"op": "test", "path": g.pick([]string{"/status", owner + "/reference"}), "value": g.pick([]string{"final", "Patient/1", "Patient/2"})}
	case 14:
		return map[string]any{"op": "add", "path": "/link", "value": []any{map[string]any{"type": "seealso", "other": g.reference(scratch)}}}
	}
	return map[string]any{"op": g.pick([]string{"replace", "add"}), "path": "", "value": g.resource(typ, g.pick([]string{id, id, ""}))}
}

// searchParams draws the query of a conditional write.
func (g *whGen) searchParams(typ string) string {
	if g.tame {
		return "_id=" + url.QueryEscape(g.targetID(typ))
	}
	var ps []string
	for range 1 + g.r.IntN(2) {
		switch g.r.IntN(7) {
		case 0, 1:
			ps = append(ps, "_id="+url.QueryEscape(g.targetID(typ)))
		case 2:
			ps = append(ps, g.pick([]string{"subject", "patient", "performer", "link"})+"="+url.QueryEscape(g.referenceString(g.patientID())))
		case 3:
			ps = append(ps, "category="+g.pick([]string{"laboratory", "vital-signs", "http://hl7.org/fhir/observation-category|laboratory", "Laboratory"}))
		case 4:
			ps = append(ps, "identifier="+fmt.Sprintf("none-%d", g.r.IntN(1000)))
		case 5:
			ps = append(ps, g.pick([]string{"_id:not=obs-lab-1", "subject:missing=true", "status=final", "_id=obs-lab-1,obs-lab-2",
				"identifier=9990000026", "name=Smith", "gender=male"}))
		default:
			ps = append(ps, "_id="+g.pick([]string{"1", "2", "obs-lab-1", "obs-lab-2", "obs-vital-1", "OBS-LAB-1", "enc-2"}))
		}
	}
	return strings.Join(ps, "&")
}

// ifNoneExist draws an If-None-Exist value in its various forms.
func (g *whGen) ifNoneExist(typ string) string {
	if g.tame {
		return fmt.Sprintf("identifier=none-%d", g.r.IntN(1000))
	}
	q := g.searchParams(typ)
	switch g.r.IntN(6) {
	case 0:
		return typ + "?" + q
	case 1:
		return g.base + "/" + typ + "?" + q
	case 2:
		return "?" + q
	case 3:
		return g.pick([]string{"_id", "identifier=", "&", "_id=%zz"})
	}
	return q
}

// bundle draws a batch or transaction of one to four entries, and
// sometimes: entries naming another entry's urn:uuid, a PUT followed by
// a DELETE of the same resource, an entry whose resource type disagrees
// with its url, a duplicated entry.
func (g *whGen) bundle(kind string) whWrite {
	var entries []map[string]any
	for range 1 + g.r.IntN(4) {
		entries = append(entries, g.entry(g.writeType()))
	}
	if g.chance(3) {
		entries = g.linkedEntries(entries)
	}
	if !g.tame {
		entries = g.hostileEntries(entries)
	}
	list := make([]any, len(entries))
	for i, en := range entries {
		list[i] = en
	}
	body := hunt.JSON(map[string]any{"resourceType": "Bundle", "type": kind, "entry": list})
	return whWrite{shape: kind, method: http.MethodPost, body: body, bundle: true, headers: map[string]string{}}
}

// hostileEntries adds to entries, sometimes, placeholder references, a
// PUT and DELETE of one resource, a type mismatch, a duplicate.
func (g *whGen) hostileEntries(entries []map[string]any) []map[string]any {
	if g.chance(3) {
		entries = append(entries, g.placeholderEntries(g.writeType())...)
	}
	if g.chance(5) {
		typ := g.writeType()
		id := g.targetID(typ)
		entries = append(entries,
			map[string]any{"resource": g.resource(typ, id), "request": map[string]any{"method": "PUT", "url": typ + "/" + id}},
			map[string]any{"request": map[string]any{"method": "DELETE", "url": typ + "/" + id}})
	}
	if g.chance(6) {
		other := g.pick([]string{"Condition", "Patient", "Observation"})
		entries = append(entries, map[string]any{"resource": g.resource(other, ""),
			"request": map[string]any{"method": g.pick([]string{"POST", "PUT"}), "url": g.writeType() + "/" + g.targetID(other)}})
	}
	if g.chance(6) {
		entries = append(entries, entries[g.r.IntN(len(entries))])
	}
	return entries
}

// entry draws one Bundle entry on typ.
func (g *whGen) entry(typ string) map[string]any {
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
		if g.chance(2) {
			en["fullUrl"] = hunt.URN(g.r)
		}
	case 3, 4:
		req["method"], req["url"] = "PUT", typ+"/"+id
		en["resource"] = g.resource(typ, id)
		if g.chance(2) {
			en["fullUrl"] = g.pick([]string{hunt.URN(g.r), g.base + "/" + typ + "/" + g.targetID(typ)})
		}
		if !g.tame && g.chance(4) {
			req["ifMatch"] = g.pick([]string{`W/"1"`, `W/"2"`})
		}
	case 5:
		req["method"], req["url"] = g.pick([]string{"PATCH", "GET"}), typ+"/"+id
		if req["method"] == "PATCH" {
			// careconnect takes no PATCH entries; fhirauth reads a
			// Binary JSON Patch and may forward the entry.
			data := base64.StdEncoding.EncodeToString([]byte(hunt.JSON(g.jsonPatch(typ, id))))
			en["resource"] = map[string]any{"resourceType": "Binary", "contentType": "application/json-patch+json", "content": data}
		}
	case 6:
		req["method"], req["url"] = "DELETE", typ+"/"+id
	default:
		req["method"], req["url"] = g.pick([]string{"PUT", "DELETE"}), typ+"?"+g.searchParams(typ)
		if req["method"] == "PUT" {
			en["resource"] = g.resource(typ, "")
		}
	}
	return en
}

// placeholderEntries are an entry whose fullUrl is a urn:uuid the server
// resolves to a resource (a conditional create that may match another
// patient's, an update, a create) and an entry naming that urn: in its
// request.url, or in a reference, in some spelling.
func (g *whGen) placeholderEntries(typ string) []map[string]any {
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
	spelled := g.pick([]string{u, u, strings.ReplaceAll(u, ":", "%3A"), u + "0", u + "/_history/1", strings.ToUpper(u)})
	second := map[string]any{}
	if g.chance(2) {
		method := g.pick([]string{"DELETE", "PUT"})
		second["request"] = map[string]any{"method": method, "url": g.pick([]string{spelled, typ + "/" + spelled, typ + "?_id=" + spelled})}
		if method == "PUT" {
			second["resource"] = g.resource(typ, "")
		}
		return []map[string]any{first, second}
	}
	r := g.resource(g.pick([]string{"Observation", typ}), "")
	if rt, _ := r["resourceType"].(string); rt != "Patient" && rt != "Practitioner" {
		r[hunt.PatientElement(rt)] = map[string]any{"reference": spelled}
	} else {
		r["link"] = []any{map[string]any{"type": "seealso", "other": map[string]any{"reference": spelled}}}
	}
	second["request"] = map[string]any{"method": "POST", "url": r["resourceType"]}
	second["resource"] = r
	return []map[string]any{first, second}
}

// linkedEntries puts a Patient entry with a urn:uuid fullUrl (a create,
// or an update of an existing or variant patient) first, and makes the
// patient reference of a later Observation name that urn.
func (g *whGen) linkedEntries(entries []map[string]any) []map[string]any {
	u := hunt.URN(g.r)
	pid := g.pick([]string{"1", "2", "01", "", ""})
	if g.tame {
		pid = whPatient
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
