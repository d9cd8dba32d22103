package fhirauth

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

// RequestExplanation explains the decision on one FHIR request: what the
// request is, whether it is allowed and why, the narrowing and checks the
// server must apply, and the scope that would have been enough.
// Policy.ExplainRequest builds it from Authorize's decision, so it never
// disagrees with the policy.
type RequestExplanation struct {
	Method       string `json:"method"`
	Path         string `json:"path"` // relative to the FHIR base, with the query
	Interaction  string `json:"interaction,omitempty"`
	ResourceType string `json:"resource_type,omitempty"`
	Allowed      bool   `json:"allowed"`
	Status       int    `json:"status"`
	// Reason is the decision's reason: why it was denied, or how it was
	// narrowed.
	Reason string `json:"reason,omitempty"`
	// Context and Patient say which scopes granted it ("patient" and the
	// compartment patient, "user" or "system").
	Context string `json:"context,omitempty"`
	Patient string `json:"patient,omitempty"`
	// GrantedBy lists the token's scopes of the granting context that name
	// the request's type (or "*").
	GrantedBy []string `json:"granted_by,omitempty"`
	// Narrow are the search parameters the server adds (AND) to the
	// request.
	Narrow url.Values `json:"narrow,omitempty"`
	// Checks say what the server checks on the resources before it
	// answers or writes.
	Checks []string `json:"checks,omitempty"`
	// Needed is the scope that would have been enough, when the policy
	// can name one.
	Needed string `json:"needed,omitempty"`
	// Entries explain the entries of a batch or transaction.
	Entries []*RequestExplanation `json:"entries,omitempty"`
}

// ExplainRequest decides r for pr exactly as Authorize does and explains
// the decision. r's body is read (and restored) like Authorize reads it.
func (p *Policy) ExplainRequest(ctx context.Context, pr *token.Principal, r *http.Request) *RequestExplanation {
	path := strings.TrimPrefix(strings.TrimPrefix(r.URL.EscapedPath(), p.base), "/")
	if r.URL.RawQuery != "" {
		path += "?" + r.URL.RawQuery
	}
	req, d := p.Authorize(ctx, pr, r)
	x := explainDecision(pr, req, d)
	x.Method, x.Path = r.Method, path
	return x
}

// explainDecision builds the explanation of decision d on req.
func explainDecision(pr *token.Principal, req *Request, d *Decision) *RequestExplanation {
	x := &RequestExplanation{Allowed: d.Allowed, Status: d.Status, Reason: d.Reason, Needed: d.Needed}
	if req != nil {
		x.Method, x.Path = req.Method, req.Path
		x.Interaction, x.ResourceType = req.Interaction.String(), req.ResourceType
	}
	if d.Allowed {
		x.Context, x.Patient = d.Context.String(), d.Patient
		if len(d.Narrow) > 0 {
			x.Narrow = d.Narrow
		}
		x.Checks = explainChecks(d)
		if pr != nil && req != nil {
			x.GrantedBy = explainGrantedBy(pr.Scopes, d.Context, req.ResourceType)
		}
	}
	for i, ed := range d.Entries {
		var er *Request
		if req != nil && i < len(req.Entries) {
			er = req.Entries[i]
		}
		x.Entries = append(x.Entries, explainDecision(pr, er, ed))
	}
	return x
}

// explainChecks says what the server still checks for an allowed request.
func explainChecks(d *Decision) []string {
	var out []string
	if d.NeedsResponseCheck() {
		out = append(out, "each resource in the response is checked against the token's scopes (answered "+strconv.Itoa(d.CheckStatus())+" or removed when it fails)")
	}
	if d.NeedsStoredCheck() {
		out = append(out, "the stored version of the resource is checked before it is changed")
	}
	return out
}

// explainGrantedBy lists the resource scopes of context c that name type
// t or "*".
func explainGrantedBy(s scope.Set, c scope.Context, t string) []string {
	var out []string
	for _, sc := range s.Scopes() {
		if sc.Context == c && (sc.ResourceType == t || sc.ResourceType == "*" || t == "") {
			out = append(out, sc.String())
		}
	}
	return out
}

// String renders the explanation as plain English: "GET Observation?patient=2:
// denied (403): <reason>. Would have been enough: <scope>." or "...: allowed
// by patient/*.rs, for Patient/1 only; the server adds patient=Patient/1."
func (x *RequestExplanation) String() string {
	var b strings.Builder
	b.WriteString(x.Method + " " + x.Path + ": ")
	if !x.Allowed {
		b.WriteString("denied (" + strconv.Itoa(x.Status) + "): " + strings.TrimSuffix(x.Reason, ".") + ".")
		if x.Needed != "" {
			b.WriteString(" Would have been enough: " + x.Needed + ".")
		}
	} else {
		x.writeAllowed(&b)
	}
	for i, e := range x.Entries {
		b.WriteString("\n  entry " + strconv.Itoa(i) + ": " + e.String())
	}
	return b.String()
}

// writeAllowed writes the sentence of an allowed request.
func (x *RequestExplanation) writeAllowed(b *strings.Builder) {
	b.WriteString("allowed")
	if len(x.GrantedBy) > 0 {
		b.WriteString(" by " + strings.Join(x.GrantedBy, " "))
	} else if x.Context != "" {
		b.WriteString(" by the token's " + x.Context + "/ scopes")
	}
	if x.Patient != "" {
		b.WriteString(", for Patient/" + x.Patient + " only")
	}
	b.WriteString(".")
	if len(x.Narrow) > 0 {
		b.WriteString(" The server adds " + explainParams(x.Narrow) + " to the search.")
	}
	for _, c := range x.Checks {
		b.WriteString(" " + strings.ToUpper(c[:1]) + c[1:] + ".")
	}
}

// explainParams renders search parameters as readable "k=v&k=v", sorted.
func explainParams(q url.Values) string {
	var items []string
	for k, vs := range q {
		for _, v := range vs {
			items = append(items, k+"="+v)
		}
	}
	slices.Sort(items)
	return strings.Join(items, "&")
}
