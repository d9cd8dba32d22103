package trust_test

import (
	"flag"
	"fmt"
	"io"

	"github.com/fhirwarden/fhirwarden/examples/internal/trust"
)

// Two issuers, two audiences, and the Entra ID claim mapping for one.
func ExampleFlags() {
	var f trust.Flags
	fs := flag.NewFlagSet("example", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f.Register(fs)
	err := fs.Parse([]string{
		"-issuer", "https://login.microsoftonline.com/tenant-id/v2.0",
		"-issuer", "https://portal.example/oauth2/default",
		"-audience", "https://fhir.example/fhir", "-audience", "https://fhir.internal/fhir",
		"-profile", "https://login.microsoftonline.com/tenant-id/v2.0=entra",
	})
	if err == nil {
		err = f.Validate()
	}
	fmt.Println(err)
	for _, iss := range f.Issuers {
		m, _ := f.Mapping(iss)
		fmt.Println(iss, m.Name, m.ScopeClaims)
	}
	// Output:
	// <nil>
	// https://login.microsoftonline.com/tenant-id/v2.0 entra [scp roles]
	// https://portal.example/oauth2/default smart [scope scp]
}
