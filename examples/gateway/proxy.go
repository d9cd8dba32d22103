package main

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"time"

	"github.com/fhirwarden/fhirwarden/fhirauth"
)

// newProxy forwards requests under the gateway's base path to the upstream
// FHIR base: {base}/Type/id becomes {upstream}/Type/id. Requests reach it
// only through the middleware, so they are authorized (and narrowed)
// already.
func newProxy(c *config, policy *fhirauth.Policy, logger *slog.Logger) http.Handler {
	base := policy.BasePath()
	upstream := c.upstream
	links := &linkRewriter{upstreamBase: upstream.String(), gatewayBase: base, limit: c.maxResponse}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.ResponseHeaderTimeout = 60 * time.Second
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			rel := strings.TrimPrefix(pr.In.URL.Path, base) // "" or "/Type/..."
			out := pr.Out
			out.URL.Scheme = upstream.Scheme
			out.URL.Host = upstream.Host
			out.URL.Path = upstream.Path + rel
			out.URL.RawPath = ""
			out.URL.RawQuery = pr.In.URL.RawQuery
			out.Host = "" // Host: the upstream's own name
			pr.SetXForwarded()
			if !c.forwardAuth {
				out.Header.Del("Authorization")
			}
			// Let the transport negotiate compression: it then hands the
			// body over decompressed, so responses can be checked and
			// their links rewritten.
			out.Header.Del("Accept-Encoding")
		},
		Transport:      transport,
		ModifyResponse: links.modify,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			logger.LogAttrs(r.Context(), slog.LevelWarn, "gateway: upstream request failed", slog.String("error", err.Error()))
			body := fhirauth.OperationOutcome(policy.Version(), "transient", "the upstream FHIR server did not answer")
			w.Header().Set("Content-Type", "application/fhir+json")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write(body)
		},
	}
}

// linkRewriter makes the upstream's absolute URLs point at the gateway:
// Bundle link URLs (self, next, previous, ...), entry fullUrls, and the
// Location and Content-Location headers. Following a rewritten next link
// is a new request to the gateway, authorized and narrowed like any other.
type linkRewriter struct {
	upstreamBase string // "http://hapi:8080/fhir", no trailing slash
	gatewayBase  string // "/fhir": the gateway's base path
	limit        int64
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
	for _, h := range []string{"Location", "Content-Location"} {
		if v := res.Header.Get(h); v != "" {
			res.Header.Set(h, l.rewrite(v, gw))
		}
	}
	if !isJSON(res.Header.Get("Content-Type")) || res.Header.Get("Content-Encoding") != "" || res.Body == nil || res.Body == http.NoBody {
		return nil
	}
	// Read up to the limit; a larger body streams on unchanged (the
	// middleware refuses it if it had to be checked).
	head, err := io.ReadAll(io.LimitReader(res.Body, l.limit+1))
	if err != nil {
		return err
	}
	if int64(len(head)) > l.limit {
		res.Body = readCloser{io.MultiReader(bytes.NewReader(head), res.Body), res.Body}
		return nil
	}
	_ = res.Body.Close()
	body := head
	if out, changed := rewriteBundle(head, func(u string) string { return l.rewrite(u, gw) }); changed {
		body = out
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	res.ContentLength = int64(len(body))
	res.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
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

type readCloser struct {
	io.Reader
	io.Closer
}
