package authserver

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Endpoint paths, relative to the issuer URL.
const (
	TokenPath         = "/oauth2/token"
	JWKSPath          = "/oauth2/jwks"
	IntrospectionPath = "/oauth2/introspect"
	RevocationPath    = "/oauth2/revoke"
	DiscoveryPath     = "/.well-known/openid-configuration"
	SMARTPath         = "/.well-known/smart-configuration"
)

// Server is a development OAuth2 authorization server. It is safe for
// concurrent use.
type Server struct {
	issuer     string
	issuerPath string // path part of the issuer, "" at the host root
	audience   string
	lifetime   time.Duration
	opaque     bool
	now        func() time.Time
	log        *slog.Logger

	mu       sync.RWMutex
	clients  map[string]*registeredClient
	keys     keyRing
	revoked  map[string]time.Time // token hash -> when the entry may be forgotten
	opaqueDB map[string]opaqueToken

	opaquePurgeAt, revokedPurgeAt int // map sizes that trigger the next purge

	replay *replayCache
	dpop   DPoPVerifier
}

// New validates cfg, registers its clients and generates the signing keys:
// an RSA-2048 key (RS256, used for access tokens) and an EC P-256 key
// (ES256). Keys for other algorithms are created on first use by MintWith.
// Every key's kid is its RFC 7638 thumbprint.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	clients, err := registerClients(cfg.Clients)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	u, _ := url.Parse(cfg.Issuer) // validated above
	s := &Server{
		issuer:     cfg.Issuer,
		issuerPath: u.EscapedPath(),
		audience:   cfg.Audience,
		lifetime:   cfg.TokenLifetime,
		opaque:     cfg.OpaqueTokens,
		now:        cfg.Now,
		log:        cfg.Logger,
		clients:    clients,
		keys:       keyRing{current: map[string]*signingKey{}},
		revoked:    map[string]time.Time{},
		opaqueDB:   map[string]opaqueToken{},
		replay:     newReplayCache(defaultReplayCapacity),
		dpop:       cfg.DPoP,

		opaquePurgeAt:  minPurge,
		revokedPurgeAt: minPurge,
	}
	for _, alg := range []string{"RS256", "ES256"} {
		k, err := newSigningKey(alg)
		if err != nil {
			return nil, err
		}
		s.keys.current[alg] = k
		s.keys.published = append(s.keys.published, k)
	}
	return s, nil
}

// Issuer returns the issuer URL (the iss of issued tokens).
func (s *Server) Issuer() string { return s.issuer }

// Audience returns the aud of issued tokens.
func (s *Server) Audience() string { return s.audience }

// TokenLifetime returns the lifetime of issued access tokens.
func (s *Server) TokenLifetime() time.Duration { return s.lifetime }

// TokenURL returns the token endpoint URL.
func (s *Server) TokenURL() string { return s.issuer + TokenPath }

// JWKSURL returns the JWKS endpoint URL.
func (s *Server) JWKSURL() string { return s.issuer + JWKSPath }

// IntrospectionURL returns the RFC 7662 introspection endpoint URL.
func (s *Server) IntrospectionURL() string { return s.issuer + IntrospectionPath }

// RevocationURL returns the RFC 7009 revocation endpoint URL.
func (s *Server) RevocationURL() string { return s.issuer + RevocationPath }

// DiscoveryURL returns the OpenID discovery document URL.
func (s *Server) DiscoveryURL() string { return s.issuer + DiscoveryPath }

// AddClient registers (or replaces) a client after validating it.
func (s *Server) AddClient(c Client) error {
	rc, err := registerClient(c)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.clients[c.ID] = rc
	s.mu.Unlock()
	return nil
}

// RemoveClient unregisters a client; its tokens stay valid until they expire.
func (s *Server) RemoveClient(id string) {
	s.mu.Lock()
	delete(s.clients, id)
	s.mu.Unlock()
}

// Clients returns the registered clients, in no particular order.
func (s *Server) Clients() []Client {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Client, 0, len(s.clients))
	for _, c := range s.clients {
		out = append(out, c.Client)
	}
	return out
}

func (s *Server) client(id string) *registeredClient {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.clients[id]
}

// Handler returns the HTTP handler serving the endpoints. It matches the full
// request path (issuer path + endpoint path), so mount it without
// http.StripPrefix, e.g. mux.Handle("/oauth2/", h) and
// mux.Handle("/.well-known/openid-configuration", h) for an issuer at a host
// root.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	var h http.HandlerFunc
	method := http.MethodPost
	switch r.URL.EscapedPath() {
	case s.issuerPath + TokenPath:
		h = s.handleToken
	case s.issuerPath + IntrospectionPath:
		h = s.handleIntrospect
	case s.issuerPath + RevocationPath:
		h = s.handleRevoke
	case s.issuerPath + JWKSPath:
		h, method = s.handleJWKS, http.MethodGet
	case s.issuerPath + DiscoveryPath:
		h, method = s.handleDiscovery, http.MethodGet
	case s.issuerPath + SMARTPath:
		h, method = s.handleSMART, http.MethodGet
	default:
		writeOAuthError(w, &oauthError{status: http.StatusNotFound, Code: "invalid_request", Description: "no such endpoint"})
		return
	}
	if r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead) {
		w.Header().Set("Allow", method)
		writeOAuthError(w, &oauthError{status: http.StatusMethodNotAllowed, Code: "invalid_request", Description: "method " + method + " required"})
		return
	}
	h(w, r)
}
