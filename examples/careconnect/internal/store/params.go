package store

// paramKind is how a search parameter's values are compared.
type paramKind int

const (
	kindToken paramKind = iota
	kindReference
	kindString
)

// paramDef describes a supported search parameter: the element paths it
// reads (dotted, arrays flattened; paths of both STU3 and R4 may be listed,
// only those present match) and, for references, the resource types a bare
// id refers to.
type paramDef struct {
	kind    paramKind
	paths   []string
	targets []string // for references: allowed target types; the first is the default for bare ids
}

func token(paths ...string) paramDef { return paramDef{kind: kindToken, paths: paths} }
func str(paths ...string) paramDef   { return paramDef{kind: kindString, paths: paths} }
func ref(targets []string, paths ...string) paramDef {
	return paramDef{kind: kindReference, paths: paths, targets: targets}
}

var (
	toPatient = []string{"Patient"}
	toAny     = []string(nil)
	toActor   = []string{"Practitioner", "Patient", "RelatedPerson", "Organization"}
)

// searchParams is the table of supported search parameters per resource
// type, besides _id which every type has. Names follow the FHIR search
// parameter registry; the reference parameters include those of the patient
// CompartmentDefinition, so compartment narrowing can always be expressed.
var searchParams = map[string]map[string]paramDef{
	"Patient": {
		"identifier": token("identifier"),
		"name":       str("name"),
		"family":     str("name.family"),
		"given":      str("name.given"),
		"gender":     token("gender"),
		"birthdate":  token("birthDate"),
		"link":       ref(toPatient, "link.other"),
	},
	"Observation": {
		"identifier": token("identifier"),
		"patient":    ref(toPatient, "subject"),
		"subject":    ref(toAny, "subject"),
		"category":   token("category"),
		"code":       token("code"),
		"status":     token("status"),
		"encounter":  ref([]string{"Encounter"}, "context", "encounter"),
		"performer":  ref(toActor, "performer"),
	},
	"Encounter": {
		"identifier": token("identifier"),
		"patient":    ref(toPatient, "subject"),
		"subject":    ref(toAny, "subject"),
		"status":     token("status"),
		"class":      token("class"),
		"type":       token("type"),
	},
	"Condition": {
		"identifier":      token("identifier"),
		"patient":         ref(toPatient, "subject"),
		"subject":         ref(toAny, "subject"),
		"category":        token("category"),
		"code":            token("code"),
		"clinical-status": token("clinicalStatus"),
		"asserter":        ref(toActor, "asserter"),
		"encounter":       ref([]string{"Encounter"}, "context", "encounter"),
	},
	"Procedure": {
		"identifier": token("identifier"),
		"patient":    ref(toPatient, "subject"),
		"subject":    ref(toAny, "subject"),
		"category":   token("category"),
		"code":       token("code"),
		"status":     token("status"),
		"performer":  ref(toActor, "performer.actor"),
		"encounter":  ref([]string{"Encounter"}, "context", "encounter"),
	},
	"AllergyIntolerance": {
		"identifier":      token("identifier"),
		"patient":         ref(toPatient, "patient"),
		"category":        token("category"),
		"code":            token("code", "reaction.substance"),
		"clinical-status": token("clinicalStatus"),
		"criticality":     token("criticality"),
		"type":            token("type"),
		"recorder":        ref(toActor, "recorder"),
		"asserter":        ref(toActor, "asserter"),
	},
	"MedicationRequest": {
		"identifier": token("identifier"),
		"patient":    ref(toPatient, "subject"),
		"subject":    ref(toAny, "subject"),
		"category":   token("category"),
		"code":       token("medicationCodeableConcept"),
		"status":     token("status"),
		"intent":     token("intent"),
		"encounter":  ref([]string{"Encounter"}, "context", "encounter"),
	},
	"MedicationStatement": {
		"identifier": token("identifier"),
		"patient":    ref(toPatient, "subject"),
		"subject":    ref(toAny, "subject"),
		"category":   token("category"),
		"code":       token("medicationCodeableConcept"),
		"status":     token("status"),
		"source":     ref(toActor, "informationSource"),
	},
	"Immunization": {
		"identifier":   token("identifier"),
		"patient":      ref(toPatient, "patient"),
		"vaccine-code": token("vaccineCode"),
		"status":       token("status"),
	},
	"Practitioner": {
		"identifier": token("identifier"),
		"name":       str("name"),
	},
	"Organization": {
		"identifier": token("identifier"),
		"name":       str("name"),
	},
	"Location": {
		"identifier": token("identifier"),
		"name":       str("name"),
	},
	"Medication": {
		"code": token("code"),
	},
}

// SearchParams returns the names of the search parameters supported for a
// resource type (besides _id and the result parameters), for the
// CapabilityStatement.
func SearchParams(resourceType string) map[string]string {
	out := map[string]string{"_id": "token"}
	for name, def := range searchParams[resourceType] {
		switch def.kind {
		case kindToken:
			out[name] = "token"
		case kindReference:
			out[name] = "reference"
		case kindString:
			out[name] = "string"
		}
	}
	return out
}
