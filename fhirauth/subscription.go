package fhirauth

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/fhirwarden/fhirwarden/token"
)

// A Subscription is a standing search that the server runs with its own
// rights: every resource its criteria matches is delivered to the
// channel's endpoint (with the resource itself as payload, if asked), to
// whoever wrote it, for as long as it is active, past the expiry of the
// token that wrote it. The scopes that let a token write a Subscription
// say nothing of what it may read, so a written Subscription is allowed
// only when its criteria is a search the same token may run as written:
// no narrowing added (the server will not add it) and no response check
// needed (the server will not check its notifications).

// subscriptionMembers are the Subscription elements subscriptionCriteria
// reads: criteria (STU3, R4), its primitive extensions, where the R4
// Subscriptions Backport IG keeps filters of its own, and R5's topic.
var subscriptionMembers = []string{"criteria", "_criteria", "topic"}

// subscriptionWrite decides the Subscription that req (granted as a
// write of its own) creates or replaces; nil when req writes no
// Subscription or its criteria is a search the principal may run as it
// is.
func (p *Policy) subscriptionWrite(ctx context.Context, pr *token.Principal, req *Request) *Decision {
	switch req.Interaction {
	case Create, Update:
	case Patch:
		return p.refuseSubscription(req, http.StatusForbidden, "forbidden",
			"a Subscription cannot be patched: what its criteria would be after the patch cannot be judged before the server applies it; send the whole Subscription with PUT")
	default:
		return nil
	}
	criteria, why, err := subscriptionCriteria(req.Body)
	if err != nil {
		return p.refuseSubscription(req, http.StatusBadRequest, "invalid", "the Subscription cannot be read: "+err.Error())
	}
	if why != "" {
		return p.refuseSubscription(req, http.StatusForbidden, "forbidden", why)
	}
	sr, why := p.criteriaSearch(criteria)
	if why != "" {
		return p.refuseSubscription(req, http.StatusForbidden, "forbidden", why)
	}
	return p.criteriaDecision(ctx, pr, req, criteria, sr)
}

// subscriptionCriteria returns the criteria of a Subscription (valid
// JSON), or why the Subscription cannot be authorized: it has none, or
// has a topic (R5) or extensions on its criteria (the Backport IG's
// filters), and fhirauth cannot tell what it would deliver. A criteria
// that is not a string, or is named ambiguously, is an error.
func subscriptionCriteria(body []byte) (criteria, why string, err error) {
	found := false
	err = eachKnownMember(body, subscriptionMembers, func(i int, val []byte) error {
		if i > 0 {
			why = "a Subscription with " + subscriptionMembers[i] + " cannot be authorized"
			return nil
		}
		s, ok := jsonString(val)
		if !ok {
			return errors.New("criteria is not a string")
		}
		criteria, found = s, true
		return nil
	})
	if why == "" && !found {
		why = "a Subscription without criteria cannot be authorized"
	}
	if why != "" {
		why += "; only one whose criteria is a search of one type (Type?params) that this token may run as written can"
	}
	return criteria, why, err
}

// criteriaSearch classifies criteria as the GET of a search of one type
// relative to the base ("Observation?code=x"), or says why it is not
// one: absolute or rooted URLs, a topic's canonical URL, a path that is
// not a type alone, bytes a URL does not hold (space, controls) and
// whatever a Bundle entry's request.url may not hold: a second "?"
// among them, since servers do not agree on where such a query ends
// (medplum's subscription matching reads only the text between the
// first two, so "Observation?_sort=date?&patient=Patient/123" is, there,
// a search of every Observation).
func (p *Policy) criteriaSearch(criteria string) (*Request, string) {
	const want = "; only a search of one type relative to the base (Type?params) that this token may run as written can be a Subscription's criteria"
	path, _, hasQuery := strings.Cut(criteria, "?")
	if !hasQuery || strings.IndexFunc(criteria, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return nil, "the Subscription's criteria " + quote(criteria) + " is not a search URL" + want
	}
	sr, err := p.classifyEntry(&bundleEntry{method: http.MethodGet, url: criteria})
	if err != nil {
		return nil, "the Subscription's criteria " + quote(criteria) + " cannot be judged (" + oneLine(err.Error()) + ")" + want
	}
	if sr.Interaction != SearchType || path != sr.ResourceType {
		return nil, "the Subscription's criteria " + quote(criteria) + " is a " + sr.Interaction.String() + ", not a search of one type" + want
	}
	return sr, ""
}

// criteriaDecision decides the search sr of a Subscription's criteria
// for pr: allowed, with nothing added to its query and no response
// check, or the Subscription write req is refused.
func (p *Policy) criteriaDecision(ctx context.Context, pr *token.Principal, req *Request, criteria string, sr *Request) *Decision {
	sd := p.decideOne(ctx, pr, sr, nil)
	var why string
	switch {
	case !sd.Allowed:
		why = "is a search this token may not run: " + sd.Reason
	case sd.NeedsResponseCheck():
		why = "has results that would have to be checked one by one for this token (v2 scope constraints, included resources or parameters a server may read as paging tokens), which the server does not do when it delivers them"
	case sd.ChangesQuery(sr.Params):
		why = "would have to be narrowed for this token (" + explainParams(sd.Narrow) + "), which the server does not do when it runs it; write the narrowing into the criteria"
	default:
		return nil
	}
	d := p.refuseSubscription(req, http.StatusForbidden, "forbidden",
		"the Subscription's criteria "+quote(criteria)+" "+why+"; the server would deliver what it finds with its own rights")
	d.Needed = sd.Needed
	return d
}

// refuseSubscription is the denial of the Subscription write req.
func (p *Policy) refuseSubscription(req *Request, status int, code, reason string) *Decision {
	return &Decision{Status: status, IssueCode: code, Reason: oneLine(reason), policy: p, request: req}
}

// quote quotes s, clipped, for a reason.
func quote(s string) string {
	return `"` + clip(s) + `"`
}
