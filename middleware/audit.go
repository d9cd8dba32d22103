package middleware

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fhirwarden/fhirwarden/fhirauth"
)

// AuditRecord describes one request the middleware handled: who asked,
// what for, what was decided and why, and how it ended. It never contains
// the access token, the query string or any body.
type AuditRecord struct {
	Time     time.Time // when the request arrived
	ClientID string    // client_id (or azp) of the token; "" without one
	Subject  string    // sub of the token
	Patient  string    // the token's patient launch context
	Method   string    // HTTP method
	Path     string    // request path (escaped form, without the query)
	// Interactions are the FHIR interactions of the request ("search-type",
	// "read", ...; one per entry for a batch or transaction, after
	// "batch"/"transaction").
	Interactions []string
	// ResourceTypes are the resource types the request touches or can
	// read (its target, _include and _revinclude types, ...), without
	// duplicates.
	ResourceTypes []string
	// Decision is "allow" or "deny". Under existence hiding a resource
	// withheld is "deny" and the server's own 404 "allow", although the
	// client gets the same answer and DecisionMetric counts both alike:
	// the record tells the operator what happened.
	Decision string
	Reason   string        // why (for denials, what would have been enough); says so when the response was cut off
	Status   int           // HTTP status sent to the client
	Withheld int           // resources removed from the response by response checks
	Latency  time.Duration // from arrival until the response was written

	Issuer  string // iss of the token
	TokenID string // jti of the token
	// ErrorKind is the kind of a refusal (a Reason* constant such as
	// ReasonScope or ReasonInvalidToken); "" when allowed.
	ErrorKind string
	// Narrowing is the search narrowing the decision applied, as query
	// parameters (patient=Patient/123); nil when none. It is the
	// Decision's own map: read it, do not change it.
	Narrowing  url.Values
	RemoteAddr string // the client's address (the connection's, as net/http reports it)
	// RequestID identifies the request: the client's X-Request-ID when
	// it sent a usable one, else one generated when WithRequestIDs is
	// set (else ""); sent back in X-Request-ID.
	RequestID string
	// TraceID is the trace-id of a W3C traceparent header, when the
	// request has a valid one.
	TraceID string
}

// Decision values of AuditRecord.
const (
	AuditAllow = "allow"
	AuditDeny  = "deny"
)

// Log writes r through l at Info level as a "fhirwarden audit" line, as
// the middleware does for every request without WithAudit. It is for
// handlers beside the middleware that serve requests the middleware does
// not decide (the gateway's Bulk Data job URLs), so that every request
// leaves one record of one shape.
func (r *AuditRecord) Log(ctx context.Context, l *slog.Logger) {
	l.LogAttrs(ctx, slog.LevelInfo, "fhirwarden audit",
		slog.Time("time", r.Time),
		slog.String("client_id", r.ClientID),
		slog.String("sub", r.Subject),
		slog.String("patient", r.Patient),
		slog.String("method", r.Method),
		slog.String("path", r.Path),
		slog.Any("interactions", r.Interactions),
		slog.Any("resource_types", r.ResourceTypes),
		slog.String("decision", r.Decision),
		slog.String("reason", r.Reason),
		slog.Int("status", r.Status),
		slog.Int("withheld", r.Withheld),
		slog.Duration("latency", r.Latency),
		slog.String("iss", r.Issuer),
		slog.String("jti", r.TokenID),
		slog.String("error_kind", r.ErrorKind),
		slog.String("narrowing", r.Narrowing.Encode()),
		slog.String("remote_addr", r.RemoteAddr),
		slog.String("request_id", r.RequestID),
		slog.String("trace_id", r.TraceID),
	)
}

// auditing reports whether audit records are wanted: an audit function is
// set, or the logger is enabled at Info level.
func (m *Middleware) auditing(ctx context.Context) bool {
	return m.cfg.audit != nil || m.cfg.logger.Enabled(ctx, slog.LevelInfo)
}

// emitAudit builds the request's AuditRecord and hands it to the audit
// function, or to the logger.
func (m *Middleware) emitAudit(st *requestState, r *http.Request) {
	ctx := r.Context()
	rec := AuditRecord{
		Time:     st.start,
		Method:   r.Method,
		Status:   st.rec.finalStatus(),
		Withheld: int(st.withheld),
		Decision: AuditAllow,
		Reason:   st.reason,
	}
	if r.URL != nil {
		rec.Path = m.auditPath(st, r.URL)
	}
	if p := st.principal; p != nil {
		rec.ClientID, rec.Subject, rec.Patient = p.ClientID, p.Subject, p.Patient
		rec.Issuer, rec.TokenID = p.Issuer, p.TokenID
	}
	rec.RemoteAddr = r.RemoteAddr
	rec.RequestID = st.rec.Header().Get(requestIDHeader)
	rec.TraceID = traceID(r.Header)
	if st.denied {
		rec.Decision = AuditDeny
		rec.ErrorKind = reasonKind(rec.Status)
		if st.aborted {
			rec.ErrorKind = ReasonAborted
		}
	}
	if d := st.decision; d != nil && len(d.Narrow) > 0 {
		rec.Narrowing = d.Narrow
	}
	if rec.Reason == "" && st.decision != nil {
		rec.Reason = st.decision.Reason
	}
	if st.cutOff {
		const cut = "the response was cut off: the handler aborted"
		if rec.Reason == "" {
			rec.Reason = cut
		} else {
			rec.Reason += "; " + cut
		}
	}
	if req := st.request; req != nil {
		if len(req.Entries) == 0 {
			st.interactions[0] = req.Interaction.String()
			rec.Interactions = st.interactions[:1]
		} else {
			rec.Interactions = make([]string, 0, len(req.Entries)+1)
			rec.Interactions = append(rec.Interactions, req.Interaction.String())
		}
		types := st.types[:0]
		types = appendTypes(types, req)
		for _, e := range req.Entries {
			rec.Interactions = append(rec.Interactions, e.Interaction.String())
			types = appendTypes(types, e)
		}
		rec.ResourceTypes = types
	}
	rec.Latency = time.Since(st.start)
	if m.cfg.audit != nil {
		m.cfg.audit(ctx, rec)
		return
	}
	rec.Log(ctx, m.cfg.logger)
}

// appendTypes adds the resource types req touches or reaches to types,
// skipping duplicates.
func appendTypes(types []string, req *fhirauth.Request) []string {
	types = appendUnique(types, req.ResourceType)
	types = appendUnique(types, req.CompartmentType)
	for _, rc := range req.Reaches {
		types = appendUnique(types, rc.Type)
	}
	return types
}

func appendUnique(list []string, s string) []string {
	if s == "" {
		return list
	}
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// auditPath is u.EscapedPath(), the path the audit record shows. A path
// fhirauth classified (st.request is set) with no RawPath and no "*" is
// the base and segments of letters, digits and "-._$" (fhirauth refuses
// any other byte): its own escaped form when the base is (basePlain),
// with no byte to look at here.
func (m *Middleware) auditPath(st *requestState, u *url.URL) string {
	if st.request != nil && m.basePlain && u.RawPath == "" && strings.IndexByte(u.Path, '*') < 0 {
		return u.Path
	}
	return escapedPath(u)
}

// escapedPath is u.EscapedPath() without net/url's escaping pass for the
// usual request path: one with no RawPath and only bytes EscapedPath
// leaves as they are (queryUnreserved's, "/" and "$"), which is its own
// escaped form.
func escapedPath(u *url.URL) string {
	p := u.Path
	if u.RawPath != "" || p == "" {
		return u.EscapedPath()
	}
	for i := 0; i < len(p); i++ {
		if !pathAsIs[p[i]] {
			return u.EscapedPath()
		}
	}
	return p
}

// pathAsIs marks the bytes escapedPath accepts as their own escaped form.
var pathAsIs = func() (t [256]bool) {
	t = queryUnreserved
	t['/'], t['$'] = true, true
	return t
}()
