package authserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// ErrConfig is wrapped by every configuration error returned by New.
var ErrConfig = errors.New("authserver: invalid configuration")

// DefaultTokenLifetime is the lifetime of issued access tokens when
// Config.TokenLifetime is zero: 90 minutes (expires_in 5400), as in the
// Care Connect reference implementation.
const DefaultTokenLifetime = 90 * time.Minute

// Config configures a Server. Issuer and Audience are required.
type Config struct {
	// Issuer is the absolute http(s) URL of the server (the iss of its tokens).
	// The endpoints live below it: {Issuer}/oauth2/token, {Issuer}/oauth2/jwks,
	// {Issuer}/oauth2/introspect, {Issuer}/oauth2/revoke and
	// {Issuer}/.well-known/openid-configuration. A trailing slash is removed.
	Issuer string
	// Audience is the aud of issued tokens, usually the FHIR base URL.
	Audience string
	// TokenLifetime is the lifetime of issued access tokens; zero means
	// DefaultTokenLifetime.
	TokenLifetime time.Duration
	// Clients are the registered clients; more can be added with AddClient.
	Clients []Client
	// OpaqueTokens makes the token endpoint issue opaque (random, non-JWT)
	// access tokens that only introspection can resolve.
	OpaqueTokens bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// DPoP, when set, checks the DPoP proofs of token requests: a request
	// with a valid proof gets a token bound to the proof's key (cnf.jkt,
	// token_type DPoP). Without it, proofs are ignored, and clients
	// registered with dpop_bound_access_tokens are refused.
	DPoP DPoPVerifier
	// Logger receives one record per refused request (never secrets or
	// tokens); nil discards.
	Logger *slog.Logger
}

// validate checks c and fills defaults, returning the normalised copy.
func (c Config) validate() (Config, error) {
	c.Issuer = strings.TrimRight(c.Issuer, "/")
	if c.Issuer == "" {
		return c, fmt.Errorf("%w: Issuer is required", ErrConfig)
	}
	u, err := url.Parse(c.Issuer)
	if err != nil {
		return c, fmt.Errorf("%w: Issuer: %w", ErrConfig, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return c, fmt.Errorf("%w: Issuer %q must be an absolute http(s) URL without query, fragment or user info", ErrConfig, c.Issuer)
	}
	if c.Audience == "" {
		return c, fmt.Errorf("%w: Audience is required", ErrConfig)
	}
	switch {
	case c.TokenLifetime == 0:
		c.TokenLifetime = DefaultTokenLifetime
	case c.TokenLifetime < time.Second:
		return c, fmt.Errorf("%w: TokenLifetime %v is too short", ErrConfig, c.TokenLifetime)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}
