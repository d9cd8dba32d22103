package client

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// RequestOption adjusts one request.
type RequestOption func(*request) error

// IfMatch makes an update, patch or delete conditional on the resource's
// current version: pass a version id ("3") or an ETag (W/"3"). A server
// holding another version answers 412 (ErrPreconditionFailed).
func IfMatch(versionOrETag string) RequestOption {
	return func(r *request) error {
		v := strings.TrimSpace(versionOrETag)
		if v == "" {
			return fmt.Errorf("%w: empty If-Match", ErrInvalidArgument)
		}
		if !strings.HasPrefix(v, `W/"`) && !strings.HasPrefix(v, `"`) {
			if !validID(v) {
				return fmt.Errorf("%w: If-Match version %q is not a FHIR id", ErrInvalidArgument, v)
			}
			v = `W/"` + v + `"`
		}
		if versionFromETag(v) == "" || strings.Count(v, `"`) != 2 {
			return fmt.Errorf("%w: malformed ETag %q", ErrInvalidArgument, v)
		}
		if err := checkHeaderValue("If-Match", v); err != nil {
			return err
		}
		r.header.Set("If-Match", v)
		return nil
	}
}

// IfNoneExist makes a create conditional (FHIR conditional create): the
// server creates nothing when a resource matches query (e.g.
// "identifier=https://fhir.nhs.uk/Id/nhs-number|9000000009").
func IfNoneExist(query string) RequestOption {
	return func(r *request) error {
		query = strings.TrimPrefix(query, "?")
		if query == "" {
			return fmt.Errorf("%w: empty If-None-Exist", ErrInvalidArgument)
		}
		if _, err := url.ParseQuery(query); err != nil {
			return fmt.Errorf("%w: If-None-Exist: %w", ErrInvalidArgument, err)
		}
		if err := checkHeaderValue("If-None-Exist", query); err != nil {
			return err
		}
		r.header.Set("If-None-Exist", query)
		return nil
	}
}

// Prefer sets the Prefer header, e.g. "return=representation" or
// "return=OperationOutcome".
func Prefer(v string) RequestOption {
	return WithHeader("Prefer", v)
}

// WithHeader sets an extra request header. Headers the client owns
// (Authorization, Accept, Content-Type, Host, Content-Length, Cookie) are
// refused.
func WithHeader(name, value string) RequestOption {
	return func(r *request) error {
		switch http.CanonicalHeaderKey(name) {
		case "Authorization", "Accept", "Content-Type", "Host", "Content-Length", "Cookie", "Transfer-Encoding":
			return fmt.Errorf("%w: header %s is set by the client", ErrInvalidArgument, name)
		}
		if name == "" || strings.ContainsAny(name, " :\r\n\x00") {
			return fmt.Errorf("%w: header name %q", ErrInvalidArgument, name)
		}
		if err := checkHeaderValue(name, value); err != nil {
			return err
		}
		r.header.Set(name, value)
		return nil
	}
}

// newRequest builds a request and applies options.
func newRequest(method string, u *url.URL, body []byte, opts []RequestOption) (*request, error) {
	r := &request{method: method, url: u, body: body, header: http.Header{}}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(r); err != nil {
			return nil, err
		}
	}
	return r, nil
}
