package server

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/sample"
)

// TryItHeading introduces the copy-and-paste command block of the startup
// text; the block's lines follow it, indented by two spaces, up to the next
// blank line.
const TryItHeading = "Try it (copy and paste into a POSIX shell):"

// CurlCommands returns the copy-and-paste sequence of the startup text: get
// a token with HTTP Basic client authentication, read a Patient, and be
// refused (403, with the reason) for a resource type the client's scopes do
// not cover.
func CurlCommands(root, clientID, secret string) []string {
	return []string{
		fmt.Sprintf(`TOKEN=$(curl -s -u "%s:%s" -d grant_type=client_credentials %s/oauth2/token | sed -E 's/.*"access_token":"([^"]+)".*/\1/')`, clientID, secret, root),
		fmt.Sprintf(`curl -s -H "Authorization: Bearer $TOKEN" %s%s/Patient/1`, root, BasePath),
		fmt.Sprintf(`curl -s -i -H "Authorization: Bearer $TOKEN" '%s%s/Observation?patient=1'`, root, BasePath),
	}
}

// writeBanner prints how to use the server.
func writeBanner(w io.Writer, s *Server) {
	var b strings.Builder
	fmt.Fprintf(&b, "careconnect: a Care Connect reference server (FHIR %s) secured by fhirwarden\n\n", s.version)
	fmt.Fprintf(&b, "  FHIR base       %s\n", s.BaseURL())
	fmt.Fprintf(&b, "  CapabilityStatement %s/metadata (public)\n", s.BaseURL())
	fmt.Fprintf(&b, "  Token endpoint  %s\n", s.tokenURL)
	fmt.Fprintf(&b, "  Scopes page     %s/\n\n", s.root)
	if s.embedded == nil {
		fmt.Fprintf(&b, "Tokens are issued by %s (external issuer); the embedded one is off.\n", s.tokenURL)
		w.Write([]byte(b.String()))
		return
	}

	fmt.Fprintf(&b, "Clients of the embedded development issuer (client credentials; HTTP Basic, client_secret_post or private_key_jwt; tokens last 90 minutes):\n")
	tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  client_id\tclient_secret\tscopes\n")
	var curlClient DemoClient
	for _, c := range s.clients {
		secret := c.Secret
		switch {
		case c.KeyFile != "":
			secret = "(private_key_jwt; private JWK in " + c.KeyFile + ")"
		case c.SecretAuth && secret == "":
			secret = "(in the -clients file)"
		case secret == "":
			secret = "(private_key_jwt)"
		}
		scopes := c.Scope
		if c.Patient != "" {
			scopes += "   [patient " + c.Patient + "]"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", c.ID, secret, scopes)
		if curlClient.ID == "" && c.Secret != "" && c.ID == PatientAccessClient {
			curlClient = c
		}
	}
	tw.Flush()
	b.WriteString("\nSample patients:")
	for _, p := range sample.Patients() {
		fmt.Fprintf(&b, " Patient/%s (%s, NHS %s);", p.ID, p.Name, p.NHSNumber)
	}
	b.WriteString(" each with Observation (laboratory, vital-signs), Encounter, Condition, Procedure,\n  AllergyIntolerance, MedicationRequest, MedicationStatement and Immunization.\n\n")

	if curlClient.ID == "" {
		for _, c := range s.clients {
			if c.SecretAuth {
				curlClient = c
				if c.Secret == "" {
					curlClient.Secret = "$CLIENT_SECRET"
					fmt.Fprintf(&b, "Set CLIENT_SECRET to the secret of %s from the -clients file, then\n", c.ID)
				}
				break
			}
		}
	}
	if curlClient.ID != "" {
		b.WriteString(TryItHeading + "\n")
		for _, line := range CurlCommands(s.root, curlClient.ID, curlClient.Secret) {
			b.WriteString("  " + line + "\n")
		}
		b.WriteString("\n")
		if curlClient.ID == PatientAccessClient {
			fmt.Fprintf(&b, "The last command is refused with 403: %s may read Patient only (scope %s).\n", curlClient.ID, curlClient.Scope)
		}
		b.WriteString("Open the scopes page to do the same from a browser.\n")
	}
	w.Write([]byte(b.String()))
}
