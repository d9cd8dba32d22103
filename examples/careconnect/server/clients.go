package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/sample"
	"github.com/fhirwarden/fhirwarden/internal/authserver"
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
	if err := os.WriteFile(path, append(privJSON, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("careconnect: write backend key: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil { // an existing file keeps its mode on WriteFile
		return nil, fmt.Errorf("careconnect: backend key file mode: %w", err)
	}
	return authserver.PublicJWKS(key)
}
