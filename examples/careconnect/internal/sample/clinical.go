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

func (b builder) forPatient(p person) []draft {
	subject := ref("Patient/"+p.id, p.given+" "+p.family)
	gp := ref("Practitioner/gp-1", "Dr Imran Khan")
	enc := ref("Encounter/enc-"+p.id, "GP consultation")
	obsCategory := func(code, display string) []any {
		return []any{concept(b.terminology("observation-category", "observation-category"), code, display)}
	}

	lab := obj{
		"meta":              b.profile("Observation"),
		"status":            "final",
		"category":          obsCategory("laboratory", "Laboratory"),
		"code":              concept(snomed, p.labCode, p.labDisplay),
		"subject":           subject,
		"effectiveDateTime": "2024-02-12T09:30:00Z",
		"issued":            "2024-02-12T15:00:00Z",
		"performer":         []any{ref("Organization/org-1", "Riverside Medical Practice")},
		"valueQuantity": obj{
			"value": p.labValue, "unit": p.labUnit, "system": "http://unitsofmeasure.org", "code": p.labUCUM,
		},
	}
	lab[b.encounterKey()] = enc

	vital := obj{
		"meta":     b.profile("Observation"),
		"status":   "final",
		"category": obsCategory("vital-signs", "Vital Signs"),
		"code": obj{"coding": []any{
			coding(snomed, p.vitalCode, p.vitalDisplay),
			coding("http://loinc.org", p.vitalLOINC, p.vitalDisplay),
		}, "text": p.vitalDisplay},
		"subject":           subject,
		"effectiveDateTime": "2024-02-12T09:15:00Z",
		"performer":         []any{gp},
		"valueQuantity": obj{
			"value": p.vitalValue, "unit": p.vitalUnit, "system": "http://unitsofmeasure.org", "code": p.vitalUnit,
		},
	}
	vital[b.encounterKey()] = enc

	encounter := obj{
		"meta":    b.profile("Encounter"),
		"status":  "finished",
		"class":   coding(b.terminology("v3/ActCode", "v3-ActCode"), "AMB", "ambulatory"),
		"type":    []any{concept(snomed, "185347001", "Encounter for problem")},
		"subject": subject,
		"participant": []any{obj{
			"individual": gp,
		}},
		"period":          obj{"start": "2024-02-12T09:00:00Z", "end": "2024-02-12T09:40:00Z"},
		"serviceProvider": ref("Organization/org-1", "Riverside Medical Practice"),
	}
	if !b.r4 {
		encounter["class"] = coding("http://hl7.org/fhir/v3/ActCode", "AMB", "ambulatory")
	}

	condition := obj{
		"meta":               b.profile("Condition"),
		"clinicalStatus":     b.status("condition-clinical", "active"),
		"verificationStatus": b.status("condition-ver-status", "confirmed"),
		"category": []any{concept(b.terminology("condition-category", "condition-category"),
			"problem-list-item", "Problem List Item")},
		"code":          concept(snomed, p.condCode, p.condDisplay),
		"subject":       subject,
		"onsetDateTime": "2019-06-01",
		"asserter":      gp,
	}
	condition[b.encounterKey()] = enc
	if b.r4 {
		condition["recordedDate"] = "2024-02-12"
	} else {
		condition["assertedDate"] = "2024-02-12"
	}

	procedure := obj{
		"meta":              b.profile("Procedure"),
		"status":            "completed",
		"code":              concept(snomed, p.procCode, p.procDisplay),
		"subject":           subject,
		"performedDateTime": "2015-09-03",
		"performer":         []any{obj{"actor": gp}},
	}

	allergy := obj{
		"meta":               b.profile("AllergyIntolerance"),
		"clinicalStatus":     b.status("allergyintolerance-clinical", "active"),
		"verificationStatus": b.status("allergyintolerance-verification", "confirmed"),
		"type":               "allergy",
		"category":           []any{"medication"},
		"criticality":        "high",
		"code":               concept(snomed, p.allergyCode, p.allergyDisplay),
		"patient":            subject,
		"recorder":           gp,
		"reaction": []any{obj{
			"manifestation": []any{concept(snomed, "271807003", "Eruption of skin")},
			"severity":      "moderate",
		}},
	}
	if b.r4 {
		allergy["recordedDate"] = "2020-05-01"
	} else {
		allergy["assertedDate"] = "2020-05-01"
	}

	medicine := concept(snomed, p.medCode, p.medDisplay)
	medRequest := obj{
		"meta":                      b.profile("MedicationRequest"),
		"status":                    "active",
		"intent":                    "order",
		"medicationCodeableConcept": medicine,
		"subject":                   subject,
		"authoredOn":                "2024-02-12",
		"dosageInstruction":         []any{obj{"text": p.dose}},
	}
	medRequest[b.encounterKey()] = enc
	if b.r4 {
		medRequest["requester"] = gp
	} else {
		medRequest["requester"] = obj{"agent": gp}
	}

	medStatement := obj{
		"meta":                      b.profile("MedicationStatement"),
		"status":                    "active",
		"medicationCodeableConcept": medicine,
		"subject":                   subject,
		"effectiveDateTime":         "2024-02-12",
		"informationSource":         gp,
		"basedOn":                   []any{ref("MedicationRequest/medreq-"+p.id, p.medDisplay)},
		"dosage":                    []any{obj{"text": p.dose}},
	}
	if !b.r4 {
		medStatement["taken"] = "y"
	}

	immunization := obj{
		"meta":          b.profile("Immunization"),
		"status":        "completed",
		"vaccineCode":   concept(snomed, p.vaccineCode, p.vaccineDisplay),
		"patient":       subject,
		"primarySource": true,
	}
	if b.r4 {
		immunization["occurrenceDateTime"] = "2021-04-10"
		immunization["performer"] = []any{obj{"actor": gp}}
	} else {
		immunization["notGiven"] = false
		immunization["date"] = "2021-04-10"
		immunization["practitioner"] = []any{obj{"actor": gp}}
	}

	return []draft{
		{"Patient", p.id, b.patient(p)},
		{"Encounter", "enc-" + p.id, encounter},
		{"Observation", "obs-lab-" + p.id, lab},
		{"Observation", "obs-vital-" + p.id, vital},
		{"Condition", "cond-" + p.id, condition},
		{"Procedure", "proc-" + p.id, procedure},
		{"AllergyIntolerance", "allergy-" + p.id, allergy},
		{"MedicationRequest", "medreq-" + p.id, medRequest},
		{"MedicationStatement", "medstmt-" + p.id, medStatement},
		{"Immunization", "imm-" + p.id, immunization},
	}
}
