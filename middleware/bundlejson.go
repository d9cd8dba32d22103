package middleware

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

// The middleware takes batch and transaction Bundles apart and puts them
// back together with jsonsyntax's readers and direct appends: the
// members it does not change are copied as written, the strings it
// writes are quoted with jsonsyntax.AppendQuote. Every object it reads is
// read with jsonsyntax's reader, so duplicate and case-variant member
// names are refused by jsonsyntax's one rule (ErrDuplicateName).

var (
	errNoEntries   = errors.New("middleware: the Bundle has no entry array")
	errNoRequest   = errors.New("middleware: the entry has no request")
	errNoURL       = errors.New("middleware: the entry's request has no url")
	errNoCondition = errors.New("middleware: the conditional create has no ifNoneExist")
	errNotString   = errors.New("middleware: not a JSON string")
)

// requestBundle is a batch or transaction as the client sent it, taken
// apart: its entries, and where its entry array lies in the body, so
// that the Bundle can be put back together around other entries with
// everything else as the client wrote it.
type requestBundle struct {
	body       []byte
	entryStart int // body[entryStart:entryEnd] is the entry array
	entryEnd   int
	entries    [][]byte // the entries, viewing body
}

// splitBundle reads a batch or transaction Bundle (one JSON object,
// nothing after it) and its entry array, of about n entries.
func splitBundle(body []byte, n int) (requestBundle, error) {
	b := requestBundle{body: body, entryStart: -1, entries: make([][]byte, 0, n)}
	obj := jsonsyntax.ReadObject(body, 0, 0)
	for obj.Next() {
		if string(obj.Name()) != "entry" {
			continue // the next call of Next reads the value
		}
		at, depth := obj.ValueStart()
		entries, end, err := readArray(body, at, depth, b.entries)
		if err != nil {
			return requestBundle{}, err
		}
		obj.SkipTo(end)
		b.entryStart, b.entryEnd, b.entries = at, end, entries
	}
	if err := obj.Done(true); err != nil {
		return requestBundle{}, err
	}
	if b.entryStart < 0 {
		return requestBundle{}, errNoEntries
	}
	return b, nil
}

// readArray appends the elements of the array at data[at] to dst and
// returns them with the index after the array.
func readArray(data []byte, at, depth int, dst [][]byte) ([][]byte, int, error) {
	arr := jsonsyntax.ReadArray(data, at, depth)
	for arr.Next() {
		dst = append(dst, arr.Value())
	}
	if err := arr.Err(); err != nil {
		return nil, 0, err
	}
	return dst, arr.End(), nil
}

// appendArray appends a JSON array of the values (nil as null).
func appendArray(dst []byte, values [][]byte) []byte {
	dst = append(dst, '[')
	for i, v := range values {
		if i > 0 {
			dst = append(dst, ',')
		}
		if v == nil {
			v = []byte("null")
		}
		dst = append(dst, v...)
	}
	return append(dst, ']')
}

// responseTopMembers are the top-level members of a server's batch or
// transaction response that the middleware passes on, in the order it
// writes them.
var responseTopMembers = []string{"resourceType", "id", "meta", "type", "timestamp"}

// responseBundle is the top level of a batch or transaction response
// (the values of responseTopMembers, nil when absent) and its entries.
type responseBundle struct {
	top     [][]byte
	entries [][]byte
}

// splitResponseBundle reads the server's answer to a batch or
// transaction (of about n entries) strictly: one JSON object without
// duplicate or case-variant names, a Bundle; only the members of
// responseTopMembers and the entries are kept.
func splitResponseBundle(body []byte, n int) (responseBundle, error) {
	b := responseBundle{top: make([][]byte, len(responseTopMembers)), entries: make([][]byte, 0, n)}
	obj := jsonsyntax.ReadObject(body, 0, 0)
	for obj.Next() {
		name := string(obj.Name())
		if name == "entry" {
			if err := b.readEntries(&obj, body); err != nil {
				return responseBundle{}, err
			}
			continue
		}
		for i, n := range responseTopMembers {
			if name == n {
				b.top[i] = obj.Value()
			}
		}
	}
	if err := obj.Done(true); err != nil {
		return responseBundle{}, err
	}
	if rt, err := jsonsyntax.Unquote(b.top[0]); err != nil || rt != "Bundle" {
		return responseBundle{}, errNotBundle
	}
	return b, nil
}

// readEntries reads the entry member obj is at: null (no entries) or an
// array.
func (b *responseBundle) readEntries(obj *jsonsyntax.ObjectReader, body []byte) error {
	at, depth := obj.ValueStart()
	if at < 0 {
		return obj.Err()
	}
	if strings.HasPrefix(string(body[at:min(at+4, len(body))]), "null") {
		obj.Value()
		return obj.Err()
	}
	entries, end, err := readArray(body, at, depth, b.entries)
	if err != nil {
		return err
	}
	obj.SkipTo(end)
	b.entries = entries
	return nil
}

// responseTop is the top level of a batch-response or
// transaction-response Bundle the middleware answers alone.
func responseTop(transaction bool) [][]byte {
	top := make([][]byte, len(responseTopMembers))
	top[0] = []byte(`"Bundle"`)
	top[3] = []byte(`"batch-response"`)
	if transaction {
		top[3] = []byte(`"transaction-response"`)
	}
	return top
}

// joinBundle writes a Bundle from its top-level members (the values of
// responseTopMembers, nil when absent) and its entries (none: no entry
// member).
func joinBundle(top [][]byte, entries [][]byte) []byte {
	n := 64
	for _, v := range top {
		n += len(v) + 16
	}
	for _, e := range entries {
		n += len(e) + 1
	}
	out := make([]byte, 0, n)
	out = append(out, '{')
	for i, v := range top {
		if v == nil {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = appendKey(out, responseTopMembers[i])
		out = append(out, v...)
	}
	if len(entries) > 0 {
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = appendKey(out, "entry")
		out = appendArray(out, entries)
	}
	return append(out, '}')
}

// rewriteEntry appends to dst the entry raw with its request narrowed
// (request.url, or request.ifNoneExist for a conditional create) and,
// when the stored version was pinned (ifMatch not empty), with
// request.ifMatch set to it in place of every member a parser could read
// as ifMatch. An entry whose response is checked goes without its
// conditional members (see entryConditional), narrowed or not. The
// entry's other members are copied as written.
func rewriteEntry(dst, raw []byte, er *fhirauth.Request, ed *fhirauth.Decision, narrow bool, ifMatch string) ([]byte, error) {
	sawRequest := false
	out, err := appendMembers(dst, raw, func(out, name, value []byte) ([]byte, bool, error) {
		if string(name) != "request" {
			return append(out, value...), true, nil
		}
		sawRequest = true
		out, err := appendRequest(out, value, er, ed, narrow, ifMatch)
		return out, true, err
	})
	if err != nil {
		return nil, err
	}
	if !sawRequest {
		return nil, errNoRequest
	}
	return append(out, '}'), nil
}

// appendRequest appends an entry's request (the object v) rewritten as
// rewriteEntry describes.
func appendRequest(out, v []byte, er *fhirauth.Request, ed *fhirauth.Decision, narrow bool, ifMatch string) ([]byte, error) {
	narrowing := narrow && (ed.Narrow != nil || ed.NeedsResponseCheck())
	narrowURL := narrowing && er.Interaction != fhirauth.Create
	// A conditional create's ifNoneExist is rewritten even when nothing
	// narrows it, unless it is a plain query: like the If-None-Exist
	// header (narrowIfNoneExist), fhirauth reads "Type?query" and the
	// type's absolute URL from after the "?", which the server may not.
	narrowINE := narrow && er.Interaction == fhirauth.Create && er.Conditional
	checked, write := ed.NeedsResponseCheck(), isWrite(er.Interaction)
	start := len(out)
	sawURL, sawINE := false, false
	out, err := appendMembers(out, v, func(out, name, value []byte) ([]byte, bool, error) {
		switch {
		case ifMatch != "" && jsonsyntax.FoldEqual(name, "ifMatch"):
			return out, false, nil // replaced below
		case checked && entryConditional(name, write):
			return out, false, nil
		case string(name) == "url" && narrowURL:
			sawURL = true
			out, err := appendNarrowedURL(out, value, er, ed)
			return out, true, err
		case string(name) == "ifNoneExist" && narrowINE:
			sawINE = true
			if !narrowing && plainQueryString(value) {
				return append(out, value...), true, nil
			}
			out, err := appendNarrowedQuery(out, er, ed)
			return out, true, err
		}
		return append(out, value...), true, nil
	})
	if err != nil {
		return nil, err
	}
	switch {
	case narrowURL && !sawURL:
		return nil, errNoURL
	case narrowINE && !sawINE:
		return nil, errNoCondition
	}
	if ifMatch != "" {
		if len(out) > start+1 {
			out = append(out, ',')
		}
		out = appendKey(out, "ifMatch")
		out = jsonsyntax.AppendQuote(out, ifMatch)
	}
	return append(out, '}'), nil
}

// entryConditional reports whether the request member name is one an
// entry whose response is checked goes without, as a checked top-level
// request goes without the headers of checkedHeaders: ifNoneMatch and
// ifModifiedSince, and for an entry that is not a write ifMatch, in any
// spelling a parser could read as one of them. The server would answer
// 304 Not Modified (or 412) without the resource, so there would be
// nothing to check, and the bare status would confirm that another
// patient's resource exists, and its version. A write keeps its ifMatch:
// it guards the write (and the stored-version pin replaces it anyway).
func entryConditional(name []byte, write bool) bool {
	return jsonsyntax.FoldEqual(name, "ifNoneMatch") || jsonsyntax.FoldEqual(name, "ifModifiedSince") ||
		(!write && jsonsyntax.FoldEqual(name, "ifMatch"))
}

// isWrite reports whether the interaction changes the server's data.
func isWrite(i fhirauth.Interaction) bool {
	return i == fhirauth.Create || i == fhirauth.Update || i == fhirauth.Patch || i == fhirauth.Delete
}

// appendNarrowedURL appends the request.url (the JSON string v) of the
// entry classified as er with the decision's narrowing applied to its
// query, as narrowRequest applies it to a request's.
func appendNarrowedURL(out, v []byte, er *fhirauth.Request, ed *fhirauth.Decision) ([]byte, error) {
	u, err := unquoteString(v)
	if err != nil {
		return nil, err
	}
	path, query, _ := strings.Cut(u, "?")
	if len(ed.Narrow) == 0 && query == "" {
		// No query and nothing to add (a read): the rewrite below
		// would write u again.
		return append(out, v...), nil
	}
	narrowed, err := narrowedQuery(er.Method, query, er.Params, ed)
	switch {
	case err != nil:
		return nil, err
	case narrowed == query:
		return append(out, v...), nil
	case narrowed != "":
		path += "?" + narrowed
	}
	return jsonsyntax.AppendQuote(out, path), nil
}

// appendNarrowedQuery appends the request.ifNoneExist of the entry
// classified as er with the decision's narrowing applied, from the
// parameters fhirauth judged (er.IfNoneExist), as narrowIfNoneExist does
// for a request's header.
func appendNarrowedQuery(out []byte, er *fhirauth.Request, ed *fhirauth.Decision) ([]byte, error) {
	if len(er.IfNoneExist) == 0 {
		return nil, errNoCondition
	}
	q := make(url.Values, len(er.IfNoneExist)+len(ed.Narrow))
	for k, vs := range er.IfNoneExist {
		q[k] = vs[:len(vs):len(vs)] // ApplyTo's appends copy
	}
	return jsonsyntax.AppendQuote(out, ed.ApplyTo(q).Encode()), nil
}

// plainQueryString reports whether the JSON string v holds a plainQuery.
func plainQueryString(v []byte) bool {
	s, err := unquoteString(v)
	return err == nil && plainQuery(s)
}

// unquoteString reads the JSON string v.
func unquoteString(v []byte) (string, error) {
	if len(v) == 0 || v[0] != '"' {
		return "", errNotString
	}
	return jsonsyntax.Unquote(v)
}

// entryIfMatch returns the request.ifMatch of a Bundle entry: none, one,
// or (for a request with several members that a parser could take for
// ifMatch, or one that cannot be read) more than one, which pinVersion
// refuses.
func entryIfMatch(raw []byte) []string {
	unreadable := []string{"", ""}
	rq := memberValue(raw, "request")
	if rq == nil {
		return unreadable
	}
	var out []string
	obj := jsonsyntax.ReadObject(rq, 0, 0)
	for obj.Next() {
		if !jsonsyntax.FoldEqual(obj.Name(), "ifMatch") {
			continue
		}
		s, err := unquoteString(obj.Value())
		if err != nil {
			return unreadable
		}
		out = append(out, s)
	}
	if obj.Done(true) != nil {
		return unreadable
	}
	return out
}

// memberValue returns the value of the member named name of the object
// raw, nil when it is absent or raw is not an object that reads whole.
func memberValue(raw []byte, name string) []byte {
	var v []byte
	obj := jsonsyntax.ReadObject(raw, 0, 0)
	for obj.Next() {
		if string(obj.Name()) == name {
			v = obj.Value()
		}
	}
	if obj.Done(true) != nil {
		return nil
	}
	return v
}

// entryStatus reads the HTTP status code of a response entry's response
// (response.status, "200 OK"); 0 when it has none, which a response check
// treats as an error answer.
func entryStatus(response []byte) int {
	st, err := unquoteString(memberValue(response, "status"))
	if err != nil {
		return 0
	}
	s := strings.TrimSpace(st)
	if len(s) < 3 {
		return 0
	}
	n, err := strconv.Atoi(s[:3])
	if err != nil || n < 100 {
		return 0
	}
	return n
}

// appendWithout appends the object raw without its member named drop.
func appendWithout(out, raw []byte, drop string) ([]byte, error) {
	out, err := appendMembers(out, raw, func(out, name, value []byte) ([]byte, bool, error) {
		return append(out, value...), string(name) != drop, nil
	})
	if err != nil {
		return nil, fmt.Errorf("middleware: %w", err)
	}
	return append(out, '}'), nil
}

// appendMembers appends '{' and the members of the object raw to out,
// in their order; each member's value is what edit appends for it (edit
// gets out after the member's name and colon, the name unquoted and the
// value as written), and a member for which edit reports keep false is
// left out. The caller closes the object, so it can add members of its
// own.
func appendMembers(out, raw []byte, edit func(out, name, value []byte) (edited []byte, keep bool, err error)) ([]byte, error) {
	start := len(out)
	out = append(out, '{')
	obj := jsonsyntax.ReadObject(raw, 0, 0)
	for obj.Next() {
		name := obj.Name()
		value := obj.Value()
		if value == nil {
			break // Done says why
		}
		mark := len(out)
		if mark > start+1 {
			out = append(out, ',')
		}
		out = append(jsonsyntax.AppendQuote(out, string(name)), ':')
		edited, keep, err := edit(out, name, value)
		switch {
		case err != nil:
			return nil, err
		case keep:
			out = edited
		default:
			out = out[:mark]
		}
	}
	if err := obj.Done(true); err != nil {
		return nil, err
	}
	return out, nil
}
