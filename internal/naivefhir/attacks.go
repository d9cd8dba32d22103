package naivefhir

// Attack is a request that a client holding patient/*.rs scopes for Alice
// (Patient/p1) might send to reach other patients' data in Sample.
type Attack struct {
	Name        string
	Method      string
	Path        string // relative to the FHIR base: "Observation?patient=p2", "" for the base itself
	Body        string
	ContentType string
}

// Attacks lists searches, reads by id, _include, _revinclude, chains,
// _has, paging replays, POST _search and batches against Sample. A server
// that leaks nothing answers none of them with a resource Leaks reports
// for Alice; the naive Server itself leaks on most of them.
var Attacks = []Attack{
	{Name: "search everything", Method: "GET", Path: "Observation"},
	{Name: "search by code", Method: "GET", Path: "Observation?code=2339-0"},
	{Name: "search other patient", Method: "GET", Path: "Observation?patient=p2"},
	{Name: "OR-list smuggle", Method: "GET", Path: "Observation?patient=p1,p2"},
	{Name: "subject other patient", Method: "GET", Path: "Observation?subject=Patient/p2"},
	{Name: "search by other id", Method: "GET", Path: "Observation?_id=obs-p2-lab"},
	{Name: "conditions", Method: "GET", Path: "Condition"},
	{Name: "encounters", Method: "GET", Path: "Encounter?_count=100"},
	{Name: "patients", Method: "GET", Path: "Patient"},
	{Name: "patients by name", Method: "GET", Path: "Patient?name=Bob"},
	{Name: "read other patient", Method: "GET", Path: "Patient/p2"},
	{Name: "read other observation", Method: "GET", Path: "Observation/obs-p2-lab"},
	{Name: "vread other observation", Method: "GET", Path: "Observation/obs-p3-vital/_history/1"},
	{Name: "read other condition", Method: "GET", Path: "Condition/cond-p3"},
	{Name: "include leak", Method: "GET", Path: "Observation?_include=Observation:performer"},
	{Name: "typed include leak", Method: "GET", Path: "Observation?_include=Observation:performer:Patient"},
	{Name: "revinclude from shared practitioner", Method: "GET", Path: "Practitioner?_revinclude=Observation:performer"},
	{Name: "revinclude from shared organization", Method: "GET", Path: "Organization?_revinclude=Patient:organization"},
	{Name: "revinclude from own patient", Method: "GET", Path: "Patient?_revinclude=Observation:subject"},
	{Name: "compartment of other patient", Method: "GET", Path: "Patient/p2/Observation"},
	{Name: "own compartment", Method: "GET", Path: "Patient/p1/Observation"},
	{Name: "chained oracle", Method: "GET", Path: "Observation?subject:Patient.name=Bob"},
	{Name: "has oracle", Method: "GET", Path: "Patient?_has:Observation:patient:code=2339-0"},
	{Name: "count leak", Method: "GET", Path: "Observation?_summary=count"},
	{Name: "paging replay of another search", Method: "GET", Path: "Observation?patient=Patient/p2&_count=1&_offset=1"},
	{Name: "system search", Method: "GET", Path: "?_type=Observation"},
	{Name: "POST _search", Method: "POST", Path: "Observation/_search", Body: "code=8867-4", ContentType: "application/x-www-form-urlencoded"},
	{Name: "POST _search other patient", Method: "POST", Path: "Observation/_search", Body: "patient=p3", ContentType: "application/x-www-form-urlencoded"},
	{Name: "batch of reads", Method: "POST", Path: "", ContentType: "application/fhir+json", Body: `{"resourceType":"Bundle","type":"batch","entry":[
		{"request":{"method":"GET","url":"Patient/p2"}},
		{"request":{"method":"GET","url":"Observation/obs-p3-lab"}},
		{"request":{"method":"GET","url":"Condition"}},
		{"request":{"method":"GET","url":"Observation?_include=Observation:performer"}},
		{"request":{"method":"GET","url":"Practitioner?_revinclude=Observation:performer"}},
		{"request":{"method":"GET","url":"Observation/obs-p1-lab"}}]}`},
	{Name: "transaction of reads", Method: "POST", Path: "", ContentType: "application/fhir+json", Body: `{"resourceType":"Bundle","type":"transaction","entry":[
		{"request":{"method":"GET","url":"Observation/obs-p2-vital"}},
		{"request":{"method":"GET","url":"Encounter"}}]}`},
}
