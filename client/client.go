package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/internal/origin"
)

// Defaults of the FHIR client.
const (
	// defaultMaxResponseBytes is the default response size limit (16 MiB).
	defaultMaxResponseBytes = 16 << 20
	// defaultMaxPages is the default page limit of Search.
	defaultMaxPages = 100
	// defaultTimeout is the timeout of the default HTTP client.
	defaultTimeout = 60 * time.Second
)

// FHIRMediaType is the FHIR JSON media type sent in Accept and Content-Type.
const FHIRMediaType = "application/fhir+json"

// Client is a FHIR REST client for one base URL. It obtains tokens from
// its token source, retries idempotent requests on 429 and 503, and turns
// refusals into *Error values. It is safe for concurrent use.
type Client struct {
	base        *url.URL
	ts          oauth2.TokenSource
	hc          *http.Client
	version     fhirspec.Version
	maxBody     int64
	maxPages    int
	retry       RetryPolicy
	retryUnsafe bool
	userAgent   string
	insecure    bool
	now         func() time.Time
	sleep       func(context.Context, time.Duration) error
	dpop        *DPoPKey  // the token source's DPoP key (WithDPoP), nil for bearer tokens
	dpopNonce   dpopNonce // the FHIR server's latest DPoP-Nonce
}

// Option configures a Client.
type Option func(*Client) error

// New returns a client for the FHIR server at baseURL (e.g.
// "https://fhir.example/fhir"), authenticating every request with a token
// from ts. ts may be nil for servers without authorization.
//
// baseURL must be an absolute https URL (http on loopback, or anywhere
// with WithInsecureHTTP) without query, fragment or credentials. Redirects
// and paging links that leave it are refused, so tokens never reach
// another origin.
func New(baseURL string, ts oauth2.TokenSource, opts ...Option) (*Client, error) {
	base, err := parseBase(baseURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	c := &Client{
		base:     base,
		ts:       ts,
		version:  fhirspec.R4,
		maxBody:  defaultMaxResponseBytes,
		maxPages: defaultMaxPages,
		retry:    DefaultRetryPolicy(),
		now:      time.Now,
		sleep:    sleepContext,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if ts != nil && base.Scheme == "http" && !c.insecure && !isLoopback(base.Hostname()) {
		return nil, fmt.Errorf("%w: base URL %q is plain http on a non-loopback host: tokens would travel in clear (see WithInsecureHTTP)", ErrConfig, baseURL)
	}
	hc := &http.Client{Timeout: defaultTimeout}
	if c.hc != nil {
		copied := *c.hc
		hc = &copied
	}
	hc.CheckRedirect = c.checkRedirect(hc.CheckRedirect)
	c.hc = hc
	c.dpop = dpopKeyOf(ts)
	return c, nil
}

// WithHTTPClient sets the HTTP client for FHIR requests (default: one with
// a 60 s timeout). The client is copied; its CheckRedirect is wrapped to
// refuse redirects that leave the base URL.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return fmt.Errorf("%w: nil HTTP client", ErrConfig)
		}
		c.hc = hc
		return nil
	}
}

// WithFHIRVersion sets the FHIR release (R4 by default); it selects the
// google/fhir/go messages the typed API of package client/typed uses.
func WithFHIRVersion(v fhirspec.Version) Option {
	return func(c *Client) error {
		switch v {
		case fhirspec.STU3, fhirspec.R4:
			c.version = v
			return nil
		}
		return fmt.Errorf("%w: unsupported FHIR version %v (want STU3 or R4)", ErrConfig, v)
	}
}

// WithMaxResponseBytes sets the response size limit (default 16 MiB).
// Larger responses fail with *ResponseTooLargeError.
func WithMaxResponseBytes(n int64) Option {
	return func(c *Client) error {
		if n <= 0 {
			return fmt.Errorf("%w: response limit must be positive", ErrConfig)
		}
		c.maxBody = n
		return nil
	}
}

// WithMaxPages sets the default page limit of Search (default 100).
func WithMaxPages(n int) Option {
	return func(c *Client) error {
		if n <= 0 {
			return fmt.Errorf("%w: page limit must be positive", ErrConfig)
		}
		c.maxPages = n
		return nil
	}
}

// WithRetry sets the retry policy for 429 and 503 answers.
func WithRetry(p RetryPolicy) Option {
	return func(c *Client) error {
		if err := p.validate(); err != nil {
			return err
		}
		c.retry = p
		return nil
	}
}

// WithRetryNonIdempotent also retries POST and PATCH requests (create,
// transaction, operations) on 429 and 503. Only opt in when the server
// guarantees a refused request had no effect.
func WithRetryNonIdempotent() Option {
	return func(c *Client) error {
		c.retryUnsafe = true
		return nil
	}
}

// WithInsecureHTTP allows a plain-http base URL on a host that is not
// loopback while a token source is set. Without it New refuses such a
// URL: bearer tokens would travel in clear.
func WithInsecureHTTP() Option {
	return func(c *Client) error {
		c.insecure = true
		return nil
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		c.userAgent = ua
		return nil
	}
}

// withRetryClock sets the clock used to turn a Retry-After HTTP-date into
// a delay, and the function that waits between attempts (tests).
func withRetryClock(now func() time.Time, sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) error {
		if now == nil || sleep == nil {
			return fmt.Errorf("%w: nil retry clock or sleep", ErrConfig)
		}
		c.now, c.sleep = now, sleep
		return nil
	}
}

// BaseURL returns the base URL without a trailing slash.
func (c *Client) BaseURL() string { return c.base.String() }

// Version returns the configured FHIR version.
func (c *Client) Version() fhirspec.Version { return c.version }

// parseBase validates a FHIR base URL and strips trailing slashes.
func parseBase(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("base URL %q must be an absolute http(s) URL", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, fmt.Errorf("base URL %q must not carry credentials, a query or a fragment", raw)
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == "." || seg == ".." {
			return nil, fmt.Errorf("base URL %q has dot segments", raw)
		}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	u.Host = strings.ToLower(u.Host)
	return u, nil
}

// within reports whether u is under the base URL: the same origin
// (origin.Same), and a path equal to the base path or below it, without dot
// segments or credentials.
func (c *Client) within(u *url.URL) bool {
	if !origin.Same(u, c.base) || u.User != nil || u.Opaque != "" {
		return false
	}
	p := u.Path
	if p != c.base.Path && !strings.HasPrefix(p, c.base.Path+"/") {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// maxRedirects bounds the redirects of one request, as net/http's
// default policy does.
const maxRedirects = 10

// checkRedirect refuses redirects outside the base URL, signs a new DPoP
// proof for the redirected request, then defers to next.
func (c *Client) checkRedirect(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if !c.within(req.URL) {
			return fmt.Errorf("%w: redirect to %s", ErrForeignLink, redactURL(req.URL))
		}
		if err := c.resignDPoP(req); err != nil {
			return err
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("%w: stopped after %d redirects", ErrUnexpectedResponse, maxRedirects)
		}
		return nil
	}
}

// redactURL renders u without userinfo or query (which may carry secrets).
func redactURL(u *url.URL) string {
	cp := *u
	cp.User = nil
	cp.RawQuery = ""
	cp.Fragment = ""
	return cp.String()
}
