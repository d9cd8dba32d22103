package middleware

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// A checked Bundle may carry resources in entry[].resource only: that is
// what the decision's check reads. The sanitizer rebuilds a checked Bundle
// from the members FHIR defines for it and drops everything else, so data
// hidden elsewhere (a Bundle-level "issues" resource, an entry's
// response.outcome that is not an OperationOutcome, unknown or
// case-variant members a client might read instead of the checked ones)
// never reaches the client unchecked.

// bundleMembers are the Bundle members a checked Bundle keeps ("total" is
// not among them: it may count what was removed).
var bundleMembers = []string{"resourceType", "id", "meta", "implicitRules", "language", "identifier", "type", "timestamp", "link", "entry"}

// entryMembers are the Bundle.entry members a checked Bundle keeps.
var entryMembers = []string{"link", "fullUrl", "resource", "search", "request", "response"}

// responseMembers are the Bundle.entry.response members a checked Bundle
// keeps; "outcome" only when it is an OperationOutcome.
var responseMembers = []string{"status", "location", "etag", "lastModified", "outcome"}

var errNotBundle = errors.New("middleware: not an unambiguous JSON Bundle")

// sanitizeBundle rebuilds a checked Bundle (the output of
// Decision.FilterBundle) from its known members. Entries that cannot be
// read unambiguously, and OperationOutcome entries that contain other
// resources, are removed and counted.
func sanitizeBundle(body []byte) ([]byte, int, error) {
	top, err := strictObject(body)
	if err != nil {
		return nil, 0, errNotBundle
	}
	if rt, _ := stringMember(top, "resourceType"); rt != "Bundle" {
		return nil, 0, errNotBundle
	}
	keepOnly(top, bundleMembers)
	removed := 0
	if raw, ok := top["entry"]; ok {
		var entries []json.RawMessage
		if err := json.Unmarshal(raw, &entries); err != nil {
			return nil, 0, errNotBundle
		}
		kept := entries[:0]
		for _, e := range entries {
			clean, ok := sanitizeEntry(e)
			if !ok {
				removed++
				continue
			}
			kept = append(kept, clean)
		}
		if len(kept) == 0 {
			delete(top, "entry")
		} else if top["entry"], err = json.Marshal(kept); err != nil {
			return nil, 0, err
		}
	}
	out, err := marshalObject(top, "resourceType")
	return out, removed, err
}

// sanitizeEntry rebuilds one entry of a checked Bundle from its known
// members; false means the entry must be removed.
func sanitizeEntry(raw json.RawMessage) (json.RawMessage, bool) {
	e, err := strictObject(raw)
	if err != nil {
		return nil, false
	}
	keepOnly(e, entryMembers)
	if res, ok := e["resource"]; ok && !isNull(res) {
		m, err := strictObject(res)
		if err != nil {
			return nil, false
		}
		if rt, _ := stringMember(m, "resourceType"); rt == "OperationOutcome" && !isOperationOutcome(res) {
			return nil, false // an OperationOutcome entry passes the check unread: no contained resources
		}
	}
	if resp, ok := e["response"]; ok {
		clean, ok := sanitizeResponse(resp)
		if !ok {
			return nil, false
		}
		e["response"] = clean
	}
	out, err := marshalObject(e, "")
	if err != nil {
		return nil, false
	}
	return out, true
}

// sanitizeResponse rebuilds an entry's response member; its outcome must
// be an OperationOutcome.
func sanitizeResponse(raw json.RawMessage) (json.RawMessage, bool) {
	r, err := strictObject(raw)
	if err != nil {
		return nil, false
	}
	keepOnly(r, responseMembers)
	if oc, ok := r["outcome"]; ok && !isNull(oc) && !isOperationOutcome(oc) {
		return nil, false
	}
	out, err := marshalObject(r, "")
	return out, err == nil
}

// keepOnly deletes the members of m not named in names.
func keepOnly(m map[string]json.RawMessage, names []string) {
	for k := range m {
		known := false
		for _, n := range names {
			if k == n {
				known = true
				break
			}
		}
		if !known {
			delete(m, k)
		}
	}
}

func isNull(raw json.RawMessage) bool {
	return strings.TrimSpace(string(raw)) == "null"
}

// scrubLocations removes, from the headers of a checked response, the
// Location and Content-Location headers that could name a resource the
// check never saw: a checked read keeps a Content-Location that names the
// resource it returned (rt/id); everything else is dropped.
func scrubLocations(h http.Header, rt, id string) {
	h.Del("Location")
	cl := h.Values("Content-Location")
	if len(cl) == 0 {
		return
	}
	if len(cl) == 1 && rt != "" && id != "" && namesResource(cl[0], rt, id) {
		return
	}
	h.Del("Content-Location")
}

// namesResource reports whether the URL u names rt/id (or a version of
// it).
func namesResource(u, rt, id string) bool {
	if strings.ContainsAny(u, "?#") {
		return false
	}
	u = "/" + u // a relative "Type/id" too
	ref := "/" + rt + "/" + id
	if strings.HasSuffix(u, ref) {
		return true
	}
	i := strings.LastIndex(u, ref+"/_history/")
	return i >= 0 && !strings.Contains(u[i+len(ref+"/_history/"):], "/")
}
