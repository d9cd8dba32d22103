package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/middleware"
)

// newProxy forwards requests under the gateway's base path to the upstream
// FHIR base: {base}/Type/id becomes {upstream}/Type/id. Requests reach it
// only through the middleware, so they are authorized (and narrowed)
// already, or through jobGuard, as the owner of an export job. An
// allowed $export kick-off reserves room for its job in jobs first.
func newProxy(c *config, policy *fhirauth.Policy, logger *slog.Logger, jobs *jobStore) http.Handler {
	timeouts := currentTimeouts()
	base := policy.BasePath()
	upstream := c.upstream
	links := &linkRewriter{upstreamBase: upstream.String(), gatewayBase: base}
	binder := &jobBinder{store: jobs, links: links, policy: policy, fhirNames: fhirNames(policy.Version()),
		version: policy.Version(), maxManifest: c.maxResponse, logger: logger}
	headers := newHeaderFilter(c.forwardHeaders, logger)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.ResponseHeaderTimeout = timeouts.upstreamHeader
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			rel := strings.TrimPrefix(pr.In.URL.Path, base) // "" or "/Type/..."
			if rel == "/" {
				// "[base]/" was authorized as the base: the upstream gets
				// the base itself.
				rel = ""
			}
			out := pr.Out
			restoreEndToEnd(out.Header, pr.In.Header)
			// No protocol switch: a FHIR REST API never upgrades, and an
			// upgraded connection would be a tunnel to the upstream that
			// no later request on it passes the middleware through.
			out.Header.Del("Upgrade")
			out.Header.Del("Connection")
			// Trailers arrive after the body, long after the request was
			// authorized: none are forwarded.
			out.Trailer = nil
			if bodyless(out.Method) {
				// The middleware never judged a body of GET, HEAD or
				// DELETE; a server that reads one anyway gets none.
				out.Body, out.ContentLength, out.GetBody = nil, 0, nil
				out.Header.Del("Content-Length")
				out.Header.Del("Content-Type")
				out.TransferEncoding = nil
			}
			if isKickoff(pr.In) {
				// HAPI answers a kick-off identical to a running one with
				// that job, which stays its starter's: another client
				// would get a status URL it may not poll.
				out.Header.Set("Cache-Control", "no-cache")
			}
			out.URL.Scheme = upstream.Scheme
			out.URL.Host = upstream.Host
			out.URL.Path = upstream.Path + rel
			out.URL.RawPath = ""
			out.URL.RawQuery = pr.In.URL.RawQuery
			out.Host = "" // Host: the upstream's own name
			headers.apply(pr.In.Context(), out.Header)
			pr.SetXForwarded()
			if _, bearer := middleware.BearerToken(out.Header); !c.forwardAuth || !bearer {
				// Only a bearer token is forwarded: a DPoP token is
				// worthless upstream without its proof, which is the
				// gateway's, and an upstream reading the scheme loosely
				// would take the bound token as a bearer token.
				out.Header.Del("Authorization")
			}
			// A DPoP proof names the gateway's URL and hashes the
			// caller's token: nothing behind the gateway has a use
			// for it, and a server there that rebuilds the request
			// URL from the X-Forwarded headers set above would take
			// it, with a forwarded token, as made for itself.
			out.Header.Del("DPoP")
			// Let the transport negotiate compression: it then hands the
			// body over decompressed, so responses can be checked and
			// their links rewritten.
			out.Header.Del("Accept-Encoding")
		},
		Transport: transport,
		ModifyResponse: func(res *http.Response) error {
			stripCORS(res.Header)
			return binder.modify(res)
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			logger.LogAttrs(r.Context(), slog.LevelWarn, "gateway: upstream request failed", slog.String("error", err.Error()))
			body := fhirauth.OperationOutcome(policy.Version(), "transient", "the upstream FHIR server did not answer")
			w.Header().Set("Content-Type", "application/fhir+json")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write(body)
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The whole upstream exchange is bounded, also when a checked
		// response is buffered and nothing is written to the client.
		ctx, cancel := context.WithTimeout(r.Context(), timeouts.upstream)
		defer cancel()
		binder.serve(proxy, w, r.WithContext(ctx))
	})
}

// endToEnd are request headers the middleware decided with or set itself
// (the pinned If-Match of a checked write, the narrowed If-None-Exist of a
// conditional create, the media type of a checked body). A client naming
// them in Connection would have the proxy drop them as hop-by-hop headers;
// they are put back.
var endToEnd = []string{"If-Match", "If-None-Match", "If-None-Exist", "If-Modified-Since", "If-Unmodified-Since", "Content-Type", "Content-Encoding", "Accept", "Prefer"}

func restoreEndToEnd(out, in http.Header) {
	for _, h := range endToEnd {
		if v, ok := in[h]; ok {
			out[h] = v
		}
	}
}

func bodyless(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodDelete || method == http.MethodOptions
}

// linkRewriter makes the upstream's absolute URLs point at the gateway:
// the Location and Content-Location headers, and in JSON bodies every
// string value naming the upstream (Bundle link URLs, entry fullUrls,
// response locations, absolute references), rewritten as the body
// streams (linkStream). Following a rewritten next link
// is a new request to the gateway, authorized and narrowed like any other.
type linkRewriter struct {
	upstreamBase string // "http://hapi:8080/fhir", no trailing slash
	gatewayBase  string // "/fhir": the gateway's base path
}

// gatewayURL is the gateway's absolute base URL as the client addressed
// it (from the X-Forwarded headers the proxy set on the outbound request).
func (l *linkRewriter) gatewayURL(out *http.Request) string {
	proto := out.Header.Get("X-Forwarded-Proto")
	if proto == "" {
		proto = "http"
	}
	return proto + "://" + out.Header.Get("X-Forwarded-Host") + l.gatewayBase
}

func (l *linkRewriter) modify(res *http.Response) error {
	gw := l.gatewayURL(res.Request)
	l.modifyHeaders(res, gw)
	if !isJSON(res.Header.Get("Content-Type")) || res.Header.Get("Content-Encoding") != "" || res.Body == nil || res.Body == http.NoBody {
		return nil
	}
	// The body is rewritten as it streams, whatever its size: its length
	// changes, so it goes out chunked (or is buffered by the middleware
	// when it must be checked).
	res.Body = newLinkStream(res.Body, l.upstreamBase, gw)
	res.ContentLength = -1
	res.Header.Del("Content-Length")
	return nil
}

// modifyHeaders rewrites the Location and Content-Location headers.
func (l *linkRewriter) modifyHeaders(res *http.Response, gw string) {
	for _, h := range []string{"Location", "Content-Location"} {
		if v := res.Header.Get(h); v != "" {
			res.Header.Set(h, l.rewrite(v, gw))
		}
	}
}

// rewrite replaces the upstream base at the start of u with gw.
func (l *linkRewriter) rewrite(u, gw string) string {
	if rest, ok := strings.CutPrefix(u, l.upstreamBase); ok && (rest == "" || rest[0] == '/' || rest[0] == '?') {
		return gw + rest
	}
	return u
}

func isJSON(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(strings.ToLower(mt))
	return mt == "application/json" || mt == "application/fhir+json" || mt == "application/json+fhir"
}
