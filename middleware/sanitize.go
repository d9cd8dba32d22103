package middleware

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

// Search Bundles are rebuilt from an allow-list by fhirauth's
// Decision.CheckResponse. What is left here is the entries of a batch or
// transaction response, which are never rebuilt as a whole: each is
// rebuilt from the members FHIR defines for it and everything else is
// dropped, so data hidden elsewhere (a response.outcome that is not an
// OperationOutcome, unknown or case-variant members a client might read
// instead of the checked ones) never reaches the client unchecked.

// entryMembers are the Bundle.entry members a checked Bundle keeps.
var entryMembers = []string{"link", "fullUrl", "resource", "search", "request", "response"}

// responseMembers are the Bundle.entry.response members a checked Bundle
// keeps; "outcome" only when it is an OperationOutcome.
var responseMembers = []string{"status", "location", "etag", "lastModified", "outcome"}

var errNotBundle = errors.New("middleware: not an unambiguous JSON Bundle")

// Member indexes in the lists above.
const (
	entryResource   = 2
	entryResponse   = 5
	responseOutcome = 4
)

// sanitizeEntry rebuilds one entry of a checked Bundle from its known
// members; false means the entry must be removed.
func sanitizeEntry(raw json.RawMessage) (json.RawMessage, bool) {
	out, end, ok := appendEntry(nil, raw, jsonsyntax.SkipSpace(raw, 0), 0)
	if !ok || jsonsyntax.SkipSpace(raw, end) != len(raw) {
		return nil, false
	}
	return out, true
}

// appendEntry reads the Bundle entry at data[at] (depth levels open
// around it) and appends its sanitized form to dst: only the members of
// entryMembers; a resource must be an object without ambiguous keys and,
// when it is an OperationOutcome, must contain no resources; a response
// is sanitized by appendResponse. It returns the end of the entry, and
// false when the entry must be removed (what it appended is then to be
// cut off by the caller) or the document is malformed.
func appendEntry(dst, data []byte, at, depth int) ([]byte, int, bool) {
	return appendAllowed(dst, data, at, depth, entryMembers)
}

// appendAllowed rebuilds the object at data[at], an entry or its
// response (names: entryMembers or responseMembers), from its members
// named in names, in their order, each appended by appendKept; other
// members are read and dropped. It returns the end of the object, and
// false when the value is not an object, two keys fold to the same,
// appendKept refuses a member (what it appended is then to be cut off by
// the caller), or the document is malformed.
func appendAllowed(dst, data []byte, at, depth int, names []string) ([]byte, int, bool) {
	if at >= len(data) || data[at] != '{' {
		return dst, -1, false
	}
	obj := jsonsyntax.ReadObject(data, at, depth)
	dst = append(dst, '{')
	written := 0
	for obj.Next() {
		idx := nameIndex(obj.Name(), names)
		if idx < 0 {
			continue // obj validates the value
		}
		if written > 0 {
			dst = append(dst, ',')
		}
		written++
		dst = appendKey(dst, names[idx])
		var ok bool
		if dst, ok = appendKept(dst, data, &obj, names[idx]); !ok {
			return dst, -1, false
		}
	}
	if obj.Err() != nil {
		return dst, -1, false
	}
	return append(dst, '}'), obj.End(), true
}

// appendKept appends the value of obj's member name, which appendAllowed
// keeps: a resource by appendResource, a response by appendResponse, a
// response's outcome when it is null or an OperationOutcome, any other
// as it is. (A function of its own, not a callback, so that obj stays on
// the stack.)
func appendKept(dst, data []byte, obj *jsonsyntax.ObjectReader, name string) ([]byte, bool) {
	switch name {
	case entryMembers[entryResource]:
		return appendResource(dst, data, obj)
	case entryMembers[entryResponse]:
		return appendResponse(dst, data, obj)
	}
	v := obj.Value()
	if v == nil || name == responseMembers[responseOutcome] && !isNullValue(v) && !isOperationOutcome(v) {
		return dst, false
	}
	return append(dst, v...), true
}

// appendResource copies the resource member of entry: null, or an object
// without ambiguous top-level keys; an OperationOutcome with contained
// resources is refused (it passes the response check unread).
func appendResource(dst, data []byte, entry *jsonsyntax.ObjectReader) ([]byte, bool) {
	at, depth := entry.ValueStart()
	if at >= len(data) || data[at] != '{' {
		v := entry.Value()
		return append(dst, v...), isNullValue(v)
	}
	res := jsonsyntax.ReadObject(data, at, depth)
	oo, contained := false, false
	for res.Next() {
		contained = contained || jsonsyntax.FoldEqual(res.Name(), "contained")
		if string(res.Name()) == "resourceType" {
			oo = isString(res.Value(), "OperationOutcome")
		}
	}
	if res.Err() != nil {
		return dst, false
	}
	entry.SkipTo(res.End())
	return append(dst, data[at:res.End()]...), !(oo && contained)
}

// appendResponse rebuilds the response member of entry from the members
// of responseMembers; its outcome must be an OperationOutcome.
func appendResponse(dst, data []byte, entry *jsonsyntax.ObjectReader) ([]byte, bool) {
	at, depth := entry.ValueStart()
	dst, end, ok := appendAllowed(dst, data, at, depth, responseMembers)
	entry.SkipTo(end)
	return dst, ok
}

// appendKey appends `"name":` (names are plain ASCII member names).
func appendKey(dst []byte, name string) []byte {
	dst = append(dst, '"')
	dst = append(dst, name...)
	return append(dst, '"', ':')
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
