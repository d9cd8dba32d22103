package origin_test

import (
	"fmt"
	"net/url"

	"github.com/fhirwarden/fhirwarden/internal/origin"
)

func ExampleSame() {
	base, _ := url.Parse("https://fhir.example/r4")
	same, _ := url.Parse("https://FHIR.example:443/oauth/token")
	other, _ := url.Parse("https://auth.fhir.example/token")
	fmt.Println(origin.Same(base, same), origin.Same(base, other))
	// Output: true false
}
