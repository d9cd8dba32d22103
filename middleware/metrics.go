package middleware

import (
	"errors"
	"net/http"
	"time"
)

// DecisionMetric describes one request the middleware handled, for
// counters and latency histograms: it has no identifiers (no client, no
// path, no id), only labels of bounded cardinality.
type DecisionMetric struct {
	// Interaction is the FHIR interaction ("read", "search-type",
	// "transaction", ...); "" when the request was refused before it was
	// classified (no token, an unparseable URL) or was public.
	Interaction string
	// ResourceType is the request's target type ("" for system-level
	// requests and those not classified).
	ResourceType string
	// Outcome is AuditAllow, AuditDeny or MetricPublic. A 404 answered
	// under existence hiding is AuditDeny (ReasonHidden) whether the
	// resource was withheld or the server did not find it, so that the
	// metric cannot tell them apart; the AuditRecord does.
	Outcome string
	// Status is the HTTP status sent to the client.
	Status int
	// ReasonKind says why a request was refused, in one word (see
	// ReasonKind constants); "" when it was not.
	ReasonKind string
	// Latency is from arrival until the response was written.
	Latency time.Duration
}

// MetricPublic is the Outcome of a request to a public endpoint.
const MetricPublic = "public"

// Reason kinds of a refused request (DecisionMetric.ReasonKind), from the
// status it was answered with.
const (
	ReasonInvalidRequest = "invalid-request" // 400: malformed, not a FHIR interaction, token in the URL
	ReasonInvalidToken   = "invalid-token"   // 401: missing, expired, unverifiable token
	ReasonScope          = "scope"           // 403: the scopes do not permit it
	ReasonHidden         = "not-found"       // 404: withheld (existence hiding) or missing
	ReasonPrecondition   = "precondition"    // 412: If-Match names an unchecked version
	ReasonTooLarge       = "too-large"       // 413
	ReasonUpstream       = "upstream"        // 502: the response could not be checked
	ReasonUnavailable    = "unavailable"     // 503: the issuer's keys or introspection are unavailable
	ReasonOther          = "other"
	// ReasonAborted is a streamed checked response cut off after it
	// began, because the rest failed its check (WithStreamedChecks).
	ReasonAborted = "aborted"
)

// WithMetrics calls fn once per request, after the response is written,
// with a DecisionMetric. fn runs on the request's goroutine and must be
// quick and safe for concurrent use (increment counters, observe a
// histogram). Without this option no metric is built.
func WithMetrics(fn func(DecisionMetric)) Option {
	return func(c *config) error {
		if fn == nil {
			return errors.New("middleware: nil metrics function")
		}
		c.metrics = fn
		return nil
	}
}

// emitMetric builds st's DecisionMetric and hands it to the metrics
// function.
func (m *Middleware) emitMetric(st *requestState) {
	dm := DecisionMetric{Status: st.rec.finalStatus(), Outcome: AuditAllow, Latency: time.Since(st.start)}
	if req := st.request; req != nil {
		dm.Interaction, dm.ResourceType = req.Interaction.String(), req.ResourceType
	}
	switch {
	case st.public:
		dm.Outcome = MetricPublic
	case st.denied, st.hidden:
		// Under existence hiding a resource withheld and one the
		// server did not find get the same 404, and must get the same
		// labels: metrics are aggregates, often scraped more widely
		// than the audit log is read (the example gateway serves them
		// without a token), and a deny next to an allow would tell
		// anyone probing ids which exist. Both count as denied, as
		// ReasonHidden says, rather than both as allowed: the count
		// of refusals then still includes every withheld resource.
		// The audit record keeps the truth (st.denied only).
		dm.Outcome = AuditDeny
		dm.ReasonKind = reasonKind(dm.Status)
		if st.aborted {
			dm.ReasonKind = ReasonAborted
		}
	}
	m.cfg.metrics(dm)
}

// reasonKind names the kind of a refusal from its status.
func reasonKind(status int) string {
	switch status {
	case http.StatusBadRequest:
		return ReasonInvalidRequest
	case http.StatusUnauthorized:
		return ReasonInvalidToken
	case http.StatusForbidden:
		return ReasonScope
	case http.StatusNotFound:
		return ReasonHidden
	case http.StatusPreconditionFailed:
		return ReasonPrecondition
	case http.StatusRequestEntityTooLarge:
		return ReasonTooLarge
	case http.StatusBadGateway:
		return ReasonUpstream
	case http.StatusServiceUnavailable:
		return ReasonUnavailable
	}
	return ReasonOther
}
