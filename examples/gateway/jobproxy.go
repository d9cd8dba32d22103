package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/middleware"
)

// jobRetryAfter is the Retry-After, in seconds, of a kick-off refused
// because its client has as many jobs as it may.
const jobRetryAfter = 60

// kickoff is an allowed $export kick-off on its way upstream, holding
// a reservation in the job store until the answer records a job.
type kickoff struct {
	owner    identity
	request  *fhirauth.Request // as the policy classified it, without its body
	recorded bool
}

type kickoffKey struct{}

// isKickoff reports whether r starts an export ($export at the system,
// type or instance level). It reached the proxy, so the policy allowed
// it.
func isKickoff(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodPost) && path.Base(r.URL.Path) == "$export"
}

// jobBinder ties the upstream's export jobs to the clients that start
// them: it records a job from the kick-off's answer, and rewrites and
// records the manifest's file URLs.
type jobBinder struct {
	store       *jobStore
	links       *linkRewriter
	policy      *fhirauth.Policy // tells a job's URLs from the FHIR API's
	fhirNames   map[string]bool  // see fhirNames
	version     fhirspec.Version
	maxManifest int64
	logger      *slog.Logger
}

// startKickoff reserves room for r's job, or answers and returns nil: a
// token that names neither its client nor its subject has no identity
// to bind a job to (its jobs would go upstream outside the bounds, and
// nobody could poll them), and one whose identity has as many jobs as
// it may waits.
func (b *jobBinder) startKickoff(w http.ResponseWriter, r *http.Request) *kickoff {
	p := middleware.PrincipalFrom(r.Context())
	if p == nil || !identityOf(p).usable() {
		writeOutcome(w, r, b.version, http.StatusForbidden, "forbidden",
			"an export job is bound to the client and subject of the token that starts it: this token names neither")
		return nil
	}
	k := &kickoff{owner: identityOf(p), request: kickoffRequest(r)}
	if !b.store.reserve(k.owner) {
		w.Header().Set("Retry-After", strconv.Itoa(jobRetryAfter))
		writeOutcome(w, r, b.version, http.StatusTooManyRequests, "throttled",
			"too many export jobs: cancel one (DELETE its status URL) or wait until one ends")
		return nil
	}
	return k
}

// writeOutcome answers r with status and an OperationOutcome of
// release v (its headers alone to HEAD).
func writeOutcome(w http.ResponseWriter, r *http.Request, v fhirspec.Version, status int, code, diagnostics string) {
	body := fhirauth.OperationOutcome(v, code, diagnostics)
	h := w.Header()
	h.Set("Content-Type", "application/fhir+json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// serve hands r to proxy; an export kick-off first reserves room for
// its job, and gives the room back when the answer started none.
func (b *jobBinder) serve(proxy http.Handler, w http.ResponseWriter, r *http.Request) {
	if !isKickoff(r) {
		proxy.ServeHTTP(w, r)
		return
	}
	k := b.startKickoff(w, r)
	if k == nil {
		return
	}
	defer func() {
		if !k.recorded {
			b.store.release(k.owner)
		}
	}()
	proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), kickoffKey{}, k)))
}

// modify is the proxy's ModifyResponse: job requests get their own
// treatment, everything else the link rewriting, after which an
// accepted kick-off records its job.
func (b *jobBinder) modify(res *http.Response) error {
	ctx := res.Request.Context()
	if ju, ok := ctx.Value(jobCtxKey{}).(jobURL); ok {
		return b.modifyJob(res, ju)
	}
	if err := b.links.modify(res); err != nil {
		return err
	}
	if k, ok := ctx.Value(kickoffKey{}).(*kickoff); ok && res.StatusCode == http.StatusAccepted {
		b.record(res, k)
	}
	return nil
}

// record binds the job whose status URL the upstream's 202 names, when
// that URL is the upstream's and so was rewritten to the gateway's.
func (b *jobBinder) record(res *http.Response, k *kickoff) {
	loc := res.Header.Get("Content-Location")
	gw := b.links.gatewayURL(res.Request)
	if !strings.HasPrefix(loc, gw+"/") && !strings.HasPrefix(loc, gw+"?") {
		return
	}
	u, err := url.Parse(loc)
	if err != nil || !b.jobShaped(u) {
		return
	}
	k.recorded = b.store.record(k.owner, keyOf(u), k.request)
}

// modifyJob treats the answer to an owner's job request: a cancelled
// job is forgotten; a manifest is rewritten and its files recorded; a
// file streams through untouched but for its headers.
func (b *jobBinder) modifyJob(res *http.Response, ju jobURL) error {
	// A job's answers are its owner's alone, and reached past the
	// middleware, which keeps other answers out of shared caches: no
	// cache keeps them.
	res.Header.Set("Cache-Control", "no-store")
	res.Header.Del("Cdn-Cache-Control")
	res.Header.Del("Surrogate-Control")
	if ju.file {
		b.links.modifyHeaders(res, b.links.gatewayURL(res.Request))
		return nil
	}
	if res.Request.Method == http.MethodDelete {
		if res.StatusCode >= 200 && res.StatusCode < 300 {
			b.store.forget(ju.job)
		}
		return b.links.modify(res)
	}
	if res.StatusCode != http.StatusOK || !isJSON(res.Header.Get("Content-Type")) || res.Header.Get("Content-Encoding") != "" {
		return b.links.modify(res)
	}
	return b.manifest(res, ju.job)
}

// errManifestTooLarge refuses a manifest the gateway cannot hold to
// rewrite (the client gets 502).
var errManifestTooLarge = errors.New("the export manifest is larger than the gateway reads")

// manifest rewrites the upstream's URLs in a completed job's manifest
// and records its file URLs on the upstream as the job's. Files stored
// elsewhere (requiresAccessToken false) keep their URLs and are not
// the gateway's to guard.
func (b *jobBinder) manifest(res *http.Response, j *job) error {
	b.links.modifyHeaders(res, b.links.gatewayURL(res.Request))
	gw := b.links.gatewayURL(res.Request)
	src := res.Body
	defer src.Close()
	body, err := io.ReadAll(io.LimitReader(newLinkStream(src, b.links.upstreamBase, gw), b.maxManifest+1))
	if err != nil {
		return fmt.Errorf("reading the export manifest: %w", err)
	}
	if int64(len(body)) > b.maxManifest {
		return errManifestTooLarge
	}
	var m struct {
		Output, Error, Deleted []struct {
			URL string `json:"url"`
		}
	}
	if json.Unmarshal(body, &m) == nil {
		var files []jobFile
		for _, list := range [][]struct {
			URL string `json:"url"`
		}{m.Output, m.Error, m.Deleted} {
			for _, f := range list {
				u, err := url.Parse(f.URL)
				if err != nil || !strings.HasPrefix(f.URL, gw+"/") {
					continue
				}
				if binary, ok := b.fileShape(u); ok {
					files = append(files, jobFile{key: keyOf(u), binary: binary})
				}
			}
		}
		if dropped := b.store.addFiles(j, files); dropped > 0 {
			b.logger.Warn("gateway: export files not recorded: the bound is reached or another job holds their URL", "files", dropped)
		}
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	res.ContentLength = int64(len(body))
	res.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// jobShaped reports whether u may be recorded as a job's status URL (an
// operation the policy does not know, such as HAPI's
// $export-poll-status, or no FHIR interaction at all). Its owner
// reaches a recorded URL without the policy, so an upstream that named
// an ordinary FHIR URL (Patient?_count=1000) as a job's would hand the
// owner what its scopes do not grant.
func (b *jobBinder) jobShaped(u *url.URL) bool {
	req, ok := b.shapeOf(u)
	return ok && (req == nil || b.unknownOperation(req))
}

// unknownOperation reports whether req invokes, at the system level,
// an operation the policy refuses as unknown (HAPI's
// $export-poll-status, Firely's $exportstatus and $exportfilerequest):
// one it decides ($export, $everything, or a registered one) reads or
// starts what the scopes must grant, and one on a type or a resource
// reads what it names (HAPI's Binary/[id]/$binary-access-read); both
// stay the policy's. Policy.KnowsOperation compares names in any case,
// as a server may.
func (b *jobBinder) unknownOperation(req *fhirauth.Request) bool {
	if req.Interaction != fhirauth.Operation || req.Level != fhirauth.SystemLevel {
		return false
	}
	return !b.policy.KnowsOperation(req.Operation)
}

// fileShape reports whether u may be recorded as a job's file URL (a
// Binary read, as HAPI serves files, an operation the policy does not
// know, as Firely's $exportfilerequest, or no FHIR interaction), and
// for a Binary read the path of the resource, which other URLs also
// read.
func (b *jobBinder) fileShape(u *url.URL) (binary string, ok bool) {
	req, ok := b.shapeOf(u)
	switch {
	case !ok:
		return "", false
	case req == nil || b.unknownOperation(req):
		return "", true
	case req.Interaction == fhirauth.Read && req.ResourceType == "Binary":
		return binaryPath(b.policy.BasePath()+"/Binary/", req.ID), true
	}
	return "", false
}

// shapeOf classifies u as the gateway sends it upstream for a request
// that matches it (the decoded path, the query as is); nil when it is no
// FHIR interaction. That needs a plainly spelled path the policy routes
// nowhere: the policy refuses other spellings (percent-encoding, ";",
// empty or dot segments) because a server may read them as a FHIR URL,
// and a path it routes stays that FHIR URL whatever the query (one it
// refuses for too many parameters, say). A trailing "/" (Firely's file
// URLs end so) is read as servers commonly do, as the path without it.
// false: not recordable.
func (b *jobBinder) shapeOf(u *url.URL) (*fhirauth.Request, bool) {
	k := keyOf(u)
	p := strings.TrimSuffix(k.path, "/")
	if !plainPath(p) {
		return nil, false
	}
	classify := func(q string) (*fhirauth.Request, error) {
		return b.policy.Classify(&http.Request{Method: http.MethodGet, URL: &url.URL{Path: p, RawQuery: q}, Header: http.Header{}})
	}
	if req, err := classify(k.query); err == nil {
		return req, true
	}
	if _, err := classify(""); err == nil || b.namesFHIR(p) {
		return nil, false
	}
	return nil, true
}

// namesFHIR reports whether the path p under the base starts with a
// resource type or a FHIR path segment (metadata, _history, _search) in
// any case, or with an operation the policy knows: the policy refuses
// /fhir/patient because a server may read it as Patient, a path that
// goes on past a type's (Patient/p1/x) is no path of a job, and the
// policy refuses [base]/$everything, which it authorizes on Patient
// only, though a server may serve it.
func (b *jobBinder) namesFHIR(p string) bool {
	rest := strings.TrimPrefix(p, b.policy.BasePath()+"/")
	first, _, _ := strings.Cut(rest, "/")
	return b.fhirNames[strings.ToLower(first)] || (strings.HasPrefix(first, "$") && b.policy.KnowsOperation(first))
}

// fhirNames is the set of the resource types of v and FHIR path
// segments, in lower case.
func fhirNames(v fhirspec.Version) map[string]bool {
	names := map[string]bool{"metadata": true, "_history": true, "_search": true}
	for _, t := range fhirspec.ResourceTypes(v) {
		names[strings.ToLower(t)] = true
	}
	return names
}

// plainPath reports whether p is "/" and segments of letters, digits
// and "-._$", none empty, "." or "..".
func plainPath(p string) bool {
	if !strings.HasPrefix(p, "/") {
		return false
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._$", c) >= 0) {
				return false
			}
		}
	}
	return true
}

// kickoffRequest is the kick-off r as the policy classified it, kept to
// decide it again for the owner's later requests. The body (of a POSTed
// Parameters) is dropped: what the decision reads of it is in Params,
// and a job is kept for a day.
func kickoffRequest(r *http.Request) *fhirauth.Request {
	d := middleware.DecisionFrom(r.Context())
	if d == nil || d.Request() == nil {
		return nil
	}
	req := *d.Request()
	req.Body = nil
	return &req
}
