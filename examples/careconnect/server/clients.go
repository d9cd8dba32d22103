package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"

	"github.com/google/fhir/go/fhirversion"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/sample"
	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/internal/authserver"
	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

// Demo client ids, mirroring the Care Connect security guide's examples.
const (
	PatientAccessClient = "patient-access"    // user/Patient.read: the guide's "Patient only access"
	ReadClient          = "careconnect-read"  // read access to the nine Care Connect types
	WriteClient         = "careconnect-write" // read and write
	PatientAppClient    = "patient-app"       // patient/*.rs bound to sample patient 1
	BackendClient       = "backend-service"   // system/*.rs, SMART backend services (private_key_jwt)
	DPoPClient          = "dpop-app"          // read access, DPoP-bound tokens only (RFC 9449)
)

// DemoPatient is the sample patient the patient-context demo client is bound to.
const DemoPatient = "1"

// demoSecret is the development secret of a demo client. The secrets are
// fixed so that the printed commands, the Postman environment and the
// scopes page work unchanged; they protect nothing beyond a developer's
// loopback interface.
func demoSecret(id string) string { return id + "-secret" }

// DemoClient describes a client for people: the startup text and the
// scopes page.
type DemoClient struct {
	ID          string
	Secret      string // shown secret; "" for key-only clients and for clients from a -clients file
	SecretAuth  bool   // authenticates with a client secret
	Scope       string
	Patient     string
	Description string
	KeyFile     string // private JWK file of a private_key_jwt client
	DPoP        bool   // its tokens are DPoP-bound: token requests need a proof
}

func nineTypes(suffix string) string {
	parts := make([]string, len(sample.CareConnectTypes))
	for i, t := range sample.CareConnectTypes {
		parts[i] = "user/" + t + suffix
	}
	return strings.Join(parts, " ")
}

// demoClients returns the built-in clients; the backend service's key pair
// is generated and its private JWK written to keyFile.
func demoClients(keyFile string) ([]authserver.Client, []DemoClient, error) {
	jwks, err := backendKey(keyFile)
	if err != nil {
		return nil, nil, err
	}
	people := []DemoClient{
		{ID: PatientAccessClient, Secret: demoSecret(PatientAccessClient), Scope: "user/Patient.read",
			Description: "Patient only access (the Care Connect guide's example)"},
		{ID: ReadClient, Secret: demoSecret(ReadClient), Scope: nineTypes(".read"),
			Description: "read access to the nine Care Connect resource types"},
		{ID: WriteClient, Secret: demoSecret(WriteClient), Scope: "user/*.read user/*.write",
			Description: "read and write access to every resource type"},
		{ID: PatientAppClient, Secret: demoSecret(PatientAppClient), Scope: "patient/*.rs", Patient: DemoPatient,
			Description: "a patient-facing app: SMART v2 patient/*.rs, bound to Patient/" + DemoPatient},
		{ID: BackendClient, Scope: "system/*.rs", KeyFile: keyFile,
			Description: "SMART backend service: private_key_jwt (ES384), system/*.rs"},
		{ID: DPoPClient, Secret: demoSecret(DPoPClient), Scope: nineTypes(".read"), DPoP: true,
			Description: "DPoP-bound tokens only (RFC 9449): every request needs a proof signed by the client's key; use fhirctl -dpop"},
	}
	clients := make([]authserver.Client, len(people))
	for i, p := range people {
		people[i].SecretAuth = p.Secret != ""
		clients[i] = authserver.Client{ID: p.ID, Secret: p.Secret, Scope: p.Scope, Patient: p.Patient, DPoPBound: p.DPoP}
		if p.ID == BackendClient {
			clients[i].JWKS = jwks
		}
	}
	return clients, people, nil
}

// fileClients describes clients loaded from a -clients file. Their secrets
// are neither printed nor put in the scopes page: they are the user's.
func fileClients(clients []authserver.Client) []DemoClient {
	out := make([]DemoClient, len(clients))
	for i, c := range clients {
		out[i] = DemoClient{ID: c.ID, Scope: c.Scope, Patient: c.Patient, SecretAuth: c.Secret != "", DPoP: c.DPoPBound}
	}
	return out
}

// backendKey generates an ES384 key pair, writes the private JWK (with kid
// and alg) to path with mode 0600, and returns the public JWK Set.
func backendKey(path string) (json.RawMessage, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("careconnect: backend key: %w", err)
	}
	key, err := jwk.Import(priv)
	if err != nil {
		return nil, fmt.Errorf("careconnect: backend key: %w", err)
	}
	if err := jwk.AssignKeyID(key); err != nil {
		return nil, fmt.Errorf("careconnect: backend key id: %w", err)
	}
	if err := key.Set(jwk.AlgorithmKey, jwa.ES384()); err != nil {
		return nil, fmt.Errorf("careconnect: backend key alg: %w", err)
	}
	privJSON, err := json.MarshalIndent(key, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("careconnect: backend key: %w", err)
	}
	if err := writePrivateFile(path, append(privJSON, '\n')); err != nil {
		return nil, fmt.Errorf("careconnect: write backend key: %w", err)
	}
	return authserver.PublicJWKS(key)
}

// writePrivateFile writes data to a new file at path that only its owner
// may read. The default path is in the shared temporary directory under
// a name anyone can predict, so what is already there is not trusted: a
// symbolic link (which would send the key to a file of its creator's
// choosing, or overwrite one of this user's files) is refused; a regular
// file, a key left by a run that did not shut down, is removed first,
// which the sticky temporary directory allows only to its owner; and the
// file is created exclusively, so nothing put there in between is
// written through.
func writePrivateFile(path string, data []byte) error {
	if fi, err := os.Lstat(path); err == nil {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s exists and is not a regular file (%v); remove it or choose another -backend-key", path, fi.Mode().Type())
		}
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("replace %s: %w", path, err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// maxClientsFile bounds the -clients file.
const maxClientsFile = 1 << 20

// loadClientsFile reads a -clients file and checks each client against
// the server's policy, so that a mistake is an error at start naming the
// client, its entry and line, instead of a server that starts and then
// refuses everything: a patient/ scope without a patient, a resource type
// the FHIR version does not have, a scope that grants nothing here.
func loadClientsFile(path string, policy *fhirauth.Policy) ([]authserver.Client, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("careconnect: -clients: %w", err)
	}
	if len(data) > maxClientsFile {
		return nil, fmt.Errorf("careconnect: -clients %s: larger than %d bytes", path, maxClientsFile)
	}
	lines := entryLines(data)
	clients, err := authserver.LoadClients(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("careconnect: -clients %s: %w", path, withLine(err, lines))
	}
	for i, c := range clients {
		if err := checkClient(c, policy); err != nil {
			return nil, fmt.Errorf("careconnect: -clients %s: client %q (entry %d, line %d): %w", path, c.ID, i+1, lines[i], err)
		}
	}
	return clients, nil
}

// checkClient checks that every resource scope of c can grant something.
func checkClient(c authserver.Client, policy *fhirauth.Policy) error {
	set, err := scope.ParseSet(c.Scope)
	if err != nil {
		return err // LoadClients has already refused this
	}
	for _, s := range set.Scopes() {
		if !s.IsResource() {
			continue
		}
		if s.ResourceType != "*" && !fhirspec.IsResourceType(policy.Version(), s.ResourceType) {
			return fmt.Errorf("scope %q: %s is not a FHIR %v resource type", s, s.ResourceType, policy.Version())
		}
		if s.Context == scope.Patient && c.Patient == "" {
			return fmt.Errorf("scope %q: a patient/ scope needs \"patient\", the id of the patient the client's tokens are for", s)
		}
		pr := &token.Principal{ClientID: c.ID, Scopes: scope.NewSet(s), Patient: c.Patient}
		if e := policy.Explain(context.Background(), pr); len(e.Grants) == 0 {
			return fmt.Errorf("scope %q grants nothing on this server (%s)", s, nothingReason(s, e))
		}
	}
	return nil
}

// nothingReason says why scope s grants nothing: the reason explanation
// e gives for it (v2 constraints no request can satisfy), else a guess
// for people.
func nothingReason(s scope.Scope, e *fhirauth.Explanation) string {
	for _, n := range e.NotHonoured {
		if n.Scope == s.String() {
			return n.Reason
		}
	}
	if s.Context == scope.Patient {
		return "patient/ scopes reach only the patient's compartment and the shared types Practitioner and Organization, and never write shared types"
	}
	return "no interaction of this server needs exactly these letters"
}

// entryLines returns the line on which each element of a JSON array
// starts (1-based), as far as the array is well-formed.
func entryLines(data []byte) []int {
	var lines []int
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		return nil
	}
	for dec.More() {
		off := int(dec.InputOffset())
		for off < len(data) && strings.ContainsRune(" \t\r\n,", rune(data[off])) {
			off++
		}
		lines = append(lines, 1+bytes.Count(data[:off], []byte("\n")))
		var raw json.RawMessage
		if dec.Decode(&raw) != nil {
			break
		}
	}
	return lines
}

// withLine adds the line to LoadClients' "client #N" errors.
func withLine(err error, lines []int) error {
	var n int
	msg := err.Error()
	if i := strings.Index(msg, "client #"); i >= 0 {
		if _, scanErr := fmt.Sscanf(msg[i:], "client #%d", &n); scanErr == nil && n >= 1 && n <= len(lines) {
			return fmt.Errorf("line %d: %w", lines[n-1], err)
		}
	}
	return err
}

// newPolicy is the authorization policy careconnect serves with.
func newPolicy(v fhirversion.Version) (*fhirauth.Policy, error) {
	pv := fhirspec.STU3
	if v == fhirversion.R4 {
		pv = fhirspec.R4
	}
	return fhirauth.NewPolicy(fhirauth.WithVersion(pv), fhirauth.WithBasePath(BasePath),
		fhirauth.WithSharedTypes("Practitioner", "Organization"))
}

// removeKeyFiles deletes the private key files the server wrote for its
// demo backend-service client: they are valid only while it runs.
func (s *Server) removeKeyFiles() {
	for _, c := range s.clients {
		if c.KeyFile == "" {
			continue
		}
		if err := os.Remove(c.KeyFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.logger.Warn("careconnect: removing the backend key file", "file", c.KeyFile, "err", err)
		}
	}
}

// servesDemoSecretsBeyondLoopback reports whether the built-in demo
// clients, whose secrets are printed and fixed, are reachable from other
// machines: the listen address is not a loopback one.
func (s *Server) servesDemoSecretsBeyondLoopback() bool {
	if s.embedded == nil || len(s.clients) == 0 || s.clients[0].Secret == "" {
		return false // external issuer, or clients of a -clients file
	}
	host, _, err := net.SplitHostPort(s.addr.String())
	if err != nil {
		return true
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}
