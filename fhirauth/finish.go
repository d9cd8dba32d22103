package fhirauth

import (
	"net/url"
	"strings"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

// finish validates what route could not see (bodies, parameters) and fills
// Body, Params and Reaches.
func (p *Policy) finish(req *Request, in *rawRequest) error {
	switch req.Interaction {
	case Batch:
		return p.finishBundle(req, in)
	case Capabilities:
		return allowOnly(in.query, "_format", "_pretty", "_summary", "_elements", "mode")
	case SMARTConfiguration:
		return nil
	case Read, VRead:
		if err := allowOnly(in.query, "_format", "_pretty", "_summary", "_elements"); err != nil {
			return err
		}
		req.Reaches = []Reach{{Type: req.ResourceType, Kind: ReachTarget}}
		return nil
	case HistoryInstance, HistoryType, HistorySystem:
		if err := allowOnly(in.query, "_count", "_since", "_at", "_format", "_pretty", "_offset", "_page", "_sort", "_summary", "_elements"); err != nil {
			return err
		}
		if err := checkSummary(in.query); err != nil {
			return err
		}
		t := req.ResourceType
		if t == "" {
			t = "*"
		}
		req.Reaches = []Reach{{Type: t, Kind: ReachTarget}}
		return nil
	case PageContinuation:
		if err := allowOnly(in.query, "_getpages", "_getpagesoffset", "_count", "_format", "_pretty", "_bundletype", "_offset", "_page", "_summary", "_elements"); err != nil {
			return err
		}
		req.Reaches = []Reach{{Type: "*", Kind: ReachTarget, Param: "_getpages"}}
		return nil
	case SearchType, SearchSystem, SearchCompartment:
		if in.needBody {
			if err := mergeForm(req, in); err != nil {
				return err
			}
			req.Body = in.body // the form, as read (Params holds it parsed)
		}
		return p.analyzeSearch(req, req.Params)
	case Create, Update, Patch, Delete:
		return p.finishWrite(req, in)
	case Operation:
		return p.finishOperation(req, in)
	}
	return invalid("cannot classify %s /%s", in.method, clip(in.path))
}

// finishWrite validates the body of a create, update or patch, and the
// search part of a conditional write (If-None-Exist for a create, the
// query for the others).
func (p *Policy) finishWrite(req *Request, in *rawRequest) error {
	switch req.Interaction {
	case Create, Update:
		if err := p.checkResourceBody(req, in); err != nil {
			return err
		}
	case Patch:
		if err := checkPatchBody(req, in); err != nil {
			return err
		}
	}
	if req.Interaction == Create && in.hasIfNoneExist {
		ine, err := parseIfNoneExist(in.ifNoneExist, req.ResourceType)
		if err != nil {
			return err
		}
		req.IfNoneExist = ine
		req.Conditional = true
		if err := allowOnly(in.query, "_format", "_pretty"); err != nil {
			return err
		}
		if err := onlyCriteria(ine, req.Interaction); err != nil {
			return err
		}
		return p.analyzeSearch(req, ine)
	}
	if req.Conditional && req.Interaction != Create {
		if err := onlyCriteria(req.Params, req.Interaction); err != nil {
			return err
		}
		return p.analyzeSearch(req, req.Params)
	}
	req.Reaches = []Reach{{Type: req.ResourceType, Kind: ReachTarget}}
	return allowOnly(in.query, "_format", "_pretty")
}

// onlyCriteria refuses the result and paging parameters (isResultParam,
// and _page) in q, the search of a conditional write of interaction i.
// FHIR gives that search search parameters only ("If-None-Exist: [search
// parameters]", "PUT [base]/[type]?[search parameters]"): they select the
// resource to write, and the write answers with that resource, not with
// search results. A result parameter there shapes nothing the client
// gets, and an _include or _revinclude would have the decision expect a
// Bundle, so that a write the server had done would be answered 502.
// _format and _pretty, which format the write's own answer, stay.
func onlyCriteria(q url.Values, i Interaction) error {
	for key := range q {
		name, _, _ := strings.Cut(key, ":")
		if isResultParam(name) || name == "_page" {
			return invalid("%s is a search result parameter, which the search of a conditional %s cannot hold: that search only selects the resource to write; remove it", clip(key), i)
		}
	}
	return nil
}

// allowOnly rejects parameters outside names.
func allowOnly(q url.Values, names ...string) error {
	for k := range q {
		ok := false
		for _, n := range names {
			if k == n {
				ok = true
				break
			}
		}
		if !ok {
			return invalid("parameter %q is not allowed on this interaction", clip(k))
		}
	}
	return nil
}

// mergeForm merges a POST _search form body into the query parameters.
func mergeForm(req *Request, in *rawRequest) error {
	if len(in.body) > 0 {
		if mt := mediaType(in.contentType); mt != "application/x-www-form-urlencoded" {
			return invalid("POST _search needs an application/x-www-form-urlencoded body, not %q", clip(in.contentType))
		}
	}
	form, err := parseQuery(string(in.body))
	if err != nil {
		return err
	}
	if len(form) == 0 {
		return nil
	}
	merged := make(url.Values, len(req.Params)+len(form))
	for k, v := range req.Params {
		merged[k] = append([]string(nil), v...)
	}
	for k, v := range form {
		merged[k] = append(merged[k], v...)
	}
	req.Params = merged
	return nil
}

// parseIfNoneExist parses an If-None-Exist value: a query, optionally
// written as "?query", "Type?query" with the request's type, or with the
// absolute URL of the type's endpoint before the "?".
func parseIfNoneExist(v, t string) (url.Values, error) {
	v = strings.TrimSpace(v)
	if before, after, ok := strings.Cut(v, "?"); ok {
		if before != "" && before != t && !typeEndpointURL(before, t) {
			return nil, invalid("If-None-Exist names type %q but the create is for %s", clip(before), t)
		}
		v = after
	}
	if strings.Contains(v, "?") {
		// As in a Bundle entry's request.url (classifyEntry): FHIR URL
		// parsers that read "Type?query" end the query at a second "?"
		// (medplum's keeps only the text between the first two), so a
		// constraint or narrowing after it would be judged here and
		// dropped there.
		return nil, invalid("If-None-Exist %q has a \"?\" in its query, where some servers end it, dropping the parameters after it; write a \"?\" in a value as %%3F", clip(v))
	}
	if strings.IndexByte(v, '#') >= 0 {
		return nil, errFragment // servers read the header as a URL's query
	}
	q, err := parseQuery(v)
	if err != nil {
		return nil, err
	}
	if len(q) == 0 {
		return nil, invalid("empty If-None-Exist")
	}
	return q, nil
}

// typeEndpointURL reports whether s is the absolute http(s) URL of the
// endpoint of type t ("https://host/fhir/Patient"), the form in which
// HAPI's Java client writes If-None-Exist. Only the query after it
// counts: the middleware sends the server the parameters judged.
func typeEndpointURL(s, t string) bool {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || u.RawPath != "" || u.Fragment != "" || u.Opaque != "" {
		return false
	}
	return strings.HasSuffix(u.Path, "/"+t)
}

// checkResourceBody checks a create/update body: FHIR JSON of the URL's type
// (and, for a non-conditional update, with the URL's id).
func (p *Policy) checkResourceBody(req *Request, in *rawRequest) error {
	if len(in.body) == 0 {
		return invalid("%s needs a resource body", req.Interaction)
	}
	if mt := mediaType(in.contentType); mt != "" && !isJSONMedia(mt) {
		return unsupported("only FHIR JSON bodies can be authorized, not %q", clip(in.contentType))
	}
	if !in.entry && !jsonsyntax.Valid(in.body) { // entries: the whole Bundle was validated
		return invalid("the body is not valid JSON")
	}
	rt, id, err := resourceHeader(in.body)
	if err != nil {
		return invalid("the body is not a FHIR resource: %v", err)
	}
	if rt != req.ResourceType {
		return invalid("the body is a %s but the URL names %s", clip(rt), req.ResourceType)
	}
	if req.Interaction == Update && !req.Conditional && id != req.ID {
		return invalid("the body's id %q differs from the URL's id %q", clip(id), req.ID)
	}
	if rt == "Bundle" && in.entry {
		return invalid("nested Bundle in a Bundle entry")
	}
	req.Body = in.body
	return nil
}

// checkPatchBody sets the patch format and keeps the body.
func checkPatchBody(req *Request, in *rawRequest) error {
	if len(in.body) == 0 {
		return invalid("patch needs a body")
	}
	req.Body = in.body
	switch mt := mediaType(in.contentType); {
	case mt == "application/json-patch+json":
		req.Patch = JSONPatch
	case isJSONMedia(mt) || (mt == "" && in.entry):
		req.Patch = FHIRPathPatch
	default:
		req.Patch = OtherPatch
		return nil
	}
	if !jsonsyntax.Valid(in.body) {
		return invalid("the patch body is not valid JSON")
	}
	if req.Patch == FHIRPathPatch {
		rt, _, err := resourceHeader(in.body)
		if err != nil || rt != "Parameters" {
			return invalid("a FHIRPath Patch body must be a Parameters resource")
		}
	}
	return nil
}

// checkSummary validates _summary values.
func checkSummary(q url.Values) error {
	vals := q["_summary"]
	if len(vals) > 1 {
		return invalid("_summary given more than once")
	}
	for _, v := range vals {
		switch v {
		case "true", "false", "text", "data", "count":
		default:
			return invalid("_summary=%q is not valid", clip(v))
		}
	}
	return nil
}
