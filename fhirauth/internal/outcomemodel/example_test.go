package outcomemodel_test

import (
	"fmt"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/fhirauth/internal/outcomemodel"
)

func ExampleOutcomes() {
	docs, err := outcomemodel.Outcomes(fhirspec.R4, "no scope grants this")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s\n", docs["forbidden"])
	// Output:
	// {"issue":[{"code":"forbidden","diagnostics":"no scope grants this","severity":"error"}],"resourceType":"OperationOutcome"}
}
