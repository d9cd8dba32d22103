package fhirauth

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
)

// Classify describes what r does in FHIR terms. It reads the body only when
// the decision needs it (creates, updates, patches, POST _search, batch and
// transaction Bundles, POSTed $export/$everything) and then restores r.Body
// so the next handler reads the same bytes.
//
// Classification is strict: a request that is not one unambiguous FHIR REST
// interaction under the policy's base path is an error wrapping
// ErrInvalidRequest (400), ErrUnsupported (400, not-supported) or
// ErrBodyTooLarge (413). In particular the path may contain only letters,
// digits and "-._$" between single slashes: percent-encoding of any kind
// (%2e, %2f, even %41), dot segments, empty segments ("//", a trailing
// "/"), ";" parameters and mis-cased or unknown resource types are
// rejected, so a request can never mean one thing to fhirauth and another to
// the server behind it. For the same reason a method-override header
// (X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override) is refused,
// as is HAPI FHIR's X-Cascade on a DELETE or POST (a cascading delete),
// and so are repeated If-None-Exist or (when the body is read)
// Content-Type headers, a body whose Content-Type declares another FHIR
// release (fhirVersion) than the policy's, a raw "#" in the query or
// If-None-Exist, where a server's URL parser ends it, a raw space in the
// query (HTTP/2 carries one; it would split a forwarded HTTP/1.1 request
// line), and a query (or form, or If-None-Exist) of more than 100
// parameters, which servers read only in part.
func (p *Policy) Classify(r *http.Request) (*Request, error) {
	req := &Request{}
	if err := p.classifyInto(req, r, nil); err != nil {
		return nil, err
	}
	return req, nil
}

// errBodyNotNeeded is what classifyInto returns when its beforeBody
// callback said that the body is not needed: the request is classified
// from its request line and headers alone.
var errBodyNotNeeded = errors.New("fhirauth: the body is not needed")

// classifyInto is Classify writing into req, a zero Request. When the
// body must be read, beforeBody (if not nil) is first called with req
// classified from the request line and headers; if it returns false, the
// body is left unread and classifyInto returns errBodyNotNeeded.
func (p *Policy) classifyInto(req *Request, r *http.Request, beforeBody func(*Request) bool) error {
	if r == nil || r.URL == nil {
		return invalid("no request URL")
	}
	// RawPath is set when the path was not in Go's default encoding: with
	// a '%' anywhere that is percent-encoding, which is refused; without,
	// it can only be an unescaped "*" (Patient/123/*), which equals Path.
	if r.URL.Opaque != "" || strings.Contains(r.URL.RawPath, "%") || (r.URL.RawPath != "" && r.URL.RawPath != r.URL.Path) {
		return invalid("the path must not be percent-encoded")
	}
	rel, err := p.relPath(r.Method, r.URL.Path)
	if err != nil {
		return err
	}
	if strings.IndexByte(r.URL.RawQuery, '#') >= 0 {
		return errFragment
	}
	if strings.IndexByte(r.URL.RawQuery, ' ') >= 0 {
		// HTTP/1.1 cannot carry one, but HTTP/2 can, and Go's server
		// keeps it: a proxy forwarding the query as written would split
		// its HTTP/1.1 request line there, which servers read each their
		// own way (most refuse it, a lenient one ends the target there).
		return invalid("malformed query: a raw space; escape it as %%20 or +")
	}
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return err
	}
	in := rawRequest{method: r.Method, path: rel, query: q}
	// Some frameworks let a header replace the method (a GET that a server
	// runs as a DELETE); fhirauth decides the method it sees, so such
	// headers are refused rather than ignored.
	if h := MethodOverride(r.Header); h != "" {
		return invalid("the %s header is not allowed: the method override would not be authorized", h)
	}
	// Headers are read only for the methods that use them (canonicalising a
	// header name costs on every request).
	if r.Method == http.MethodDelete || r.Method == http.MethodPost {
		// HAPI FHIR (with cascading deletes enabled) reads X-Cascade:
		// delete on a DELETE, and on a transaction for its DELETE
		// entries, as it reads _cascade=delete in the query, which no
		// delete may carry: it then also deletes every resource that
		// refers to the target, of any type and any patient, none of
		// them decided.
		if _, ok := r.Header["X-Cascade"]; ok {
			return unsupported("the X-Cascade header is not allowed: a cascading delete would also delete the resources that refer to the target, which are not authorized")
		}
	}
	if r.Method == http.MethodPost {
		if ine := r.Header.Values("If-None-Exist"); len(ine) > 0 {
			if len(ine) > 1 {
				return invalid("more than one If-None-Exist header")
			}
			in.ifNoneExist, in.hasIfNoneExist = ine[0], true
		}
	}
	if err := p.route(req, &in); err != nil {
		return err
	}
	if in.needBody {
		ct := r.Header["Content-Type"]
		if len(ct) > 1 {
			// Servers differ on which of two Content-Types wins.
			return invalid("more than one Content-Type header")
		}
		if len(ct) == 1 {
			in.contentType = ct[0]
			if err := p.checkBodyVersion(ct[0]); err != nil {
				return err
			}
		}
		if ce := ContentCoding(r.Header.Values("Content-Encoding")); ce != "" {
			// The bytes judged must be the bytes the server reads: a
			// server that decodes the body would read another document.
			return unsupported("a request body with Content-Encoding %q cannot be checked; send it uncompressed", clip(ce))
		}
		if beforeBody != nil && !beforeBody(req) {
			return errBodyNotNeeded
		}
		body, err := p.readBody(r)
		if err != nil {
			return err
		}
		in.body = body
	}
	return p.finish(req, &in)
}

// errFragment refuses a raw "#" in a query. Go's server keeps it in the
// query; a server that parses the request target as a URL (WHATWG's
// parser in Node.js, Jetty's) starts a fragment there and drops it with
// the rest of the query, so it would run fewer parameters than were
// judged ("?_lastUpdated=gt2000#&_type=Practitioner": a search of every
// type).
var errFragment = invalid("malformed query: a raw \"#\" starts a fragment, which servers drop with the rest of the query; escape it as %%23")

// ContentCoding returns the first of values (a Content-Encoding header's)
// that names a content coding other than identity, or "" when the body is
// as sent: every value and every comma-separated element counts, in any
// letter case. Classify refuses a request body it must judge that has
// one; a response with one cannot be checked either.
func ContentCoding(values []string) string {
	for _, v := range values {
		for coding := range strings.SplitSeq(v, ",") {
			if coding = strings.TrimSpace(coding); coding != "" && !strings.EqualFold(coding, "identity") {
				return v
			}
		}
	}
	return ""
}

// methodOverrideHeaders are the (canonical) names of the headers that
// frameworks honour to override the HTTP method.
var methodOverrideHeaders = [...]string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override"}

// MethodOverride returns the name of the first method-override header
// (X-Http-Method-Override, X-Http-Method, X-Method-Override: frameworks
// run a request as the method they name) that h has, or "". Classify
// refuses a request that has one; a gateway that lets some requests pass
// unclassified (public endpoints) can refuse them the same way. h's names
// must be canonical, as net/http's server makes them. It walks a small
// map once and looks each name up in a larger one.
func MethodOverride(h http.Header) string {
	if len(h) > 2*len(methodOverrideHeaders) {
		for _, name := range methodOverrideHeaders {
			if _, ok := h[name]; ok {
				return name
			}
		}
		return ""
	}
	first := len(methodOverrideHeaders)
	for k := range h {
		if len(k) < len("X-Http-Method") || k[0] != 'X' || k[1] != '-' {
			continue
		}
		for i, name := range methodOverrideHeaders[:first] {
			if k == name {
				first = i
				break
			}
		}
	}
	if first == len(methodOverrideHeaders) {
		return ""
	}
	return methodOverrideHeaders[first]
}

// rawRequest is the input of classification, from an HTTP request or a
// Bundle entry.
type rawRequest struct {
	method         string
	path           string // relative to the base, no leading slash
	query          url.Values
	contentType    string
	ifNoneExist    string
	hasIfNoneExist bool
	body           []byte
	needBody       bool // set by route: the decision needs the body
	entry          bool // a Bundle entry
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidRequest}, args...)...)
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnsupported}, args...)...)
}

// relPath returns the path relative to the base, without a leading slash,
// after checking every segment.
//
// "[base]/" is the base itself for POST (batch and transaction) and GET
// (system search, paging): that is what common clients send (fhir-kit-client
// and fhir.js join the base and an empty path with a slash). For any other
// method, and for "[base]//" and the like, an empty segment stays an error.
func (p *Policy) relPath(method, path string) (string, error) {
	var rel string
	switch {
	case path == p.base:
		return "", nil
	case len(path) == len(p.base)+1 && path[len(p.base)] == '/' && path[:len(p.base)] == p.base &&
		(method == http.MethodPost || method == http.MethodGet || method == http.MethodHead):
		return "", nil
	case len(path) > len(p.base) && path[len(p.base)] == '/' && path[:len(p.base)] == p.base:
		rel = path[len(p.base)+1:]
	default:
		return "", invalid("path %q is not under the FHIR base %q", clip(path), p.base+"/")
	}
	if err := checkSegments(rel); err != nil {
		return "", err
	}
	return rel, nil
}

// checkSegments rejects empty segments, dot segments and any byte outside
// letters, digits and "-._$" ("*" only as a whole segment).
func checkSegments(rel string) error {
	if rel == "" {
		return invalid("empty path segment (trailing \"/\")")
	}
	start, star := 0, false
	for i := 0; i < len(rel); i++ {
		c := rel[i]
		if segmentByte[c] {
			continue
		}
		switch c {
		case '*':
			star = true // allowed only as a whole segment, checked below
			continue
		case '/':
			if err := checkSegment(rel[start:i], star); err != nil {
				return err
			}
			start, star = i+1, false
			continue
		}
		return invalid("path contains %q; only letters, digits and \"-._$\" are allowed", string(rune(c)))
	}
	return checkSegment(rel[start:], star)
}

// segmentByte marks the bytes a path segment may hold besides "*": one
// table lookup per byte of every request's path.
var segmentByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '$'
	}
	return t
}()

// checkSegment checks one segment of checkSegments (star: it holds a "*").
func checkSegment(seg string, star bool) error {
	if star && seg != "*" {
		return invalid("path contains \"*\" inside a segment")
	}
	switch seg {
	case "":
		return invalid("empty path segment (\"//\" or a trailing \"/\")")
	case ".", "..":
		return invalid("dot segment %q in path", seg)
	}
	return nil
}

// maxParams is the most parameters (items between "&", empty ones too)
// a query, a POST _search form body or an If-None-Exist header may have.
// Servers stop reading parameters at a limit of their own and drop the
// rest without an error: Node's querystring (maxKeys) and the qs package
// behind Express's default query parser (parameterLimit) at 1000, Tomcat
// (maxParameterCount, query and form together) at 1000 or 10000. A
// narrowing parameter that the middleware adds, or finds, after that many
// others would never be read and the search would run unnarrowed; well
// below every such limit, it always is.
const maxParams = 100

// parseQuery parses a raw query strictly, with url.ParseQuery's
// semantics: malformed escapes, values that are not UTF-8 (once
// unescaped) and ";" separators are errors, and
// parameter names may contain only letters, digits and "-_.:"; more than
// maxParams items are an error. It
// allocates less than url.ParseQuery (one backing array for all values, a
// map sized up front, unescaping only what is escaped): it runs on every
// request.
func parseQuery(raw string) (url.Values, error) {
	if raw == "" {
		return nil, nil
	}
	if strings.IndexByte(raw, ';') >= 0 {
		return nil, invalid("malformed query: invalid semicolon separator in query")
	}
	n := strings.Count(raw, "&") + 1
	if n > maxParams {
		return nil, invalid("the query has %d parameters; at most %d are accepted", n, maxParams)
	}
	q := make(url.Values, n)
	backing := make([]string, 0, n)
	for raw != "" {
		item := raw
		if i := strings.IndexByte(raw, '&'); i >= 0 {
			item, raw = raw[:i], raw[i+1:]
		} else {
			raw = ""
		}
		if item == "" {
			continue
		}
		k, v, plain := splitQueryItem(item)
		if !plain {
			var err error
			if k, err = queryUnescape(k); err != nil {
				return nil, invalid("malformed query: %v", err)
			}
			if v, err = queryUnescape(v); err != nil {
				return nil, invalid("malformed query: %v", err)
			}
			if k == "" {
				return nil, invalid("query parameter without a name")
			}
			if c, ok := badNameByte(k); ok {
				return nil, invalid("query parameter name %q contains %q", clip(k), string(rune(c)))
			}
		}
		if !utf8.ValidString(v) {
			// Parsers disagree on what such a value is (medplum's,
			// URLSearchParams, reads U+FFFD for each bad byte), and
			// no FHIR string holds one.
			return nil, invalid("malformed query: the value of %q is not UTF-8", clip(k))
		}
		if old, ok := q[k]; ok {
			q[k] = append(old, v)
			continue
		}
		backing = append(backing, v)
		q[k] = backing[len(backing)-1 : len(backing) : len(backing)]
	}
	if len(q) == 0 {
		return nil, nil // "?&": no parameters, like an empty query
	}
	return q, nil
}

// splitQueryItem splits "name=value" at the first "=". plain reports that
// neither part needs unescaping and the name is a valid, non-empty
// parameter name, which a single scan of the name establishes for the
// common case; otherwise the caller unescapes and checks both.
func splitQueryItem(item string) (k, v string, plain bool) {
	plain = true
	i := 0
	for ; i < len(item); i++ {
		c := item[i]
		if c == '=' {
			break
		}
		if !isNameByte(c) {
			plain = false // an escape, "+" or a byte to report
		}
	}
	k = item[:i]
	if i < len(item) {
		v = item[i+1:]
	}
	if k == "" || strings.IndexByte(v, '%') >= 0 || strings.IndexByte(v, '+') >= 0 {
		plain = false
	}
	return k, v, plain
}

// isNameByte reports whether c may appear in a query parameter name.
func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':'
}

// badNameByte returns the first byte of k that may not appear in a
// parameter name.
func badNameByte(k string) (byte, bool) {
	for i := 0; i < len(k); i++ {
		if !isNameByte(k[i]) {
			return k[i], true
		}
	}
	return 0, false
}

func queryUnescape(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, nil
	}
	return url.QueryUnescape(s)
}

// readBody reads (at most maxBody bytes of) the body and restores it.
func (p *Policy) readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > p.maxBody {
		return nil, fmt.Errorf("%w: %d bytes (limit %d)", ErrBodyTooLarge, r.ContentLength, p.maxBody)
	}
	b, err := readAtMost(r.Body, r.ContentLength, p.maxBody)
	r.Body.Close()
	if err != nil {
		return nil, invalid("reading the body: %v", err)
	}
	if int64(len(b)) > p.maxBody {
		return nil, fmt.Errorf("%w: limit %d bytes", ErrBodyTooLarge, p.maxBody)
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return b, nil
}

// errLongerThanDeclared: a body went on after the length it declared.
var errLongerThanDeclared = errors.New("the body is longer than its Content-Length")

// readAtMost reads body (at most limit+1 bytes of it). A body of declared
// length (n >= 0) is read into memory of exactly that size, which must
// then be all of it: growing a buffer as the bytes come would allocate
// more than twice the body, for each of the writes at the size limit
// that a server may be reading at once.
func readAtMost(body io.Reader, n, limit int64) ([]byte, error) {
	if n < 0 || n > limit {
		return io.ReadAll(io.LimitReader(body, limit+1))
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(body, b); err != nil {
		return nil, err
	}
	var one [1]byte
	switch m, err := io.ReadFull(body, one[:]); {
	case m > 0:
		return nil, errLongerThanDeclared
	case err != io.EOF:
		return nil, err
	}
	return b, nil
}

// route sets the interaction and path fields of req from method and path,
// by the number of path segments, following the levels of the FHIR REST
// grammar: the base (system level), [type], [type]/[id] (and
// [type]/_search, [type]/_history, [type]/$op), and the longer instance
// paths ([type]/[id]/_history[/vid], [type]/[id]/$op and compartment
// searches).
func (p *Policy) route(req *Request, in *rawRequest) error {
	m := in.method
	if m == http.MethodHead {
		m = http.MethodGet
	}
	req.Method = in.method
	req.Path = in.path
	req.Params = in.query
	var segs [5]string
	n := 0
	if in.path != "" {
		rest := in.path
		for {
			if n == len(segs) {
				return invalid("path %q has too many segments", clip(in.path))
			}
			seg, after, more := strings.Cut(rest, "/")
			segs[n] = seg
			n++
			if !more {
				break
			}
			rest = after
		}
	}
	s := segs[:n]
	switch n {
	case 0:
		return routeBase(req, in, m)
	case 1:
		return p.routeOne(req, in, m, s[0])
	case 2:
		return p.routeTwo(req, in, m, s[0], s[1])
	case 3, 4:
		return p.routeInstance(req, in, m, s)
	}
	return in.notREST()
}

// notREST is the error for a method and path that name no FHIR REST
// interaction.
func (in *rawRequest) notREST() error {
	return invalid("%s %s is not a FHIR REST interaction", in.method, "/"+clip(in.path))
}

// routeBase routes a request to the base: a system search or paging
// continuation (GET), a batch or transaction (POST).
func routeBase(req *Request, in *rawRequest, m string) error {
	switch m {
	case http.MethodGet:
		if _, ok := in.query["_getpages"]; ok {
			req.Interaction = PageContinuation
			return nil
		}
		req.Interaction = SearchSystem
		return nil
	case http.MethodPost:
		if in.entry {
			return invalid("a Bundle entry cannot POST to the base (nested batch or transaction)")
		}
		in.needBody = true
		req.Interaction = Batch // refined to Transaction by finish
		return nil
	}
	return in.notREST()
}

// routeOne routes a path of one segment: a system-level endpoint
// (metadata, _search, _history, $op) or a resource type (type-level
// search, create, conditional update, patch or delete).
func (p *Policy) routeOne(req *Request, in *rawRequest, m, seg string) error {
	switch {
	case seg == "metadata":
		return in.only(m, http.MethodGet, req, Capabilities)
	case seg == "_search":
		if m == http.MethodGet && !in.entry {
			// fhir-kit-client's systemSearch sends GET [base]/_search?...:
			// a system search with its parameters in the query.
			return in.only(m, http.MethodGet, req, SearchSystem)
		}
		in.needBody = true
		return in.only(m, http.MethodPost, req, SearchSystem)
	case seg == "_history":
		return in.only(m, http.MethodGet, req, HistorySystem)
	case strings.HasPrefix(seg, "$"):
		return p.routeOperation(req, in, m, seg, SystemLevel)
	}
	if err := p.checkType(seg); err != nil {
		return err
	}
	req.ResourceType = seg
	switch m {
	case http.MethodGet:
		req.Interaction = SearchType
	case http.MethodPost:
		req.Interaction = Create
		in.needBody = true
		req.Conditional = in.hasIfNoneExist
	case http.MethodPut, http.MethodPatch, http.MethodDelete:
		if len(in.query) == 0 {
			return invalid("%s on a resource type needs search parameters (a conditional %s) or an id", in.method, strings.ToLower(in.method))
		}
		req.Conditional = true
		req.Interaction = writeInteraction(m)
		in.needBody = m != http.MethodDelete
	default:
		return in.notREST()
	}
	return nil
}

// writeInteraction is the interaction of a PUT, PATCH or DELETE.
func writeInteraction(m string) Interaction {
	switch m {
	case http.MethodPut:
		return Update
	case http.MethodPatch:
		return Patch
	}
	return Delete
}

// only sets req's interaction to i when the method m is want, and is the
// not-REST error otherwise.
func (in *rawRequest) only(m, want string, req *Request, i Interaction) error {
	if m != want {
		return in.notREST()
	}
	req.Interaction = i
	return nil
}

// routeTwo routes a path of two segments: the SMART configuration, a
// type-level endpoint ([type]/_search, [type]/_history, [type]/$op) or an
// instance ([type]/[id]: read, update, patch, delete).
func (p *Policy) routeTwo(req *Request, in *rawRequest, m, typ, seg string) error {
	if typ == ".well-known" && seg == "smart-configuration" {
		return in.only(m, http.MethodGet, req, SMARTConfiguration)
	}
	if err := p.checkType(typ); err != nil {
		return err
	}
	req.ResourceType = typ
	switch {
	case seg == "_search":
		in.needBody = true
		return in.only(m, http.MethodPost, req, SearchType)
	case seg == "_history":
		return in.only(m, http.MethodGet, req, HistoryType)
	case strings.HasPrefix(seg, "$"):
		return p.routeOperation(req, in, m, seg, TypeLevel)
	}
	if err := checkID(seg); err != nil {
		return err
	}
	req.ID = seg
	switch m {
	case http.MethodGet:
		req.Interaction = Read
	case http.MethodPut, http.MethodPatch, http.MethodDelete:
		req.Interaction = writeInteraction(m)
		in.needBody = m != http.MethodDelete
	default:
		return in.notREST()
	}
	return nil
}

// routeInstance routes a path of three or four segments under
// [type]/[id]: its history (_history, _history/[vid]), an instance
// operation ($op) or a compartment search ([type]/[id]/[type or *], with
// /_search for POST).
func (p *Policy) routeInstance(req *Request, in *rawRequest, m string, s []string) error {
	if err := p.checkType(s[0]); err != nil {
		return err
	}
	if err := checkID(s[1]); err != nil {
		return err
	}
	req.ResourceType, req.ID = s[0], s[1]
	n := len(s)
	switch {
	case s[2] == "_history":
		if m != http.MethodGet {
			return in.notREST()
		}
		if n == 3 {
			req.Interaction = HistoryInstance
			return nil
		}
		if err := checkID(s[3]); err != nil {
			return err
		}
		req.VersionID = s[3]
		req.Interaction = VRead
		return nil
	case strings.HasPrefix(s[2], "$") && n == 3:
		return p.routeOperation(req, in, m, s[2], InstanceLevel)
	}
	if n == 4 && s[3] != "_search" {
		return in.notREST()
	}
	if (n == 4) != (m == http.MethodPost) || (m != http.MethodGet && m != http.MethodPost) {
		return in.notREST()
	}
	if !compartmentOwners[s[0]] {
		return invalid("%s is not a compartment type (Patient, Encounter, RelatedPerson, Practitioner, Device)", s[0])
	}
	if s[2] != "*" {
		if err := p.checkType(s[2]); err != nil {
			return err
		}
	}
	req.CompartmentType, req.CompartmentID = s[0], s[1]
	req.ResourceType, req.ID = s[2], ""
	req.Interaction = SearchCompartment
	in.needBody = n == 4
	return nil
}

// compartmentOwners are the types that define compartments.
var compartmentOwners = map[string]bool{"Patient": true, "Encounter": true, "RelatedPerson": true, "Practitioner": true, "Device": true}

// routeOperation classifies "$name" at the given level.
func (p *Policy) routeOperation(req *Request, in *rawRequest, m, seg string, level Level) error {
	name := seg[1:]
	if name == "" || strings.Contains(name, "$") {
		return invalid("operation name %q is not valid", clip(seg))
	}
	if m != http.MethodGet && m != http.MethodPost {
		return invalid("operations are invoked with GET or POST, not %s", in.method)
	}
	req.Interaction = Operation
	req.Operation = name
	req.Level = level
	// The parameters of the built-in operations and of registered search
	// operations can come in a Parameters body, which must be read (a
	// patient parameter in the body would escape the narrowing); other
	// operations' bodies are not inspected.
	if m == http.MethodPost && p.paramsInBody(name) {
		in.needBody = true
	}
	return nil
}

// paramsInBody reports whether a POSTed operation's Parameters body holds
// parameters the decision must see.
func (p *Policy) paramsInBody(op string) bool {
	return builtinOperation(op) || p.ops[op].Search
}

// checkType checks a resource type name exactly, naming the right spelling
// for a mis-cased one.
func (p *Policy) checkType(t string) error {
	if fhirspec.IsResourceType(p.version, t) {
		return nil
	}
	for _, known := range p.allTypes {
		if strings.EqualFold(known, t) {
			return invalid("unknown resource type %q (resource types are case-sensitive: %s)", clip(t), known)
		}
	}
	return invalid("unknown %v resource type %q", p.version, clip(t))
}

func checkID(id string) error {
	if !fhirspec.IsID(id) {
		return invalid("%q is not a FHIR id", clip(id))
	}
	return nil
}

// clip shortens attacker-controlled text for messages and makes it one
// safe line (see oneLine).
func clip(s string) string {
	const max = 80
	if len(s) > max {
		s = s[:max] + "..."
	}
	return oneLine(s)
}

// MediaType parses a Content-Type value as fhirauth reads request bodies
// and as the middleware reads the responses it checks: it returns the
// media type, lower-cased and without parameters ("" for ""). A
// malformed value is an error, and so is one whose charset parameter (in
// any letter case, quoted or not) names a charset other than UTF-8 or
// US-ASCII, its subset: fhirauth judges a body's bytes as UTF-8, while
// whoever reads the body decodes it by the charset declared (servers
// such as HAPI and Tomcat do, and so do clients), and the text would
// differ (in UTF-7, "+ACI-" is a quote). A value that names a charset
// more than once, or in RFC 2231 notation (charset*=utf-8'en'utf-8,
// charset*0=...), is an error too: readers differ on which one counts.
func MediaType(ct string) (string, error) {
	if ct == "" || isJSONMedia(ct) {
		// Already one lower-cased type without parameters, as every
		// Bundle entry's is: mime.ParseMediaType would return it as it
		// is, after allocating a map for the parameters it has none of.
		return ct, nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", fmt.Errorf("malformed content type %q: %w", clip(ct), err)
	}
	if n, extended := paramMentions(ct, "charset"); n > 1 || extended {
		// mime.ParseMediaType lets an RFC 2231 charset* (or charset*0,
		// ...) replace a plain charset beside it; HTTP readers take the
		// plain one, so the two would decode the body differently.
		return "", fmt.Errorf("content type %q names a charset more than once or in RFC 2231 notation (charset*); name it once, as charset=utf-8", clip(ct))
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") {
		return "", fmt.Errorf("content type %q names charset %q; only UTF-8 is read", clip(ct), clip(cs))
	}
	return mt, nil
}

// paramMentions counts the occurrences of a parameter name (lower
// case), in any letter case, in a Content-Type value ct, and reports
// whether one is followed by "*" (an RFC 2231 extended or continued
// parameter). It counts text inside quoted values too, which can only
// refuse more.
func paramMentions(ct, name string) (n int, extended bool) {
	for i := 0; i+len(name) <= len(ct); i++ {
		if !strings.EqualFold(ct[i:i+len(name)], name) {
			continue
		}
		n++
		if j := i + len(name); j < len(ct) && ct[j] == '*' {
			extended = true
		}
	}
	return n, extended
}

// checkBodyVersion refuses a request body whose Content-Type ct names,
// in its fhirVersion parameter, another FHIR release than the policy's
// (or one it does not know). FHIR lets one endpoint serve several
// releases by that parameter: a server honouring it reads the body as
// that release, or converts it, while fhirauth judges it by the
// elements and compartments of its own.
func (p *Policy) checkBodyVersion(ct string) error {
	if ct == "" || isJSONMedia(ct) {
		return nil
	}
	if n, extended := paramMentions(ct, "fhirversion"); n == 0 {
		return nil
	} else if n > 1 || extended {
		return unsupported("Content-Type %q names the FHIR version more than once or in RFC 2231 notation", clip(ct))
	}
	_, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return invalid("malformed content type %q: %v", clip(ct), err)
	}
	if v, err := fhirspec.ParseVersion(params["fhirversion"]); err != nil || v != p.version {
		return unsupported("the body is declared as FHIR version %q (Content-Type fhirVersion), but this server's requests are judged as FHIR %s; send it in %s, or without fhirVersion",
			clip(params["fhirversion"]), p.version, p.version)
	}
	return nil
}

// mediaType is MediaType with "invalid" for a value it refuses, a type
// no caller accepts.
func mediaType(ct string) string {
	mt, err := MediaType(ct)
	if err != nil {
		return "invalid"
	}
	return mt
}

// isJSONMedia reports whether mt is a FHIR JSON media type.
func isJSONMedia(mt string) bool {
	switch mt {
	case "application/fhir+json", "application/json", "application/json+fhir":
		return true
	}
	return false
}
