package tokentest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fhirwarden/fhirwarden/internal/authserver"
)

// Issuer is an in-process OAuth2 authorization server on a loopback
// httptest.Server: OpenID discovery, SMART configuration, JWKS, a
// client_credentials token endpoint, introspection and revocation. Its URL
// is the issuer (the iss of its tokens). It is safe for concurrent use.
type Issuer struct {
	// URL is the issuer URL, "http://127.0.0.1:port", without a trailing slash.
	URL string

	srv *httptest.Server
	as  *authserver.Server

	mu               sync.Mutex
	jwksStatus       int
	jwksGarbage      bool
	jwksEmpty        bool
	jwksNoAlg        bool
	jwksCacheControl string
	introspectStatus int
	discoveryStatus  int
	tokenStatus      int
	delay            time.Duration
	tokenReqs        []RecordedRequest
	introspectReqs   []RecordedRequest

	jwksFetches atomic.Int64
}

// NewIssuer starts an issuer on 127.0.0.1. Like httptest.NewServer it panics
// when it cannot start, here also when an option is invalid (e.g. a client
// with a malformed scope). Call Close when done.
func NewIssuer(opts ...Option) *Issuer {
	iss := &Issuer{}
	iss.srv = httptest.NewUnstartedServer(http.HandlerFunc(iss.serveHTTP))
	iss.URL = "http://" + iss.srv.Listener.Addr().String()
	cfg := authserver.Config{Issuer: iss.URL, Audience: DefaultAudience}
	for _, o := range opts {
		o(&cfg)
	}
	as, err := authserver.New(cfg)
	if err != nil {
		iss.srv.Close()
		panic(fmt.Sprintf("tokentest: NewIssuer: %v", err))
	}
	iss.as = as
	iss.srv.Start()
	return iss
}

// Close shuts the server down, blocking until outstanding requests finish.
func (iss *Issuer) Close() { iss.srv.Close() }

// Issuer returns the issuer URL (the same as the URL field).
func (iss *Issuer) Issuer() string { return iss.URL }

// Audience returns the aud of the issuer's tokens.
func (iss *Issuer) Audience() string { return iss.as.Audience() }

// TokenURL returns the token endpoint, {URL}/oauth2/token.
func (iss *Issuer) TokenURL() string { return iss.as.TokenURL() }

// JWKSURL returns the JWKS endpoint, {URL}/oauth2/jwks.
func (iss *Issuer) JWKSURL() string { return iss.as.JWKSURL() }

// IntrospectionURL returns the RFC 7662 endpoint, {URL}/oauth2/introspect.
func (iss *Issuer) IntrospectionURL() string { return iss.as.IntrospectionURL() }

// RevocationURL returns the RFC 7009 endpoint, {URL}/oauth2/revoke.
func (iss *Issuer) RevocationURL() string { return iss.as.RevocationURL() }

// DiscoveryURL returns {URL}/.well-known/openid-configuration.
func (iss *Issuer) DiscoveryURL() string { return iss.as.DiscoveryURL() }

// SMARTConfigurationURL returns {URL}/.well-known/smart-configuration, which
// the issuer also serves (as if the issuer URL were a FHIR base).
func (iss *Issuer) SMARTConfigurationURL() string { return iss.URL + authserver.SMARTPath }

// HTTPClient returns an *http.Client for the issuer (httptest's client).
func (iss *Issuer) HTTPClient() *http.Client { return iss.srv.Client() }

// AuthServer returns the underlying authorization server, e.g. for its
// SMARTConfiguration.
func (iss *Issuer) AuthServer() *authserver.Server { return iss.as }

// AddClient registers (or replaces) a client; it panics if c is invalid.
func (iss *Issuer) AddClient(c Client) {
	if err := iss.as.AddClient(c); err != nil {
		panic(fmt.Sprintf("tokentest: AddClient: %v", err))
	}
}

// RemoveClient unregisters a client.
func (iss *Issuer) RemoveClient(id string) { iss.as.RemoveClient(id) }

// RotateKeys replaces the signing keys (see authserver.Server.RotateKeys):
// new keys are published at once; with retireOld the old ones leave the JWKS.
func (iss *Issuer) RotateKeys(retireOld bool) {
	if err := iss.as.RotateKeys(retireOld); err != nil {
		panic(fmt.Sprintf("tokentest: RotateKeys: %v", err))
	}
}

// KeyIDs returns the kids of the published keys, oldest first.
func (iss *Issuer) KeyIDs() []string { return iss.as.KeyIDs() }

// Revoke makes token inactive for introspection. JWT verifiers that do not
// introspect still accept it until it expires.
func (iss *Issuer) Revoke(token string) { iss.as.Revoke(token) }

// Introspect reports whether token is active, with its claims, without HTTP.
func (iss *Issuer) Introspect(token string) (map[string]any, bool) { return iss.as.Introspect(token) }

// JWKS returns the JWK Set document the issuer publishes when healthy.
func (iss *Issuer) JWKS() []byte {
	b, err := iss.as.JWKS()
	if err != nil {
		panic(fmt.Sprintf("tokentest: JWKS: %v", err))
	}
	return b
}
