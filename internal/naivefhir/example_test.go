package naivefhir_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
)

// The naive server answers anyone with everything: Leaks shows what a
// patient-context client of Alice must never see.
func ExampleLeaks() {
	srv := httptest.NewServer(naivefhir.New("/fhir", naivefhir.Sample()...))
	defer srv.Close()

	res, err := http.Get(srv.URL + "/fhir/Observation?code=2339-0")
	if err != nil {
		panic(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	fmt.Println(naivefhir.Leaks(body, naivefhir.Alice))
	// Output: [Observation/obs-p2-lab Observation/obs-p3-lab]
}
