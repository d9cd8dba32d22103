package fhirapi

import (
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/store"
)

// route dispatches one interaction. ops is the store itself, or the
// transaction's view of it when the request is a transaction entry.
func (h *Handler) route(req request, ops store.Ops) response {
	segs := req.segments
	if len(segs) == 0 {
		if req.method == http.MethodPost {
			if ops != store.Ops(h.store) {
				return failure(http.StatusBadRequest, "not-supported", "nested batch or transaction")
			}
			return h.bundle(req)
		}
		return notAllowed(req, "POST", "system-level interactions other than batch/transaction are not supported")
	}
	first := segs[0]
	switch {
	case first == "metadata" && len(segs) == 1:
		if req.method != http.MethodGet {
			return notAllowed(req, "GET", "metadata is read-only")
		}
		return h.capabilities(req)
	case strings.HasPrefix(first, "$"), strings.HasPrefix(first, "_"):
		return failure(http.StatusBadRequest, "not-supported", fmt.Sprintf("%s is not supported at the system level", first))
	}
	typ := first
	if !h.store.Validator().KnownType(typ) {
		return failure(http.StatusNotFound, "not-supported", fmt.Sprintf("unknown resource type %q", typ))
	}
	return h.routeType(req, ops, typ, segs)
}

// routeType dispatches an interaction below [type]: on the type itself,
// [type]/_search, an instance [type]/[id], and the instance's history,
// versions, $everything and compartment searches.
func (h *Handler) routeType(req request, ops store.Ops, typ string, segs []string) response {
	switch len(segs) {
	case 1:
		switch req.method {
		case http.MethodGet:
			return h.search(req, ops, typ, req.query, nil)
		case http.MethodPost:
			return h.create(req, ops, typ)
		case http.MethodPut:
			return h.conditionalUpdate(req, ops, typ)
		case http.MethodDelete:
			return h.conditionalDelete(req, ops, typ)
		}
		return notAllowed(req, "GET, POST, PUT, DELETE", "")
	case 2:
		second := segs[1]
		switch {
		case second == "_search":
			if req.method != http.MethodPost {
				return notAllowed(req, "POST", "")
			}
			return h.postSearch(req, ops, typ)
		case strings.HasPrefix(second, "$"), strings.HasPrefix(second, "_"):
			return failure(http.StatusBadRequest, "not-supported", fmt.Sprintf("%s/%s is not supported", typ, second))
		}
		id := second
		switch req.method {
		case http.MethodGet:
			return h.read(req, ops, typ, id)
		case http.MethodPut:
			return h.update(req, ops, typ, id)
		case http.MethodPatch:
			return h.patch(req, ops, typ, id)
		case http.MethodDelete:
			return h.delete(req, ops, typ, id)
		}
		return notAllowed(req, "GET, PUT, PATCH, DELETE", "")
	case 3:
		id, third := segs[1], segs[2]
		if req.method != http.MethodGet {
			return notAllowed(req, "GET", "")
		}
		switch {
		case third == "_history":
			return h.history(req, ops, typ, id)
		case third == "$everything" && typ == "Patient":
			return h.everything(req, ops, id)
		case typ == "Patient" && h.store.Validator().KnownType(third):
			return h.compartmentSearch(req, ops, id, third)
		}
		return failure(http.StatusBadRequest, "not-supported", fmt.Sprintf("%s/%s/%s is not supported", typ, id, third))
	case 4:
		if segs[2] != "_history" {
			break
		}
		if req.method != http.MethodGet {
			return notAllowed(req, "GET", "")
		}
		v, err := strconv.Atoi(segs[3])
		if err != nil || v < 1 {
			return failure(http.StatusNotFound, "not-found", fmt.Sprintf("version %q is not a version number", segs[3]))
		}
		return h.vread(req, ops, typ, segs[1], v)
	}
	return failure(http.StatusBadRequest, "not-supported", "unsupported path")
}

// notAllowed answers 405 a method the path does not take; allow lists
// the methods it does, for the Allow header RFC 9110 requires on a 405.
func notAllowed(req request, allow, why string) response {
	msg := fmt.Sprintf("%s is not allowed here", req.method)
	if why != "" {
		msg += ": " + why
	}
	resp := failure(http.StatusMethodNotAllowed, "not-supported", msg)
	resp.allow = allow
	return resp
}

// checkContentType checks a request body's media type; entries of a Bundle
// have none and pass.
func checkContentType(req request, allowed ...string) *response {
	if req.http == nil {
		return nil
	}
	ct := req.header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil {
		for _, a := range allowed {
			if mt == a {
				return nil
			}
		}
	}
	r := failure(http.StatusUnsupportedMediaType, "not-supported",
		fmt.Sprintf("Content-Type %q is not supported here; use %s", ct, strings.Join(allowed, " or ")))
	return &r
}

var jsonTypes = []string{"application/fhir+json", "application/json", "application/json+fhir"}

// prefer applies the Prefer: return= header to a successful write.
func prefer(req request, resp response) response {
	switch preferReturn(req.header) {
	case "minimal":
		resp.body = nil
	case "OperationOutcome":
		resp.body = outcomeJSON("information", "informational", fmt.Sprintf("%s %d", req.method, resp.status))
	}
	return resp
}

func preferReturn(h http.Header) string {
	for _, v := range h.Values("Prefer") {
		for _, part := range strings.Split(v, ";") {
			k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && strings.TrimSpace(k) == "return" {
				return strings.Trim(strings.TrimSpace(val), `"`)
			}
		}
	}
	return ""
}
