package middleware_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/middleware"
	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// Securing your own server, as the README shows it: discover the identity
// provider, verify its tokens, decide with a FHIR R4 policy, wrap the FHIR
// handler. The issuer is an in-process tokentest.Issuer so that the example
// runs offline; the lines between the markers are the README's snippet.
func Example_securingYourOwnServer() {
	idp := tokentest.NewIssuer(tokentest.WithAudience("https://api.example.org/fhir"))
	defer idp.Close()
	issuer := idp.URL // your identity provider, e.g. "https://idp.example.org"

	yourFHIRHandler := http.NewServeMux()
	yourFHIRHandler.HandleFunc("GET /fhir/Patient/{id}", func(w http.ResponseWriter, r *http.Request) {
		who := middleware.PrincipalFrom(r.Context()) // the caller; DecisionFrom says what was allowed
		fmt.Fprintf(w, `{"resourceType":"Patient","id":%q} for %s`, r.PathValue("id"), who.Subject)
	})

	// README snippet begins.
	ctx := context.Background()
	md, err := token.DiscoverOpenID(ctx, issuer) // {issuer}/.well-known/openid-configuration
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := token.NewVerifier(ctx, token.Config{
		Issuer: md.Issuer, Audience: "https://api.example.org/fhir", JWKSURL: md.JWKSURI})
	if err != nil {
		log.Fatal(err)
	}
	defer verifier.Close()
	policy, err := fhirauth.NewPolicy(fhirauth.WithVersion(fhirspec.R4), fhirauth.WithBasePath("/fhir"))
	if err != nil {
		log.Fatal(err)
	}
	secure, err := middleware.New(verifier, policy)
	if err != nil {
		log.Fatal(err)
	}
	handler := secure.Wrap(yourFHIRHandler)
	// README snippet ends; then http.ListenAndServe(addr, handler).

	srv := httptest.NewServer(handler)
	defer srv.Close()
	for _, scopes := range []string{"", "user/Patient.rs", "user/Observation.rs"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/fhir/Patient/123", nil)
		if scopes != "" {
			req.Header.Set("Authorization", "Bearer "+idp.Mint(map[string]any{"sub": "dr-who", "scope": scopes}))
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusForbidden { // the challenge names the scope that would do
			_, enough, _ := strings.Cut(res.Header.Get("WWW-Authenticate"), "scope=")
			body = []byte("scope=" + enough)
		} else if res.StatusCode != http.StatusOK {
			body = []byte(res.Header.Get("WWW-Authenticate"))
		}
		fmt.Printf("%q: %d %s\n", scopes, res.StatusCode, body)
	}
	// Output:
	// "": 401 Bearer realm="fhir"
	// "user/Patient.rs": 200 {"resourceType":"Patient","id":"123"} for dr-who
	// "user/Observation.rs": 403 scope="user/Patient.r"
}

// TestREADMESnippetIsTheExample keeps the README's "Securing your own
// server" snippet identical to the lines between the markers above, so the
// README shows code that runs.
func TestREADMESnippetIsTheExample(t *testing.T) {
	src, err := os.ReadFile("example_secure_test.go")
	require.NoError(t, err)
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	require.NoError(t, err)

	_, after, ok := strings.Cut(string(src), "\t// README snippet begins.\n")
	require.True(t, ok, "begin marker missing")
	snippet, _, ok := strings.Cut(after, "\t// README snippet ends")
	require.True(t, ok, "end marker missing")
	var want strings.Builder
	for _, line := range strings.SplitAfter(snippet, "\n") {
		want.WriteString(strings.TrimPrefix(line, "\t"))
	}
	require.Greater(t, strings.Count(want.String(), "\n"), 10, "the snippet is too short to be the example")
	assert.Contains(t, string(readme), "```go\n"+want.String(),
		"README.md's Go snippet must start with the example's lines between the markers")
}
