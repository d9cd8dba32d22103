package client

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Sentinel errors. A FHIR error (*Error) matches the status sentinels with
// errors.Is; an *OAuthError matches the OAuth sentinels.
var (
	// ErrBadRequest matches an *Error with HTTP status 400.
	ErrBadRequest = errors.New("fhir: bad request")
	// ErrUnauthorized matches an *Error with HTTP status 401.
	ErrUnauthorized = errors.New("fhir: unauthorized")
	// ErrForbidden matches an *Error with HTTP status 403.
	ErrForbidden = errors.New("fhir: forbidden")
	// ErrNotFound matches an *Error with HTTP status 404.
	ErrNotFound = errors.New("fhir: not found")
	// ErrGone matches an *Error with HTTP status 410 (deleted resource).
	ErrGone = errors.New("fhir: gone")
	// ErrConflict matches an *Error with HTTP status 409 (version conflict).
	ErrConflict = errors.New("fhir: conflict")
	// ErrPreconditionFailed matches an *Error with HTTP status 412
	// (If-Match did not match, or a conditional request matched several).
	ErrPreconditionFailed = errors.New("fhir: precondition failed")
	// ErrUnprocessable matches an *Error with HTTP status 422 (validation).
	ErrUnprocessable = errors.New("fhir: unprocessable entity")
	// ErrTooManyRequests matches an *Error with HTTP status 429.
	ErrTooManyRequests = errors.New("fhir: too many requests")
	// ErrUnavailable matches an *Error with HTTP status 503.
	ErrUnavailable = errors.New("fhir: service unavailable")

	// ErrResponseTooLarge is wrapped when a response exceeds the size limit.
	ErrResponseTooLarge = errors.New("fhir: response too large")
	// ErrForeignLink is wrapped when a paging link (or a redirect) leaves
	// the client's base URL; the request is not sent.
	ErrForeignLink = errors.New("fhir: link leaves the base URL")
	// ErrPageLimit is wrapped when a search stops at its page limit while
	// the server still offers a next page.
	ErrPageLimit = errors.New("fhir: page limit reached")
	// ErrPagingLoop is wrapped when a server's next link points at a page
	// already fetched.
	ErrPagingLoop = errors.New("fhir: paging loop")
	// ErrInvalidArgument is wrapped when a caller's argument (resource type,
	// id, body) is rejected before anything is sent.
	ErrInvalidArgument = errors.New("fhir: invalid argument")
	// ErrUnexpectedResponse is wrapped when a successful response does not
	// contain what the interaction promises (e.g. a search not answered
	// with a Bundle, or a token endpoint answering with a token the client
	// cannot send, such as one of token_type mac), or when a server
	// redirects one request ten times.
	ErrUnexpectedResponse = errors.New("fhir: unexpected response")
	// ErrConfig is wrapped by constructor errors (invalid configuration).
	ErrConfig = errors.New("client: invalid configuration")
	// ErrUnsupported is wrapped when a server's SMART configuration does
	// not support the chosen grant type or client authentication method.
	ErrUnsupported = errors.New("client: not supported by the server")
	// ErrForeignTokenEndpoint is wrapped when a server's SMART
	// configuration names a token endpoint on another origin than the FHIR
	// base and the client would authenticate there with its secret
	// (DiscoveredTokenURL); nothing is sent.
	ErrForeignTokenEndpoint = errors.New("client: discovered token endpoint is on another origin than the FHIR server; the client secret is not sent there unless the token URL is given explicitly")
	// ErrDPoPNotBound is wrapped when a token source built WithDPoP gets
	// a token whose token_type is not DPoP: sent as it is, it would be a
	// bearer token anyone holding it can replay.
	ErrDPoPNotBound = errors.New("client: token endpoint issued a token not bound to the DPoP key")
)

// OAuth error codes (RFC 6749 section 5.2) as sentinels: an *OAuthError
// with the matching Code satisfies errors.Is.
var (
	ErrInvalidRequest       = errors.New("oauth2: invalid_request")
	ErrInvalidClient        = errors.New("oauth2: invalid_client")
	ErrInvalidGrant         = errors.New("oauth2: invalid_grant")
	ErrUnauthorizedClient   = errors.New("oauth2: unauthorized_client")
	ErrUnsupportedGrantType = errors.New("oauth2: unsupported_grant_type")
	ErrInvalidScope         = errors.New("oauth2: invalid_scope")
)

var oauthSentinels = map[string]error{
	"invalid_request":        ErrInvalidRequest,
	"invalid_client":         ErrInvalidClient,
	"invalid_grant":          ErrInvalidGrant,
	"unauthorized_client":    ErrUnauthorizedClient,
	"unsupported_grant_type": ErrUnsupportedGrantType,
	"invalid_scope":          ErrInvalidScope,
}

var statusSentinels = map[int]error{
	http.StatusBadRequest:          ErrBadRequest,
	http.StatusUnauthorized:        ErrUnauthorized,
	http.StatusForbidden:           ErrForbidden,
	http.StatusNotFound:            ErrNotFound,
	http.StatusGone:                ErrGone,
	http.StatusConflict:            ErrConflict,
	http.StatusPreconditionFailed:  ErrPreconditionFailed,
	http.StatusUnprocessableEntity: ErrUnprocessable,
	http.StatusTooManyRequests:     ErrTooManyRequests,
	http.StatusServiceUnavailable:  ErrUnavailable,
}

// Error is a FHIR server's refusal: a non-2xx HTTP answer, with the
// OperationOutcome the server sent (if any). Use errors.As to get it and
// errors.Is with ErrNotFound, ErrForbidden, ... to branch on the status.
type Error struct {
	// Method and URL of the request (the URL never carries credentials).
	Method string
	URL    string
	// StatusCode is the HTTP status code.
	StatusCode int
	// Outcome is the parsed OperationOutcome, nil when the body was not one.
	Outcome *OperationOutcome
	// RetryAfter is the server's Retry-After, 0 when absent.
	RetryAfter time.Duration
	// Challenge is the WWW-Authenticate header of a 401 or 403, if any.
	Challenge string
	// Body is the start (at most 4 KiB) of a body that was not an
	// OperationOutcome; nil otherwise.
	Body []byte
}

// Error reports the method, URL, status and the outcome's issues (the
// first few, each clipped, control characters escaped; Outcome has them
// all as the server sent them).
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fhir: %s %s: %d %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Outcome != nil {
		for i, is := range e.Outcome.Issues {
			if i == maxOutcomeLines {
				fmt.Fprintf(&b, "; and %d more", len(e.Outcome.Issues)-i)
				break
			}
			b.WriteString("; ")
			b.WriteString(serverText(is.String()))
		}
	}
	return b.String()
}

// Is reports whether target is the status sentinel for e.StatusCode.
func (e *Error) Is(target error) bool {
	s, ok := statusSentinels[e.StatusCode]
	return ok && s == target
}

// Diagnostics returns the human-readable text of each issue of the outcome
// (diagnostics, else details.text, else the code), in order.
func (e *Error) Diagnostics() []string {
	if e.Outcome == nil {
		return nil
	}
	out := make([]string, 0, len(e.Outcome.Issues))
	for _, is := range e.Outcome.Issues {
		out = append(out, is.Text())
	}
	return out
}

// OAuthError is a token endpoint's refusal (RFC 6749 section 5.2), such as
// invalid_client or invalid_scope, or an unusable token endpoint answer.
// errors.Is matches it against ErrInvalidClient, ErrInvalidScope, ...
type OAuthError struct {
	// Code is the "error" parameter; empty when the endpoint answered
	// without one (e.g. a 500 with an HTML page).
	Code string
	// Description and URI are error_description and error_uri.
	Description string
	URI         string
	// StatusCode is the HTTP status of the token endpoint's answer.
	StatusCode int
	// Err is the underlying error, if any: what was wrong with an answer
	// that carries no error code (wrapping ErrUnexpectedResponse,
	// ErrResponseTooLarge or ErrDPoPNotBound).
	Err error
}

// Error reports the code, description and status, or without a code
// what was wrong with the answer (clipped, control characters escaped;
// the fields hold them as the server sent them).
func (e *OAuthError) Error() string {
	var b strings.Builder
	b.WriteString("oauth2: token endpoint")
	switch {
	case e.Code != "":
		fmt.Fprintf(&b, ": %s", serverText(e.Code))
	case e.Err != nil:
		fmt.Fprintf(&b, ": %s", serverText(e.Err.Error()))
	default:
		b.WriteString(": no error code")
	}
	if e.Description != "" {
		fmt.Fprintf(&b, " %q", serverText(e.Description))
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *OAuthError) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel for e.Code.
func (e *OAuthError) Is(target error) bool {
	s, ok := oauthSentinels[e.Code]
	return ok && s == target
}

// ResponseTooLargeError is returned when a response body exceeds the
// client's limit (see WithMaxResponseBytes). It wraps ErrResponseTooLarge.
type ResponseTooLargeError struct {
	Method, URL string
	// Limit is the configured maximum in bytes.
	Limit int64
}

// Error reports the limit.
func (e *ResponseTooLargeError) Error() string {
	return fmt.Sprintf("fhir: %s %s: response larger than %d bytes", e.Method, e.URL, e.Limit)
}

// Unwrap returns ErrResponseTooLarge.
func (e *ResponseTooLargeError) Unwrap() error { return ErrResponseTooLarge }
