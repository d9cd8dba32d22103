package middleware

// The Bundle code of the middleware as it was written on encoding/json
// (maps of json.RawMessage, json.Unmarshal and json.Marshal per entry),
// kept here as the reference the direct readers and writers of
// bundle.go and bundlejson.go are compared with (bundle_diff_test.go).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

var refResponseTopMembers = []string{"resourceType", "id", "meta", "type", "timestamp", "entry"}

func refKeepOnly(m map[string]json.RawMessage, names []string) {
	for k := range m {
		if !slices.Contains(names, k) {
			delete(m, k)
		}
	}
}

func refIsNull(raw json.RawMessage) bool {
	return strings.TrimSpace(string(raw)) == "null"
}

// refCheckEntry applies an entry decision's response check
// (Decision.CheckResponse, with the entry's response.status) to one
// response entry, which is rebuilt from the members FHIR defines for it
// (see sanitize.go); an entry without a resource passes when it is an
// error answer (or answers a write) and the check does not hide it. A
// failed check, or an entry that cannot be read unambiguously, withholds
// the entry (the returned outcome).
func refCheckEntry(raw json.RawMessage, ed *fhirauth.Decision) (json.RawMessage, int, *entryOutcome) {
	malformed := &entryOutcome{status: http.StatusBadGateway, code: "exception", reason: "malformed response entry"}
	clean, ok := sanitizeEntry(raw)
	if !ok {
		return nil, 0, malformed
	}
	e, err := strictObject(clean)
	if err != nil {
		return nil, 0, malformed
	}
	delete(e, "search")
	delete(e, "request")
	if resp, ok := e["response"]; ok {
		r, err := strictObject(resp)
		if err != nil {
			return nil, 0, malformed
		}
		delete(r, "location") // a read or search creates nothing: a location could name anything
		if e["response"], err = refMarshalObject(r, ""); err != nil {
			return nil, 0, malformed
		}
	}
	rebuild := func(removed int) (json.RawMessage, int, *entryOutcome) {
		b, err := refMarshalObject(e, "")
		if err != nil {
			return nil, 0, &entryOutcome{status: http.StatusInternalServerError, code: "exception", reason: "rebuilding a response entry failed"}
		}
		return b, removed, nil
	}
	res, ok := e["resource"]
	if refIsNull(res) {
		res, ok = nil, false
	}
	out, removed, err := ed.CheckResponse(refEntryStatus(e), res)
	switch {
	case errors.Is(err, fhirauth.ErrHidden):
		return nil, 0, &entryOutcome{status: http.StatusNotFound, code: "not-found", reason: "resource not found"}
	case err != nil:
		return nil, 0, &entryOutcome{status: ed.CheckStatus(), code: checkCode(ed), reason: "response withheld: " + err.Error()}
	case !ok:
		if refEntryStatus(e) < 400 && (ed.Request() == nil || !isWrite(ed.Request().Interaction)) {
			return nil, 0, &entryOutcome{status: ed.CheckStatus(), code: checkCode(ed), reason: "response withheld: the server answered without the resource"}
		}
		return rebuild(0)
	}
	e["resource"] = out // as the server sent it, or a Bundle rebuilt from an allow-list
	return rebuild(removed)
}

// refEntryStatus reads the HTTP status code of a response entry
// (response.status, "200 OK"); 0 when it has none, which a response check
// treats as an error answer.
func refEntryStatus(e map[string]json.RawMessage) int {
	var resp struct {
		Status string `json:"status"`
	}
	if json.Unmarshal(e["response"], &resp) != nil {
		return 0
	}
	s := strings.TrimSpace(resp.Status)
	if len(s) < 3 {
		return 0
	}
	n, err := strconv.Atoi(s[:3])
	if err != nil || n < 100 {
		return 0
	}
	return n
}

// refRewriteEntry narrows one entry's request (request.url, or
// request.ifNoneExist for a conditional create) and sets request.ifMatch
// when the stored version was pinned.
func refRewriteEntry(raw json.RawMessage, er *fhirauth.Request, ed *fhirauth.Decision, narrow bool, ifMatch string) (json.RawMessage, error) {
	var e map[string]json.RawMessage
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, err
	}
	var rq map[string]json.RawMessage
	if err := json.Unmarshal(e["request"], &rq); err != nil {
		return nil, err
	}
	if e == nil || rq == nil { // null: the one change to the reference, which panicked on it
		return nil, errors.New("null entry or request")
	}
	if narrow && (ed.Narrow != nil || ed.NeedsResponseCheck()) {
		if er.Interaction == fhirauth.Create {
			if er.Conditional {
				var ine string
				if err := json.Unmarshal(rq["ifNoneExist"], &ine); err != nil {
					return nil, err
				}
				q, err := url.ParseQuery(ine)
				if err != nil {
					return nil, err
				}
				if rq["ifNoneExist"], err = json.Marshal(ed.ApplyTo(q).Encode()); err != nil {
					return nil, err
				}
			}
		} else {
			var u string
			if err := json.Unmarshal(rq["url"], &u); err != nil {
				return nil, err
			}
			path, query, _ := strings.Cut(u, "?")
			q, err := url.ParseQuery(query)
			if err != nil {
				return nil, err
			}
			enc := ed.ApplyTo(q).Encode()
			if enc != "" {
				path += "?" + enc
			}
			if rq["url"], err = json.Marshal(path); err != nil {
				return nil, err
			}
		}
	}
	if ifMatch != "" {
		v, err := json.Marshal(ifMatch)
		if err != nil {
			return nil, err
		}
		rq["ifMatch"] = v
	}
	req, err := refMarshalObject(rq, "")
	if err != nil {
		return nil, err
	}
	e["request"] = req
	return refMarshalObject(e, "")
}

// refEntryIfMatch returns the request.ifMatch of a Bundle entry: none, one,
// or (for a request with several members that a parser could take for
// ifMatch) more than one, which pinVersion refuses.
func refEntryIfMatch(raw json.RawMessage) []string {
	var e map[string]json.RawMessage
	if json.Unmarshal(raw, &e) != nil {
		return []string{"", ""}
	}
	var rq map[string]json.RawMessage
	if json.Unmarshal(e["request"], &rq) != nil {
		return []string{"", ""}
	}
	var out []string
	for k, v := range rq {
		if !jsonsyntax.FoldEqual(k, "ifMatch") {
			continue
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			return []string{"", ""}
		}
		out = append(out, s)
	}
	return out
}

// refSplitBundle decodes a Bundle's top level and its entries, keeping each
// as raw JSON.
func refSplitBundle(body []byte) (map[string]json.RawMessage, []json.RawMessage, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, nil, err
	}
	if top == nil {
		return nil, nil, fmt.Errorf("not a JSON object")
	}
	var entries []json.RawMessage
	if raw, ok := top["entry"]; ok {
		if err := json.Unmarshal(raw, &entries); err != nil {
			return nil, nil, err
		}
	}
	return top, entries, nil
}

// refSplitResponseBundle reads the server's answer to a batch or
// transaction strictly: one JSON object without duplicate or case-variant
// keys, a Bundle, only the members of responseTopMembers kept.
func refSplitResponseBundle(body []byte) (map[string]json.RawMessage, []json.RawMessage, error) {
	top, err := strictObject(body)
	if err != nil {
		return nil, nil, err
	}
	if rt, _ := stringMember(top, "resourceType"); rt != "Bundle" {
		return nil, nil, errNotBundle
	}
	refKeepOnly(top, refResponseTopMembers)
	var entries []json.RawMessage
	if raw, ok := top["entry"]; ok && !refIsNull(raw) {
		if err := json.Unmarshal(raw, &entries); err != nil {
			return nil, nil, err
		}
	}
	return top, entries, nil
}

// refJoinBundle encodes a Bundle from its top level and entries.
func refJoinBundle(top map[string]json.RawMessage, entries []json.RawMessage) ([]byte, error) {
	t := make(map[string]json.RawMessage, len(top)+1)
	for k, v := range top {
		t[k] = v
	}
	delete(t, "entry")
	if len(entries) > 0 {
		e, err := json.Marshal(entries)
		if err != nil {
			return nil, err
		}
		t["entry"] = e
	}
	return refMarshalObject(t, "resourceType")
}

// refMarshalObject encodes members as a JSON object, first the member named
// first (if present), then the others in sorted order.
func refMarshalObject(members map[string]json.RawMessage, first string) ([]byte, error) {
	keys := make([]string, 0, len(members))
	for k := range members {
		if k != first || first == "" { // first == "": none is special; a member named "" stays
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if _, ok := members[first]; ok && first != "" {
		keys = append([]string{first}, keys...)
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		v := members[k]
		if !json.Valid(v) {
			return nil, fmt.Errorf("member %q is not valid JSON", k)
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
