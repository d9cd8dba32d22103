// Command fhirctl is a command-line FHIR client that gets its own OAuth2
// tokens: the Care Connect security guide's Postman flow, scriptable.
//
//	export FHIR_BASE=http://127.0.0.1:8080/fhir
//	export FHIR_CLIENT_ID=patient-access FHIR_CLIENT_SECRET=s3cret
//	go run ./examples/fhirctl token                      # the token response
//	go run ./examples/fhirctl get Patient/9000000009     # read
//	go run ./examples/fhirctl get Observation/1          # 403: diagnostics on stderr, exit 1
//	go run ./examples/fhirctl search Observation patient=9000000009
//	go run ./examples/fhirctl -client-id backend -key backend.jwk -scope system/*.rs \
//		search Patient                                   # SMART Backend Services
//
// Usage: go run ./examples/fhirctl [flags] <command> [args]
//
// Commands:
//
//	token                          print the token response JSON
//	get Type/id                    read a resource
//	search Type [param=value ...]  search, following next links up to -max-pages
//	create Type FILE|-             create a resource (from a file or stdin)
//	update Type/id FILE|-          update a resource (If-Match from meta.versionId)
//	delete Type/id                 delete a resource
//	capabilities                   print the CapabilityStatement
//
// Flags (-base, -client-id and -client-secret default to the environment
// variables FHIR_BASE, FHIR_CLIENT_ID and FHIR_CLIENT_SECRET):
//
//	-base URL           FHIR base URL
//	-token-url URL      token endpoint (default: from {base}/.well-known/smart-configuration)
//	-client-id ID       OAuth2 client id
//	-client-secret S    client secret (client credentials grant)
//	-client-auth M      basic (default, HTTP Basic) or post (secret in the form body)
//	-key FILE           private JWK for SMART Backend Services (instead of a secret)
//	-dpop               DPoP-bound tokens (RFC 9449): a proof with every request, key made for the run
//	-dpop-key FILE      the DPoP key, a private PEM or JWK file (implies -dpop)
//	-scope "..."        space-separated scopes to request
//	-max-pages N        page limit of search (default 10)
//	-fhir-version V     STU3 or R4 (default R4)
//	-insecure-http      allow plain-http URLs on non-loopback hosts
//
// Output is pretty FHIR JSON on stdout. A FHIR error prints the
// OperationOutcome's diagnostics on stderr and exits 1; a usage error exits 2.
package main
