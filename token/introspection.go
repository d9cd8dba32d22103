package token

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

// IntrospectorConfig is what an Introspector must be told.
type IntrospectorConfig struct {
	// Endpoint is the RFC 7662 introspection endpoint (see DiscoverOpenID). Required.
	Endpoint string
	// ClientID and ClientSecret authenticate this resource server to the
	// endpoint with HTTP Basic (RFC 6749 2.3.1). Required.
	ClientID     string
	ClientSecret string
	// Issuer: an answer's "iss", when present, must equal it (the
	// endpoint is configured per issuer). Required.
	Issuer string
	// Audience: an answer's "aud" must contain it; an answer without
	// "aud" is refused unless WithAnswersWithoutAudience. Required.
	Audience string
}

// Introspector is an Authenticator for opaque (or any) access tokens: it asks
// the authorization server's RFC 7662 introspection endpoint. An active
// answer becomes the same Principal a JWT would (scope, client_id, sub,
// exp, patient, encounter, fhirUser, ...). aud is required and must
// contain the configured audience (see WithAnswersWithoutAudience); iss,
// exp, nbf and iat are checked when the answer carries them; a
// token_type other than a bearer access token (e.g. refresh_token, DPoP)
// is refused as ErrInactive, a cnf claim as ErrMalformed. It is safe for
// concurrent use.
type Introspector struct {
	introspection
	rules   claimRules
	maxSize int
	now     func() time.Time
	cache   *tokenCache
}

// newIntrospectorConfig applies opts over the defaults.
func newIntrospectorConfig(opts []IntrospectorOption) (*introspectorConfig, error) {
	c := new(introspectorConfig)
	c.setDefaults()
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil option", ErrConfig)
		}
		if err := o.applyIntrospector(c); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	return c, nil
}

// NewIntrospector validates the configuration. It does no I/O.
func NewIntrospector(cfg IntrospectorConfig, opts ...IntrospectorOption) (*Introspector, error) {
	c, err := newIntrospectorConfig(opts)
	if err != nil {
		return nil, err
	}
	ic, errs := newIntrospection(cfg.Endpoint, cfg.ClientID, cfg.ClientSecret, &c.httpConfig)
	if cfg.Issuer == "" {
		errs = append(errs, errors.New("Issuer is required"))
	}
	if cfg.Audience == "" {
		errs = append(errs, errors.New("Audience is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return &Introspector{
		introspection: ic,
		rules: claimRules{
			issuer:    cfg.Issuer,
			audiences: []string{cfg.Audience},
			mapping:   SMARTClaims.withDefaults(),
			leeway:    c.leeway,
			lenient:   c.lenient,
			log:       c.logger,
			memo:      &scopeMemo{},
			optional:  true,
			// An answer without aud may be for another resource server.
			audienceRequired: !c.withoutAudience,
			clients:          c.clients,
		},
		maxSize: c.maxTokenSize,
		now:     c.clock,
		cache:   newTokenCache(c.cacheSize, c.cacheBytes, c.cacheTTL, c.leeway),
	}, nil
}

// Authenticate introspects raw. An answer with "active" other than true is
// ErrInactive; an unreachable endpoint, a non-200 answer or an answer that
// is not a JSON object is ErrIssuerUnavailable.
func (in *Introspector) Authenticate(ctx context.Context, raw string) (*Principal, error) {
	return refuseBound(in.authenticate(ctx, raw))
}

// authenticate is Authenticate, sender-constrained tokens included.
func (in *Introspector) authenticate(ctx context.Context, raw string) (*Principal, error) {
	if raw == "" {
		return nil, fail(ErrMalformed, "empty token")
	}
	if len(raw) > in.maxSize {
		return nil, fail(ErrMalformed, "token is %d bytes, the limit is %d", len(raw), in.maxSize)
	}
	if !isB64Token(raw) {
		return nil, fail(ErrMalformed, "token has characters outside RFC 6750's b64token set")
	}
	now := in.now()
	if in.cache != nil {
		if e := in.cache.get(raw, now); e != nil {
			return &e.principal, nil
		}
	}
	claims, answer, err := in.introspect(ctx, raw)
	if err != nil {
		return nil, err
	}
	if active, _ := claims["active"].(bool); !active {
		return nil, fail(ErrInactive, "introspection endpoint says the token is not active")
	}
	p, err := in.rules.principal(claims, answer, now)
	if err != nil {
		return nil, err
	}
	if in.cache != nil {
		p = in.cache.put(raw, p, nil, nil, now)
	}
	return p, nil
}

// introspection is an RFC 7662 endpoint and how to authenticate to it:
// what Introspector and RevocationIntrospector both ask.
type introspection struct {
	endpoint string
	authz    string // Authorization header value
	client   *http.Client
}

// newIntrospection checks the endpoint and the client credentials; the
// errors name what is wrong, for the caller to join with its own.
func newIntrospection(endpoint, clientID, clientSecret string, c *httpConfig) (introspection, []error) {
	var errs []error
	if endpoint == "" {
		errs = append(errs, errors.New("Endpoint is required"))
	} else if _, err := parseEndpoint(endpoint, c.insecure); err != nil {
		errs = append(errs, fmt.Errorf("Endpoint: %w", err))
	}
	if clientID == "" || clientSecret == "" {
		errs = append(errs, errors.New("ClientID and ClientSecret are required"))
	}
	// RFC 6749 2.3.1: the client id and secret are form-encoded before
	// HTTP Basic.
	req := http.Request{Header: http.Header{}}
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret))
	return introspection{endpoint: endpoint, authz: req.Header.Get("Authorization"), client: c.httpClient()}, errs
}

// introspect POSTs the token and decodes the answer. It returns the answer
// decoded and as text (without leading white space).
func (in *introspection) introspect(ctx context.Context, raw string) (map[string]any, string, error) {
	// Bounded even with a caller's HTTP client that has no timeout.
	ctx, cancel := context.WithTimeout(ctx, fetchDeadline)
	defer cancel()
	form := url.Values{"token": {raw}, "token_type_hint": {"access_token"}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.endpoint, strings.NewReader(form))
	if err != nil {
		return nil, "", failWrap(ErrIssuerUnavailable, err, "building introspection request")
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", in.authz)
	resp, err := in.client.Do(req)
	if err != nil {
		// The url.Error names the endpoint, not the token (which is in the body).
		return nil, "", failWrap(ErrIssuerUnavailable, err, "introspection request failed")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, "", fail(ErrIssuerUnavailable, "introspection endpoint answered HTTP %d", resp.StatusCode)
	}
	body, err := readLimited(resp.Body, maxIntrospectionBytes)
	if err != nil {
		return nil, "", failWrap(ErrIssuerUnavailable, err, "reading introspection answer")
	}
	answer := string(body)
	claims, err := decodeJSONObject(answer)
	if err != nil {
		return nil, "", failWrap(ErrIssuerUnavailable, err, "introspection answer is not a JSON object")
	}
	return claims, answer[jsonsyntax.SkipSpace(answer, 0):], nil
}

// isB64Token reports whether s matches RFC 6750's b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}
