package fhirapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/google/fhir/go/fhirversion"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/fhirapi"
	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/sample"
	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/store"
)

func Example() {
	v, _ := store.NewValidator(fhirversion.STU3)
	s, _ := store.New(v)
	_ = sample.Load(s)
	api, err := fhirapi.New(s, fhirapi.WithBasePath("/fhir"), fhirapi.WithBaseURL("http://example.org/fhir"))
	if err != nil {
		panic(err)
	}

	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/fhir/Patient/1", nil))
	fmt.Println(rec.Code, rec.Header().Get("ETag"))

	rec = httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/fhir/Observation",
		strings.NewReader(`{"resourceType":"Observation","status":"final"}`)) // code is required
	req.Header.Set("Content-Type", "application/fhir+json")
	api.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	// Output:
	// 200 W/"1"
	// 400 application/fhir+json; charset=utf-8
}
