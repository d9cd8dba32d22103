package medplum

import (
	"math/rand/v2"
	"strings"
)

// The grammar of TestSearchGrammarThroughGateway: GET requests relative
// to the FHIR base, built from the seeded resources' types, ids and
// values, the types' search parameters with modifiers and prefixes,
// result parameters, and mutations of names and delimiters.

// paramKind says how a search parameter's values are made.
type paramKind int

const (
	kindRef paramKind = iota
	kindToken
	kindString
	kindDate
	kindID
)

// searchParam is a search parameter of a type; target is a reference's
// target type.
type searchParam struct {
	name   string
	kind   paramKind
	target string
}

// searchParams are the grammar's search parameters per type; every
// type also gets _id and _lastUpdated.
var searchParams = map[string][]searchParam{
	"Patient": {{"family", kindString, ""}, {"name", kindString, ""}, {"given", kindString, ""},
		{"general-practitioner", kindRef, "Practitioner"}, {"link", kindRef, "Patient"}, {"gender", kindToken, ""},
		{"birthdate", kindDate, ""}, {"identifier", kindToken, ""}},
	"Observation": {{"patient", kindRef, "Patient"}, {"subject", kindRef, "Patient"}, {"encounter", kindRef, "Encounter"},
		{"performer", kindRef, "Practitioner"}, {"has-member", kindRef, "Observation"}, {"category", kindToken, ""},
		{"code", kindToken, ""}, {"status", kindToken, ""}, {"date", kindDate, ""}, {"combo-code", kindToken, ""}},
	"Encounter": {{"patient", kindRef, "Patient"}, {"subject", kindRef, "Patient"}, {"service-provider", kindRef, "Organization"},
		{"status", kindToken, ""}, {"class", kindToken, ""}, {"date", kindDate, ""}},
	"Condition":           {{"patient", kindRef, "Patient"}, {"subject", kindRef, "Patient"}, {"code", kindToken, ""}},
	"Procedure":           {{"patient", kindRef, "Patient"}, {"subject", kindRef, "Patient"}, {"status", kindToken, ""}, {"code", kindToken, ""}},
	"AllergyIntolerance":  {{"patient", kindRef, "Patient"}, {"code", kindToken, ""}},
	"MedicationRequest":   {{"patient", kindRef, "Patient"}, {"subject", kindRef, "Patient"}, {"status", kindToken, ""}, {"intent", kindToken, ""}, {"code", kindToken, ""}},
	"MedicationStatement": {{"patient", kindRef, "Patient"}, {"subject", kindRef, "Patient"}, {"status", kindToken, ""}, {"code", kindToken, ""}},
	"Immunization":        {{"patient", kindRef, "Patient"}, {"status", kindToken, ""}, {"vaccine-code", kindToken, ""}, {"date", kindDate, ""}},
	"Practitioner":        {{"family", kindString, ""}, {"name", kindString, ""}},
	"Organization":        {{"name", kindString, ""}},
}

// searchGen generates requests from r; gateway and upstream are the
// bases absolute references are made of.
type searchGen struct {
	r                 *rand.Rand
	gateway, upstream string
	versions          map[string][]string // version ids by "Type/id", for vreads
}

func (g *searchGen) pick(list ...string) string { return list[g.r.IntN(len(list))] }

func (g *searchGen) chance(percent int) bool { return g.r.IntN(100) < percent }

// searchTypes are the types the grammar searches, the interesting ones
// more often.
var searchTypes = append([]string{"Observation", "Observation", "Observation", "Observation", "Observation",
	"Patient", "Patient", "Encounter", "Encounter", "Practitioner", "Organization"}, careConnectTypes...)

// target is one generated request, relative to the base.
func (g *searchGen) target() string {
	switch n := g.r.IntN(100); {
	case n < 66:
		t := g.pick(searchTypes...)
		return t + g.query(t)
	case n < 73:
		return g.compartment()
	case n < 86:
		return g.read()
	case n < 91:
		return g.history()
	case n < 95:
		return g.everything()
	default:
		return g.system()
	}
}

// query is "?" and a mutated list of search and result parameters of t
// ("" when there are none).
func (g *searchGen) query(t string) string {
	var pairs [][2]string
	for range g.r.IntN(3) {
		pairs = append(pairs, g.param(t))
	}
	for range g.r.IntN(3) {
		pairs = append(pairs, g.result(t))
	}
	if g.chance(45) {
		pairs = g.mutate(pairs)
	}
	if len(pairs) == 0 {
		return ""
	}
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p[0] + "=" + p[1]
	}
	q := strings.Join(parts, "&")
	if g.chance(5) {
		q += g.pick("&", "&&", "&=", "&_count")
	}
	return "?" + q
}

// param is one search parameter of t: its own, _id, _lastUpdated, a
// chain or _has.
func (g *searchGen) param(t string) [2]string {
	switch n := g.r.IntN(100); {
	case n < 10:
		return [2]string{"_id" + g.pick("", "", ":not", ":missing"), g.idValue(t)}
	case n < 15:
		return [2]string{"_lastUpdated", g.datePrefix() + g.pick("2000-01-01", "2100-01-01", "2024")}
	case n < 25:
		return g.chain(t)
	case n < 32 && t == "Patient":
		return g.has()
	}
	ps := searchParams[t]
	p := ps[g.r.IntN(len(ps))]
	switch p.kind {
	case kindRef:
		return [2]string{p.name + g.refModifier(p.target), g.refValue(p.target)}
	case kindToken:
		return [2]string{p.name + g.pick("", "", "", ":not", ":missing", ":text", ":in", ":below", ":above", ":of-type", ":exact", ":contains"), g.tokenValue(p.name)}
	case kindString:
		return [2]string{p.name + g.pick("", "", ":exact", ":contains", ":missing", ":text"), g.pick("Family1", "Family2", "family", "Fam", "Shared", "Variant", "")}
	case kindDate:
		return [2]string{p.name, g.datePrefix() + g.pick("2024-03-01", "2024-03-02", "2024-10-01", "2024", "2024-03-02T00:00:00Z")}
	}
	return [2]string{p.name, "x"}
}

func (g *searchGen) refModifier(target string) string {
	return g.pick("", "", "", ":"+target, ":missing", ":identifier", ":not", ":below", ":above", ":Group")
}

// refValue is a reference to a resource of type target, in the forms a
// server may read.
func (g *searchGen) refValue(target string) string {
	id := g.idValue(target)
	switch g.r.IntN(9) {
	case 0:
		return id
	case 1:
		return g.gateway + "/" + target + "/" + id
	case 2:
		return g.upstream + "/" + target + "/" + id
	case 3:
		return target + "/" + id + "," + target + "/" + g.idValue(target)
	case 4:
		return target + "%2F" + id
	case 5:
		return g.pick("true", "false")
	case 6:
		return target + "/" + id + "/_history/1"
	}
	return target + "/" + id
}

// idValue is an id of type t: seeded ones of every patient, a case
// variant, a missing one, lists.
func (g *searchGen) idValue(t string) string {
	p := g.pick("p1", "p1", "p2", "p3")
	switch t {
	case "Patient":
		return g.pick(p, p, "P1", "p1,p2", "p2%2Cp1", "p1,P1")
	case "Observation":
		return g.pick("obs-"+p+"-1", "obs-lab-"+p, "obs-vital-"+p, "obs-labcase-"+p, "obs-cross-p1", "obs-P1", "obs-p1-1,obs-p2-1",
			"obs-flip-p1", "obs-flop-p1", "obs-moved-p1", "obs-came-p1")
	case "Encounter":
		return g.pick("enc-"+p, "enc-"+p, "enc-p1,enc-p2")
	case "Practitioner":
		return "dr1"
	case "Organization":
		return "org1"
	}
	prefix := map[string]string{"Condition": "cond-", "Procedure": "proc-", "AllergyIntolerance": "alg-",
		"MedicationRequest": "medreq-", "MedicationStatement": "medst-", "Immunization": "imm-"}[t]
	return g.pick(prefix+p, prefix+p, "missing")
}

// tokenValue is a value of token parameter name, with and without a
// system.
func (g *searchGen) tokenValue(name string) string {
	switch name {
	case "category":
		return g.pick("laboratory", "laboratory", sysCategory+"|laboratory", "|laboratory", "vital-signs", "Laboratory",
			"laboratory,vital-signs", sysCategory+"|", "http://example.org/other|laboratory", "true", "false", "laboratory%2Cvital-signs")
	case "status":
		return g.pick("final", "amended", "finished", "completed", "active", "final,amended", "true")
	case "class":
		return g.pick("AMB", sysActCode+"|AMB", "amb")
	case "intent":
		return "order"
	case "gender", "identifier":
		return g.pick("female", "x|y", "true")
	}
	return g.pick("1234-5", sysLOINC+"|1234-5", "heart+rate", "potassium", "asthma", "peanut", "influenza", "true", "salbutamol")
}

func (g *searchGen) datePrefix() string {
	return g.pick("", "", "ge", "gt", "le", "lt", "eq", "ne", "sa", "eb", "ap")
}

// chain is a chained parameter of t through its subject or patient, or
// through a shared or another compartment type.
func (g *searchGen) chain(t string) [2]string {
	switch t {
	case "Patient":
		return [2]string{g.pick("general-practitioner.family", "general-practitioner:Practitioner.name", "link:Patient.family", "link._id"), g.pick("Shared", "Family2", "p2")}
	case "Practitioner", "Organization":
		return [2]string{"name", "Shared"}
	}
	hop := g.pick("subject:Patient.name", "subject.family", "patient.family", "patient._id", "subject:Patient._id", "subject:Group.name", "patient.link", "subject:Patient.general-practitioner")
	if t == "Observation" {
		hop = g.pick(hop, "performer.family", "encounter.status", "encounter.patient", "has-member.category", "has-member:Observation.subject")
	}
	if t == "Encounter" {
		hop = g.pick(hop, "service-provider.name")
	}
	return [2]string{hop, g.pick("Family1", "Family2", "p2", "Patient/p2", "Shared", "finished", "laboratory", "vital-signs")}
}

// has is a reverse chain from Patient.
func (g *searchGen) has() [2]string {
	return [2]string{g.pick("_has:Observation:patient:code", "_has:Observation:subject:category", "_has:Encounter:patient:status",
		"_has:Observation:patient:_id", "_has:Condition:subject:code"), g.pick("1234-5", "laboratory", "vital-signs", "finished", "obs-lab-p2", "asthma")}
}

// result is one result parameter of a search of t.
func (g *searchGen) result(t string) [2]string {
	switch g.r.IntN(16) {
	case 0, 1, 2, 3:
		return [2]string{"_include" + g.pick("", "", "", ":iterate"), g.include(t)}
	case 4, 5, 6:
		return [2]string{"_revinclude" + g.pick("", "", "", ":iterate"), g.revinclude()}
	case 7, 8:
		return [2]string{"_elements", g.pick("id", "subject", "category", "id,subject", "text", "status")}
	case 9:
		return [2]string{"_summary", g.pick("true", "count", "text", "data", "false")}
	case 10:
		return [2]string{"_count", g.pick("0", "1", "2", "3", "100")}
	case 11:
		return [2]string{"_offset", g.pick("1", "3", "12", "-1")}
	case 12:
		return [2]string{"_sort", g.pick("_id", "-_lastUpdated", "date", "-date,_id", "patient")}
	case 13:
		return [2]string{"_total", g.pick("accurate", "estimate", "none")}
	case 14:
		return [2]string{g.pick("_contained", "_containedType"), g.pick("true", "false", "both", "container", "contained")}
	}
	if g.chance(50) {
		// Parameters fhirauth does not read, or refuses: a server may
		// take them for a paging token or a filter of its own.
		return [2]string{g.pick("_page", "ct", "_getpages", "page", "_tag", "_list", "_text", "_content", "_filter", "_security", "_source"),
			g.pick("1", "abc", "laboratory", "patient eq p2", "Observation?patient=Patient/p2")}
	}
	return [2]string{"_format", g.pick("json", "application/fhir+json", "xml", "application/json")}
}

// include is an _include value: mostly t's reference parameters, with
// and without a target type; sometimes another type's, or the wildcard.
func (g *searchGen) include(t string) string {
	var own []string
	for _, p := range searchParams[t] {
		if p.kind == kindRef {
			own = append(own, t+":"+p.name+":"+p.target, t+":"+p.name+":"+p.target, t+":"+p.name)
		}
	}
	if len(own) > 0 && g.chance(70) {
		return g.pick(own...)
	}
	return g.pick("*", t+":*", "Observation:subject:Patient", "Observation:has-member:Observation", "Observation:encounter:Encounter",
		"Patient:link:Patient", "Encounter:subject:Patient", "Observation:subject")
}

// revinclude is a _revinclude value into patients' records.
func (g *searchGen) revinclude() string {
	return g.pick("Observation:subject", "Observation:patient", "Observation:performer", "Observation:encounter", "Observation:has-member",
		"Encounter:subject", "Encounter:service-provider", "Condition:patient", "Immunization:patient", "Patient:link",
		"Patient:general-practitioner", "*", "Observation:*", "AllergyIntolerance:patient")
}

// mutate repeats, reorders, re-cases and escapes parameters.
func (g *searchGen) mutate(pairs [][2]string) [][2]string {
	if len(pairs) > 0 && g.chance(20) {
		pairs = append(pairs, pairs[g.r.IntN(len(pairs))])
	}
	if len(pairs) > 0 && g.chance(15) {
		i := g.r.IntN(len(pairs))
		pairs = append(pairs, [2]string{pairs[i][0], g.pick("Patient/p2", "p2", "laboratory", "obs-lab-p2", "")})
	}
	for i := range pairs {
		switch g.r.IntN(30) {
		case 0:
			pairs[i][0] = strings.ToUpper(pairs[i][0][:1]) + pairs[i][0][1:]
		case 1:
			pairs[i][0] = strings.ToUpper(pairs[i][0])
		case 2:
			pairs[i][0] = escapeOne(g, pairs[i][0])
		case 3, 4:
			pairs[i][1] = escapeOne(g, pairs[i][1])
		case 5:
			pairs[i][0] = "%20" + pairs[i][0]
		}
	}
	g.r.Shuffle(len(pairs), func(i, j int) { pairs[i], pairs[j] = pairs[j], pairs[i] })
	return pairs
}

// escapeOne percent-encodes the delimiters of s (":", ",", "|", ".",
// "/", "=", "&" and a space).
func escapeOne(g *searchGen, s string) string {
	repl := map[byte]string{':': "%3A", ',': "%2C", '|': "%7C", '.': "%2E", '/': "%2F", '=': "%3D", '&': "%26", ' ': "%20"}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if e, ok := repl[s[i]]; ok && g.chance(70) {
			b.WriteString(e)
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// compartment is a compartment search: a patient's (any patient's, or
// its case variant) records of one type or all, or an Encounter's.
func (g *searchGen) compartment() string {
	p := g.pick("p1", "p1", "p1", "p2", "p3", "P1")
	if g.chance(15) {
		return "Encounter/enc-" + p + "/" + g.pick("Observation", "*") + g.query("Observation")
	}
	t := g.pick(append([]string{"*", "Observation", "Observation", "Patient"}, careConnectTypes[1:]...)...)
	q := ""
	if t != "*" {
		q = g.query(t)
	} else if g.chance(50) {
		q = "?_type=" + g.pick("Observation", "Observation,Encounter", "Condition", "Patient")
	}
	return "Patient/" + p + "/" + t + q
}

// read is a read or vread of a seeded resource, with result parameters.
func (g *searchGen) read() string {
	t := g.pick(searchTypes...)
	id := g.idValue(t)
	id, _, _ = strings.Cut(id, ",")
	id, _, _ = strings.Cut(id, "%")
	u := t + "/" + id
	if vs := g.versions[u]; len(vs) > 0 && g.chance(60) {
		u += "/_history/" + g.pick(vs...)
	} else if g.chance(20) {
		u += "/_history/" + g.pick("1", "2", "3")
	}
	if g.chance(30) {
		r := g.result(t)
		u += "?" + r[0] + "=" + r[1]
	}
	return u
}

// history is an instance, type or system history.
func (g *searchGen) history() string {
	t := g.pick(searchTypes...)
	id, _, _ := strings.Cut(g.idValue(t), ",")
	id, _, _ = strings.Cut(id, "%")
	switch g.r.IntN(4) {
	case 0:
		return t + "/_history" + g.pick("", "?_count=1", "?_since=2000-01-01T00:00:00Z")
	case 1:
		return "_history"
	}
	return t + "/" + id + "/_history" + g.pick("", "", "?_count=1", "?_since=2000-01-01T00:00:00Z", "?_at=2024")
}

// everything is Patient/$everything, of a patient or of every patient.
func (g *searchGen) everything() string {
	p := g.pick("p1", "p1", "p2", "P1", "")
	u := "Patient/$everything"
	if p != "" {
		u = "Patient/" + p + "/$everything"
	}
	if g.chance(50) {
		u += "?" + g.pick("_count=2", "_type=Observation", "_type=Observation,Encounter", "_since=2000-01-01T00:00:00Z", "start=2024-01-01")
	}
	return u
}

// system is a system-level search with _type, "GET [base]/?_type=...".
func (g *searchGen) system() string {
	types := g.pick("Observation", "Patient", "Observation,Patient", "Observation,Encounter,Patient", "Practitioner,Organization", "Condition")
	t, _, _ := strings.Cut(types, ",")
	return "/?_type=" + types + strings.Replace(g.query(t), "?", "&", 1)
}
