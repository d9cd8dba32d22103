package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/middleware"
	"github.com/fhirwarden/fhirwarden/token"
)

// config is the parsed command line.
type config struct {
	upstream    *url.URL
	issuer      string
	audience    string
	addr        string
	version     fhirspec.Version
	base        string
	shared      []string
	forwardAuth bool
	maxResponse int64
}

// parseFlags reads the command line; errors are usageErrors.
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	upstream := fs.String("upstream", "", "FHIR base URL of the server to protect (required)")
	issuer := fs.String("issuer", "", "OAuth2/OpenID issuer whose tokens are accepted (required)")
	audience := fs.String("audience", "", "required aud of access tokens (required)")
	addr := fs.String("addr", "127.0.0.1:8081", "listen address")
	version := fs.String("fhir-version", "", "FHIR version of the upstream: STU3 or R4 (default: read from the upstream's CapabilityStatement)")
	base := fs.String("base", "/fhir", "the gateway's FHIR base path")
	shared := fs.String("shared-types", "", "comma-separated non-patient resource types patient/ scopes may read")
	forward := fs.Bool("forward-authorization", false, "forward the caller's Authorization header upstream")
	maxResponse := fs.Int64("max-response", middleware.DefaultMaxResponseSize, "largest upstream response that can be checked, in bytes")
	if err := fs.Parse(args); err != nil {
		return nil, usageError{err}
	}
	fail := func(format string, a ...any) (*config, error) {
		err := fmt.Errorf(format, a...)
		fmt.Fprintln(stderr, "gateway:", err)
		fs.Usage()
		return nil, usageError{err}
	}
	if fs.NArg() > 0 {
		return fail("unexpected arguments: %q", fs.Args())
	}
	if *upstream == "" || *issuer == "" || *audience == "" {
		return fail("-upstream, -issuer and -audience are required")
	}
	u, err := url.Parse(*upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fail("-upstream %q must be an absolute http(s) URL without query, fragment or user info", *upstream)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	var v fhirspec.Version
	if *version != "" {
		if v, err = fhirspec.ParseVersion(*version); err != nil {
			return fail("-fhir-version: %v", err)
		}
	}
	if *maxResponse <= 0 {
		return fail("-max-response must be positive")
	}
	c := &config{
		upstream: u, issuer: *issuer, audience: *audience, addr: *addr, version: v,
		base: *base, forwardAuth: *forward, maxResponse: *maxResponse,
	}
	for t := range strings.SplitSeq(*shared, ",") {
		if t = strings.TrimSpace(t); t != "" {
			c.shared = append(c.shared, t)
		}
	}
	return c, nil
}

// run is the whole program: parse flags, connect to the issuer and the
// upstream (in the background when they are not reachable yet), serve
// until ctx is done, then drain in-flight requests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if _, err := fhirauth.NewPolicy(fhirauth.WithBasePath(c.base), fhirauth.WithSharedTypes(c.shared...)); err != nil {
		return usageError{err}
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	g := newGateway(c, logger)
	defer g.close()
	connectErr := g.connect(ctx)
	if errors.Is(connectErr, errVersionMismatch) {
		return connectErr
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	srv := newServer(g, logger)
	version := "version from the upstream, pending"
	if v := fhirspec.Version(g.version.Load()); v.Valid() {
		version = v.String()
	}
	fmt.Fprintf(stdout, "fhirwarden gateway listening on http://%s%s -> %s (FHIR %s, issuer %s)\n",
		ln.Addr(), c.base, c.upstream.Redacted(), version, c.issuer)
	bg, stopBackground := context.WithCancel(ctx)
	defer stopBackground()
	if connectErr != nil {
		go g.connectLoop(bg, connectErr)
	} else if !g.upstreamChecked.Load() {
		go g.watchUpstream(bg)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	stopBackground()
	// Shutdown stops accepting, then waits for in-flight requests to end.
	shutdownCtx, cancelShutdown := context.WithTimeout(context.Background(), currentTimeouts().drain)
	defer cancelShutdown()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// smartConfiguration serves the issuer's SMART configuration when it
// publishes one ({issuer}/.well-known/smart-configuration), else one built
// from its OpenID metadata.
func smartConfiguration(ctx context.Context, issuer string, md *token.ProviderMetadata) (http.Handler, error) {
	if sc, err := token.DiscoverSMART(ctx, issuer); err == nil && len(sc.GrantTypesSupported) > 0 {
		sc.Issuer, sc.JWKSURI = md.Issuer, md.JWKSURI // trusted: from the issuer's own discovery
		return middleware.SMARTConfigurationHandler(*sc)
	}
	return middleware.SMARTConfigurationHandler(token.SMARTConfiguration{
		Issuer:                            md.Issuer,
		JWKSURI:                           md.JWKSURI,
		AuthorizationEndpoint:             md.AuthorizationEndpoint,
		TokenEndpoint:                     md.TokenEndpoint,
		IntrospectionEndpoint:             md.IntrospectionEndpoint,
		RevocationEndpoint:                md.RevocationEndpoint,
		GrantTypesSupported:               []string{"client_credentials"},
		TokenEndpointAuthMethodsSupported: []string{"client_secret_basic", "private_key_jwt"},
		ScopesSupported:                   md.ScopesSupported,
		Capabilities:                      []string{"client-confidential-symmetric", "client-confidential-asymmetric", "permission-v1", "permission-v2"},
	})
}
