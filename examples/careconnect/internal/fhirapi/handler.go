package fhirapi

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/store"
)

// ContentType is the media type of every response body.
const ContentType = "application/fhir+json; charset=utf-8"

// maxBodyBytes bounds a request body (a resource, a patch or a Bundle).
const maxBodyBytes = 8 << 20

// Handler serves the FHIR REST API over a store. Create it with New.
type Handler struct {
	store    *store.Store
	basePath string // e.g. "/fhir"
	baseURL  string // absolute, e.g. "http://127.0.0.1:8080/fhir"; "" derives it from each request
	access   AccessFunc
	security Security
	logger   *slog.Logger
	now      func() time.Time
}

// Option configures a Handler.
type Option func(*Handler) error

// WithBasePath sets the path the FHIR API is served under (default "/fhir").
func WithBasePath(p string) Option {
	return func(h *Handler) error {
		p = strings.TrimRight(p, "/")
		if p != "" && !strings.HasPrefix(p, "/") {
			return fmt.Errorf("fhirapi: base path %q must start with /", p)
		}
		h.basePath = p
		return nil
	}
}

// WithBaseURL sets the absolute base URL used in fullUrl, Location and
// paging links. Without it the base is derived from each request's Host.
func WithBaseURL(u string) Option {
	return func(h *Handler) error {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return fmt.Errorf("fhirapi: base URL %q must be an absolute http(s) URL", u)
		}
		h.baseURL = strings.TrimRight(u, "/")
		return nil
	}
}

// WithAccess sets how a request's Access is found (normally from the
// authorization decision the middleware put in the request context).
func WithAccess(f AccessFunc) Option {
	return func(h *Handler) error { h.access = f; return nil }
}

// WithSecurity describes the server's security for the CapabilityStatement.
func WithSecurity(s Security) Option {
	return func(h *Handler) error { h.security = s; return nil }
}

// WithLogger sets the logger for internal errors (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(h *Handler) error { h.logger = l; return nil }
}

// New returns a Handler serving s.
func New(s *store.Store, opts ...Option) (*Handler, error) {
	if s == nil {
		return nil, errors.New("fhirapi: a store is required")
	}
	h := &Handler{store: s, basePath: "/fhir", logger: slog.New(slog.DiscardHandler), now: time.Now}
	for _, o := range opts {
		if err := o(h); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// response is the outcome of one interaction, written to the wire by
// ServeHTTP or into a Bundle entry by batch and transaction processing.
type response struct {
	status   int
	body     []byte          // JSON body (resource, Bundle or OperationOutcome); nil for none
	resource *store.Resource // the resource concerned, for ETag and Last-Modified
	location string          // Location header (absolute)
	allow    string          // Allow header of a 405: the methods the path takes
}

// request is one FHIR interaction request, from HTTP or a Bundle entry.
type request struct {
	method   string
	segments []string // path below the base, split on "/"
	query    url.Values
	header   http.Header
	body     []byte
	base     string // absolute base URL
	access   Access
	http     *http.Request
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resp := h.serve(w, r)
	writeResponse(w, resp)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) response {
	segments, err := h.splitPath(r)
	if err != nil {
		return failure(http.StatusBadRequest, "invalid", err.Error())
	}
	if !acceptsJSON(r.Header.Values("Accept")) {
		return failure(http.StatusNotAcceptable, "not-supported", "this server produces application/fhir+json only")
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return failure(http.StatusBadRequest, "invalid", "malformed query string")
	}
	var body []byte
	if r.Body != nil && r.Method != http.MethodGet && r.Method != http.MethodDelete {
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return failure(http.StatusRequestEntityTooLarge, "too-costly", fmt.Sprintf("request body larger than %d bytes", maxBodyBytes))
			}
			return failure(http.StatusBadRequest, "invalid", "cannot read request body")
		}
	}
	req := request{method: r.Method, segments: segments, query: query, header: r.Header, body: body, base: h.base(r), http: r}
	if h.access != nil {
		a, err := h.access(r)
		if err != nil {
			return failure(http.StatusForbidden, "forbidden", err.Error())
		}
		req.access = a
	}
	return h.route(req, h.store)
}

// base returns the absolute FHIR base URL for r.
func (h *Handler) base(r *http.Request) string {
	if h.baseURL != "" {
		return h.baseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + h.basePath
}

// splitPath returns the path segments below the base path, refusing
// ambiguous paths (dot segments, empty segments, encoded slashes, ';').
func (h *Handler) splitPath(r *http.Request) ([]string, error) {
	raw := r.URL.EscapedPath()
	if !strings.HasPrefix(raw, h.basePath) {
		return nil, fmt.Errorf("path is not below %s", h.basePath)
	}
	rest := raw[len(h.basePath):]
	if rest != "" && rest[0] != '/' {
		return nil, fmt.Errorf("path is not below %s", h.basePath)
	}
	rest = strings.TrimPrefix(rest, "/")
	return splitSegments(rest)
}

func splitSegments(rest string) ([]string, error) {
	if rest == "" {
		return nil, nil
	}
	parts := strings.Split(rest, "/")
	for i, p := range parts {
		lower := strings.ToLower(p)
		if strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") || strings.Contains(p, ";") || strings.Contains(p, `\`) {
			return nil, fmt.Errorf("ambiguous path segment %q", p)
		}
		dec, err := url.PathUnescape(p)
		if err != nil {
			return nil, fmt.Errorf("malformed path segment %q", p)
		}
		if dec == "" || dec == "." || dec == ".." {
			return nil, fmt.Errorf("empty or dot path segment in %q", rest)
		}
		parts[i] = dec
	}
	return parts, nil
}

// acceptsJSON reports whether the Accept headers allow FHIR JSON.
func acceptsJSON(values []string) bool {
	if len(values) == 0 {
		return true
	}
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			switch mt {
			case "*/*", "application/*", "application/fhir+json", "application/json", "application/json+fhir", "text/*", "text/plain":
				return true
			}
		}
	}
	return false
}

// writeResponse writes resp with the FHIR headers.
func writeResponse(w http.ResponseWriter, resp response) {
	hdr := w.Header()
	if resp.resource != nil {
		hdr.Set("ETag", etag(resp.resource))
		hdr.Set("Last-Modified", resp.resource.LastUpdated.UTC().Format(http.TimeFormat))
	}
	if resp.location != "" {
		hdr.Set("Location", resp.location)
	}
	if resp.allow != "" {
		hdr.Set("Allow", resp.allow)
	}
	if resp.body == nil {
		w.WriteHeader(resp.status)
		return
	}
	hdr.Set("Content-Type", ContentType)
	hdr.Set("Content-Length", strconv.Itoa(len(resp.body)))
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

func etag(r *store.Resource) string { return `W/"` + r.VersionID() + `"` }

// parseETag parses an If-Match value (W/"3" or "3") into a version.
func parseETag(v string) (int, error) {
	s := strings.TrimPrefix(strings.TrimSpace(v), "W/")
	s = strings.Trim(s, `"`)
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("If-Match %q is not a version ETag", v)
	}
	return n, nil
}
