package middleware

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

// needsBundleWork reports whether a batch or transaction must be taken
// apart by the middleware (some entries denied, narrowed, or with checks)
// rather than passed through as it is.
func needsBundleWork(d *fhirauth.Decision, narrow, stored bool) bool {
	for _, e := range d.Entries {
		if !e.Allowed || e.NeedsResponseCheck() || (narrow && e.Narrow != nil) || (stored && e.NeedsStoredCheck()) {
			return true
		}
	}
	return false
}

// entryOutcome is what the middleware answers itself for one entry.
type entryOutcome struct {
	status int
	code   string
	reason string
}

// serveBundle handles a batch or transaction whose entries the middleware
// must rework. Denied batch entries (and entries whose stored version
// fails its check) do not reach the server: the Bundle it receives holds
// only the allowed entries, narrowed like top-level requests, and its
// response entries are checked (response checks per entry), then merged
// with an entry-level error for each withheld entry, in the original
// order. For a transaction, any failed stored-version check refuses the
// whole transaction (the policy has already refused transactions with a
// denied entry).
func (m *Middleware) serveBundle(st *requestState, ctx context.Context, next http.Handler, r *http.Request, req *fhirauth.Request, d *fhirauth.Decision) {
	transaction := req.Interaction == fhirauth.Transaction
	top, entries, err := splitBundle(req.Body)
	if err != nil || len(entries) != len(req.Entries) || len(d.Entries) != len(req.Entries) {
		m.refuse(st, http.StatusInternalServerError, "exception", "the Bundle could not be taken apart for authorization")
		return
	}
	withheld := make(map[int]entryOutcome)
	kept := make([]int, 0, len(entries))
	out := make([]json.RawMessage, 0, len(entries))
	for i, raw := range entries {
		fwd, oc, ok := m.prepareEntry(st, ctx, next, r, i, raw, req.Entries[i], d.Entries[i], transaction)
		switch {
		case !ok:
			return
		case oc != nil:
			withheld[i] = *oc
		default:
			kept = append(kept, i)
			out = append(out, fwd)
		}
	}
	if len(kept) == 0 {
		m.writeBundle(st, responseTop(transaction), m.mergeEntries(len(entries), kept, nil, withheld), false)
		return
	}
	body, err := joinBundle(top, out)
	if err != nil {
		m.refuse(st, http.StatusInternalServerError, "exception", "the Bundle could not be rebuilt: "+err.Error())
		return
	}
	setBody(r, body)
	forCheck(r)
	b := newBuffer(m.cfg.maxResponse, m.cfg.budget)
	defer b.release()
	serveBuffered(next, b, r)
	f := b.scan()
	resBody, ok := m.checkedBody(st, b, &f)
	if !ok {
		return
	}
	if !success(b.finalStatus()) || len(resBody) == 0 {
		m.pass(st, b, &f, resBody, false)
		return
	}
	rtop, rentries, err := splitResponseBundle(resBody)
	if err != nil {
		m.refuse(st, http.StatusBadGateway, "exception", "the server's answer to the Bundle is not an unambiguous FHIR JSON Bundle")
		return
	}
	if len(rentries) != len(kept) {
		m.refuse(st, http.StatusBadGateway, "exception", fmt.Sprintf("the server answered %d entries for the %d it was sent", len(rentries), len(kept)))
		return
	}
	st.withheld += checkResponseEntries(d, kept, rentries, withheld)
	if st.withheld > 0 {
		m.cfg.logger.LogAttrs(r.Context(), slog.LevelInfo, "fhirwarden: resources removed from a Bundle response",
			slog.Int("removed", int(st.withheld)), slog.String("client_id", clientID(st)))
	}
	if len(withheld) > 0 {
		st.reason = fmt.Sprintf("%d of %d entries withheld", len(withheld), len(entries))
	}
	m.writeBundleFrom(st, b, &f, rtop, m.mergeEntries(len(entries), kept, rentries, withheld))
}

// prepareEntry readies entry i of a batch or transaction (raw, classified
// as er, decided as ed) for the server: a denied entry, or one whose
// stored version fails its check, is withheld (the returned outcome);
// an allowed one is narrowed and pinned to the stored version checked,
// and returned. In a transaction a withheld entry refuses the whole
// request instead: it is answered here and ok is false.
func (m *Middleware) prepareEntry(st *requestState, ctx context.Context, next http.Handler, r *http.Request, i int, raw json.RawMessage, er *fhirauth.Request, ed *fhirauth.Decision, transaction bool) (fwd json.RawMessage, withheld *entryOutcome, ok bool) {
	if !ed.Allowed {
		return nil, &entryOutcome{status: ed.Status, code: ed.IssueCode, reason: ed.Reason}, true
	}
	if m.cfg.narrow && er.Interaction == fhirauth.Operation && len(er.Body) > 0 && ed.Narrow != nil {
		if transaction {
			m.refuseChallenge(st, http.StatusBadRequest, "not-supported", fmt.Sprintf("transaction refused: entry %d: %v", i, errBodyNotNarrowable), errInvalidRequest)
			return nil, nil, false
		}
		return nil, &entryOutcome{status: http.StatusBadRequest, code: "not-supported", reason: errBodyNotNarrowable.Error()}, true
	}
	var ifMatch string
	checkedIfMatch := false
	if m.cfg.stored && ed.NeedsStoredCheck() {
		etag, status, reason := m.storedVersion(ctx, next, r, ed, er.Method, er.ResourceType, er.ID)
		if status != 0 {
			if transaction {
				if status == http.StatusNotFound {
					status = http.StatusForbidden // the transaction is refused, not "not found"
				}
				m.refuseChallenge(st, status, "forbidden", fmt.Sprintf("transaction refused: entry %d: %s", i, reason), errInsufficientScope)
				return nil, nil, false
			}
			return nil, &entryOutcome{status: status, code: storedIssueCode(status), reason: reason}, true
		}
		pin, ok := pinVersion(entryIfMatch(raw), etag, er.Method)
		if !ok {
			if transaction {
				m.refuse(st, http.StatusPreconditionFailed, "conflict", fmt.Sprintf("transaction refused: entry %d: %s", i, errIfMatch))
				return nil, nil, false
			}
			return nil, &entryOutcome{status: http.StatusPreconditionFailed, code: "conflict", reason: errIfMatch}, true
		}
		ifMatch, checkedIfMatch = pin, true
	}
	// An entry whose stored version was checked is rewritten even
	// without a pin, so that what is forwarded has one request.ifMatch
	// (the one compared) however the client wrote it.
	if (m.cfg.narrow && (ed.Narrow != nil || ed.NeedsResponseCheck())) || checkedIfMatch {
		rewritten, err := rewriteEntry(raw, er, ed, m.cfg.narrow, ifMatch)
		if err != nil {
			m.refuse(st, http.StatusInternalServerError, "exception", fmt.Sprintf("entry %d could not be narrowed: %v", i, err))
			return nil, nil, false
		}
		raw = rewritten
	}
	return raw, nil, true
}

// storedIssueCode is the issue code of an entry withheld by its
// stored-version check with the given status.
func storedIssueCode(status int) string {
	switch {
	case status == http.StatusNotFound:
		return "not-found"
	case status >= 500:
		return "exception"
	}
	return "forbidden"
}

// checkResponseEntries applies each kept entry's response check to its
// response entry (rentries[k] answers entry kept[k]), in place; a failed
// check adds the entry to withheld. It returns the number of resources
// withheld or removed.
func checkResponseEntries(d *fhirauth.Decision, kept []int, rentries []json.RawMessage, withheld map[int]entryOutcome) int32 {
	var n int32
	for k, i := range kept {
		ed := d.Entries[i]
		if !ed.NeedsResponseCheck() {
			continue
		}
		checked, removed, oc := checkEntry(rentries[k], ed)
		if oc != nil {
			withheld[i] = *oc
			n++
			continue
		}
		rentries[k] = checked
		n += int32(removed)
	}
	return n
}

// checkEntry applies an entry decision's response check
// (Decision.CheckResponse, with the entry's response.status) to one
// response entry, which is rebuilt from the members FHIR defines for it
// (see sanitize.go); an entry without a resource passes. A failed check,
// or an entry that cannot be read unambiguously, withholds the entry (the
// returned outcome).
func checkEntry(raw json.RawMessage, ed *fhirauth.Decision) (json.RawMessage, int, *entryOutcome) {
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
		if e["response"], err = marshalObject(r, ""); err != nil {
			return nil, 0, malformed
		}
	}
	rebuild := func(removed int) (json.RawMessage, int, *entryOutcome) {
		b, err := marshalObject(e, "")
		if err != nil {
			return nil, 0, &entryOutcome{status: http.StatusInternalServerError, code: "exception", reason: "rebuilding a response entry failed"}
		}
		return b, removed, nil
	}
	res, ok := e["resource"]
	if !ok || isNull(res) {
		return rebuild(0)
	}
	out, removed, err := ed.CheckResponse(entryStatus(e), res)
	switch {
	case errors.Is(err, fhirauth.ErrHidden):
		return nil, 0, &entryOutcome{status: http.StatusNotFound, code: "not-found", reason: "resource not found"}
	case err != nil:
		return nil, 0, &entryOutcome{status: ed.CheckStatus(), code: checkCode(ed), reason: "response withheld: " + err.Error()}
	}
	e["resource"] = out // as the server sent it, or a Bundle rebuilt from an allow-list
	return rebuild(removed)
}

func checkCode(d *fhirauth.Decision) string {
	if d.CheckStatus() == http.StatusNotFound {
		return "not-found"
	}
	return "forbidden"
}

// entryStatus reads the HTTP status code of a response entry
// (response.status, "200 OK"); 0 when it has none, which a response check
// treats as an error answer.
func entryStatus(e map[string]json.RawMessage) int {
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

// mergeEntries puts the response entries (for the kept indexes) and the
// middleware's own error entries back into the original order.
func (m *Middleware) mergeEntries(n int, kept []int, resp []json.RawMessage, withheld map[int]entryOutcome) []json.RawMessage {
	out := make([]json.RawMessage, n)
	for k, i := range kept {
		if _, ok := withheld[i]; !ok && k < len(resp) {
			out[i] = resp[k]
		}
	}
	for i, oc := range withheld {
		out[i] = m.errorEntry(oc)
	}
	return out
}

// errorEntry is a response entry with an error status and an
// OperationOutcome in response.outcome.
func (m *Middleware) errorEntry(oc entryOutcome) json.RawMessage {
	status := oc.status
	if status < 400 {
		status = http.StatusForbidden
	}
	code := oc.code
	if code == "" {
		code = "forbidden"
	}
	reason := oc.reason
	if status == http.StatusNotFound {
		reason = "resource not found" // existence hiding: as for a missing resource
	}
	statusText, _ := json.Marshal(strconv.Itoa(status) + " " + http.StatusText(status))
	var b bytes.Buffer
	b.WriteString(`{"response":{"status":`)
	b.Write(statusText)
	b.WriteString(`,"outcome":`)
	b.Write(fhirauth.OperationOutcome(m.version, code, reason))
	b.WriteString(`}}`)
	return b.Bytes()
}

// writeBundle answers with a Bundle built by the middleware alone.
func (m *Middleware) writeBundle(st *requestState, top map[string]json.RawMessage, entries []json.RawMessage, head bool) {
	body, err := joinBundle(top, entries)
	if err != nil {
		m.refuse(st, http.StatusInternalServerError, "exception", "building the Bundle response failed")
		return
	}
	h := st.rec.Header()
	h.Set("Content-Type", fhirJSON)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	st.rec.WriteHeader(http.StatusOK)
	if !head {
		_, _ = st.rec.Write(body)
	}
}

// writeBundleFrom answers with the server's response Bundle, entries
// replaced, and the server's headers.
func (m *Middleware) writeBundleFrom(st *requestState, b *buffer, f *headerFacts, top map[string]json.RawMessage, entries []json.RawMessage) {
	body, err := joinBundle(top, entries)
	if err != nil {
		m.refuse(st, http.StatusInternalServerError, "exception", "building the Bundle response failed")
		return
	}
	m.pass(st, b, f, body, false)
}

// responseTop is the top level of a batch-response or
// transaction-response Bundle the middleware answers alone.
func responseTop(transaction bool) map[string]json.RawMessage {
	typ := `"batch-response"`
	if transaction {
		typ = `"transaction-response"`
	}
	return map[string]json.RawMessage{
		"resourceType": json.RawMessage(`"Bundle"`),
		"type":         json.RawMessage(typ),
	}
}

// rewriteEntry narrows one entry's request (request.url, or
// request.ifNoneExist for a conditional create) and sets request.ifMatch
// when the stored version was pinned.
func rewriteEntry(raw json.RawMessage, er *fhirauth.Request, ed *fhirauth.Decision, narrow bool, ifMatch string) (json.RawMessage, error) {
	var e map[string]json.RawMessage
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, err
	}
	var rq map[string]json.RawMessage
	if err := json.Unmarshal(e["request"], &rq); err != nil {
		return nil, err
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
	req, err := marshalObject(rq, "")
	if err != nil {
		return nil, err
	}
	e["request"] = req
	return marshalObject(e, "")
}

// entryIfMatch returns the request.ifMatch of a Bundle entry: none, one,
// or (for a request with several members that a parser could take for
// ifMatch) more than one, which pinVersion refuses.
func entryIfMatch(raw json.RawMessage) []string {
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

// splitBundle decodes a Bundle's top level and its entries, keeping each
// as raw JSON.
func splitBundle(body []byte) (map[string]json.RawMessage, []json.RawMessage, error) {
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

// responseTopMembers are the top-level members of a server's batch or
// transaction response that the middleware passes on.
var responseTopMembers = []string{"resourceType", "id", "meta", "type", "timestamp", "entry"}

// splitResponseBundle reads the server's answer to a batch or
// transaction strictly: one JSON object without duplicate or case-variant
// keys, a Bundle, only the members of responseTopMembers kept.
func splitResponseBundle(body []byte) (map[string]json.RawMessage, []json.RawMessage, error) {
	top, err := strictObject(body)
	if err != nil {
		return nil, nil, err
	}
	if rt, _ := stringMember(top, "resourceType"); rt != "Bundle" {
		return nil, nil, errNotBundle
	}
	keepOnly(top, responseTopMembers)
	var entries []json.RawMessage
	if raw, ok := top["entry"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &entries); err != nil {
			return nil, nil, err
		}
	}
	return top, entries, nil
}

// joinBundle encodes a Bundle from its top level and entries.
func joinBundle(top map[string]json.RawMessage, entries []json.RawMessage) ([]byte, error) {
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
	return marshalObject(t, "resourceType")
}

// marshalObject encodes members as a JSON object, first the member named
// first (if present), then the others in sorted order.
func marshalObject(members map[string]json.RawMessage, first string) ([]byte, error) {
	keys := make([]string, 0, len(members))
	for k := range members {
		if k != first {
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
