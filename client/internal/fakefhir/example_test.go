package fakefhir_test

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/fhirwarden/fhirwarden/client/internal/fakefhir"
)

func Example() {
	t := &testing.T{} // in a test: the test's own t
	srv := fakefhir.New(t, func(w http.ResponseWriter, r *http.Request, n int) {
		fakefhir.Write(w, http.StatusOK, fmt.Sprintf(`{"resourceType":"Patient","id":"%d"}`, n))
	})
	defer srv.Close()
	res, err := http.Get(srv.URL + "/Patient?name=smith")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	seen := srv.Seen()
	fmt.Println(res.Header.Get("Content-Type"), string(body))
	fmt.Println(len(seen), seen[0].Method, seen[0].Path, seen[0].RawQuery)
	// Output:
	// application/fhir+json {"resourceType":"Patient","id":"1"}
	// 1 GET /Patient name=smith
}
