package fhirauth

import (
	"context"
	"slices"
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

// Explanation says in structured form what a principal may do under a
// policy: the grants (resource types, interactions, context, compartment,
// constraints), the non-resource scopes it carries and what they mean, and
// what it asked for that is not honoured. Policy.Explain builds it;
// Explanation.String renders it as short plain English and encoding/json
// marshals it.
type Explanation struct {
	// Client is the principal's client id, when known.
	Client string `json:"client,omitempty"`
	// Patient is the launch-context patient of the token, when it has one.
	Patient string `json:"patient,omitempty"`
	// Grants lists what is allowed, grouped: each Grant is one set of
	// interactions on one set of types, in one context, under one set of
	// constraints. Anything not listed is denied.
	Grants []Grant `json:"grants"`
	// Scopes are the non-resource scopes (openid, fhirUser, launch, ...)
	// with what each means.
	Scopes []ScopeMeaning `json:"scopes,omitempty"`
	// NotHonoured lists what the token asks for that grants nothing, and
	// the v2 scopes whose constraints no request can satisfy for some of
	// the interactions and types they name (the reason says which).
	NotHonoured []NotHonoured `json:"not_honoured,omitempty"`

	version fhirspec.Version
}

// Grant is one group of interactions that a principal may perform on a
// group of resource types.
type Grant struct {
	// Interactions are some of "read" (also vread and instance history),
	// "search", "history" (type history), "create", "update", "delete"
	// and operations ("$export", "$everything"), in that order.
	Interactions []string `json:"interactions"`
	// Types are the resource types, sorted ("" for system-level
	// operations such as [base]/$export).
	Types []string `json:"types"`
	// Context is the scope context that grants it: "patient", "user" or
	// "system".
	Context string `json:"context"`
	// Patient, in patient context, is the id of the patient whose
	// compartment the grant is limited to.
	Patient string `json:"patient,omitempty"`
	// Where are v2 scope constraints: the grant covers only resources
	// matching one of the alternatives, each a list of "param=value"
	// that must all hold. Empty when unconstrained. Only alternatives
	// that some resource can satisfy under the grant's context are
	// listed.
	Where [][]string `json:"where,omitempty"`
}

// ScopeMeaning is a non-resource scope and what it means.
type ScopeMeaning struct {
	Scope   string `json:"scope"`
	Meaning string `json:"meaning"`
}

// NotHonoured is something a token asks for that grants nothing (or
// less than it names), and why.
type NotHonoured struct {
	Scope  string `json:"scope"`
	Reason string `json:"reason"`
}

// The interactions an Explanation names, in the order it names them.
const (
	ExplainRead       = "read"
	ExplainSearch     = "search"
	ExplainHistory    = "history"
	ExplainCreate     = "create"
	ExplainUpdate     = "update"
	ExplainDelete     = "delete"
	ExplainExport     = "$export"
	ExplainEverything = "$everything"
)

// explainOrder ranks the interactions of a Grant.
var explainOrder = []string{ExplainRead, ExplainSearch, ExplainHistory, ExplainCreate,
	ExplainUpdate, ExplainDelete, ExplainExport, ExplainEverything}

// Explain describes what principal pr may do under the policy. It asks
// the policy itself: for each resource type the token's scopes name (every
// type of the policy's FHIR version for "*" scopes) it decides one
// representative request per interaction (a read by id, a search without
// parameters, a type history, a create, update and delete whose body is in
// the token patient's compartment, a Subscription's with a criteria the
// token may run as written, and the built-in operations), so what it
// says is what Decide does for those requests. Requests that name another
// patient, or resources that miss a constraint, are denied although the
// interaction is listed: the grant's Patient and Where say so.
//
// A grant under v2 constraints is offered only with the alternatives that
// some request can use: a resource must be able to satisfy every
// constraint of one alternative together with what the context demands.
// Under patient context that rules out, for instance, a create under
// patient=Patient/2 for a token of Patient/1 (a write stays in that
// patient's compartment alone), a search whose narrowing element the
// constraint fills with someone else, and a read where the constraint
// takes the only element that could name the patient; in any context,
// values the constraint matcher never matches (an absolute reference, a
// reference of a type the parameter does not search). Such scopes are
// listed in NotHonoured, with why and, when they still grant something,
// what they do not grant.
//
// The result depends only on the policy and pr's scopes, patient and
// client id; the "scope" claim, when it is a string, is read again
// leniently to report tokens that were dropped as invalid.
func (p *Policy) Explain(ctx context.Context, pr *token.Principal) *Explanation {
	e := &Explanation{Grants: []Grant{}, version: p.version}
	if pr == nil {
		return e
	}
	e.Client, e.Patient = pr.ClientID, pr.Patient
	e.Scopes, e.NotHonoured = p.explainScopeNotes(pr)
	pb := explainProber{p: p, pr: pr, ctx: ctx, usage: &explainUsage{}}
	g := explainGrouper{}
	for _, t := range p.explainTypes(pr.Scopes) {
		for _, in := range pb.typeProbes(t) {
			g.add(t, in.name, pb.judge(in))
		}
	}
	for _, in := range pb.systemProbes() {
		g.add("", in.name, pb.judge(in))
	}
	e.Grants = g.grants()
	e.NotHonoured = append(e.NotHonoured, pb.usage.notHonoured(pr.Scopes)...)
	return e
}

// explainTypes returns the resource types worth probing: those the scopes
// name, or every type of the version when a scope names "*".
func (p *Policy) explainTypes(s scope.Set) []string {
	named := s.ResourceTypes(scope.NoContext)
	if slices.Contains(named, "*") {
		return p.allTypes
	}
	out := named[:0:0]
	for _, t := range named {
		if fhirspec.IsResourceType(p.version, t) {
			out = append(out, t)
		}
	}
	return out
}

// explainScopeMeanings says what the non-resource scopes SMART App Launch and
// OpenID Connect define mean.
var explainScopeMeanings = map[string]string{
	"openid":           "an OpenID Connect id_token may be issued with the token",
	"fhirUser":         "the id_token names the FHIR resource of the signed-in user",
	"profile":          "the id_token may carry the user's profile claims",
	"email":            "the id_token may carry the user's email address",
	"launch":           "EHR launch: the app receives context from the EHR session",
	"launch/patient":   "standalone launch: a patient is chosen and put in the token",
	"launch/encounter": "standalone launch: an encounter is chosen and put in the token",
	"offline_access":   "a refresh token that works after the user has left",
	"online_access":    "a refresh token that works while the user is signed in",
}

// explainScopeNotes lists the meaning of the non-resource scopes and what is not
// honoured: unknown types, patient/ scopes without a patient, invalid
// tokens in the raw scope claim.
func (p *Policy) explainScopeNotes(pr *token.Principal) ([]ScopeMeaning, []NotHonoured) {
	var meanings []ScopeMeaning
	var not []NotHonoured
	for _, s := range pr.Scopes.Scopes() {
		switch {
		case !s.IsResource():
			m, ok := explainScopeMeanings[s.String()]
			if !ok {
				m = "not a SMART scope this server knows; it has no effect on FHIR access"
			}
			meanings = append(meanings, ScopeMeaning{Scope: s.String(), Meaning: m})
		case s.ResourceType != "*" && !fhirspec.IsResourceType(p.version, s.ResourceType):
			not = append(not, NotHonoured{Scope: s.String(),
				Reason: s.ResourceType + " is not a FHIR " + p.version.String() + " resource type"})
		case s.Context == scope.Patient && !fhirspec.IsID(pr.Patient):
			not = append(not, NotHonoured{Scope: s.String(),
				Reason: "patient/ scopes need a patient in the token's launch context, and this token has none"})
		}
	}
	claim, _ := pr.Claim("scope")
	if raw, ok := claim.(string); ok {
		_, errs := scope.ParseSetLenient(raw)
		for _, err := range errs {
			not = append(not, NotHonoured{Scope: err.Scope, Reason: "not a valid scope: " + err.Reason})
		}
	}
	return meanings, not
}

// explainGrouper collects probe outcomes and groups them into Grants.
type explainGrouper struct {
	// byKey maps a grant key (context, patient, constraints) to the
	// interactions allowed per type under it.
	byKey map[string]*explainKeyed
}

type explainKeyed struct {
	g     Grant
	types map[string][]string
}

// add records that interaction in on type t had outcome o.
func (g *explainGrouper) add(t, in string, o explainOutcome) {
	if !o.allowed {
		return
	}
	if g.byKey == nil {
		g.byKey = map[string]*explainKeyed{}
	}
	key := o.context + "\x00" + o.patient + "\x00" + explainWhereKey(o.where)
	k := g.byKey[key]
	if k == nil {
		k = &explainKeyed{g: Grant{Context: o.context, Patient: o.patient, Where: o.where}, types: map[string][]string{}}
		g.byKey[key] = k
	}
	k.types[t] = append(k.types[t], in)
}

func explainWhereKey(w [][]string) string {
	parts := make([]string, len(w))
	for i, alt := range w {
		parts[i] = strings.Join(alt, "&")
	}
	return strings.Join(parts, "|")
}

// grants groups, under each key, the types that allow the same
// interactions (each operation apart, so that an operation on one type
// does not split a list of types), and orders the
// result deterministically.
func (g *explainGrouper) grants() []Grant {
	out := []Grant{}
	for _, k := range g.byKey {
		byIn := map[string]*Grant{}
		for t, ins := range k.types {
			slices.SortFunc(ins, func(a, b string) int {
				return slices.Index(explainOrder, a) - slices.Index(explainOrder, b)
			})
			split := slices.IndexFunc(ins, func(in string) bool { return strings.HasPrefix(in, "$") })
			if split < 0 {
				split = len(ins)
			}
			if split > 0 {
				k.addTo(byIn, t, ins[:split])
			}
			for _, op := range ins[split:] {
				k.addTo(byIn, t, []string{op})
			}
		}
		for _, gr := range byIn {
			slices.Sort(gr.Types)
			out = append(out, *gr)
		}
	}
	slices.SortFunc(out, explainCompareGrants)
	return out
}

// addTo adds type t to the grant of byIn that allows exactly ins.
func (k *explainKeyed) addTo(byIn map[string]*Grant, t string, ins []string) {
	sig := strings.Join(ins, ",")
	gr := byIn[sig]
	if gr == nil {
		c := k.g
		c.Interactions = ins
		gr = &c
		byIn[sig] = gr
	}
	gr.Types = append(gr.Types, t)
}

// explainCompareGrants orders grants by context (patient, user, system), then by
// the first interaction, then by types.
func explainCompareGrants(a, b Grant) int {
	rank := func(c string) int { return slices.Index([]string{"patient", "user", "system"}, c) }
	if d := rank(a.Context) - rank(b.Context); d != 0 {
		return d
	}
	if d := slices.Index(explainOrder, a.Interactions[0]) - slices.Index(explainOrder, b.Interactions[0]); d != 0 {
		return d
	}
	if d := len(b.Interactions) - len(a.Interactions); d != 0 {
		return d
	}
	if d := slices.Compare(a.Types, b.Types); d != 0 {
		return d
	}
	return strings.Compare(explainWhereKey(a.Where), explainWhereKey(b.Where))
}
