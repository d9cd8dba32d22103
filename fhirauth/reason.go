package fhirauth

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

// denialDecision picks the most useful of the per-context denials and turns
// it into a Decision with an actionable reason and the scope that would
// have been enough.
func (p *Policy) denialDecision(pr *token.Principal, req *Request, denials []denial) *Decision {
	order := [...]scope.Context{scope.Patient, scope.User, scope.System}
	has := pr.Scopes.HasContext
	// 1. a specific rule of a context the token has scopes in.
	for _, c := range order {
		d := denials[c]
		if d.specific() && has(c) && !(c == scope.Patient && d.noContext) {
			return p.fromDenial(pr, req, d)
		}
	}
	// 2. a missing permission in a context the token has scopes in: first
	// one that got past the target type (a missing include, chain, ...),
	// then any.
	for _, deeper := range [...]bool{true, false} {
		for _, c := range order {
			d := denials[c]
			if !d.specific() && !d.noContext && d.status != 0 && has(c) && (!deeper || d.via != "") {
				return p.fromDenial(pr, req, d)
			}
		}
	}
	// 3. patient/ scopes without a patient claim.
	if has(scope.Patient) && denials[scope.Patient].noContext {
		return &Decision{Status: http.StatusForbidden, IssueCode: "forbidden", policy: p, request: req,
			Reason: "the token's patient/ scopes grant nothing without a valid patient launch context (no usable \"patient\" claim)"}
	}
	// 4. no resource scopes at all: say what would do.
	c := scope.User
	if fhirIDValid(pr.Patient) {
		c = scope.Patient
	}
	d := denials[c]
	if d.specific() {
		d.ctx = c
		return p.fromDenial(pr, req, d)
	}
	d.ctx = c
	d.reason = ""
	if d.typ == "" {
		d.typ, d.letters = req.ResourceType, neededLetters(req)
	}
	out := p.fromDenial(pr, req, d)
	return out
}

func fhirIDValid(s string) bool { return validPatientClaim(s) }

// neededLetters is what the target of req needs.
func neededLetters(req *Request) scope.Permission {
	switch req.Interaction {
	case Read, VRead, HistoryInstance:
		return scope.Read
	case Create:
		return scope.Create
	case Update, Patch:
		return scope.Update
	case Delete:
		return scope.Delete
	}
	return scope.Search
}

// fromDenial renders a denial.
func (p *Policy) fromDenial(pr *token.Principal, req *Request, d denial) *Decision {
	out := &Decision{Status: d.status, IssueCode: d.code, policy: p, request: req}
	if out.Status == 0 {
		out.Status = http.StatusForbidden
	}
	if out.IssueCode == "" {
		out.IssueCode = "forbidden"
	}
	switch {
	case d.needed != "":
		out.Needed = d.needed
	case d.typ != "" && d.letters != 0:
		out.Needed = neededScope(d.ctx, d.typ, d.letters)
	}
	if d.specific() {
		out.Reason = oneLine(d.reason)
		return out
	}
	what := verb(req, d)
	given := contextScopes(pr.Scopes, d.ctx)
	if given == "" {
		given = "no " + d.ctx.String() + "/ scopes"
	} else {
		given = "scopes " + given
	}
	alt := ""
	if v1 := v1Letters(d.letters); v1 != "" {
		alt = " or " + d.ctx.String() + "/" + d.typ + "." + v1
	}
	out.Reason = oneLine(fmt.Sprintf("the token's %s do not permit %s on %s; needs %s%s", given, what, d.typ, out.Needed, alt))
	return out
}

// verb names what was attempted, with the parameter that reached the type.
func verb(req *Request, d denial) string {
	var s string
	switch {
	case d.letters == scope.Read:
		s = "read"
	case d.letters == scope.Search:
		s = "search"
	default:
		s = req.Interaction.String() + " (" + d.letters.String() + ")"
	}
	if d.via != "" {
		s += " (through " + clip(d.via) + ")"
	}
	return s
}

func neededScope(c scope.Context, t string, letters scope.Permission) string {
	return c.String() + "/" + t + "." + letters.String()
}

// v1Letters is the SMART v1 spelling that covers letters, if any.
func v1Letters(p scope.Permission) string {
	switch {
	case p&^scope.V1Read == 0:
		return "read"
	case p&^scope.V1Write == 0:
		return "write"
	}
	return "*"
}

// contextScopes lists the resource scopes of context c (truncated).
func contextScopes(s scope.Set, c scope.Context) string {
	var parts []string
	n := 0
	for _, sc := range s.Scopes() {
		if sc.Context != c {
			continue
		}
		if n < 6 {
			parts = append(parts, sc.String())
		}
		n++
	}
	if n > 6 {
		parts = append(parts, fmt.Sprintf("and %d more", n-6))
	}
	return strings.Join(parts, " ")
}
