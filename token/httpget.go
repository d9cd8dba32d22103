package token

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"

	"github.com/fhirwarden/fhirwarden/internal/origin"
)

// Response size limits: a hostile or broken endpoint cannot make the
// verifier read unbounded data.
const (
	maxJWKSBytes          = 1 << 20
	maxDiscoveryBytes     = 256 << 10
	maxIntrospectionBytes = 64 << 10
	maxJWKSKeys           = 100
)

// maxRedirects bounds the redirects the default client follows.
const maxRedirects = 5

// newHTTPClient is the default client: bounded in time, and following
// redirects only on the origin of the URL asked (see sameOriginRedirect).
func newHTTPClient(insecure bool) *http.Client {
	return &http.Client{
		Timeout: defaultHTTPTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if err := sameOriginRedirect(req, via); err != nil {
				return err
			}
			if err := checkURL(req.URL, insecure); err != nil {
				return &redirectError{from: via[0].URL.Redacted(), reason: err.Error()}
			}
			return nil
		},
	}
}

// sameOriginRedirect refuses a redirect away from the origin (scheme, host
// and port) of the first request, and more than maxRedirects of them. A
// discovery document names the endpoints the keys and credentials come
// from or go to, and a key set says which tokens are genuine: each must
// come from the origin configured or discovered, never another one nor
// the same host over plain http.
func sameOriginRedirect(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	if !origin.Same(first, req.URL) {
		return &redirectError{from: first.Redacted(), reason: "redirected to another origin, " + req.URL.Redacted()}
	}
	if len(via) >= maxRedirects {
		return &redirectError{from: first.Redacted(), reason: fmt.Sprintf("stopped after %d redirects", maxRedirects)}
	}
	return nil
}

// redirectError: the default client refused to follow a redirect. Discovery
// reports it as ErrDiscovery (the server answers, but not with a document
// it may serve); a key set or introspection request as an unreachable
// issuer.
type redirectError struct{ from, reason string }

func (e *redirectError) Error() string {
	return fmt.Sprintf("redirect not followed: %s %s", e.from, e.reason)
}

// parseEndpoint parses and checks an endpoint URL from configuration or a
// discovery document.
func parseEndpoint(raw string, insecure bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid URL %q", raw)
	}
	if err := checkURL(u, insecure); err != nil {
		return nil, err
	}
	return u, nil
}

// checkURL requires an absolute https URL, or http to a loopback host, or
// any http URL when insecure. No user info, no fragment.
func checkURL(u *url.URL, insecure bool) error {
	if u.Host == "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("URL %q must be absolute, without user info or fragment", u.Redacted())
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if insecure || isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("URL %q uses plain http to a non-loopback host (see WithInsecureHTTP)", u.Redacted())
	}
	return fmt.Errorf("URL %q must use https", u.Redacted())
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// tooLargeError: a response exceeded its size limit.
type tooLargeError struct{ limit int64 }

func (e *tooLargeError) Error() string { return fmt.Sprintf("response larger than %d bytes", e.limit) }

// readLimited reads all of r, failing if it holds more than limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &tooLargeError{limit}
	}
	return b, nil
}

// httpStatusError is a non-200 answer.
type httpStatusError struct{ code int }

func (e *httpStatusError) Error() string { return fmt.Sprintf("HTTP status %d", e.code) }

// getDocument GETs u and returns the body of a 200 answer (at most limit
// bytes) and its headers. With noCache the request carries
// "Cache-Control: no-cache" (RFC 9111 5.2.1.4): caches must revalidate.
func getDocument(ctx context.Context, client *http.Client, u string, limit int64, noCache bool) ([]byte, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchDeadline)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if noCache {
		req.Header.Set("Cache-Control", "no-cache")
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, nil, &httpStatusError{resp.StatusCode}
	}
	body, err := readLimited(resp.Body, limit)
	if err != nil {
		return nil, nil, err
	}
	return body, resp.Header, nil
}
