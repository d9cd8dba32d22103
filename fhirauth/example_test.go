package fhirauth_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

// A patient-context token: searches are narrowed to the patient's
// compartment, and a search naming another patient is refused.
func Example() {
	policy, err := fhirauth.NewPolicy(fhirauth.WithSharedTypes("Practitioner"))
	if err != nil {
		panic(err)
	}
	scopes, _ := scope.ParseSet("launch/patient patient/Observation.rs")
	caller := &token.Principal{Scopes: scopes, Patient: "123"}

	r := httptest.NewRequest("GET", "/fhir/Observation?code=8867-4", nil)
	_, d := policy.Authorize(context.Background(), caller, r)
	fmt.Println(d.Allowed, d.ApplyTo(r.URL.Query()).Encode())

	r = httptest.NewRequest("GET", "/fhir/Observation?patient=123,456", nil)
	_, d = policy.Authorize(context.Background(), caller, r)
	fmt.Println(d.Status, d.Reason)

	r = httptest.NewRequest("GET", "/fhir/Condition?code=x", nil)
	_, d = policy.Authorize(context.Background(), caller, r)
	fmt.Println(d.Status, d.Needed)
	// Output:
	// true code=8867-4&patient=Patient%2F123
	// 403 patient=123,456 is an OR-list that names patients other than the token's patient (Patient/123)
	// 403 patient/Condition.s
}

// Reads by id under patient context are decided on the response: the
// server's answer passes CheckResponse, or is withheld with CheckStatus().
func ExampleDecision_CheckResponse() {
	policy, _ := fhirauth.NewPolicy()
	scopes, _ := scope.ParseSet("patient/*.rs")
	caller := &token.Principal{Scopes: scopes, Patient: "123"}
	_, d := policy.Authorize(context.Background(), caller, httptest.NewRequest("GET", "/fhir/Observation/o1", nil))

	mine := []byte(`{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/123"}}`)
	theirs := []byte(`{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/456"}}`)
	_, _, err := d.CheckResponse(http.StatusOK, mine)
	fmt.Println(d.NeedsResponseCheck(), err == nil)
	_, _, err = d.CheckResponse(http.StatusOK, theirs)
	fmt.Println(err, d.CheckStatus())
	// Output:
	// true true
	// fhirauth: resource outside the patient compartment: the Observation is not in the compartment of Patient/123 404
}

// A server that runs searches natively narrows them with Decision.Narrow
// and checks each result before it adds it to the Bundle it builds, with
// the rules CheckResponse would apply to the Bundle: here an included
// Patient must be the token's patient.
func ExampleDecision_CheckResult() {
	policy, _ := fhirauth.NewPolicy()
	scopes, _ := scope.ParseSet("patient/*.rs")
	caller := &token.Principal{Scopes: scopes, Patient: "123"}
	r := httptest.NewRequest("GET", "/fhir/Observation?code=x&_include=Observation:subject:Patient", nil)
	_, d := policy.Authorize(context.Background(), caller, r)
	fmt.Println(d.Narrow.Encode(), d.NeedsResponseCheck())

	for _, res := range []string{
		`{"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/123"}}`,
		`{"resourceType":"Patient","id":"123"}`,
		`{"resourceType":"Patient","id":"456"}`,
	} {
		fmt.Println(d.CheckResult([]byte(res)) == nil)
	}
	// Output:
	// patient=Patient%2F123 true
	// true
	// true
	// false
}

// A batch is decided entry by entry; a transaction all or nothing.
func ExamplePolicy_Authorize_batch() {
	policy, _ := fhirauth.NewPolicy()
	scopes, _ := scope.ParseSet("user/Observation.rs")
	caller := &token.Principal{Scopes: scopes}
	r := httptest.NewRequest("POST", "/fhir", strings.NewReader(`{"resourceType":"Bundle","type":"batch","entry":[
		{"request":{"method":"GET","url":"Observation?code=x"}},
		{"request":{"method":"DELETE","url":"Observation/1"}}]}`))
	r.Header.Set("Content-Type", "application/fhir+json")
	_, d := policy.Authorize(context.Background(), caller, r)
	for i, e := range d.Entries {
		fmt.Printf("%d %v %d %q\n", i, e.Allowed, e.Status, e.Needed)
	}
	// Output:
	// 0 true 200 ""
	// 1 false 403 "user/Observation.d"
}

// KnowsOperation tells the operations the policy decides (its built-in
// $export and $everything, and those registered) from any other, such
// as the status URL of an upstream's Bulk Data job.
func ExamplePolicy_KnowsOperation() {
	policy, err := fhirauth.NewPolicy(fhirauth.WithOperation(fhirauth.OperationRule{
		Name: "$stats", Levels: fhirauth.TypeLevel, Types: []string{"Patient"}, Permission: scope.Read,
	}))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, name := range []string{"$export", "everything", "$stats", "$STATS", "$export-poll-status"} {
		fmt.Println(name, policy.KnowsOperation(name))
	}
	// Output:
	// $export true
	// everything true
	// $stats true
	// $STATS true
	// $export-poll-status false
}

// OperationOutcome builds the body of a refusal for either FHIR version.
func ExampleOperationOutcome() {
	fmt.Println(string(fhirauth.OperationOutcome(fhirspec.STU3, "forbidden", `needs "user/Observation.s"`)))
	// Output:
	// {"issue":[{"code":"forbidden","diagnostics":"needs \"user/Observation.s\"","severity":"error"}],"resourceType":"OperationOutcome"}
}

// Policy.Explain says what a token may do; Policy.ExplainRequest says
// what happens to one request.
func ExamplePolicy_Explain() {
	policy, _ := fhirauth.NewPolicy()
	set, _ := scope.ParseSet("patient/Observation.rs?category=laboratory patient/Patient.r")
	pr := &token.Principal{Scopes: set, Patient: "123"}
	fmt.Println(policy.Explain(context.Background(), pr))

	r := httptest.NewRequest("GET", "/fhir/Observation?patient=456", nil)
	fmt.Println(policy.ExplainRequest(context.Background(), pr, r).Allowed)
	// Output:
	// May read and search Observation where category is laboratory, for Patient/123 only. May read Patient/123. May run $everything on Patient/123. Nothing else.
	// false
}
