package middleware

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
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
	r := reader{b: raw}
	out, ok := r.appendEntry(nil)
	if !ok || !r.atEnd() {
		return nil, false
	}
	return out, true
}

// appendEntry reads one Bundle entry and appends its sanitized form to
// dst: only the members of entryMembers; a resource must be an object
// without ambiguous keys and, when it is an OperationOutcome, must contain
// no resources; a response is sanitized by appendResponse. It reports
// false when the entry must be removed (what it appended is then to be
// cut off by the caller) or the document is malformed (r.bad).
func (r *reader) appendEntry(dst []byte) ([]byte, bool) {
	return r.appendAllowed(dst, entryMembers, func(dst []byte, idx int) ([]byte, bool) {
		switch idx {
		case entryResource:
			return r.appendResource(dst)
		case entryResponse:
			return r.appendResponse(dst)
		}
		return append(dst, r.value()...), true
	})
}

// appendAllowed rebuilds the object at the reader's position from its
// members named in names, in their order, appending each kept member's
// value with value (which must consume it); other members are read and
// dropped. It reports false when the next value is not an object, two keys
// fold to the same, value refuses a member (what it appended is then to
// be cut off by the caller), or the document is malformed.
func (r *reader) appendAllowed(dst []byte, names []string, value func(dst []byte, idx int) ([]byte, bool)) ([]byte, bool) {
	if !r.open('{') {
		r.value()
		return dst, false
	}
	dst = append(dst, '{')
	var keys foldSet
	keep := true
	written := 0
	for n := 0; ; n++ {
		k, more := r.member(n, &keys)
		if !more {
			break
		}
		keep = keep && !k.dup
		idx := k.index(names)
		if idx < 0 || !keep {
			r.value()
			continue
		}
		if written > 0 {
			dst = append(dst, ',')
		}
		written++
		dst = appendKey(dst, names[idx])
		var ok bool
		dst, ok = value(dst, idx)
		keep = keep && ok
	}
	return append(dst, '}'), keep && !r.bad
}

// appendResource copies an entry's resource: null, or an object without
// ambiguous top-level keys; an OperationOutcome with contained resources
// is refused (it passes the response check unread).
func (r *reader) appendResource(dst []byte) ([]byte, bool) {
	r.skipSpace()
	start := r.i
	if !r.open('{') {
		v := r.value()
		return append(dst, v...), isNullValue(v)
	}
	var keys foldSet
	ok, oo, contained := true, false, false
	for n := 0; ; n++ {
		k, more := r.member(n, &keys)
		if !more {
			break
		}
		ok = ok && !k.dup
		contained = contained || k.folds("contained")
		v := r.value()
		if k.is("resourceType") {
			oo = isString(v, "OperationOutcome")
		}
	}
	if r.bad {
		return dst, false
	}
	return append(dst, r.b[start:r.i]...), ok && !(oo && contained)
}

// appendResponse rebuilds an entry's response member from the members of
// responseMembers; its outcome must be an OperationOutcome.
func (r *reader) appendResponse(dst []byte) ([]byte, bool) {
	return r.appendAllowed(dst, responseMembers, func(dst []byte, idx int) ([]byte, bool) {
		v := r.value()
		if idx == responseOutcome && !isNullValue(v) && !isOperationOutcome(v) {
			return dst, false
		}
		return append(dst, v...), true
	})
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
