package fhirauth

import "testing"

// Bundle entries whose fullUrl the server re-points. FHIR's transaction
// rules (http.html#trules) have the server give a POST entry an id of its
// own, or the id of the resource its ifNoneExist matched, and replace
// every link in the Bundle that matches the entry's fullUrl (references,
// uri elements, in any of their relative or absolute forms) with a link
// to that resource; an update's fullUrl stands for the resource its
// request.url (or its search) selects. A reference whose text matches
// such a fullUrl is therefore not what it says: "Patient/123" may be
// stored as a reference to a new Patient, to another existing one, or to
// an Observation.

// fullURLEntry is a Bundle entry with a fullUrl (and an ifNoneExist
// unless it is "").
func fullURLEntry(fullURL, method, url, ifNoneExist, resource string) string {
	e := `{"fullUrl":"` + fullURL + `","request":{"method":"` + method + `","url":"` + url + `"`
	if ifNoneExist != "" {
		e += `,"ifNoneExist":"` + ifNoneExist + `"`
	}
	return e + `},"resource":` + resource + `}`
}

const (
	obsOfA       = `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/123"}}`
	labObsOfA    = `{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"text":"x"},"subject":{"reference":"Patient/123"}}`
	otherPatient = `{"resourceType":"Patient","identifier":[{"system":"sys","value":"other"}]}`
)

func postObs(resource string) string { return entry("POST", "Observation", resource) }

func transaction(entries ...string) string { return bundle("transaction", entries...) }

// Under patient context a reference the server replaces cannot prove
// that a resource is in the token's patient's compartment.
func TestAttackReplacedFullURLCompartment(t *testing.T) {
	const A = "123"
	const (
		pscopes   = "launch/patient patient/Patient.cruds patient/Observation.cruds"
		allScopes = "launch/patient patient/*.cruds"
		mixed     = "launch/patient user/Patient.cs patient/Observation.c"
	)
	obsAby := func(performer string) string {
		return `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/123"},"performer":[{"reference":"` + performer + `"}]}`
	}
	runAttacks(t, []decisionCase{
		// Patient context alone: a patient/ token creates no Patient,
		// but any POST or PUT may claim A's fullUrl and take A's
		// references with it, out of the compartment.
		{name: "POST Patient claiming A's fullUrl, conditional on another patient", method: "POST", url: "/fhir", scopes: pscopes, patient: A, status: 403,
			body: transaction(fullURLEntry("Patient/123", "POST", "Patient", "identifier=sys|other", otherPatient), postObs(obsOfA))},
		{name: "POST Observation claiming A's fullUrl", method: "POST", url: "/fhir", scopes: pscopes, patient: A, status: 403,
			body: transaction(fullURLEntry("Patient/123", "POST", "Observation", "", obsOfA), postObs(obsOfA))},
		{name: "POST Observation claiming A's absolute fullUrl", method: "POST", url: "/fhir", scopes: pscopes, patient: A, status: 403,
			body: transaction(fullURLEntry("http://fhir.test/fhir/Patient/123", "POST", "Observation", "", obsOfA), postObs(obsOfA))},
		{name: "POST Observation claiming A's versioned fullUrl", method: "POST", url: "/fhir", scopes: pscopes, patient: A, status: 403,
			body: transaction(fullURLEntry("http://fhir.test/fhir/Patient/123/_history/1", "POST", "Observation", "", obsOfA), postObs(obsOfA))},
		{name: "conditional POST Observation claiming A's fullUrl", method: "POST", url: "/fhir", scopes: pscopes, patient: A, status: 403,
			body: transaction(fullURLEntry("Patient/123", "POST", "Observation", "code=x", obsOfA), postObs(obsOfA))},
		{name: "PUT of another resource claiming A's fullUrl", method: "POST", url: "/fhir", scopes: pscopes, patient: A, status: 403,
			body: transaction(fullURLEntry("Patient/123", "PUT", "Observation/o1", "", `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/123"}}`), postObs(obsOfA))},
		{name: "replacing entry after the referring one", method: "POST", url: "/fhir", scopes: pscopes, patient: A, status: 403,
			body: transaction(postObs(obsOfA), fullURLEntry("Patient/123", "POST", "Observation", "", obsOfA))},
		{name: "fullUrl in other letter case", method: "POST", url: "/fhir", scopes: pscopes, patient: A, status: 403,
			body: transaction(fullURLEntry("HTTP://FHIR.TEST/fhir/patient/123", "POST", "Observation", "", obsOfA), postObs(obsOfA))},

		// Mixed contexts: each entry is granted by a context of its own,
		// the Patient by user/ scopes, the Observation by patient/ ones.
		{name: "mixed: POST Patient claiming A's fullUrl, conditional on another patient", method: "POST", url: "/fhir", scopes: mixed, patient: A, status: 403,
			body: transaction(fullURLEntry("Patient/123", "POST", "Patient", "identifier=sys|other", otherPatient), postObs(obsOfA))},
		{name: "mixed: urn:uuid performer standing for another patient", method: "POST", url: "/fhir", scopes: mixed, patient: A, status: 403,
			body: transaction(fullURLEntry("urn:uuid:0b1c2d3e-0000-4000-8000-000000000001", "POST", "Patient", "identifier=sys|other", otherPatient), postObs(obsAby("urn:uuid:0b1c2d3e-0000-4000-8000-000000000001")))},
		{name: "mixed: Practitioner performer standing for another patient", method: "POST", url: "/fhir", scopes: mixed, patient: A, status: 403,
			body: transaction(fullURLEntry("Practitioner/9", "POST", "Patient", "identifier=sys|other", otherPatient), postObs(obsAby("Practitioner/9")))},
		{name: "mixed: batch entry referring to a replaced fullUrl", method: "POST", url: "/fhir", scopes: mixed, patient: A, allow: true,
			body: bundle("batch", fullURLEntry("Patient/123", "POST", "Patient", "identifier=sys|other", otherPatient), postObs(obsOfA)), check: entryAllowed(true, false)},

		// What keeps working.
		{name: "legit: A's Observations, no entry claims A", method: "POST", url: "/fhir", scopes: pscopes, patient: A, allow: true,
			body: transaction(postObs(obsOfA), postObs(obsOfA))},
		{name: "legit: PUT of A with A's own fullUrl", method: "POST", url: "/fhir", scopes: pscopes, patient: A, allow: true,
			body: transaction(fullURLEntry("http://fhir.test/fhir/Patient/123", "PUT", "Patient/123", "", patient123), postObs(obsOfA))},
		{name: "legit: urn:uuid placeholders of entries that are no Patient", method: "POST", url: "/fhir", scopes: allScopes, patient: A, allow: true,
			body: transaction(fullURLEntry("urn:uuid:0b1c2d3e-0000-4000-8000-000000000002", "POST", "Encounter", "", `{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/123"}}`),
				fullURLEntry("urn:uuid:0b1c2d3e-0000-4000-8000-000000000003", "POST", "RelatedPerson", "", `{"resourceType":"RelatedPerson","patient":{"reference":"Patient/123"}}`),
				postObs(`{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/123"},"encounter":{"reference":"urn:uuid:0b1c2d3e-0000-4000-8000-000000000002"},"performer":[{"reference":"urn:uuid:0b1c2d3e-0000-4000-8000-000000000003"}]}`))},
	})
}

// entryAllowed checks which entries of a batch are allowed.
func entryAllowed(want ...bool) func(t *testing.T, d *Decision) {
	return func(t *testing.T, d *Decision) {
		t.Helper()
		if len(d.Entries) != len(want) {
			t.Fatalf("%d entry decisions, want %d", len(d.Entries), len(want))
		}
		for i, w := range want {
			if d.Entries[i].Allowed != w {
				t.Errorf("entry %d allowed %v, want %v (%s)", i, d.Entries[i].Allowed, w, d.Entries[i].Reason)
			}
		}
	}
}

// linkKey reduces every form of a link to what it names.
func TestLinkKey(t *testing.T) {
	for in, want := range map[string]string{
		"Patient/123":                                   "Patient/123",
		"Patient/123/_history/2":                        "Patient/123",
		"http://fhir.test/fhir/Patient/123":             "Patient/123",
		"https://x/fhir/Patient/123/_history/2?a=b#c":   "Patient/123",
		"https://x/fhir/Patient/%31%32%33/":             "Patient/123",
		"urn:uuid:0b1c2d3e-0000-4000-8000-000000000001": "urn:uuid:0b1c2d3e-0000-4000-8000-000000000001",
		"http://loinc.org":                              "http://loinc.org",
		"123":                                           "123",
	} {
		if got := linkKey(in); got != want {
			t.Errorf("linkKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// A link the server replaces satisfies no v2 scope constraint: neither a
// reference nor a uri (a Coding's system), in any of its forms.
func TestAttackReplacedFullURLConstraint(t *testing.T) {
	const (
		onlyA     = "user/Observation.c?subject=Patient/123 user/Patient.c"
		onlyAcond = "user/Observation.c?subject=Patient/123 user/Patient.cs"
		onlyAupd  = "user/Observation.c?subject=Patient/123 user/Patient.cu"
		onlyAput  = "user/Observation.cu?subject=Patient/123 user/Patient.c"
		labOnly   = "user/Observation.c?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory user/Basic.c"
		basic     = `{"resourceType":"Basic","code":{"text":"x"}}`
	)
	runAttacks(t, []decisionCase{
		{name: "POST Patient claiming the constrained fullUrl", method: "POST", url: "/fhir", scopes: onlyA, status: 403,
			body: transaction(fullURLEntry("Patient/123", "POST", "Patient", "", otherPatient), postObs(obsOfA))},
		{name: "conditional POST Patient claiming the constrained fullUrl", method: "POST", url: "/fhir", scopes: onlyAcond, status: 403,
			body: transaction(fullURLEntry("Patient/123", "POST", "Patient", "identifier=sys|other", otherPatient), postObs(obsOfA))},
		{name: "absolute fullUrl, relative reference", method: "POST", url: "/fhir", scopes: onlyA, status: 403,
			body: transaction(fullURLEntry("https://elsewhere.example/fhir/Patient/123", "POST", "Patient", "", otherPatient), postObs(obsOfA))},
		{name: "PUT of another Patient claiming the constrained fullUrl", method: "POST", url: "/fhir", scopes: onlyAupd, status: 403,
			body: transaction(fullURLEntry("Patient/123", "PUT", "Patient/999", "", `{"resourceType":"Patient","id":"999"}`), postObs(obsOfA))},
		{name: "PUT referring to a replaced fullUrl", method: "POST", url: "/fhir", scopes: onlyAput, status: 403,
			body: transaction(fullURLEntry("Patient/123", "POST", "Patient", "", otherPatient), entry("PUT", "Observation/o9", `{"resourceType":"Observation","id":"o9","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/123"}}`))},
		{name: "coding system that is a fullUrl", method: "POST", url: "/fhir", scopes: labOnly, status: 403,
			body: transaction(fullURLEntry("http://terminology.hl7.org/CodeSystem/observation-category", "POST", "Basic", "", basic), postObs(labObsOfA))},
		{name: "batch entry referring to a replaced fullUrl", method: "POST", url: "/fhir", scopes: onlyA, allow: true,
			body: bundle("batch", fullURLEntry("Patient/123", "POST", "Patient", "", otherPatient), postObs(obsOfA)), check: entryAllowed(true, false)},

		// What keeps working.
		{name: "legit: constrained Observation alone", method: "POST", url: "/fhir", scopes: onlyA, allow: true,
			body: transaction(postObs(obsOfA))},
		{name: "legit: constrained Observation beside an unrelated new Patient", method: "POST", url: "/fhir", scopes: onlyA, allow: true,
			body: transaction(fullURLEntry("urn:uuid:0b1c2d3e-0000-4000-8000-000000000004", "POST", "Patient", "", otherPatient), postObs(obsOfA))},
		{name: "legit: lab Observation beside a Basic with a fullUrl of its own", method: "POST", url: "/fhir", scopes: labOnly, allow: true,
			body: transaction(fullURLEntry("urn:uuid:0b1c2d3e-0000-4000-8000-000000000005", "POST", "Basic", "", basic), postObs(labObsOfA))},
	})
}

// A urn fullUrl inside a longer link: medplum replaces the first
// urn:uuid it finds anywhere in a string, so a performer
// "urn:uuid:X2", where X is the fullUrl of the PUT of the token's own
// Patient/123, was stored as "Patient/1232": a patient/ token wrote an
// Observation into another patient's compartment.
func TestAttackPlaceholderInsideLink(t *testing.T) {
	const (
		A      = "123"
		scopes = "launch/patient patient/*.cruds"
		x      = "urn:uuid:0b1c2d3e-0000-4000-8000-000000000009"
	)
	obsBy := func(performer string) string {
		return `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/123"},"performer":[{"reference":"` + performer + `"}]}`
	}
	putA := fullURLEntry(x, "PUT", "Patient/123", "", patient123)
	runAttacks(t, []decisionCase{
		{name: "suffix after the placeholder", method: "POST", url: "/fhir", scopes: scopes, patient: A, status: 403,
			body: transaction(putA, postObs(obsBy(x+"2")))},
		{name: "prefix before the placeholder", method: "POST", url: "/fhir", scopes: scopes, patient: A, status: 403,
			body: transaction(putA, postObs(obsBy("x"+x)))},
		{name: "percent-encoded colons and upper case", method: "POST", url: "/fhir", scopes: scopes, patient: A, status: 403,
			body: transaction(putA, postObs(obsBy("URN%3Auuid%3A0B1C2D3E-0000-4000-8000-0000000000092")))},
		{name: "batch: the entry is refused", method: "POST", url: "/fhir", scopes: scopes, patient: A, allow: true,
			body: bundle("batch", putA, postObs(obsBy(x+"2"))), check: entryAllowed(true, false)},
		// What keeps working: a urn of no entry, and the placeholder of
		// an entry that is no Patient.
		{name: "legit: a urn no entry claims", method: "POST", url: "/fhir", scopes: scopes, patient: A, allow: true,
			body: transaction(putA, postObs(obsBy("urn:uuid:0b1c2d3e-0000-4000-8000-000000000008")))},
		{name: "legit: placeholder of an Encounter", method: "POST", url: "/fhir", scopes: scopes, patient: A, allow: true,
			body: transaction(fullURLEntry(x, "POST", "Encounter", "", `{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/123"}}`),
				postObs(`{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/123"},"encounter":{"reference":"`+x+`"}}`))},
	})
}
