package client

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ClientAuth is how a client authenticates to the token endpoint; the
// values are the RFC 8414 token_endpoint_auth_methods_supported names.
type ClientAuth string

// Client authentication methods.
const (
	// ClientSecretBasic sends client_id and secret as an HTTP Basic
	// Authorization header: the Care Connect default ("Send as Basic Auth
	// header") and this package's default for ClientCredentials.
	ClientSecretBasic ClientAuth = "client_secret_basic"
	// ClientSecretPost sends client_id and client_secret in the form body.
	ClientSecretPost ClientAuth = "client_secret_post"
	// PrivateKeyJWT authenticates with a signed client assertion (SMART
	// Backend Services); see BackendServices.
	PrivateKeyJWT ClientAuth = "private_key_jwt"
)

// Defaults of the token sources.
const (
	// defaultRefreshSkew is how long before expiry a cached token is replaced.
	defaultRefreshSkew = time.Minute
	// defaultFetchTimeout bounds one token request.
	defaultFetchTimeout = 30 * time.Second
	// maxAssertionLifetime is the longest client assertion SMART Backend
	// Services allows (and the default lifetime).
	maxAssertionLifetime = 5 * time.Minute
)

// TokenOption configures a token source.
type TokenOption func(*tokenConfig) error

type tokenConfig struct {
	scopes            []string
	clientAuth        ClientAuth
	httpClient        *http.Client
	now               func() time.Time
	skew              time.Duration
	fetchTimeout      time.Duration
	assertionLifetime time.Duration
	params            url.Values
	insecureHTTP      bool
	dpop              *DPoPKey       // WithDPoP
	dpopTransport     *dpopTransport // signs the token requests' proofs (WithDPoP)
}

func newTokenConfig(opts []TokenOption) (*tokenConfig, error) {
	cfg := &tokenConfig{
		now:               time.Now,
		skew:              defaultRefreshSkew,
		fetchTimeout:      defaultFetchTimeout,
		assertionLifetime: maxAssertionLifetime,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(cfg); err != nil {
			return nil, err
		}
	}
	hc := &http.Client{Timeout: cfg.fetchTimeout}
	if cfg.httpClient != nil {
		copied := *cfg.httpClient // the caller's client is left as it is
		hc = &copied
	}
	hc.CheckRedirect = refuseTokenRedirect
	cfg.httpClient = hc
	if cfg.dpop != nil {
		cfg.httpClient, cfg.dpopTransport = dpopHTTPClient(cfg.httpClient, cfg.dpop)
	}
	return cfg, nil
}

// WithScopes sets the scopes requested (e.g. "system/Observation.rs").
// Each must be a single RFC 6749 scope token.
func WithScopes(scopes ...string) TokenOption {
	return func(c *tokenConfig) error {
		for _, s := range scopes {
			if !validScopeToken(s) {
				return fmt.Errorf("%w: invalid scope token %q", ErrConfig, s)
			}
		}
		c.scopes = append(c.scopes, scopes...)
		return nil
	}
}

// WithClientAuth selects how ClientCredentials authenticates the client:
// ClientSecretBasic (default) or ClientSecretPost. It is never
// auto-detected (trying one and then the other would send the secret
// twice).
func WithClientAuth(a ClientAuth) TokenOption {
	return func(c *tokenConfig) error {
		if a != ClientSecretBasic && a != ClientSecretPost && a != PrivateKeyJWT {
			return fmt.Errorf("%w: unknown client authentication %q", ErrConfig, a)
		}
		c.clientAuth = a
		return nil
	}
}

// WithTokenHTTPClient sets the HTTP client for token requests (default: a
// client with a 30 s timeout). The client is copied, and the copy never
// follows redirects (see refuseTokenRedirect); hc itself is not changed.
func WithTokenHTTPClient(hc *http.Client) TokenOption {
	return func(c *tokenConfig) error {
		if hc == nil {
			return fmt.Errorf("%w: nil token HTTP client", ErrConfig)
		}
		c.httpClient = hc
		return nil
	}
}

// withClock sets the clock used for expiry and assertion times (default
// time.Now), so that tests can move token expiry forward without
// sleeping.
func withClock(now func() time.Time) TokenOption {
	return func(c *tokenConfig) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrConfig)
		}
		c.now = now
		return nil
	}
}

// WithRefreshSkew sets how long before expiry a token is replaced (default
// one minute; never more than half the token's lifetime).
func WithRefreshSkew(d time.Duration) TokenOption {
	return func(c *tokenConfig) error {
		if d < 0 {
			return fmt.Errorf("%w: negative refresh skew", ErrConfig)
		}
		c.skew = d
		return nil
	}
}

// WithAssertionLifetime sets how far ahead a Backend Services client
// assertion expires: more than 0, at most 5 minutes (the default).
func WithAssertionLifetime(d time.Duration) TokenOption {
	return func(c *tokenConfig) error {
		if d <= 0 || d > maxAssertionLifetime {
			return fmt.Errorf("%w: assertion lifetime %v not in (0, %v]", ErrConfig, d, maxAssertionLifetime)
		}
		c.assertionLifetime = d
		return nil
	}
}

// WithEndpointParams adds form parameters to every token request (e.g. an
// "audience" some providers want). Parameters the grant itself sets
// (grant_type, scope, client credentials, assertions) are refused.
func WithEndpointParams(v url.Values) TokenOption {
	return func(c *tokenConfig) error {
		for k := range v {
			switch k {
			case "grant_type", "scope", "client_id", "client_secret", "client_assertion", "client_assertion_type":
				return fmt.Errorf("%w: endpoint parameter %q is set by the grant", ErrConfig, k)
			}
		}
		if c.params == nil {
			c.params = url.Values{}
		}
		for k, vs := range v {
			c.params[k] = append(c.params[k], vs...)
		}
		return nil
	}
}

// WithInsecureTokenURL allows a plain-http token URL on a host that is not
// loopback. Without it such URLs are refused: they would send the client's
// credentials in clear.
func WithInsecureTokenURL() TokenOption {
	return func(c *tokenConfig) error {
		c.insecureHTTP = true
		return nil
	}
}

// refuseTokenRedirect is the CheckRedirect of every token HTTP client. A
// token endpoint has no reason to redirect a POST (RFC 6749 provides for
// none), and following one would hand the client's credentials (the Basic
// header, which net/http keeps on a same-hostname redirect whatever the
// port or scheme, a client_secret in the body, or a client assertion the
// target could redeem at the real endpoint) to whatever URL it names, in
// clear on an https -> http redirect, and would accept the token the
// target issues.
func refuseTokenRedirect(req *http.Request, _ []*http.Request) error {
	return fmt.Errorf("%w: the token endpoint redirected to %s; token requests do not follow redirects",
		ErrUnexpectedResponse, redactURL(req.URL))
}

// checkTokenURL validates a token endpoint URL.
func checkTokenURL(raw string, insecureOK bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: token URL: %w", ErrConfig, err)
	}
	if !u.IsAbs() || u.Host == "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("%w: token URL %q must be an absolute http(s) URL without credentials or fragment", ErrConfig, raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !insecureOK && !isLoopback(u.Hostname()) {
			return fmt.Errorf("%w: token URL %q is plain http on a non-loopback host (credentials would travel in clear)", ErrConfig, raw)
		}
	default:
		return fmt.Errorf("%w: token URL %q: scheme must be https or http", ErrConfig, raw)
	}
	return nil
}

// isLoopback reports whether host is localhost or a loopback IP.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validScopeToken reports whether s is an RFC 6749 scope-token:
// 1*( %x21 / %x23-5B / %x5D-7E ).
func validScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c == 0x22 || c == 0x5C || c > 0x7E {
			return false
		}
	}
	return true
}
