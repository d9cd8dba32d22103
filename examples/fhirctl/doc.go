// Command fhirctl is a command-line FHIR client that gets its own OAuth2
// tokens: the Care Connect security guide's Postman flow, scriptable.
//
//	go run ./examples/careconnect &                      # the server and its demo clients
//	export FHIR_BASE=http://127.0.0.1:8080/fhir
//	export FHIR_CLIENT_ID=patient-access FHIR_CLIENT_SECRET=patient-access-secret
//	go run ./examples/fhirctl token                      # the token response
//	go run ./examples/fhirctl get Patient/1              # read
//	go run ./examples/fhirctl get Observation/obs-lab-1  # 403: diagnostics on stderr, exit 3
//	go run ./examples/fhirctl search Patient family=Jones -o table
//	go run ./examples/fhirctl explain                    # what may this token do?
//	go run ./examples/fhirctl explain GET 'Observation?patient=2'
//	go run ./examples/fhirctl -client-id backend-service -scope 'system/*.rs' \
//		-key /tmp/careconnect-backend-service-8080.jwk.json \
//		export -dir out -type Patient,Observation      # SMART Backend Services, Bulk Data
//
// Usage: go run ./examples/fhirctl [flags] <command> [args] [flags]
//
// Flags may come before or after the command ("--" ends them).
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
//	explain                        say what the token may do
//	explain METHOD 'Type?query' [FILE|-]
//	                               say whether one request is allowed, and why
//	export -dir DIR [-type T,...] [-since INSTANT] [-status URL]
//	                               Bulk Data export of the whole system into DIR
//	version                        print fhirctl's version
//
// Flags (-base, -token, -client-id and -client-secret default to the
// environment variables FHIR_BASE, FHIR_TOKEN, FHIR_CLIENT_ID and
// FHIR_CLIENT_SECRET):
//
//	-base URL           FHIR base URL
//	-token T            an access token to send as is (instead of getting one)
//	-token-url URL      token endpoint (default: from {base}/.well-known/smart-configuration)
//	-client-id ID       OAuth2 client id (needs -client-secret or -key)
//	-client-secret S    client secret (client credentials grant)
//	-client-auth M      basic (default, HTTP Basic) or post (secret in the form body)
//	-key FILE           private JWK for SMART Backend Services (instead of a secret)
//	-dpop               DPoP-bound tokens (RFC 9449): a proof with every request, key made for the run
//	-dpop-key FILE      the DPoP key, a private PEM or JWK file (implies -dpop)
//	-scope "..."        space-separated scopes to request
//	-max-pages N        page limit of search (default 10; exit 7 when reached)
//	-o FORMAT           search output: json (one Bundle, default), ndjson or table
//	-json               explain: JSON instead of words
//	-fhir-version V     STU3 or R4: the version explain judges with (default: the
//	                    server's CapabilityStatement)
//	-dir, -type, -since, -status   export: see above
//	-insecure-http      allow plain-http URLs on non-loopback hosts
//
// Without -token-url the token endpoint comes from the FHIR server's
// SMART configuration, and a client secret (-client-secret) is sent there
// only when it is on the origin (scheme, host, port) of -base: a FHIR
// server naming a token endpoint elsewhere could collect the secret, so
// fhirctl stops before sending anything, with exit status 3, and says to
// give -token-url. A -key client takes the discovered endpoint from any
// origin: its client assertion names the endpoint and is of no use at
// another one.
//
// search writes each page as it is read, so fhirctl holds one page however
// many it follows (-o table keeps a short row per resource and prints at
// the end: its columns fit every row). A -o json Bundle has the bytes of
// the whole Bundle indented, its total being the first page's. When a page
// fails after others were written, those stay on stdout, stderr says the
// output is incomplete, a -o json Bundle is left unclosed (it does not
// parse as JSON), and the exit status is the failure's. Stopping at
// -max-pages closes the output and exits 7.
//
// explain judges locally, with fhirwarden's default policy for the
// server's FHIR version, from the token's claims (a JWT's payload, or the
// token response of an opaque token); a server whose policy shares more
// types or registers operations may allow more.
//
// Exit status:
//
//	0  done
//	1  other failure (local files, an answer that is not FHIR)
//	2  usage error
//	3  authentication or authorization refused (401/403, the token endpoint
//	   said no, a discovered token endpoint on another origin than -base
//	   would get the secret; explain: the request would be denied)
//	4  not found (404/410)
//	5  other FHIR error (4xx/5xx, a failed export)
//	6  network error (no answer)
//	7  incomplete: search stopped at -max-pages (what was read is printed)
//
// Output is pretty FHIR JSON on stdout; diagnostics and progress go to
// stderr.
package main
