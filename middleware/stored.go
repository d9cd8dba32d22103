package middleware

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

// storedVersion fetches the stored version of Type/id through the wrapped
// handler itself (a GET of {base}/Type/id, not re-authorized: it is the
// middleware asking) and checks it with d.CheckStored. It returns the
// entity tag of the version checked (versionTag; empty when there is no
// stored version) and, on refusal, the status and reason to answer
// with: the decision's CheckStatus when the check fails, 502 when the
// stored version cannot be read or names no version. mustExist says that
// the write can only act on an existing resource (needsExisting): then a
// missing one answers as a hidden one would.
func (m *Middleware) storedVersion(ctx context.Context, next http.Handler, orig *http.Request, d *fhirauth.Decision, typ, id string, mustExist bool) (tag string, status int, reason string) {
	if id == "" {
		return "", http.StatusForbidden, "the stored version of a conditional write cannot be checked by the middleware; write by id (Type/id) instead"
	}
	u := &url.URL{Path: m.policy.BasePath() + "/" + typ + "/" + id}
	// Built field by field rather than with http.NewRequest, which
	// would format u and parse it back: a Bundle makes thousands.
	g := (&http.Request{
		Method: http.MethodGet, URL: u, Host: orig.Host, RequestURI: u.RequestURI(),
		Proto: orig.Proto, ProtoMajor: orig.ProtoMajor, ProtoMinor: orig.ProtoMinor,
		Header: http.Header{"Accept": {fhirJSON}}, Body: http.NoBody, // as on every server request
		RemoteAddr: orig.RemoteAddr, TLS: orig.TLS,
	}).WithContext(ctx)
	if a := orig.Header.Values("Authorization"); len(a) == 1 {
		g.Header["Authorization"] = []string{a[0]}
	}
	b := newBuffer(m.cfg.maxResponse, m.cfg.budget)
	defer b.release()
	serveBuffered(next, b, g)
	var body []byte
	switch st := b.finalStatus(); {
	case b.starved:
		return "", http.StatusServiceUnavailable, "the server is checking too many large responses at once; retry later"
	case b.over:
		return "", http.StatusBadGateway, "the stored version is too large to check"
	case b.cut:
		return "", http.StatusBadGateway, "the server's answer broke off"
	case st == http.StatusNotFound || st == http.StatusGone:
		// No stored version: CheckStored(nil) decides update-as-create.
		// A write that needs one (a delete, a patch, a version-aware
		// update with If-Match) would be passed on, and the server's
		// answer to it (200 or 204 for a delete, 412 for If-Match) would
		// tell a missing resource from a hidden one; with existence
		// hiding it gets the hidden answer.
		if mustExist && d.CheckStatus() == http.StatusNotFound {
			return "", http.StatusNotFound, "resource not found"
		}
	case st == http.StatusOK:
		if problem := typeProblem("the stored version", b.header["Content-Type"]); problem != "" {
			return "", http.StatusBadGateway, problem
		}
		if fhirauth.ContentCoding(b.header["Content-Encoding"]) != "" {
			return "", http.StatusBadGateway, "the stored version is compressed and cannot be checked"
		}
		body = b.bytes()
	default:
		return "", http.StatusBadGateway, fmt.Sprintf("reading the stored version for the authorization check failed with status %d", st)
	}
	if err := d.CheckStored(body); err != nil {
		return "", d.CheckStatus(), "the stored version does not permit this write: " + err.Error()
	}
	if body == nil {
		return "", 0, "" // none stored: nothing to pin
	}
	// After the check: a version problem answers alike for every
	// resource, so it cannot tell one hidden by the check from a missing one.
	tag, problem := versionTag(body, b.header.Values("ETag"))
	if problem != "" {
		return "", http.StatusBadGateway, problem
	}
	return tag, 0, ""
}

// versionTag is the entity tag that pins a write to the stored version
// checked (body, served with the ETag fields etags): W/"<meta.versionId>"
// as FHIR servers send it (R4 http.html#concurrency), or the server's ETag
// when the body names no version. A stored version that names none, or
// names two (an ETag that is not its meta.versionId, several ETags), is a
// problem (the reason): the write could not be made conditional on the
// version checked, and between the read and the write another writer
// could make the resource one the token may not touch.
func versionTag(body []byte, etags []string) (tag, problem string) {
	vid, ok := metaVersionID(body)
	switch {
	case !ok:
		return "", "the stored version's meta.versionId cannot be read"
	case len(etags) > 1:
		return "", "the stored version came with several ETags"
	case len(etags) == 1 && !entityTag(etags[0]):
		return "", "the stored version's ETag is not an entity tag"
	}
	etag := ""
	if len(etags) == 1 {
		etag = strings.TrimSpace(etags[0])
	}
	switch {
	case vid == "" && etag == "":
		return "", "the stored version names no version (no meta.versionId, no ETag), so the write cannot be made conditional on the version checked"
	case vid == "":
		return etag, ""
	case etag != "" && opaqueTag(etag) != `"`+vid+`"`:
		return "", "the stored version's ETag does not name its meta.versionId"
	}
	return `W/"` + vid + `"`, ""
}

// metaVersionID reads meta.versionId of a resource ("" when it has
// none); ok is false when it is there but not an id (FHIR's id type:
// 1 to 64 of letters, digits, "-" and "."), which could not go into an
// If-Match as it is, or when the resource cannot be read unambiguously.
func metaVersionID(body []byte) (vid string, ok bool) {
	meta, ok := member(body, "meta")
	if !ok || meta == nil {
		return "", ok
	}
	v, ok := member(meta, "versionId")
	if !ok || v == nil {
		return "", ok
	}
	s, ok := stringValue(v)
	return s, ok && fhirspec.IsID(s)
}

// member returns the value of the member named name of the object raw
// (nil when it has none); ok is false when raw is not an object that
// reads whole (invalid, or with names a parser could take for one).
func member(raw []byte, name string) (v []byte, ok bool) {
	obj := jsonsyntax.ReadObject(raw, 0, 0)
	for obj.Next() {
		if string(obj.Name()) == name {
			v = obj.Value()
		}
	}
	if obj.Done(true) != nil {
		return nil, false
	}
	return v, true
}

// entityTag reports whether t is an RFC 9110 entity tag, weak or strong:
// it goes into an If-Match as the server sent it.
func entityTag(t string) bool {
	t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
	if len(t) < 2 || t[0] != '"' || t[len(t)-1] != '"' {
		return false
	}
	for i := 1; i < len(t)-1; i++ {
		if c := t[i]; c == '"' || c < 0x21 || c == 0x7f {
			return false
		}
	}
	return true
}

// needsExisting reports whether a write by id can only act on a resource
// that exists: a delete, a patch, or an update conditional on a version
// (ifMatch: the write, or its Bundle entry, has an If-Match).
func needsExisting(method string, ifMatch bool) bool {
	switch method {
	case http.MethodDelete, http.MethodPatch:
		return true
	case http.MethodPut:
		return ifMatch
	}
	return false
}

// checkStored runs the stored-version check of a single write and pins
// the write (update, patch or delete) to the checked version with
// If-Match so that the resource cannot change in between. It reports
// false when it has refused the request.
func (m *Middleware) checkStored(st *requestState, ctx context.Context, next http.Handler, r *http.Request, req *fhirauth.Request, d *fhirauth.Decision) bool {
	mustExist := needsExisting(r.Method, len(r.Header.Values("If-Match")) > 0)
	etag, status, reason := m.storedVersion(ctx, next, r, d, req.ResourceType, req.ID, mustExist)
	if status != 0 {
		m.refuseStored(st, status, reason)
		return false
	}
	pin, ok := pinVersion(r.Header.Values("If-Match"), etag)
	if !ok {
		m.refuse(st, http.StatusPreconditionFailed, "conflict", errIfMatch)
		return false
	}
	if pin != "" {
		h := r.Header.Clone()
		h.Set("If-Match", pin)
		r.Header = h
	}
	return true
}

// errIfMatch is the reason of a write refused because the client's
// If-Match names another version than the one that was checked.
const errIfMatch = "If-Match does not name the current version of the resource, the one checked for authorization"

// pinVersion decides the If-Match of a checked write. The stored version
// with entity tag etag passed the check; a client If-Match naming another
// version is refused (ok false) rather than passed on, since the write
// would then succeed only on a version nobody checked (one changed in
// between, perhaps into another patient's resource). Every write, update,
// patch and delete alike, is pinned to the checked version (pin): a
// server that honours If-Match refuses it with 412 when the resource
// changed after the check; one that ignores If-Match on a delete or a
// patch carries it out as it would without. With no stored version
// (etag empty: an update that creates) there is nothing to compare or
// pin; the client's If-Match goes on, and the server refuses it.
func pinVersion(ifMatch []string, etag string) (pin string, ok bool) {
	if etag == "" {
		return "", true
	}
	switch len(ifMatch) {
	case 0:
	case 1:
		if opaqueTag(ifMatch[0]) != opaqueTag(etag) {
			return "", false
		}
	default:
		return "", false
	}
	return etag, true
}

// opaqueTag is an entity tag without its weak prefix (If-Match uses weak
// comparison of versions here: FHIR servers answer W/"n").
func opaqueTag(t string) string {
	t = strings.TrimSpace(t)
	t = strings.TrimPrefix(t, "W/")
	return strings.TrimSpace(t)
}

// refuseStored answers a failed stored-version check.
func (m *Middleware) refuseStored(st *requestState, status int, reason string) {
	switch status {
	case http.StatusNotFound:
		m.notFound(st)
		st.denied = true
		st.reason = reason
	case http.StatusForbidden:
		m.refuseChallenge(st, status, "forbidden", reason, errInsufficientScope)
	default:
		m.refuse(st, status, "exception", reason)
	}
}

// storedReadsInFlight bounds the stored-version reads of one batch or
// transaction that run at once through the wrapped handler: enough to
// hide the latency of a server answering reads in parallel, few enough
// that one Bundle does not take over the server or the check-memory
// budget (each read holds a buffer from it while it runs).
const storedReadsInFlight = 8

// entryStoredCheck is the outcome of one entry's stored-version check.
type entryStoredCheck struct {
	done     bool   // a check ran
	pin      string // the If-Match to forward (empty: keep the client's)
	status   int    // not 0: the check refused, with reason
	reason   string
	mismatch bool // the entry's ifMatch names another version (errIfMatch)
}

func (c *entryStoredCheck) failed() bool { return c.status != 0 || c.mismatch }

// checkEntryStored runs the stored-version check of entry raw (classified
// as er, decided as ed) and compares its ifMatch with the version read.
func (m *Middleware) checkEntryStored(ctx context.Context, next http.Handler, r *http.Request, raw []byte, er *fhirauth.Request, ed *fhirauth.Decision) entryStoredCheck {
	ifMatch := entryIfMatch(raw)
	etag, status, reason := m.storedVersion(ctx, next, r, ed, er.ResourceType, er.ID, needsExisting(er.Method, len(ifMatch) > 0))
	if status != 0 {
		return entryStoredCheck{done: true, status: status, reason: reason}
	}
	pin, ok := pinVersion(ifMatch, etag)
	return entryStoredCheck{done: true, pin: pin, mismatch: !ok}
}

// storedEntryReads runs the stored-version checks of a Bundle's entries
// (those listed in todo, in increasing order), storedReadsInFlight at a
// time, each through the wrapped handler and the check-memory budget,
// into checks[i]. In a transaction, where the lowest-numbered failing
// entry refuses the whole request, a failed check cancels the reads of
// later entries and starts no more; the reads of earlier entries finish,
// so which entry refuses does not depend on timing.
type storedEntryReads struct {
	m           *Middleware
	next        http.Handler
	r           *http.Request
	raw         [][]byte
	req         *fhirauth.Request
	d           *fhirauth.Decision
	transaction bool
	todo        []int
	checks      []entryStoredCheck

	mu       sync.Mutex
	taken    int                        // todo[:taken] are started
	failed   int                        // the lowest failed entry (transaction), or len(raw)
	inFlight map[int]context.CancelFunc // the reads running, by entry
	panicked any                        // a panic of the wrapped handler, re-raised by run
}

// run runs the checks and returns when all have finished or been
// cancelled.
func (s *storedEntryReads) run(ctx context.Context) {
	s.failed = len(s.raw)
	s.inFlight = make(map[int]context.CancelFunc, storedReadsInFlight)
	var wg sync.WaitGroup
	for range min(storedReadsInFlight, len(s.todo)) {
		wg.Go(func() { s.work(ctx) })
	}
	wg.Wait()
	if s.panicked != nil {
		panic(s.panicked) // in the request's goroutine, as a sequential read would
	}
}

// work checks entries until none is left to start.
func (s *storedEntryReads) work(ctx context.Context) {
	defer func() {
		if v := recover(); v != nil {
			s.mu.Lock()
			s.panicked = v
			s.failed = -1 // start no more reads
			s.mu.Unlock()
		}
	}()
	for {
		i, rctx, ok := s.take(ctx)
		if !ok {
			return
		}
		c := s.m.checkEntryStored(rctx, s.next, s.r, s.raw[i], s.req.Entries[i], s.d.Entries[i])
		s.finish(i, c)
	}
}

// take starts the next entry's read, with a context of its own.
func (s *storedEntryReads) take(ctx context.Context) (int, context.Context, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.taken >= len(s.todo) || s.todo[s.taken] > s.failed || ctx.Err() != nil {
		return 0, nil, false
	}
	i := s.todo[s.taken]
	s.taken++
	rctx, cancel := context.WithCancel(ctx)
	s.inFlight[i] = cancel
	return i, rctx, true
}

// finish records entry i's outcome; a failure in a transaction cancels
// the reads of later entries.
func (s *storedEntryReads) finish(i int, c entryStoredCheck) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight[i]()
	delete(s.inFlight, i)
	s.checks[i] = c
	if !s.transaction || !c.failed() || i > s.failed {
		return
	}
	s.failed = i
	for j, cancel := range s.inFlight {
		if j > i {
			cancel()
		}
	}
}
