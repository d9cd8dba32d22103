package fhirauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

// Authorize classifies r and decides it for principal p: the one call a
// middleware needs. A request that cannot be classified is denied with the
// status of its error (400, or 413 for an oversized body) and a nil
// Request. A nil principal is denied with 401 unless the request is public
// (capabilities, SMART configuration). A create, update or patch that the
// principal's scopes permit on its type in no context is denied without
// reading r.Body: a server in front of which a client waits for "100
// Continue" then never asks for the body, and the Request returned has
// none.
func (p *Policy) Authorize(ctx context.Context, pr *token.Principal, r *http.Request) (*Request, *Decision) {
	req := &Request{}
	err := p.classifyInto(req, r, func(req *Request) bool { return !p.noWriteScope(pr, req) })
	if errors.Is(err, errBodyNotNeeded) {
		// Refused from the request line and headers: the body stays
		// unread, so that a client waiting for "100 Continue" gets the
		// refusal instead, and never sends it.
		return req, p.decideOne(ctx, pr, req, nil)
	}
	if err != nil {
		return nil, p.classifyError(err)
	}
	return req, p.Decide(ctx, pr, req)
}

// noWriteScope reports whether req (classified from its request line and
// headers: a create, update or patch of its resource type) is one that
// pr's scopes permit in no context, whatever its body. Every way of
// deciding such a write (create, update, definitionWrite) first asks for
// the scope letters on the type and denies without them, before it
// looks at the body, so the decision without the body is the decision.
func (p *Policy) noWriteScope(pr *token.Principal, req *Request) bool {
	if pr == nil || req.ResourceType == "" {
		return false
	}
	var letters scope.Permission
	switch req.Interaction {
	case Create:
		letters = scope.Create
	case Update:
		letters = scope.Update
	case Patch:
		letters = scope.Update | scope.Read
	default:
		return false
	}
	if req.Conditional {
		letters |= scope.Search
	}
	for _, c := range [...]scope.Context{scope.System, scope.User, scope.Patient} {
		if pr.Scopes.Permits(c, req.ResourceType, letters) != scope.Denied {
			return false
		}
	}
	return true
}

// classifyError turns a Classify error into a denying Decision: 413 for
// ErrBodyTooLarge, 400 otherwise (issue code "not-supported" for
// ErrUnsupported, "invalid" for the rest), with the error text as reason.
func (p *Policy) classifyError(err error) *Decision {
	d := &Decision{Status: http.StatusBadRequest, IssueCode: "invalid", Reason: oneLine(err.Error()), policy: p}
	switch {
	case errors.Is(err, ErrBodyTooLarge):
		d.Status, d.IssueCode = http.StatusRequestEntityTooLarge, "too-costly"
	case errors.Is(err, ErrUnsupported):
		d.IssueCode = "not-supported"
	}
	return d
}

// Decide decides whether principal pr may make request req (from Classify).
//
// The scope contexts are tried in the order system/, user/, patient/: the
// first that grants the whole request (every type it reaches) decides, so
// a token holding both user/ and patient/ scopes gets the less narrowed
// answer its scopes justify. A request is never granted by mixing contexts
// (its target through user/ and an _include through patient/, say): each
// context must grant everything on its own. patient/ scopes count only
// with a valid patient claim. When user/ scopes grant, the policy's
// UserRule (if any) has the last word.
//
// When nothing grants, the denial reported is the most specific one: a
// patient-context rule (another patient named, a type outside the
// compartment, ...) over a missing permission over a context the token has
// no scopes in.
func (p *Policy) Decide(ctx context.Context, pr *token.Principal, req *Request) *Decision {
	if req == nil {
		return &Decision{Status: http.StatusBadRequest, IssueCode: "invalid", Reason: "no request to decide", policy: p}
	}
	switch req.Interaction {
	case Capabilities, SMARTConfiguration:
		return &Decision{Allowed: true, Status: http.StatusOK, Reason: "public endpoint", policy: p, request: req}
	case Unknown:
		return &Decision{Status: http.StatusBadRequest, IssueCode: "invalid", Reason: "unclassified request", policy: p, request: req}
	}
	if pr == nil {
		return &Decision{Status: http.StatusUnauthorized, IssueCode: "login", Reason: "an access token is required", policy: p, request: req}
	}
	if req.Interaction == Batch || req.Interaction == Transaction {
		return p.decideBundle(ctx, pr, req)
	}
	return p.decideOne(ctx, pr, req, nil)
}

// decideOne decides a single (non-Bundle) request; replaced are the links
// the server replaces in the Bundle req is an entry of.
func (p *Policy) decideOne(ctx context.Context, pr *token.Principal, req *Request, replaced *replacedLinks) *Decision {
	var denials [scope.System + 1]denial
	if req == nil {
		return &Decision{Status: http.StatusBadRequest, IssueCode: "invalid", Reason: "no request to decide", policy: p}
	}
	set := pr.Scopes
	// A context the token has no scopes in grants nothing (Permits denies
	// every type there), and denialDecision reports only contexts the
	// token has scopes in, unless it has none at all: then every context
	// is evaluated, for the most helpful reason.
	anyContext := set.HasContext(scope.System) || set.HasContext(scope.User) || set.HasContext(scope.Patient)
	for _, c := range [...]scope.Context{scope.System, scope.User, scope.Patient} {
		if anyContext && !set.HasContext(c) {
			continue
		}
		if c == scope.Patient && !validPatientClaim(pr.Patient) {
			denials[c] = denial{status: http.StatusForbidden, noContext: true}
			continue
		}
		e := evaluation{p: p, c: c, pr: pr, req: req, set: set, replaced: replaced}
		if c == scope.Patient {
			e.patient = pr.Patient
		}
		d, den := e.evaluate()
		if d != nil && d.response.on && req.Method == http.MethodHead {
			// A HEAD response has no body to check, yet its status (200
			// or 404) would reveal whether the resource exists.
			return &Decision{Status: http.StatusBadRequest, IssueCode: "not-supported", policy: p, request: req,
				Reason: "HEAD cannot be authorized here: the response must be checked but a HEAD response has no body; use GET"}
		}
		if d != nil {
			if c == scope.User && p.userRule != nil {
				if err := p.userRule(ctx, pr, req); err != nil {
					return &Decision{Status: http.StatusForbidden, IssueCode: "forbidden", Reason: oneLine("denied by the user rule: " + err.Error()), policy: p, request: req}
				}
			}
			if req.ResourceType == "Subscription" {
				if sd := p.subscriptionWrite(ctx, pr, req); sd != nil {
					return sd
				}
			}
			return d
		}
		den.ctx = c
		denials[c] = den
	}
	return p.denialDecision(pr, req, denials[:])
}

// decideBundle decides every entry of a batch or transaction.
func (p *Policy) decideBundle(ctx context.Context, pr *token.Principal, req *Request) *Decision {
	d := &Decision{Allowed: true, Status: http.StatusOK, policy: p, request: req, set: pr.Scopes,
		Entries: make([]*Decision, len(req.Entries))}
	denied := 0
	replaced := bundleReplaced(req.Entries)
	for i, e := range req.Entries {
		var ed *Decision
		if e == nil || e.Interaction == Batch || e.Interaction == Transaction {
			ed = &Decision{Status: http.StatusBadRequest, IssueCode: "invalid", policy: p, request: e,
				Reason: "entry " + itoa(i) + " is not a single FHIR request (missing or a nested Bundle)"}
		} else {
			ed = p.decideOne(ctx, pr, e, replaced)
		}
		d.Entries[i] = ed
		if ed.Allowed {
			continue
		}
		denied++
		if req.Interaction == Transaction {
			status := ed.Status
			if status == http.StatusNotFound {
				status = http.StatusForbidden // the whole transaction is refused, not "not found"
			}
			what := "(missing)"
			if e != nil {
				what = clip(e.Method) + " " + clip(e.Path)
			}
			return &Decision{Status: status, IssueCode: ed.IssueCode, Needed: ed.Needed, policy: p, request: req, Entries: d.Entries[:i+1],
				Reason: fmt.Sprintf("transaction refused: entry %d (%s) is denied: %s", i, what, ed.Reason)}
		}
	}
	if denied > 0 {
		d.Reason = fmt.Sprintf("%d of %d batch entries denied; they get entry-level error responses", denied, len(req.Entries))
	}
	if req.Interaction == Transaction {
		return p.refuseHiddenReads(req, d)
	}
	return d
}

// refuseHiddenReads refuses the allowed transaction d if an entry is a
// read whose answer must be checked under existence hiding. A server that
// fails a whole transaction for a missing resource (a 404 for the Bundle,
// its writes rolled back) would answer a missing resource unlike another
// patient's, which can only be withheld after the transaction committed.
// In a batch the same read is answered entry by entry, alike for both.
// A conditional create, whose answer is checked too (the resource its
// search found), has no missing resource to tell apart: when nothing
// matches, it creates.
func (p *Policy) refuseHiddenReads(req *Request, d *Decision) *Decision {
	for i, ed := range d.Entries {
		e := req.Entries[i]
		if !ed.hidesExistence() || e.Interaction == Create {
			continue
		}
		return &Decision{Status: http.StatusForbidden, IssueCode: "forbidden", policy: p, request: req, Entries: d.Entries[:i+1],
			Reason: fmt.Sprintf("transaction refused: entry %d (%s %s) is a read whose answer must be checked, and under existence hiding "+
				"a transaction could tell a missing resource from a withheld one; send reads in a batch", i, clip(e.Method), clip(e.Path))}
	}
	return d
}

// validPatientClaim reports whether a token's patient claim can define a
// compartment: a FHIR id that is not a dot segment ("." and ".." are FHIR
// ids, but as Patient/.. they name a path, not a patient).
func validPatientClaim(id string) bool {
	return fhirspec.IsID(id) && id != "." && id != ".."
}
