package middleware

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/fhirwarden/fhirwarden/fhirauth"
)

// storedVersion fetches the stored version of Type/id through the wrapped
// handler itself (a GET of {base}/Type/id, not re-authorized: it is the
// middleware asking) and checks it with d.CheckStored. It returns the
// ETag of the stored version (for If-Match) and, on refusal, the status
// and reason to answer with: the decision's CheckStatus when the check
// fails, 502 when the stored version cannot be read.
func (m *Middleware) storedVersion(ctx context.Context, next http.Handler, orig *http.Request, d *fhirauth.Decision, typ, id string) (etag string, status int, reason string) {
	if id == "" {
		return "", http.StatusForbidden, "the stored version of a conditional write cannot be checked by the middleware; write by id (Type/id) instead"
	}
	u := &url.URL{Path: m.policy.BasePath() + "/" + typ + "/" + id}
	g, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", http.StatusInternalServerError, "building the stored-version request failed: " + err.Error()
	}
	g.Body = http.NoBody // as on every server request
	g.Host = orig.Host
	g.RemoteAddr = orig.RemoteAddr
	g.Proto, g.ProtoMajor, g.ProtoMinor = orig.Proto, orig.ProtoMajor, orig.ProtoMinor
	g.TLS = orig.TLS
	g.RequestURI = u.RequestURI()
	g.Header.Set("Accept", fhirJSON)
	if a := orig.Header.Values("Authorization"); len(a) == 1 {
		g.Header.Set("Authorization", a[0])
	}
	b := newBuffer(m.cfg.maxResponse)
	next.ServeHTTP(b, g)
	var body []byte
	switch st := b.finalStatus(); {
	case b.over:
		return "", http.StatusBadGateway, "the stored version is too large to check"
	case st == http.StatusNotFound || st == http.StatusGone:
		// no stored version: CheckStored(nil) decides update-as-create
	case st == http.StatusOK:
		if ct := b.header.Get("Content-Type"); ct != "" && !isJSONType(ct) {
			return "", http.StatusBadGateway, "the stored version is not FHIR JSON and cannot be checked"
		}
		if ce := b.header.Get("Content-Encoding"); ce != "" && ce != "identity" {
			return "", http.StatusBadGateway, "the stored version is compressed and cannot be checked"
		}
		body = b.body.Bytes()
		etag = b.header.Get("ETag")
	default:
		return "", http.StatusBadGateway, fmt.Sprintf("reading the stored version for the authorization check failed with status %d", st)
	}
	if err := d.CheckStored(body); err != nil {
		return "", d.CheckStatus(), "the stored version does not permit this write: " + err.Error()
	}
	return etag, 0, ""
}

// checkStored runs the stored-version check of a single write and, for
// update and patch without If-Match, pins the write to the checked
// version with If-Match so that the resource cannot change in between. It
// reports false when it has refused the request.
func (m *Middleware) checkStored(st *requestState, ctx context.Context, next http.Handler, r *http.Request, req *fhirauth.Request, d *fhirauth.Decision) bool {
	etag, status, reason := m.storedVersion(ctx, next, r, d, req.ResourceType, req.ID)
	if status != 0 {
		m.refuseStored(st, status, reason)
		return false
	}
	if etag != "" && (r.Method == http.MethodPut || r.Method == http.MethodPatch) && r.Header.Get("If-Match") == "" {
		h := r.Header.Clone()
		h.Set("If-Match", etag)
		r.Header = h
	}
	return true
}

// refuseStored answers a failed stored-version check.
func (m *Middleware) refuseStored(st *requestState, status int, reason string) {
	switch status {
	case http.StatusNotFound:
		m.notFound(st)
		st.denied = true
		st.reason = reason
	case http.StatusForbidden:
		m.refuse(st, status, "forbidden", reason, errInsufficientScope, "")
	default:
		m.refuse(st, status, "exception", reason, "", "")
	}
}
