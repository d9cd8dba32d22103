package token

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
)

// Response size limits: a hostile or broken endpoint cannot make the
// verifier read unbounded data.
const (
	maxJWKSBytes          = 1 << 20
	maxDiscoveryBytes     = 256 << 10
	maxIntrospectionBytes = 64 << 10
	maxJWKSKeys           = 100
)

// newHTTPClient is the default client: bounded in time, and not following
// redirects from https to plain http (unless insecure).
func newHTTPClient(insecure bool) *http.Client {
	return &http.Client{
		Timeout: defaultHTTPTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			if err := checkURL(req.URL, insecure); err != nil {
				return fmt.Errorf("redirect refused: %w", err)
			}
			return nil
		},
	}
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
