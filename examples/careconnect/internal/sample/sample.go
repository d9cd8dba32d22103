package sample

import (
	"encoding/json"
	"fmt"

	"github.com/google/fhir/go/fhirversion"
)

// Resource is one sample resource.
type Resource struct {
	Type string
	ID   string
	JSON []byte
}

// Patient describes one sample patient, for documentation and demo clients.
type Patient struct {
	ID        string
	NHSNumber string
	Name      string
}

// CareConnectTypes are the nine resource types of the Care Connect security
// guide, in its order.
var CareConnectTypes = []string{
	"Patient", "Observation", "Encounter", "Condition", "Procedure",
	"AllergyIntolerance", "MedicationRequest", "MedicationStatement", "Immunization",
}

type person struct {
	id, nhs, family, given, prefix, gender, birthDate, city, postcode string
	// clinical content
	labCode, labDisplay, labUnit, labUCUM string
	labValue                              float64
	vitalCode, vitalDisplay, vitalUnit    string
	vitalLOINC                            string
	vitalValue                            float64
	condCode, condDisplay                 string
	procCode, procDisplay                 string
	allergyCode, allergyDisplay           string
	medCode, medDisplay, dose             string
	vaccineCode, vaccineDisplay           string
}

var people = []person{
	{
		id: "1", nhs: "9990000018", family: "Jones", given: "Amelia", prefix: "Mrs", gender: "female",
		birthDate: "1968-03-14", city: "Leeds", postcode: "LS1 4HR",
		labCode: "1019071000000109", labDisplay: "Haemoglobin concentration", labUnit: "g/L", labUCUM: "g/L", labValue: 128,
		vitalCode: "364075005", vitalDisplay: "Heart rate", vitalUnit: "/min", vitalLOINC: "8867-4", vitalValue: 72,
		condCode: "38341003", condDisplay: "Hypertensive disorder",
		procCode: "80146002", procDisplay: "Appendicectomy",
		allergyCode: "91936005", allergyDisplay: "Allergy to penicillin",
		medCode: "318420003", medDisplay: "Ramipril 5mg capsules", dose: "One capsule once a day",
		vaccineCode: "871751006", vaccineDisplay: "Hepatitis A virus antigen only vaccine product",
	},
	{
		id: "2", nhs: "9990000026", family: "Smith", given: "Oliver", prefix: "Mr", gender: "male",
		birthDate: "1975-11-02", city: "Manchester", postcode: "M1 2AB",
		labCode: "1000731000000107", labDisplay: "Serum creatinine level", labUnit: "umol/L", labUCUM: "umol/L", labValue: 88,
		vitalCode: "27113001", vitalDisplay: "Body weight", vitalUnit: "kg", vitalLOINC: "29463-7", vitalValue: 81.5,
		condCode: "44054006", condDisplay: "Diabetes mellitus type 2",
		procCode: "73761001", procDisplay: "Colonoscopy",
		allergyCode: "300913006", allergyDisplay: "Shellfish allergy",
		medCode: "325278007", medDisplay: "Metformin 500mg tablets", dose: "One tablet twice a day",
		vaccineCode: "1119349007", vaccineDisplay: "SARS-CoV-2 mRNA vaccine",
	},
	{
		id: "3", nhs: "9990000034", family: "Patel", given: "Priya", prefix: "Ms", gender: "female",
		birthDate: "1990-07-21", city: "Birmingham", postcode: "B1 1BB",
		labCode: "1022431000000105", labDisplay: "Haemoglobin A1c level", labUnit: "mmol/mol", labUCUM: "mmol/mol", labValue: 41,
		vitalCode: "276885007", vitalDisplay: "Core body temperature", vitalUnit: "Cel", vitalLOINC: "8310-5", vitalValue: 36.8,
		condCode: "195967001", condDisplay: "Asthma",
		procCode: "38102005", procDisplay: "Cholecystectomy",
		allergyCode: "418689008", allergyDisplay: "Allergy to grass pollen",
		medCode: "320151009", medDisplay: "Salbutamol 100micrograms/dose inhaler", dose: "Two puffs when required",
		vaccineCode: "871866001", vaccineDisplay: "Neisseria meningitidis serogroup C antigen only vaccine product",
	},
}

// Patients returns the sample patients.
func Patients() []Patient {
	out := make([]Patient, len(people))
	for i, p := range people {
		out[i] = Patient{ID: p.id, NHSNumber: p.nhs, Name: p.given + " " + p.family}
	}
	return out
}

const snomed = "http://snomed.info/sct"

// obj is a JSON object under construction.
type obj = map[string]any

func coding(system, code, display string) obj {
	return obj{"system": system, "code": code, "display": display}
}

func concept(system, code, display string) obj {
	return obj{"coding": []any{coding(system, code, display)}, "text": display}
}

func ref(r, display string) obj { return obj{"reference": r, "display": display} }

// builder renders the sample resources for one FHIR version.
type builder struct {
	r4 bool
}

// profile returns meta with the Care Connect STU3 profile, or the UK Core
// profile that succeeded it for R4.
func (b builder) profile(name string) obj {
	if b.r4 {
		return obj{"profile": []any{"https://fhir.hl7.org.uk/StructureDefinition/UKCore-" + name}}
	}
	return obj{"profile": []any{"https://fhir.hl7.org.uk/STU3/StructureDefinition/CareConnect-" + name + "-1"}}
}

// terminology returns an HL7 code system URL for the version.
func (b builder) terminology(stu3, r4 string) string {
	if b.r4 {
		return "http://terminology.hl7.org/CodeSystem/" + r4
	}
	return "http://hl7.org/fhir/" + stu3
}

// status renders a clinical/verification status: a code in STU3, a
// CodeableConcept in R4.
func (b builder) status(r4System, code string) any {
	if b.r4 {
		return obj{"coding": []any{obj{"system": "http://terminology.hl7.org/CodeSystem/" + r4System, "code": code}}}
	}
	return code
}

// encounterRef is the element linking a resource to its encounter: context
// in STU3, encounter in R4.
func (b builder) encounterKey() string {
	if b.r4 {
		return "encounter"
	}
	return "context"
}

// Resources returns the sample data for a FHIR version: one Organization,
// one Practitioner and, for each sample patient, a Patient and one resource
// of each other Care Connect type (two Observations: laboratory and vital
// signs).
func Resources(v fhirversion.Version) ([]Resource, error) {
	var b builder
	switch v {
	case fhirversion.STU3:
	case fhirversion.R4:
		b.r4 = true
	default:
		return nil, fmt.Errorf("sample: unsupported FHIR version %q", v)
	}
	var out []Resource
	add := func(typ, id string, doc obj) error {
		doc["resourceType"] = typ
		doc["id"] = id
		raw, err := json.Marshal(doc)
		if err != nil {
			return fmt.Errorf("sample: %s/%s: %w", typ, id, err)
		}
		out = append(out, Resource{Type: typ, ID: id, JSON: raw})
		return nil
	}
	if err := add("Organization", "org-1", b.organization()); err != nil {
		return nil, err
	}
	if err := add("Practitioner", "gp-1", b.practitioner()); err != nil {
		return nil, err
	}
	for _, p := range people {
		for _, r := range b.forPatient(p) {
			if err := add(r.typ, r.id, r.doc); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

type draft struct {
	typ, id string
	doc     obj
}
