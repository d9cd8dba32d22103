package middleware

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

// needsBundleWork reports whether a batch or transaction must be taken
// apart by the middleware (some entries denied, narrowed, with checks, or
// conditional creates whose ifNoneExist is to be sent as judged) rather
// than passed through as it is.
func needsBundleWork(req *fhirauth.Request, d *fhirauth.Decision, narrow, stored bool) bool {
	for i, e := range d.Entries {
		if !e.Allowed || e.NeedsResponseCheck() || (narrow && e.Narrow != nil) || (stored && e.NeedsStoredCheck()) {
			return true
		}
		if narrow && i < len(req.Entries) && req.Entries[i] != nil &&
			req.Entries[i].Interaction == fhirauth.Create && req.Entries[i].Conditional {
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
// whole transaction, naming the lowest-numbered failing entry (the
// policy has already refused transactions with a denied entry).
func (m *Middleware) serveBundle(st *requestState, ctx context.Context, next http.Handler, r *http.Request, req *fhirauth.Request, d *fhirauth.Decision) {
	transaction := req.Interaction == fhirauth.Transaction
	bundle, err := splitBundle(req.Body, len(req.Entries))
	if err != nil || len(bundle.entries) != len(req.Entries) || len(d.Entries) != len(req.Entries) {
		m.refuse(st, http.StatusInternalServerError, "exception", "the Bundle could not be taken apart for authorization")
		return
	}
	entries := bundle.entries
	checks := m.checkStoredEntries(ctx, next, r, entries, req, d, transaction)
	withheld := make(map[int]entryOutcome)
	kept := make([]int, 0, len(entries))
	// The Bundle forwarded: the client's, with the kept entries, as
	// prepared, in place of its entry array.
	fwd := make([]byte, 0, len(req.Body)+len(entries)*64)
	if !st.body.holdMore(int64(cap(fwd))) {
		// The copy is held until the request is over, as the body is.
		m.refuseBusy(st)
		return
	}
	fwd = append(append(fwd, bundle.body[:bundle.entryStart]...), '[')
	for i, raw := range entries {
		mark := len(fwd)
		if len(kept) > 0 {
			fwd = append(fwd, ',')
		}
		var oc *entryOutcome
		var ok bool
		fwd, oc, ok = m.prepareEntry(st, fwd, i, raw, req.Entries[i], d.Entries[i], &checks[i], transaction)
		switch {
		case !ok:
			return
		case oc != nil:
			withheld[i] = *oc
			fwd = fwd[:mark]
		default:
			kept = append(kept, i)
		}
	}
	if len(kept) == 0 {
		m.writeBundle(st, responseTop(transaction), m.mergeEntries(len(entries), kept, nil, withheld), false)
		return
	}
	setBody(r, append(append(fwd, ']'), bundle.body[bundle.entryEnd:]...))
	forCheck(r)
	b := newBuffer(m.cfg.maxResponse, m.cfg.budget)
	defer b.release()
	serveBuffered(next, b, r)
	f := b.scan()
	resBody, ok := m.checkedBody(st, b, &f)
	checked := keptChecked(d, kept)
	if !ok || (checked && m.refuseNoBundle(st, b.finalStatus(), resBody)) {
		return
	}
	if checked {
		// As for a checked Bundle or error answer of a single request:
		// the locations would name what the entries held (or another
		// patient's resource) unchecked.
		m.dropLocations(b, &f)
	}
	if !success(b.finalStatus()) || len(resBody) == 0 {
		m.pass(st, b, &f, resBody, false)
		return
	}
	resp, err := splitResponseBundle(resBody, len(kept))
	if err != nil {
		m.refuse(st, http.StatusBadGateway, "exception", "the server's answer to the Bundle is not an unambiguous FHIR JSON Bundle")
		return
	}
	if len(resp.entries) != len(kept) {
		m.refuse(st, http.StatusBadGateway, "exception", fmt.Sprintf("the server answered %d entries for the %d it was sent", len(resp.entries), len(kept)))
		return
	}
	st.withheld += checkResponseEntries(d, kept, resp.entries, withheld)
	if st.withheld > 0 {
		m.cfg.logger.LogAttrs(r.Context(), slog.LevelInfo, "fhirwarden: resources removed from a Bundle response",
			slog.Int("removed", int(st.withheld)), slog.String("client_id", clientID(st)))
	}
	if len(withheld) > 0 {
		st.reason = fmt.Sprintf("%d of %d entries withheld", len(withheld), len(entries))
	}
	m.pass(st, b, &f, joinBundle(resp.top, m.mergeEntries(len(entries), kept, resp.entries, withheld)), false)
}

// bodyNotNarrowable reports whether an allowed entry is an operation
// whose parameters are in its body, where narrowing cannot reach them.
func (m *Middleware) bodyNotNarrowable(er *fhirauth.Request, ed *fhirauth.Decision) bool {
	return ed.Allowed && m.cfg.narrow && er.Interaction == fhirauth.Operation && len(er.Body) > 0 && ed.Narrow != nil
}

// checkStoredEntries runs the stored-version checks of the entries that
// need one (see storedEntryReads); in a transaction, only of the entries
// before the first that is refused without one.
func (m *Middleware) checkStoredEntries(ctx context.Context, next http.Handler, r *http.Request, entries [][]byte, req *fhirauth.Request, d *fhirauth.Decision, transaction bool) []entryStoredCheck {
	checks := make([]entryStoredCheck, len(entries))
	if !m.cfg.stored {
		return checks
	}
	var todo []int
	for i := range entries {
		er, ed := req.Entries[i], d.Entries[i]
		if transaction && m.bodyNotNarrowable(er, ed) {
			break
		}
		if ed.Allowed && ed.NeedsStoredCheck() && !m.bodyNotNarrowable(er, ed) {
			todo = append(todo, i)
		}
	}
	if len(todo) > 0 {
		s := storedEntryReads{m: m, next: next, r: r, raw: entries, req: req, d: d,
			transaction: transaction, todo: todo, checks: checks}
		s.run(ctx)
	}
	return checks
}

// prepareEntry readies entry i of a batch or transaction (raw, classified
// as er, decided as ed, its stored-version check c) for the server: a
// denied entry, or one whose stored version failed its check, is withheld
// (the returned outcome); an allowed one is narrowed and pinned to the
// stored version checked, and appended to dst. In a transaction a
// withheld entry refuses the whole request instead: it is answered here
// and ok is false.
func (m *Middleware) prepareEntry(st *requestState, dst []byte, i int, raw []byte, er *fhirauth.Request, ed *fhirauth.Decision, c *entryStoredCheck, transaction bool) (out []byte, withheld *entryOutcome, ok bool) {
	if !ed.Allowed {
		return dst, &entryOutcome{status: ed.Status, code: ed.IssueCode, reason: ed.Reason}, true
	}
	if m.bodyNotNarrowable(er, ed) {
		if transaction {
			m.refuseChallenge(st, http.StatusBadRequest, "not-supported", fmt.Sprintf("transaction refused: entry %d: %v", i, errBodyNotNarrowable), errInvalidRequest)
			return dst, nil, false
		}
		return dst, &entryOutcome{status: http.StatusBadRequest, code: "not-supported", reason: errBodyNotNarrowable.Error()}, true
	}
	checked := m.cfg.stored && ed.NeedsStoredCheck()
	if checked {
		if oc := storedOutcome(c); oc != nil {
			if transaction {
				m.refuseTransactionEntry(st, i, oc)
				return dst, nil, false
			}
			return dst, oc, true
		}
	}
	// An entry whose stored version was checked is rewritten even
	// without a pin, so that what is forwarded has one request.ifMatch
	// (the one compared) however the client wrote it; one whose response
	// is checked is rewritten even when narrowing is off, so that it goes
	// without its conditional members (entryConditional); a conditional
	// create is rewritten so that the server reads the ifNoneExist query
	// fhirauth judged (appendRequest).
	ine := m.cfg.narrow && er.Interaction == fhirauth.Create && er.Conditional
	if !(m.cfg.narrow && ed.Narrow != nil) && !ed.NeedsResponseCheck() && !checked && !ine {
		return append(dst, raw...), nil, true
	}
	out, err := rewriteEntry(dst, raw, er, ed, m.cfg.narrow, c.pin)
	if err != nil {
		m.refuse(st, http.StatusInternalServerError, "exception", fmt.Sprintf("entry %d could not be narrowed: %v", i, err))
		return dst, nil, false
	}
	return out, nil, true
}

// refuseNoBundle refuses, with 502, an answer to the forwarded Bundle
// that is neither a Bundle nor an error (status < 400), and reports
// whether it did: a 202 Accepted of Prefer: respond-async, a redirect, a
// 2xx without a body. The caller asks only when a kept entry's response
// must be checked (keptChecked): such an answer holds no entry to check,
// and the result it points to (Content-Location, Location) would be
// served unchecked; the refusal goes without them.
func (m *Middleware) refuseNoBundle(st *requestState, status int, body []byte) bool {
	if status >= 400 || (success(status) && len(body) > 0) {
		return false
	}
	m.refuse(st, http.StatusBadGateway, "exception", fmt.Sprintf("the server answered the Bundle with status %d and no Bundle "+
		"(an asynchronous answer, a redirect), so the entries' responses cannot be checked for authorization; send it without Prefer: respond-async", status))
	return true
}

// keptChecked reports whether the response of one of the kept entries
// must be checked.
func keptChecked(d *fhirauth.Decision, kept []int) bool {
	for _, i := range kept {
		if d.Entries[i].NeedsResponseCheck() {
			return true
		}
	}
	return false
}

// storedOutcome is the outcome of an entry withheld by its stored-version
// check c, nil when the check passed.
func storedOutcome(c *entryStoredCheck) *entryOutcome {
	switch {
	case !c.done: // not run: the request was cancelled
		return &entryOutcome{status: http.StatusServiceUnavailable, code: "exception", reason: "the stored-version check did not run"}
	case c.status != 0:
		return &entryOutcome{status: c.status, code: storedIssueCode(c.status), reason: c.reason}
	case c.mismatch:
		return &entryOutcome{status: http.StatusPreconditionFailed, code: "conflict", reason: errIfMatch}
	}
	return nil
}

// refuseTransactionEntry refuses a transaction for entry i, withheld with
// oc by its stored-version check.
func (m *Middleware) refuseTransactionEntry(st *requestState, i int, oc *entryOutcome) {
	reason := fmt.Sprintf("transaction refused: entry %d: %s", i, oc.reason)
	switch oc.status {
	case http.StatusPreconditionFailed:
		m.refuse(st, oc.status, "conflict", reason)
	case http.StatusNotFound: // the transaction is refused, not "not found"
		m.refuseChallenge(st, http.StatusForbidden, "forbidden", reason, errInsufficientScope)
	default:
		m.refuseChallenge(st, oc.status, "forbidden", reason, errInsufficientScope)
	}
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
func checkResponseEntries(d *fhirauth.Decision, kept []int, rentries [][]byte, withheld map[int]entryOutcome) int32 {
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
// (see sanitize.go) less its search, request and response.location. A
// failed check, or an entry that cannot be read unambiguously, withholds
// the entry (the returned outcome).
//
// An entry without a resource passes if it is an error answer (or
// answers a write), as at top level. Under existence hiding a 404 or 410
// for a single resource is answered with the middleware's own not-found
// entry, the very entry it writes for a resource withheld, as a top-level
// read answers both with one body: the server's own entry (its
// diagnostics, its member order) would tell a missing resource from a
// withheld one. A read answered without its resource and without an
// error (a 304 Not Modified, were a conditional member to reach the
// server) has nothing to check and is withheld (entryWithoutResource).
func checkEntry(raw []byte, ed *fhirauth.Decision) ([]byte, int, *entryOutcome) {
	malformed := &entryOutcome{status: http.StatusBadGateway, code: "exception", reason: "malformed response entry"}
	clean, ok := sanitizeEntry(raw)
	if !ok {
		return nil, 0, malformed
	}
	members := make([][]byte, len(entryMembers))
	obj := jsonsyntax.ReadObject(clean, 0, 0)
	for obj.Next() {
		if i := slices.Index(entryMembers, string(obj.Name())); i >= 0 {
			members[i] = obj.Value()
		}
	}
	if obj.Done(true) != nil {
		return nil, 0, malformed
	}
	members[entrySearch], members[entryRequest] = nil, nil
	res := members[entryResource]
	if isNullValue(res) {
		res = nil
	}
	// Checked with or without a resource: CheckResponse hides a 404 or
	// 410 by its status alone.
	status := entryStatus(members[entryResponse])
	checked, removed, err := ed.CheckResponse(status, res)
	switch {
	case errors.Is(err, fhirauth.ErrHidden):
		return nil, 0, &entryOutcome{status: http.StatusNotFound, code: "not-found", reason: "resource not found"}
	case err != nil:
		return nil, 0, &entryOutcome{status: ed.CheckStatus(), code: checkCode(ed), reason: "response withheld: " + err.Error()}
	case res == nil:
		if oc := entryWithoutResource(ed, status); oc != nil {
			return nil, 0, oc
		}
	default:
		members[entryResource] = checked // as the server sent it, or a Bundle rebuilt from an allow-list
	}
	out, err := appendEntryMembers(make([]byte, 0, len(clean)), members)
	if err != nil {
		return nil, 0, malformed
	}
	return out, removed, nil
}

// entryWithoutResource is the outcome of a checked entry the server
// answered with status but without a resource, nil when it may pass: an
// error answer (its outcome sanitized with the entry), or the answer
// to a write (whose server may answer return=minimal). A read, search or
// history answered otherwise (304 Not Modified, a 200 without a body, no
// status at all) has nothing to check, and its bare status could confirm
// that a resource exists: it is withheld as a failed check is, so that
// under existence hiding it answers exactly as a missing resource.
func entryWithoutResource(ed *fhirauth.Decision, status int) *entryOutcome {
	if status >= 400 {
		return nil
	}
	if er := ed.Request(); er != nil && isWrite(er.Interaction) {
		return nil
	}
	return &entryOutcome{status: ed.CheckStatus(), code: checkCode(ed), reason: "response withheld: the server answered without the resource"}
}

// The indexes of the entry members checkEntry drops.
const (
	entrySearch  = 3
	entryRequest = 4
)

// appendEntryMembers writes a response entry from the values of
// entryMembers (nil when absent); a response is written without its
// location (a read or search creates nothing: a location could name
// anything).
func appendEntryMembers(out []byte, members [][]byte) ([]byte, error) {
	start := len(out)
	out = append(out, '{')
	for i, v := range members {
		if v == nil {
			continue
		}
		if len(out) > start+1 {
			out = append(out, ',')
		}
		out = appendKey(out, entryMembers[i])
		if i != entryResponse {
			out = append(out, v...)
			continue
		}
		var err error
		if out, err = appendWithout(out, v, "location"); err != nil {
			return nil, err
		}
	}
	return append(out, '}'), nil
}

func checkCode(d *fhirauth.Decision) string {
	if d.CheckStatus() == http.StatusNotFound {
		return "not-found"
	}
	return "forbidden"
}

// mergeEntries puts the response entries (for the kept indexes) and the
// middleware's own error entries back into the original order.
func (m *Middleware) mergeEntries(n int, kept []int, resp [][]byte, withheld map[int]entryOutcome) [][]byte {
	out := make([][]byte, n)
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
func (m *Middleware) errorEntry(oc entryOutcome) []byte {
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
	b := append([]byte(nil), `{"response":{"status":`...)
	b = jsonsyntax.AppendQuote(b, strconv.Itoa(status)+" "+http.StatusText(status))
	b = append(b, `,"outcome":`...)
	b = append(b, fhirauth.OperationOutcome(m.version, code, reason)...)
	return append(b, `}}`...)
}

// writeBundle answers with a Bundle built by the middleware alone.
func (m *Middleware) writeBundle(st *requestState, top [][]byte, entries [][]byte, head bool) {
	body := joinBundle(top, entries)
	h := st.rec.Header()
	h.Set("Content-Type", fhirJSON)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	st.rec.WriteHeader(http.StatusOK)
	if !head {
		_, _ = st.rec.Write(body)
	}
}
