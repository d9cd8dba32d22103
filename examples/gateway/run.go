package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/middleware"
	"github.com/fhirwarden/fhirwarden/token"
)

// run is the whole program: parse flags, connect to the issuer and the
// upstream (in the background when they are not reachable yet), serve
// until ctx is done, then drain in-flight requests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if c.check {
		c.describe(stdout)
		return nil
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	g := newGateway(c, logger)
	defer g.close()
	if g.dpop, err = newDPoPScheme(c); err != nil {
		return err
	}
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
	scheme := "http"
	if c.tlsCert != "" {
		scheme = "https"
	}
	fmt.Fprintf(stdout, "fhirwarden gateway listening on %s://%s%s -> %s (FHIR %s, issuer %s)\n",
		scheme, ln.Addr(), c.base, c.upstream.Redacted(), version, c.issuerList())
	bg, stopBackground := context.WithCancel(ctx)
	defer stopBackground()
	if connectErr != nil {
		go g.connectLoop(bg, connectErr)
	} else if !g.upstreamChecked.Load() {
		go g.watchUpstream(bg)
	}
	errc := make(chan error, 1)
	go func() {
		if c.tlsCert != "" {
			errc <- srv.ServeTLS(ln, c.tlsCert, c.tlsKey)
			return
		}
		errc <- srv.Serve(ln)
	}()
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
