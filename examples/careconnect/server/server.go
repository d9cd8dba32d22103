package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/fhir/go/fhirversion"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/bulk"
	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/credential"
	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/fhirapi"
	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/sample"
	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/store"
	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/internal/authserver"
	"github.com/fhirwarden/fhirwarden/middleware"
	"github.com/fhirwarden/fhirwarden/token"
)

// BasePath is the path of the FHIR API.
const BasePath = "/fhir"

// shutdownTimeout bounds a graceful shutdown.
const shutdownTimeout = 10 * time.Second

// Server is a running careconnect server.
type Server struct {
	root     string // public root URL, e.g. http://127.0.0.1:8080
	addr     net.Addr
	version  fhirversion.Version
	clients  []DemoClient
	embedded *authserver.Server // nil with an external issuer
	tokenURL string
	http     *http.Server
	verifier interface{ Close() error } // the token verifier(s)
	exporter *bulk.Exporter
	policy   *fhirauth.Policy
	logger   *slog.Logger

	done    chan struct{}
	serveMu sync.Mutex
	served  error
}

// URL returns the server's root URL (scheme://host:port).
func (s *Server) URL() string { return s.root }

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.addr }

// BaseURL returns the FHIR base URL.
func (s *Server) BaseURL() string { return s.root + BasePath }

// TokenURL returns the token endpoint of the trusted issuer.
func (s *Server) TokenURL() string { return s.tokenURL }

// Clients returns the clients of the embedded issuer (nil with -issuer).
func (s *Server) Clients() []DemoClient { return s.clients }

// Done is closed when the server has stopped serving.
func (s *Server) Done() <-chan struct{} { return s.done }

// Err returns why serving stopped (nil after a graceful shutdown).
func (s *Server) Err() error {
	s.serveMu.Lock()
	defer s.serveMu.Unlock()
	return s.served
}

// Shutdown stops accepting requests, waits for those in flight (as long
// as ctx allows) and releases the token verifier.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	<-s.done
	s.exporter.Close()
	s.removeKeyFiles()
	if s.verifier != nil {
		_ = s.verifier.Close()
	}
	return err
}

// Run is the careconnect program: parse args, start, print how to use the
// server to stdout, serve until ctx is done (SIGINT/SIGTERM in main), then
// shut down gracefully. Logs go to stderr.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := ParseArgs(args, stderr)
	if err != nil {
		return err
	}
	return RunConfig(ctx, cfg, stdout, stderr, nil)
}

// RunConfig is Run with a parsed configuration; started, when non-nil, is
// called once the server is listening (tests use it to learn the address).
func RunConfig(ctx context.Context, cfg Config, stdout, stderr io.Writer, started func(*Server)) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	s, err := Start(ctx, cfg, stdout)
	if err != nil {
		return err
	}
	if started != nil {
		started(s)
	}
	select {
	case <-ctx.Done():
		cfg.Logger.Info("careconnect: shutting down")
	case <-s.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		return fmt.Errorf("careconnect: shutdown: %w", err)
	}
	return s.Err()
}

// Start listens on cfg.Addr, builds the server (store with sample data,
// FHIR API, fhirwarden middleware, embedded or external issuer, scopes
// page), starts serving in the background and writes the startup text to
// stdout.
func Start(ctx context.Context, cfg Config, stdout io.Writer) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("careconnect: listen: %w", err)
	}
	s, handler, err := build(ctx, cfg, ln.Addr())
	if err != nil {
		ln.Close()
		return nil, err
	}
	s.http = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	go func() {
		err := s.http.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.serveMu.Lock()
		s.served = err
		s.serveMu.Unlock()
		close(s.done)
	}()
	writeBanner(stdout, s)
	cfg.Logger.Info("careconnect: listening", "addr", ln.Addr().String(), "fhir_base", s.BaseURL(), "fhir_version", string(s.version))
	return s, nil
}

// rootURL is the public root URL for a bound address.
func rootURL(cfg Config, addr net.Addr) string {
	if cfg.PublicURL != "" {
		return cfg.PublicURL
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// publicOrigin is the scheme, host and port of -public-url ("" without
// one): DPoP proofs name the URL clients address, which behind a proxy is
// not the request's own.
func publicOrigin(publicURL string) string {
	u, err := url.Parse(publicURL)
	if publicURL == "" || err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// dpopReplaySize bounds the in-memory DPoP replay cache: at the default
// 60 s window, over 1,600 proofs a second.
const dpopReplaySize = 100_000

// dpopConfig is the DPoP scheme of the middleware and of the handlers
// beside it (Bulk Data status and files, GET /explain): one replay
// cache, so that a proof used on one URL is spent for all of them, and
// one origin proofs must name.
func dpopConfig(cfg Config) middleware.DPoPConfig {
	return middleware.DPoPConfig{
		DPoPConfig:  token.DPoPConfig{Replay: token.NewMemoryReplayCache(dpopReplaySize)},
		ExternalURL: publicOrigin(cfg.PublicURL),
	}
}

// build assembles the handler tree.
func build(ctx context.Context, cfg Config, addr net.Addr) (*Server, http.Handler, error) {
	s := &Server{root: rootURL(cfg, addr), addr: addr, version: cfg.FHIRVersion, logger: cfg.Logger, done: make(chan struct{})}
	audiences := cfg.Audiences
	if len(audiences) == 0 {
		audiences = []string{s.BaseURL()}
	}

	st, err := sampleStore(cfg.FHIRVersion)
	if err != nil {
		return nil, nil, err
	}

	mux := http.NewServeMux()
	auth, smart, err := s.trustIssuers(ctx, cfg, audiences, mux)
	if err != nil {
		return nil, nil, err
	}
	if smart.TokenEndpoint == "" {
		return nil, nil, fmt.Errorf("careconnect: the issuer publishes no token endpoint")
	}

	api, err := fhirapi.New(st,
		fhirapi.WithBasePath(BasePath),
		fhirapi.WithBaseURL(s.BaseURL()),
		fhirapi.WithAccess(accessFor(BasePath)),
		fhirapi.WithLogger(cfg.Logger),
		fhirapi.WithSecurity(fhirapi.Security{
			TokenURL:      smart.TokenEndpoint,
			AuthorizeURL:  smart.AuthorizationEndpoint,
			IntrospectURL: smart.IntrospectionEndpoint,
			RevokeURL:     smart.RevocationEndpoint,
			Description:   "SMART on FHIR scopes; tokens from " + smart.TokenEndpoint + " (client credentials)",
		}))
	if err != nil {
		return nil, nil, err
	}
	smartHandler, err := middleware.SMARTConfigurationHandler(smart)
	if err != nil {
		return nil, nil, err
	}
	policy, err := newPolicy(cfg.FHIRVersion)
	if err != nil {
		return nil, nil, err
	}
	s.policy = policy
	ops := newOps(auth)
	ops.register(mux)
	dpop := dpopConfig(cfg)
	creds, err := credential.New(auth, &dpop)
	if err != nil {
		return nil, nil, err
	}
	mw, err := middleware.New(auth, policy,
		middleware.WithLogger(cfg.Logger),
		middleware.WithDPoP(dpop),
		middleware.WithMetrics(ops.metrics.Observe),
		middleware.WithRequestIDs(),
		// The store checks stored versions itself, inside its write lock.
		middleware.WithStoredChecks(false))
	if err != nil {
		return nil, nil, err
	}
	exporter, err := newExporter(s, st, policy.Version(), creds)
	if err != nil {
		return nil, nil, err
	}
	s.exporter = exporter
	fhir := http.NewServeMux()
	mountExport(fhir, mux, exporter)
	fhir.Handle(BasePath+"/.well-known/smart-configuration", smartHandler)
	fhir.Handle(BasePath+"/", api)
	fhir.Handle(BasePath, api)
	secured := noStore(mw.Wrap(fhir))
	mux.Handle(BasePath+"/", secured)
	mux.Handle(BasePath, secured)

	page, err := newPage(s)
	if err != nil {
		return nil, nil, err
	}
	mux.Handle("/{$}", page)
	mux.Handle("/static/", staticHandler())
	mountPageExtras(mux, policy, creds)
	// Every answer, the scopes page and token endpoint included, goes only
	// to requests that address this server by a name it is known by.
	return s, guardHosts(newKnownHosts(s.root), policy.Version(), mux), nil
}

// sampleStore is the in-memory FHIR store of version v, loaded with the
// sample patients and their records.
func sampleStore(v fhirversion.Version) (*store.Store, error) {
	validator, err := store.NewValidator(v)
	if err != nil {
		return nil, err
	}
	st, err := store.New(validator)
	if err != nil {
		return nil, err
	}
	if err := sample.Load(st); err != nil {
		return nil, err
	}
	return st, nil
}

// embeddedIssuer builds the development authorization server at the root
// URL, with the demo clients or those of cfg.ClientsFile.
func embeddedIssuer(cfg Config, addr net.Addr, root, audience string) (*authserver.Server, []DemoClient, error) {
	var clients []authserver.Client
	var people []DemoClient
	if cfg.ClientsFile != "" {
		policy, err := newPolicy(cfg.FHIRVersion)
		if err != nil {
			return nil, nil, err
		}
		if clients, err = loadClientsFile(cfg.ClientsFile, policy); err != nil {
			return nil, nil, err
		}
		people = fileClients(clients)
	} else {
		keyFile := cfg.BackendKeyFile
		if keyFile == "" {
			_, port, _ := net.SplitHostPort(addr.String())
			keyFile = filepath.Join(os.TempDir(), "careconnect-backend-service-"+port+".jwk.json")
		}
		var err error
		if clients, people, err = demoClients(keyFile); err != nil {
			return nil, nil, err
		}
	}
	// Token requests with a DPoP proof get tokens bound to its key.
	proofs, err := token.NewDPoPChecker(token.DPoPConfig{})
	if err != nil {
		return nil, nil, err
	}
	as, err := authserver.New(authserver.Config{Issuer: root, Audience: audience, Clients: clients, Logger: cfg.Logger, DPoP: proofs})
	if err != nil {
		return nil, nil, err
	}
	return as, people, nil
}

// smartFromMap converts the authserver's SMART configuration document.
func smartFromMap(m map[string]any) token.SMARTConfiguration {
	str := func(k string) string { s, _ := m[k].(string); return s }
	list := func(k string) []string {
		switch v := m[k].(type) {
		case []string:
			return v
		case []any:
			out := make([]string, 0, len(v))
			for _, x := range v {
				if s, ok := x.(string); ok {
					out = append(out, s)
				}
			}
			return out
		}
		return nil
	}
	return token.SMARTConfiguration{
		Issuer:                            str("issuer"),
		JWKSURI:                           str("jwks_uri"),
		AuthorizationEndpoint:             str("authorization_endpoint"),
		TokenEndpoint:                     str("token_endpoint"),
		IntrospectionEndpoint:             str("introspection_endpoint"),
		RevocationEndpoint:                str("revocation_endpoint"),
		GrantTypesSupported:               list("grant_types_supported"),
		TokenEndpointAuthMethodsSupported: list("token_endpoint_auth_methods_supported"),
		TokenEndpointAuthSigningAlgs:      list("token_endpoint_auth_signing_alg_values_supported"),
		ScopesSupported:                   list("scopes_supported"),
		Capabilities:                      list("capabilities"),
	}
}
