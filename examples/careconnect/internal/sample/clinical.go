package sample

func (b builder) organization() obj {
	return obj{
		"meta": b.profile("Organization"),
		"identifier": []any{obj{
			"system": "https://fhir.nhs.uk/Id/ods-organization-code",
			"value":  "Y12345",
		}},
		"name": "Riverside Medical Practice",
		"address": []any{obj{
			"line": []any{"1 River Road"}, "city": "Leeds", "postalCode": "LS1 1AA", "country": "GB",
		}},
	}
}

func (b builder) practitioner() obj {
	return obj{
		"meta": b.profile("Practitioner"),
		"identifier": []any{obj{
			"system": "https://fhir.hl7.org.uk/Id/gmc-number",
			"value":  "C1234567",
		}},
		"name": []any{obj{"use": "official", "family": "Khan", "given": []any{"Imran"}, "prefix": []any{"Dr"}}},
	}
}

func (b builder) patient(p person) obj {
	nhsID := obj{"system": NHSNumberSystem, "value": p.nhs}
	if !b.r4 {
		nhsID["extension"] = []any{obj{
			"url": "https://fhir.hl7.org.uk/STU3/StructureDefinition/Extension-CareConnect-NHSNumberVerificationStatus-1",
			"valueCodeableConcept": concept(
				"https://fhir.hl7.org.uk/STU3/CodeSystem/CareConnect-NHSNumberVerificationStatus-1",
				"01", "Number present and verified"),
		}}
	}
	return obj{
		"meta":       b.profile("Patient"),
		"identifier": []any{nhsID},
		"name": []any{obj{
			"use": "official", "family": p.family, "given": []any{p.given}, "prefix": []any{p.prefix},
		}},
		"gender":    p.gender,
		"birthDate": p.birthDate,
		"address": []any{obj{
			"use": "home", "line": []any{"10 High Street"}, "city": p.city, "postalCode": p.postcode, "country": "GB",
		}},
		"generalPractitioner":  []any{ref("Practitioner/gp-1", "Dr Imran Khan")},
		"managingOrganization": ref("Organization/org-1", "Riverside Medical Practice"),
	}
}

// forPatient is the sample patient p with a clinical record: one resource
// of each type Care Connect secures.
func (b builder) forPatient(p person) []draft {
	c := chart{
		b: b, p: p,
		subject: ref("Patient/"+p.id, p.given+" "+p.family),
		gp:      ref("Practitioner/gp-1", "Dr Imran Khan"),
		enc:     ref("Encounter/enc-"+p.id, "GP consultation"),
	}
	medRequest, medStatement := c.medications()
	return []draft{
		{"Patient", p.id, b.patient(p)},
		{"Encounter", "enc-" + p.id, c.encounter()},
		{"Observation", "obs-lab-" + p.id, c.labObservation()},
		{"Observation", "obs-vital-" + p.id, c.vitalObservation()},
		{"Condition", "cond-" + p.id, c.condition()},
		{"Procedure", "proc-" + p.id, c.procedure()},
		{"AllergyIntolerance", "allergy-" + p.id, c.allergy()},
		{"MedicationRequest", "medreq-" + p.id, medRequest},
		{"MedicationStatement", "medstmt-" + p.id, medStatement},
		{"Immunization", "imm-" + p.id, c.immunization()},
	}
}

// chart builds the clinical resources of one sample patient, which refer
// to the patient, their GP and their one encounter.
type chart struct {
	b                builder
	p                person
	subject, gp, enc obj
}

func (c chart) observationCategory(code, display string) []any {
	return []any{concept(c.b.terminology("observation-category", "observation-category"), code, display)}
}

func (c chart) labObservation() obj {
	lab := obj{
		"meta":              c.b.profile("Observation"),
		"status":            "final",
		"category":          c.observationCategory("laboratory", "Laboratory"),
		"code":              concept(snomed, c.p.labCode, c.p.labDisplay),
		"subject":           c.subject,
		"effectiveDateTime": "2024-02-12T09:30:00Z",
		"issued":            "2024-02-12T15:00:00Z",
		"performer":         []any{ref("Organization/org-1", "Riverside Medical Practice")},
		"valueQuantity": obj{
			"value": c.p.labValue, "unit": c.p.labUnit, "system": "http://unitsofmeasure.org", "code": c.p.labUCUM,
		},
	}
	lab[c.b.encounterKey()] = c.enc
	return lab
}

func (c chart) vitalObservation() obj {
	vital := obj{
		"meta":     c.b.profile("Observation"),
		"status":   "final",
		"category": c.observationCategory("vital-signs", "Vital Signs"),
		"code": obj{"coding": []any{
			coding(snomed, c.p.vitalCode, c.p.vitalDisplay),
			coding("http://loinc.org", c.p.vitalLOINC, c.p.vitalDisplay),
		}, "text": c.p.vitalDisplay},
		"subject":           c.subject,
		"effectiveDateTime": "2024-02-12T09:15:00Z",
		"performer":         []any{c.gp},
		"valueQuantity": obj{
			"value": c.p.vitalValue, "unit": c.p.vitalUnit, "system": "http://unitsofmeasure.org", "code": c.p.vitalUnit,
		},
	}
	vital[c.b.encounterKey()] = c.enc
	return vital
}

func (c chart) encounter() obj {
	encounter := obj{
		"meta":    c.b.profile("Encounter"),
		"status":  "finished",
		"class":   coding(c.b.terminology("v3/ActCode", "v3-ActCode"), "AMB", "ambulatory"),
		"type":    []any{concept(snomed, "185347001", "Encounter for problem")},
		"subject": c.subject,
		"participant": []any{obj{
			"individual": c.gp,
		}},
		"period":          obj{"start": "2024-02-12T09:00:00Z", "end": "2024-02-12T09:40:00Z"},
		"serviceProvider": ref("Organization/org-1", "Riverside Medical Practice"),
	}
	if !c.b.r4 {
		encounter["class"] = coding("http://hl7.org/fhir/v3/ActCode", "AMB", "ambulatory")
	}
	return encounter
}

func (c chart) condition() obj {
	condition := obj{
		"meta":               c.b.profile("Condition"),
		"clinicalStatus":     c.b.status("condition-clinical", "active"),
		"verificationStatus": c.b.status("condition-ver-status", "confirmed"),
		"category": []any{concept(c.b.terminology("condition-category", "condition-category"),
			"problem-list-item", "Problem List Item")},
		"code":          concept(snomed, c.p.condCode, c.p.condDisplay),
		"subject":       c.subject,
		"onsetDateTime": "2019-06-01",
		"asserter":      c.gp,
	}
	condition[c.b.encounterKey()] = c.enc
	if c.b.r4 {
		condition["recordedDate"] = "2024-02-12"
	} else {
		condition["assertedDate"] = "2024-02-12"
	}
	return condition
}

func (c chart) procedure() obj {
	procedure := obj{
		"meta":              c.b.profile("Procedure"),
		"status":            "completed",
		"code":              concept(snomed, c.p.procCode, c.p.procDisplay),
		"subject":           c.subject,
		"performedDateTime": "2015-09-03",
		"performer":         []any{obj{"actor": c.gp}},
	}
	return procedure
}

func (c chart) allergy() obj {
	allergy := obj{
		"meta":               c.b.profile("AllergyIntolerance"),
		"clinicalStatus":     c.b.status("allergyintolerance-clinical", "active"),
		"verificationStatus": c.b.status("allergyintolerance-verification", "confirmed"),
		"type":               "allergy",
		"category":           []any{"medication"},
		"criticality":        "high",
		"code":               concept(snomed, c.p.allergyCode, c.p.allergyDisplay),
		"patient":            c.subject,
		"recorder":           c.gp,
		"reaction": []any{obj{
			"manifestation": []any{concept(snomed, "271807003", "Eruption of skin")},
			"severity":      "moderate",
		}},
	}
	if c.b.r4 {
		allergy["recordedDate"] = "2020-05-01"
	} else {
		allergy["assertedDate"] = "2020-05-01"
	}
	return allergy
}

// medications is the patient's medication request and the statement
// based on it.
func (c chart) medications() (request, statement obj) {
	medicine := concept(snomed, c.p.medCode, c.p.medDisplay)
	medRequest := obj{
		"meta":                      c.b.profile("MedicationRequest"),
		"status":                    "active",
		"intent":                    "order",
		"medicationCodeableConcept": medicine,
		"subject":                   c.subject,
		"authoredOn":                "2024-02-12",
		"dosageInstruction":         []any{obj{"text": c.p.dose}},
	}
	medRequest[c.b.encounterKey()] = c.enc
	if c.b.r4 {
		medRequest["requester"] = c.gp
	} else {
		medRequest["requester"] = obj{"agent": c.gp}
	}

	medStatement := obj{
		"meta":                      c.b.profile("MedicationStatement"),
		"status":                    "active",
		"medicationCodeableConcept": medicine,
		"subject":                   c.subject,
		"effectiveDateTime":         "2024-02-12",
		"informationSource":         c.gp,
		"basedOn":                   []any{ref("MedicationRequest/medreq-"+c.p.id, c.p.medDisplay)},
		"dosage":                    []any{obj{"text": c.p.dose}},
	}
	if !c.b.r4 {
		medStatement["taken"] = "y"
	}
	return medRequest, medStatement
}

func (c chart) immunization() obj {
	immunization := obj{
		"meta":          c.b.profile("Immunization"),
		"status":        "completed",
		"vaccineCode":   concept(snomed, c.p.vaccineCode, c.p.vaccineDisplay),
		"patient":       c.subject,
		"primarySource": true,
	}
	if c.b.r4 {
		immunization["occurrenceDateTime"] = "2021-04-10"
		immunization["performer"] = []any{obj{"actor": c.gp}}
	} else {
		immunization["notGiven"] = false
		immunization["date"] = "2021-04-10"
		immunization["practitioner"] = []any{obj{"actor": c.gp}}
	}
	return immunization
}
