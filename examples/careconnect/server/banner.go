package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/sample"
	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

// TryItHeading introduces the copy-and-paste command block of the startup
// text; the block's lines follow it, indented by two spaces, up to the next
// blank line.
const TryItHeading = "Try it (copy and paste into a POSIX shell):"

// CurlCommands returns the copy-and-paste sequence of the startup text: get
// a token with HTTP Basic client authentication, make a request the
// client's scopes allow (read, a path below the FHIR base) and, when
// refused is not empty, one they do not (answered 403 with the reason).
func CurlCommands(root, clientID, secret, read, refused string) []string {
	cmds := []string{
		fmt.Sprintf(`TOKEN=$(curl -s -u "%s:%s" -d grant_type=client_credentials %s/oauth2/token | sed -E 's/.*"access_token":"([^"]+)".*/\1/')`, clientID, secret, root),
		fmt.Sprintf(`curl -s -H "Authorization: Bearer $TOKEN" '%s%s/%s'`, root, BasePath, read),
	}
	if refused != "" {
		cmds = append(cmds, fmt.Sprintf(`curl -s -i -H "Authorization: Bearer $TOKEN" '%s%s/%s'`, root, BasePath, refused))
	}
	return cmds
}

// tryIt is what the startup text shows for one client: a request its
// scopes allow and one they refuse, with the reason.
type tryIt struct {
	read, refused, reason string
}

// tryItFor picks, with the server's own policy, the first sample request
// client c may make and the first it may not; ok is false when it may
// make none of them.
func tryItFor(policy *fhirauth.Policy, c DemoClient) (t tryIt, ok bool) {
	set, _ := scope.ParseSetLenient(c.Scope)
	pr := &token.Principal{ClientID: c.ID, Scopes: set, Patient: c.Patient}
	own, other := "1", "2"
	if c.Patient != "" {
		own = c.Patient
		if own == "2" {
			other = "1"
		}
	}
	decide := func(path string) *fhirauth.RequestExplanation {
		r, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, BasePath+"/"+path, nil)
		return policy.ExplainRequest(context.Background(), pr, r)
	}
	for _, p := range []string{"Patient/" + own, "Observation?patient=" + own, "Practitioner", "Organization"} {
		if decide(p).Allowed {
			t.read, ok = p, true
			break
		}
	}
	for _, p := range []string{"Observation?patient=" + own, "Observation?patient=" + other, "Patient/" + other, "Practitioner"} {
		if x := decide(p); !x.Allowed {
			t.refused, t.reason = p, fmt.Sprintf("%d: %s", x.Status, x.Reason)
			break
		}
	}
	return t, ok
}

// bannerClient picks the client of the copy-and-paste block: the Care
// Connect guide's patient-access client when it is loaded, else the
// first client with a secret that may make a sample request.
func bannerClient(policy *fhirauth.Policy, clients []DemoClient) (DemoClient, tryIt, bool) {
	for _, first := range []bool{true, false} {
		for _, c := range clients {
			if !c.SecretAuth || first != (c.ID == PatientAccessClient) {
				continue
			}
			if t, ok := tryItFor(policy, c); ok {
				return c, t, true
			}
		}
	}
	return DemoClient{}, tryIt{}, false
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

	if s.servesDemoSecretsBeyondLoopback() {
		fmt.Fprintf(&b, "WARNING: %s is not a loopback address. The demo clients' secrets below are fixed\nand printed: anyone who can reach this port can get tokens and read the sample data.\nUse -addr 127.0.0.1:PORT, or a -clients file with secrets of your own.\n\n", s.addr)
		s.logger.Warn("careconnect: demo client secrets served on a non-loopback address", "addr", s.addr.String())
	}
	fmt.Fprintf(&b, "Clients of the embedded development issuer (client credentials; HTTP Basic, client_secret_post or private_key_jwt; tokens last 90 minutes):\n")
	tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  client_id\tclient_secret\tscopes\n")
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
	}
	tw.Flush()
	b.WriteString("\nSample patients:")
	for _, p := range sample.Patients() {
		fmt.Fprintf(&b, " Patient/%s (%s, NHS %s);", p.ID, p.Name, p.NHSNumber)
	}
	b.WriteString(" each with Observation (laboratory, vital-signs), Encounter, Condition, Procedure,\n  AllergyIntolerance, MedicationRequest, MedicationStatement and Immunization.\n\n")

	writeTryIt(&b, s)
	w.Write([]byte(b.String()))
}

// writeTryIt writes the copy-and-paste block for the clients loaded.
func writeTryIt(b *strings.Builder, s *Server) {
	c, t, ok := bannerClient(s.policy, s.clients)
	if !ok {
		return
	}
	secret := c.Secret
	if secret == "" {
		secret = "$CLIENT_SECRET"
		fmt.Fprintf(b, "Set CLIENT_SECRET to the secret of %s from the -clients file, then\n", c.ID)
	}
	b.WriteString(TryItHeading + "\n")
	for _, line := range CurlCommands(s.root, c.ID, secret, t.read, t.refused) {
		b.WriteString("  " + line + "\n")
	}
	b.WriteString("\n")
	if t.refused != "" {
		fmt.Fprintf(b, "The last command is refused with %s\n", t.reason)
	}
	b.WriteString("Open the scopes page to do the same from a browser, and to see what each client may do.\n")
}
