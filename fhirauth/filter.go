package fhirauth

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
	"github.com/fhirwarden/fhirwarden/scope"
)

// A response check reads entry[].resource, nothing else. filterBundle
// therefore rebuilds the Bundle from an allow-list instead of copying it:
// whatever a naive or hostile server put elsewhere (a Bundle-level
// "issues" or "signature", an entry's response.outcome, unknown members,
// a fullUrl naming someone else) never reaches the caller unchecked.

// The Bundle members filterBundle reads, in output order. "total" is
// read only so that an ambiguous spelling of it is an error; it is
// dropped because it may count what was removed.
var filterBundleNames = []string{"resourceType", "id", "meta", "type", "link", "entry", "total"}

const (
	fbResourceType = iota
	fbID
	fbMeta
	fbType
	fbLink
	fbEntry
	fbTotal
	fbCount
)

// The entry members filterBundle reads; request and response only for
// history Bundles.
var filterEntryNames = []string{"fullUrl", "resource", "search", "request", "response"}

const (
	feFullURL = iota
	feResource
	feSearch
	feRequest
	feResponse
	feCount
)

var (
	metaKept     = []string{"versionId", "lastUpdated"}
	linkKept     = []string{"relation", "url"}
	searchKept   = []string{"mode", "score"}
	requestKept  = []string{"method", "url"}
	responseKept = []string{"status", "etag", "lastModified"}
)

// filterBundle applies the response check to a Bundle (searchset, history,
// $everything, a paging continuation). It returns the filtered Bundle and
// the number of entries removed; without a response check it returns body
// unchanged.
//
// An entry is kept when its resource passes checkEntry (the rules of
// checkRead, OperationOutcomes kept); entries without a resource
// (deleted versions in a history) and entries that cannot be read
// unambiguously (duplicate, case-variant or escaped keys, not an object)
// are removed. The output is rebuilt from what FHIR needs, never copied
// member by member: resourceType, id, type, meta.versionId and
// meta.lastUpdated, link (relation and url of each; a link naming another
// patient under patient context is dropped; paging links are authorized
// again when followed) and entry. Each kept entry has its resource as the
// server sent it, its fullUrl only when it names that resource
// ([base/]Type/id, no other patient), search.mode and search.score, and,
// in a history Bundle only, request.method and request.url (when the url
// is Type or Type/id of the resource) and response.status, etag and
// lastModified. Everything else is dropped: total (it may count what was
// removed), signature, issues, timestamp, identifier, entry.link,
// response.outcome and location, extensions, unknown members.
//
// The error (wrapping ErrNotJSON) is for bodies that are not one
// unambiguous JSON Bundle (duplicate or case-variant Bundle members, entry
// not an array). Servers that build the Bundle
// themselves can check each resource with CheckResult instead.
func (d *Decision) filterBundle(body []byte) (out []byte, removed int, err error) {
	if !d.response.on {
		return body, 0, nil
	}
	if !jsonsyntax.Valid(body) {
		return nil, 0, fmt.Errorf("%w: not valid JSON", ErrNotJSON)
	}
	var vals [fbCount][]byte
	if err := readMembers(body, filterBundleNames, vals[:]); err != nil {
		return nil, 0, fmt.Errorf("%w: malformed Bundle: %v", ErrNotJSON, err)
	}
	if rt, ok := jsonStringView(vals[fbResourceType]); !ok || rt != "Bundle" {
		return nil, 0, fmt.Errorf("%w: the response is not a Bundle", ErrNotJSON)
	}
	entries := vals[fbEntry]
	if entries != nil && entries[0] != '[' {
		return nil, 0, fmt.Errorf("%w: malformed Bundle: entry is not an array", ErrNotJSON)
	}
	typ, _ := jsonStringView(vals[fbType])

	out = make([]byte, 0, len(body))
	out = d.appendBundleHead(out, &vals)
	if entries != nil {
		out, removed = d.appendEntries(out, entries, typ == "history")
	}
	return append(out, '}'), removed, nil
}

// appendBundleHead starts the rebuilt Bundle with its members that come
// before entry: resourceType, then id, meta, type and link from vals.
func (d *Decision) appendBundleHead(out []byte, vals *[fbCount][]byte) []byte {
	out = append(out, `{"resourceType":"Bundle"`...)
	for i := fbID; i <= fbLink; i++ {
		out = d.appendBundleMember(out, i, vals[i])
	}
	return out
}

// appendBundleMember appends the rebuilt Bundle member i (fbID, fbMeta,
// fbType or fbLink) whose raw value is v (nil when absent): id and type
// when they are strings, meta and link as far as they are kept.
func (d *Decision) appendBundleMember(out []byte, i int, v []byte) []byte {
	switch i {
	case fbID, fbType:
		if isJSONString(v) {
			out = appendMember(out, filterBundleNames[i], v)
		}
	case fbMeta:
		out, _ = appendPicked(out, "meta", v, metaKept, false) // an unreadable meta is dropped
	case fbLink:
		out = d.appendLinks(out, v)
	}
	return out
}

// appendLinks appends the Bundle links that have a string relation and
// url (and, under patient context, a url naming no other patient).
func (d *Decision) appendLinks(out, links []byte) []byte {
	if len(links) == 0 || links[0] != '[' {
		return out
	}
	mark := len(out)
	out = append(out, `,"link":[`...)
	n := 0
	_ = eachElement(links, func(_ int, link []byte) error {
		var v [2][]byte
		if readMembers(link, linkKept, v[:]) != nil || !isJSONString(v[0]) || !isJSONString(v[1]) {
			return nil
		}
		if u, _ := jsonStringView(v[1]); d.namesOtherPatient(u) {
			return nil
		}
		if n > 0 {
			out = append(out, ',')
		}
		n++
		out = append(out, `{"relation":`...)
		out = append(out, v[0]...)
		out = append(out, `,"url":`...)
		out = append(out, v[1]...)
		out = append(out, '}')
		return nil
	})
	if n == 0 {
		return out[:mark]
	}
	return append(out, ']')
}

// appendEntries appends the kept entries and counts the removed ones. An
// empty entry list is left out (FHIR JSON has no empty arrays).
func (d *Decision) appendEntries(out, entries []byte, history bool) ([]byte, int) {
	l := entryList{history: history}
	_ = eachElement(entries, func(_ int, entry []byte) error {
		out = l.add(d, out, entry)
		return nil
	})
	return l.close(out), l.removed
}

// entryList builds the entry array of a rebuilt Bundle one entry at a
// time, for filterBundle and BundleStream alike: `,"entry":[` goes out
// with the first kept entry, so that a list with none kept is left out.
type entryList struct {
	history       bool // the entries are a history's (request and response kept)
	kept, removed int
}

// add appends entry, rebuilt, when it is kept, and counts it.
func (l *entryList) add(d *Decision, out, entry []byte) []byte {
	mark := len(out)
	if l.kept == 0 {
		out = append(out, `,"entry":[`...)
	} else {
		out = append(out, ',')
	}
	out, ok := d.appendEntry(out, entry, l.history)
	if !ok {
		l.removed++
		return out[:mark]
	}
	l.kept++
	return out
}

// close ends the entry array, if one was started.
func (l *entryList) close(out []byte) []byte {
	if l.kept == 0 {
		return out
	}
	return append(out, ']')
}

// appendEntry appends the rebuilt entry when it is kept.
func (d *Decision) appendEntry(out, entry []byte, history bool) ([]byte, bool) {
	var v [feCount][]byte
	if readMembers(entry, filterEntryNames, v[:]) != nil {
		return out, false
	}
	res := v[feResource]
	if len(res) == 0 || res[0] != '{' {
		return out, false
	}
	rt, id, err := d.entryResource(res)
	if err != nil {
		return out, false
	}
	out = append(out, '{')
	if u, ok := jsonStringView(v[feFullURL]); ok && d.namesResource(u, rt, id) {
		out = append(out, `"fullUrl":`...)
		out = append(out, v[feFullURL]...)
		out = append(out, ',')
	}
	out = append(out, `"resource":`...)
	out = append(out, res...)
	var ok bool
	if out, ok = appendPicked(out, "search", v[feSearch], searchKept, true); !ok {
		return out, false
	}
	if history {
		req := v[feRequest]
		u, err := requestURL(req)
		if err != nil {
			return out, false
		}
		if u != rt && (id == "" || !isRef(u, rt, id)) {
			req = nil // a request about something else says something else
		}
		if out, ok = appendPicked(out, "request", req, requestKept, false); !ok {
			return out, false
		}
		if out, ok = appendPicked(out, "response", v[feResponse], responseKept, false); !ok {
			return out, false
		}
	}
	return append(out, '}'), true
}

// appendPicked appends `,"name":{...}` holding the members of obj named in
// keep whose values are JSON strings (or numbers, when numbers is set: for
// search.score), in keep's order; nothing when none is. It reports false
// when obj is present but not an unambiguous object. keep has at most
// three names.
func appendPicked(out []byte, name string, obj []byte, keep []string, numbers bool) ([]byte, bool) {
	if obj == nil {
		return out, true
	}
	var v [3][]byte
	if obj[0] != '{' || readMembers(obj, keep, v[:len(keep)]) != nil {
		return out, false
	}
	mark := len(out)
	out = append(out, ',', '"')
	out = append(out, name...)
	out = append(out, '"', ':', '{')
	n := 0
	for i, k := range keep {
		val := v[i]
		if !isJSONString(val) && !(numbers && isJSONNumber(val)) {
			continue
		}
		if n > 0 {
			out = append(out, ',')
		}
		n++
		out = append(out, '"')
		out = append(out, k...)
		out = append(out, '"', ':')
		out = append(out, val...)
	}
	if n == 0 {
		return out[:mark], true
	}
	return append(out, '}'), true
}

// appendMember appends `,"name":val`.
func appendMember(out []byte, name string, val []byte) []byte {
	out = append(out, ',', '"')
	out = append(out, name...)
	out = append(out, '"', ':')
	return append(out, val...)
}

// readMembers stores in vals[i] the raw value of the member names[i] of
// the object d (valid JSON), nil when absent. Duplicates and case
// variants of the names, and escaped keys, are errors; other members are
// skipped.
func readMembers(d []byte, names []string, vals [][]byte) error {
	ms := memberSet{names: names}
	return eachMember(d, func(key string, val []byte) error {
		i, err := ms.index(key)
		if i >= 0 {
			vals[i] = val
		}
		return err
	})
}

// requestURL returns entry.request.url ("" when request is absent or has
// no string url); the error is for a request that is not an unambiguous
// object.
func requestURL(request []byte) (string, error) {
	if request == nil {
		return "", nil
	}
	var v [2][]byte
	if request[0] != '{' {
		return "", errNotObject
	}
	if err := readMembers(request, requestKept, v[:]); err != nil {
		return "", err
	}
	u, _ := jsonStringView(v[1])
	return u, nil
}

func isJSONString(v []byte) bool { return len(v) >= 2 && v[0] == '"' }

func isJSONNumber(v []byte) bool { return len(v) > 0 && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9')) }

// namesResource reports whether a fullUrl names the resource rt/id: "rt/id"
// or an absolute http(s) URL ending in "/rt/id" (see httpBase), without
// query or fragment and, under patient context, naming no other patient (a
// base such as ".../Patient/456/" would).
func (d *Decision) namesResource(u, rt, id string) bool {
	if id == "" || strings.ContainsAny(u, "?#") {
		return false
	}
	if !isRef(u, rt, id) {
		// [base]/rt/id: strip id, "/", rt; a base ending in "/" remains.
		base, ok := strings.CutSuffix(u, id)
		if ok {
			base, ok = strings.CutSuffix(base, "/")
		}
		if ok {
			base, ok = strings.CutSuffix(base, rt)
		}
		if !ok || !httpBase(base) {
			return false
		}
	}
	return !d.namesOtherPatient(u)
}

// httpBase reports whether base (a fullUrl without its "rt/id") is an
// absolute http or https URL ending in "/": a lower-case scheme, then a
// host (letters, digits, '.', '-', an optional ":port", or a bracketed
// IPv6 address) without user info. Anything else, such as "://456/" or
// "http:///", names no resource of a server, and the fullUrl is dropped.
func httpBase(base string) bool {
	rest, ok := strings.CutPrefix(base, "https://")
	if !ok {
		if rest, ok = strings.CutPrefix(base, "http://"); !ok {
			return false
		}
	}
	host, _, ok := strings.Cut(rest, "/")
	if !ok || host == "" {
		return false
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !(isIDByte(c) || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return strings.HasSuffix(base, "/")
}

// isRef reports whether u is "rt/id".
func isRef(u, rt, id string) bool {
	return len(u) == len(rt)+1+len(id) && u[len(rt)] == '/' && u[:len(rt)] == rt && u[len(rt)+1:] == id
}

// namesOtherPatient reports whether, under patient context, the URL u
// (percent-decoded; one that does not decode counts as naming someone)
// holds "Patient/<id>", in any letter case, for an id other than the
// context patient's. It catches what a naive server echoes; legitimate
// links and fullUrls under patient context name no other patient, since
// the search could not. A path segment that merely equals another
// patient's id ("http://host/456/Observation/1") names a server base,
// not a patient, and is not refused.
func (d *Decision) namesOtherPatient(u string) bool {
	if !d.response.compartment && d.Context != scope.Patient {
		return false
	}
	if strings.ContainsAny(u, "%+") {
		dec, err := url.QueryUnescape(u)
		if err != nil {
			return true
		}
		u = dec
	}
	const prefix = "patient/"
	for rest := u; ; {
		i := indexFold(rest, prefix)
		if i < 0 {
			return false
		}
		rest = rest[i+len(prefix):]
		n := 0
		for n < len(rest) && isIDByte(rest[n]) {
			n++
		}
		if n > 0 && rest[:n] != d.Patient {
			return true
		}
	}
}

// indexFold returns the index of the first occurrence of lower in s under
// ASCII case folding, or -1. lower is lower-case ASCII and ends in a byte
// that is not a letter ("patient/"): that byte is found with IndexByte,
// and only the bytes before each one found are compared.
func indexFold(s, lower string) int {
	last := len(lower) - 1
	for off := last; off < len(s); off++ {
		k := strings.IndexByte(s[off:], lower[last])
		if k < 0 {
			return -1
		}
		off += k
		j := 0
		for c := s[off-last:]; j < last && (c[j] == lower[j] || c[j]|0x20 == lower[j] && lower[j] >= 'a' && lower[j] <= 'z'); j++ {
		}
		if j == last {
			return off - last
		}
	}
	return -1
}

// isIDByte reports whether c may appear in a FHIR id.
func isIDByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.'
}
