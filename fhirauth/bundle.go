package fhirauth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

// maxBundleEntries limits the entries of a batch or transaction Bundle.
const maxBundleEntries = 10000

// WithMaxBundleEntries limits the entries of a batch or transaction Bundle
// (default 10,000). A larger Bundle is refused (400) at entry
// n+1, with a message naming the limit, before anything after that entry
// is read or validated.
func WithMaxBundleEntries(n int) Option {
	return func(p *Policy) error {
		if n <= 0 || n > 1_000_000 {
			return fmt.Errorf("fhirauth: max Bundle entries %d is outside [1, 1000000]", n)
		}
		p.maxEntries = n
		return nil
	}
}

// bundleLimit is the entry limit in force.
func (p *Policy) bundleLimit() int {
	if p.maxEntries > 0 {
		return p.maxEntries
	}
	return maxBundleEntries
}

// bundleEntry is the part of a Bundle entry a decision needs.
type bundleEntry struct {
	fullURL     string
	method      string
	url         string
	ifNoneExist string
	hasINE      bool
	resource    []byte
}

// finishBundle decodes a batch or transaction Bundle POSTed to the base and
// classifies each entry exactly like a top-level request.
//
// Only the elements a decision needs are read (type, entry.fullUrl,
// entry.request.method/url/ifNoneExist, entry.resource as raw bytes), with
// the strict reader of jsonscan.go: duplicate or case-variant keys among
// them are rejected, as are nested Bundles, absolute or rooted entry URLs
// (they could name another server or another base) and percent-encoded
// entry paths.
func (p *Policy) finishBundle(req *Request, in *rawRequest) error {
	if err := allowOnly(in.query, "_format", "_pretty"); err != nil {
		return err
	}
	if mt := mediaType(in.contentType); mt != "" && !isJSONMedia(mt) {
		return unsupported("only FHIR JSON Bundles can be authorized, not %q", clip(in.contentType))
	}
	typ, entries, err := parseBundle(in.body, p.bundleLimit())
	if err != nil {
		return err
	}
	switch typ {
	case "batch":
		req.Interaction = Batch
	case "transaction":
		req.Interaction = Transaction
	default:
		return invalid("POST to the base needs a Bundle of type batch or transaction, not %q", clip(typ))
	}
	req.Body = in.body
	req.Entries = make([]*Request, len(entries))
	for i := range entries {
		e, err := p.classifyEntry(&entries[i])
		if err != nil {
			return invalidEntry(i, err)
		}
		req.Entries[i] = e
	}
	return nil
}

// invalidEntry prefixes an entry error with its position, keeping the
// sentinel.
func invalidEntry(i int, err error) error {
	return &entryError{index: i, err: err}
}

type entryError struct {
	index int
	err   error
}

// Error names the entry and what is wrong with it.
func (e *entryError) Error() string {
	return "entry " + itoa(e.index) + ": " + e.err.Error()
}

// Unwrap returns the entry's error (which wraps the sentinel).
func (e *entryError) Unwrap() error { return e.err }

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	return string(b[n:])
}

// parseBundleEntries decodes the entries of a batch or transaction Bundle
// (FHIR JSON) and classifies each like a top-level request: what Classify
// does for POST [base].
func (p *Policy) parseBundleEntries(body []byte) (*Request, error) {
	req := &Request{Method: http.MethodPost, Interaction: Batch}
	in := rawRequest{method: http.MethodPost, body: body}
	if err := p.finishBundle(req, &in); err != nil {
		return nil, err
	}
	return req, nil
}

// parseBundle reads the Bundle type and at most limit entries: it stops
// at entry limit+1, refusing the Bundle without reading further (what
// follows is neither validated nor parsed: the refusal does not depend
// on it). The Bundle is validated as it is read (jsonsyntax's validating
// readers), so a Bundle it accepts is valid JSON throughout.
func parseBundle(body []byte, limit int) (string, []bundleEntry, error) {
	if len(body) == 0 {
		return "", nil, invalid("POST to the base needs a Bundle body")
	}
	if i := jsonsyntax.SkipSpace(body, 0); i >= len(body) || body[i] != '{' {
		if !jsonsyntax.Valid(body) {
			return "", nil, invalid("the body is not valid JSON")
		}
		return "", nil, invalid("malformed Bundle: %v", errNotObject)
	}
	var typ, rt string
	var entries []bundleEntry
	root := memberSet{names: []string{"resourceType", "type", "entry"}}
	obj := jsonsyntax.ReadObject(body, 0, 0)
	for obj.Next() {
		if obj.Escaped() {
			return "", nil, invalid("malformed Bundle: %v", errAmbiguousJSON)
		}
		i, err := root.index(jsonsyntax.View(obj.Name()))
		switch {
		case err != nil:
			return "", nil, invalid("malformed Bundle: %v", err)
		case i == 0 || i == 1:
			v := obj.Value()
			if v == nil {
				continue // a syntax error: obj.Done reports it
			}
			s, ok := jsonString(v)
			if !ok {
				return "", nil, invalid("malformed Bundle: %s is not a string", root.names[i])
			}
			if i == 0 {
				rt = s
			} else {
				typ = s
			}
		case i == 2:
			if entries, err = readEntries(&obj, body, limit); err != nil {
				return "", nil, err
			}
		}
	}
	if err := obj.Done(true); err != nil {
		return "", nil, bundleSyntaxError(err)
	}
	if rt != "Bundle" {
		return "", nil, invalid("POST to the base needs a Bundle, not %q", clip(rt))
	}
	return typ, entries, nil
}

// bundleSyntaxError is the refusal of a Bundle jsonsyntax's reader
// refused with err.
func bundleSyntaxError(err error) error {
	if errors.Is(err, jsonsyntax.ErrDuplicateName) || errors.Is(err, jsonsyntax.ErrInvalidString) {
		return invalid("malformed Bundle: %v", fmt.Errorf("%w: %w", errAmbiguousJSON, err))
	}
	return invalid("the body is not valid JSON")
}

// readEntries reads the entry array obj is at, validating and parsing
// each entry in turn, and refuses the Bundle at entry limit+1.
func readEntries(obj *jsonsyntax.ObjectReader, body []byte, limit int) ([]bundleEntry, error) {
	at, depth := obj.ValueStart()
	if at < 0 || at >= len(body) || body[at] != '[' {
		if obj.Value() == nil {
			return nil, bundleSyntaxError(obj.Err())
		}
		return nil, invalid("malformed Bundle: %v", errNotArray)
	}
	var entries []bundleEntry
	arr := jsonsyntax.ReadArray(body, at, depth)
	for n := 0; arr.Next(); n++ {
		if n >= limit {
			return nil, invalid("too many entries: the Bundle has more than %d, the most this server authorizes in one request; send it in parts", limit)
		}
		el := arr.Value() // validated: parseEntry's readers may trust it
		if el == nil {
			break
		}
		e, err := parseEntry(el)
		if err != nil {
			return nil, invalid("malformed Bundle: %v", &entryError{index: n, err: err})
		}
		entries = append(entries, e)
	}
	if err := arr.Err(); err != nil {
		return nil, bundleSyntaxError(err)
	}
	obj.SkipTo(arr.End())
	return entries, nil
}

func parseEntry(el []byte) (bundleEntry, error) {
	var e bundleEntry
	ms := memberSet{names: []string{"fullUrl", "request", "resource"}}
	sawRequest := false
	err := eachMember(el, func(key string, val []byte) error {
		i, err := ms.index(key)
		if err != nil {
			return err
		}
		switch i {
		case 0:
			s, ok := jsonString(val)
			if !ok {
				return errors.New("fullUrl is not a string")
			}
			e.fullURL = s
		case 1:
			sawRequest = true
			return parseEntryRequest(val, &e)
		case 2:
			if len(val) == 0 || val[0] != '{' {
				return errors.New("resource is not an object")
			}
			e.resource = val
		}
		return nil
	})
	if err == errNotObject {
		return e, errors.New("entry is not an object")
	}
	if err != nil {
		return e, err
	}
	if !sawRequest {
		return e, errors.New("entry has no request")
	}
	return e, nil
}

func parseEntryRequest(val []byte, e *bundleEntry) error {
	ms := memberSet{names: []string{"method", "url", "ifNoneExist"}}
	return eachMember(val, func(key string, v []byte) error {
		i, err := ms.index(key)
		if err != nil || i < 0 {
			return err
		}
		s, ok := jsonString(v)
		if !ok {
			return errors.New("request." + key + " is not a string")
		}
		switch i {
		case 0:
			e.method = s
		case 1:
			e.url = s
		case 2:
			e.ifNoneExist, e.hasINE = s, true
		}
		return nil
	})
}

// classifyEntry classifies one Bundle entry.
func (p *Policy) classifyEntry(e *bundleEntry) (*Request, error) {
	switch e.method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return nil, invalid("request.method %q is not a FHIR method", clip(e.method))
	}
	u := e.url
	if strings.Contains(u, "#") || strings.Contains(u, "://") || strings.HasPrefix(u, "/") || strings.HasPrefix(u, "urn:") {
		return nil, invalid("request.url %q must be relative to this server's base", clip(u))
	}
	if strings.IndexFunc(u, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		// A URL holds no space or control character, and servers that
		// read request.url as a WHATWG URL (medplum's router) drop tabs
		// and line breaks anywhere and controls and spaces at either
		// end before they split the query: "category=labor<TAB>atory",
		// judged as no laboratory search, runs as category=laboratory.
		return nil, invalid("request.url %q holds a space or control character, which some servers remove before they read the query; percent-encode it", clip(u))
	}
	path, rawQuery, _ := strings.Cut(u, "?")
	if strings.Contains(rawQuery, "?") {
		// The server reads request.url with its own FHIR URL parser, and
		// such parsers do not agree on where a query with "?" in it ends:
		// medplum's keeps only the text between the first two, so a
		// constraint or narrowing after the second would be judged here
		// and dropped there.
		return nil, invalid("request.url %q has a second \"?\", where some servers end its query, dropping the parameters after it; write a \"?\" in a value as %%3F", clip(u))
	}
	if i := strings.IndexByte(path, ':'); i >= 0 {
		return nil, invalid("request.url %q must be relative to this server's base", clip(u))
	}
	if strings.Contains(path, "%") {
		return nil, invalid("request.url path must not be percent-encoded")
	}
	if path != "" {
		if err := checkSegments(path); err != nil {
			return nil, err
		}
	}
	q, err := parseQuery(rawQuery)
	if err != nil {
		return nil, err
	}
	in := rawRequest{method: e.method, path: path, query: q, entry: true,
		ifNoneExist: e.ifNoneExist, hasIfNoneExist: e.hasINE, body: e.resource}
	if len(e.resource) > 0 {
		in.contentType = "application/fhir+json"
		rt, _, err := resourceHeader(e.resource)
		if err != nil {
			return nil, invalid("entry.resource: %v", err)
		}
		if rt == "Bundle" {
			return nil, invalid("nested Bundle in a Bundle entry")
		}
		if e.method == http.MethodPatch && rt == "Binary" {
			ct, data, err := binaryContent(e.resource, p.version)
			if err != nil {
				return nil, err
			}
			in.contentType, in.body = ct, data
		}
	}
	req := &Request{FullURL: e.fullURL}
	if err := p.route(req, &in); err != nil {
		return nil, err
	}
	if err := entryPost(req, u); err != nil {
		return nil, err
	}
	if err := p.finish(req, &in); err != nil {
		return nil, err
	}
	return req, nil
}

// entryPost refuses the POST entries whose request.url servers read in
// different ways. A search by POST ([type]/_search, _search,
// [compartment]/[id]/[type]/_search) has its parameters in a form body,
// which an entry cannot carry: servers take them from request.url's
// query, from the entry's resource, or from nowhere (medplum searches
// with the resource as its form and drops the query, so a search
// without a resource returns every resource of the type, whatever
// narrowing the query got). A create's request.url is [type] alone: with
// a query some servers make it a conditional create (the query as its
// If-None-Exist), others read the query as options of the create, and
// others drop it.
func entryPost(req *Request, u string) error {
	if req.Method != http.MethodPost {
		return nil
	}
	switch req.Interaction {
	case SearchType, SearchSystem, SearchCompartment:
		return invalid("a Bundle entry cannot search by POST (%q): servers read the parameters of such an entry from its request.url, from its resource or not at all; send GET with the parameters in request.url", clip(u))
	case Create:
		if strings.Contains(u, "?") {
			return invalid("the request.url of a create entry is the resource type alone, not %q: servers read a query there as a condition, as options or not at all; put a condition in request.ifNoneExist", clip(u))
		}
	}
	return nil
}

// binaryPayload names the element that holds a Binary's content in the
// FHIR version v (own) and the one that holds it in the other version
// fhirauth knows (other): STU3's Binary has content, R4's data.
func binaryPayload(v fhirspec.Version) (own, other string) {
	if v == fhirspec.STU3 {
		return "content", "data"
	}
	return "data", "content"
}

// binaryContent returns the contentType and decoded content of a Binary
// (the transaction form of a JSON Patch) in the FHIR version v: the
// element of v that holds it (see binaryPayload).
//
// A Binary that also (or only) has the other version's element is
// refused: a server lenient about unknown elements, or one of the other
// version, could apply that patch rather than the one judged here. Its
// other members cannot carry the patch: contentType (read here, case
// variants refused), securityContext (a Reference), and the Resource
// elements id, meta, implicitRules and language.
func binaryContent(res []byte, v fhirspec.Version) (string, []byte, error) {
	own, other := binaryPayload(v)
	var ct, data string
	ms := memberSet{names: []string{"contentType", own, other}}
	err := eachMember(res, func(key string, val []byte) error {
		i, err := ms.index(key)
		if err != nil || i < 0 {
			return err
		}
		if i == 2 {
			return fmt.Errorf("%q is not an element of a %v Binary (its patch is in %q)", other, v, own)
		}
		s, ok := jsonString(val)
		if !ok {
			return errors.New(key + " is not a string")
		}
		if i == 0 {
			ct = s
		} else {
			data = s
		}
		return nil
	})
	if err != nil {
		return "", nil, invalid("patch Binary: %v", err)
	}
	b, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return "", nil, invalid("patch Binary %s is not base64", own)
	}
	return ct, b, nil
}
