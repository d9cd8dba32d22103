package main

// Adversarial tests of the gateway in front of naivefhir: HTTP tricks that
// a reverse proxy adds to the middleware's (hop-by-hop headers, protocol
// upgrades, trailers, bodies on GET, compressed answers, timeouts).

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
)

// raw sends raw bytes to the gateway and reads one response.
func (g *gw) raw(t *testing.T, req string) (*http.Response, []byte) {
	t.Helper()
	u, err := url.Parse(g.url)
	require.NoError(t, err)
	c, err := net.Dial("tcp", u.Host)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(c, req)
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

// seenUpstream records what the upstream received, trailers included
// (read after the body).
type seenUpstream struct {
	mu   sync.Mutex
	reqs []seenRequest
}

type seenRequest struct {
	method  string
	header  http.Header
	trailer http.Header
	body    string
}

func (s *seenUpstream) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, seenRequest{r.Method, r.Header.Clone(), r.Trailer.Clone(), string(b)})
		s.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		next.ServeHTTP(w, r)
	})
}

func (s *seenUpstream) last(t *testing.T) seenRequest {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	require.NotEmpty(t, s.reqs)
	return s.reqs[len(s.reqs)-1]
}

// An upgrade would turn the client's connection into a raw tunnel to the
// upstream, which no later request on it passes the middleware through.
func TestGatewayAttackUpgradeTunnel(t *testing.T) {
	var seen seenUpstream
	upgrader := func(next http.Handler) http.Handler {
		return seen.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Has("always101") || r.Header.Get("Upgrade") != "" {
				// An upstream that switches protocols (or claims to) and
				// then serves anything on the raw connection.
				c, buf, err := http.NewResponseController(w).Hijack()
				if err != nil {
					return
				}
				defer c.Close()
				_, _ = buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
				_ = buf.Flush()
				_, _ = io.Copy(c, strings.NewReader(`{"resourceType":"Patient","id":"p2","name":[{"given":["Bob"]}]}`))
				return
			}
			next.ServeHTTP(w, r)
		}))
	}
	g := startGatewayWith(t, upgrader)
	tok := g.token("patient/*.rs", naivefhir.Alice)
	for _, up := range []string{"websocket", "h2c"} {
		t.Run(up, func(t *testing.T) {
			res, body := g.raw(t, "GET /fhir/Patient/p1 HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer "+tok+
				"\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: "+up+"\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
			assert.NotEqual(t, http.StatusSwitchingProtocols, res.StatusCode)
			assert.NotContains(t, string(body), "Bob")
			last := seen.last(t)
			assert.Empty(t, last.header.Get("Upgrade"), "no upgrade is requested upstream")
			assert.Empty(t, last.header.Get("Connection"))
		})
	}
	t.Run("upstream switching protocols unasked", func(t *testing.T) {
		res, body := g.raw(t, "GET /fhir/Patient/p1?always101=1 HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer "+tok+"\r\n\r\n")
		assert.NotEqual(t, http.StatusSwitchingProtocols, res.StatusCode)
		assert.NotContains(t, string(body), "Bob")
	})
}

// Connection names headers the proxy must drop as hop-by-hop; the headers
// the middleware decided with or set itself are put back.
func TestGatewayAttackHopByHopHeaders(t *testing.T) {
	var seen seenUpstream
	g := startGatewayWith(t, seen.wrap)
	tok := g.token("patient/*.cruds", naivefhir.Alice)
	put := `{"resourceType":"Observation","id":"obs-p1-lab","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`
	req := "PUT /fhir/Observation/obs-p1-lab HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer " + tok +
		"\r\nContent-Type: application/fhir+json\r\nConnection: If-Match, Content-Type\r\nContent-Length: " + itoa(len(put)) + "\r\n\r\n" + put
	res, body := g.raw(t, req)
	require.Equal(t, 200, res.StatusCode, "body: %s", body)
	last := seen.last(t)
	assert.Equal(t, http.MethodPut, last.method)
	assert.Equal(t, `W/"1"`, last.header.Get("If-Match"), "the pinned version survives Connection: If-Match")
	assert.Equal(t, "application/fhir+json", last.header.Get("Content-Type"))

	obs := `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`
	req = "POST /fhir/Observation HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer " + tok +
		"\r\nContent-Type: application/fhir+json\r\nIf-None-Exist: _id=obs-p2-lab\r\nConnection: If-None-Exist\r\nContent-Length: " + itoa(len(obs)) + "\r\n\r\n" + obs
	res, body = g.raw(t, req)
	assert.NotContains(t, string(body), "Patient/p2")
	ine, err := url.ParseQuery(seen.last(t).header.Get("If-None-Exist"))
	require.NoError(t, err, "status %d", res.StatusCode)
	assert.Equal(t, []string{"Patient/p1"}, ine["patient"], "the narrowed If-None-Exist survives Connection: If-None-Exist")

	t.Run("client X-Forwarded headers are replaced", func(t *testing.T) {
		res, body := g.raw(t, "GET /fhir/Observation HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer "+tok+
			"\r\nX-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: javascript\r\nForwarded: host=evil.example\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n")
		require.Equal(t, 200, res.StatusCode)
		assert.NotContains(t, string(body), "evil.example")
		h := seen.last(t).header
		assert.Equal(t, "gw.test", h.Get("X-Forwarded-Host"))
		assert.Equal(t, "http", h.Get("X-Forwarded-Proto"))
		assert.Empty(t, h.Get("Forwarded"))
		assert.Equal(t, "127.0.0.1", h.Get("X-Forwarded-For"))
	})
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// A body on GET (a form naming Bob, a token) and request trailers were
// never judged by the middleware: the upstream gets neither.
func TestGatewayAttackBodiesAndTrailersNotJudged(t *testing.T) {
	var seen seenUpstream
	g := startGatewayWith(t, seen.wrap)
	tok := g.token("patient/*.rs", naivefhir.Alice)
	form := "patient=p2&_id=obs-p2-lab"
	res, body := g.raw(t, "GET /fhir/Observation HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer "+tok+
		"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: "+itoa(len(form))+"\r\n\r\n"+form)
	require.Equal(t, 200, res.StatusCode, "body: %s", body)
	assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice))
	assert.Empty(t, seen.last(t).body, "no GET body reaches the upstream")

	search := "code=2339-0"
	chunked := "POST /fhir/Observation/_search HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer " + tok +
		"\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nTrailer: If-None-Exist, X-Patient\r\n\r\n" +
		strings.ToLower(strings.TrimLeft(itoaHex(len(search)), "0")) + "\r\n" + search + "\r\n0\r\nIf-None-Exist: patient=p2\r\nX-Patient: p2\r\n\r\n"
	res, body = g.raw(t, chunked)
	require.Equal(t, 200, res.StatusCode, "body: %s", body)
	assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice))
	last := seen.last(t)
	assert.Empty(t, last.trailer, "no trailers reach the upstream")
	assert.NotContains(t, last.body, "p2")
	assert.Contains(t, last.body, "patient=Patient%2Fp1", "the form body is narrowed")
}

func itoaHex(n int) string {
	const digits = "0123456789abcdef"
	s := ""
	for {
		s = string(digits[n%16]) + s
		n /= 16
		if n == 0 {
			return s
		}
	}
}

// Compressed answers: the transport negotiates and decompresses gzip, so
// checked answers can be checked; an encoding it did not ask for is
// refused, never passed on unchecked.
func TestGatewayAttackCompressedAnswers(t *testing.T) {
	gzipping := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := &bufferedResponse{header: http.Header{}}
			next.ServeHTTP(rec, r)
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			switch {
			case r.URL.Query().Has("brotli"): // unasked, and not even brotli
				w.Header().Set("Content-Encoding", "br")
				w.WriteHeader(rec.status)
				_, _ = w.Write(rec.body.Bytes())
			case strings.Contains(r.Header.Get("Accept-Encoding"), "gzip"):
				w.Header().Set("Content-Encoding", "gzip")
				w.WriteHeader(rec.status)
				zw := gzip.NewWriter(w)
				_, _ = zw.Write(rec.body.Bytes())
				_ = zw.Close()
			default:
				w.WriteHeader(rec.status)
				_, _ = w.Write(rec.body.Bytes())
			}
		})
	}
	g := startGatewayWith(t, gzipping)
	tok := g.token("patient/*.rs", naivefhir.Alice)
	for _, c := range []struct {
		path   string
		status int
	}{
		{"Observation/obs-p1-lab", 200},
		{"Observation/obs-p2-lab", 404},
		{"Observation?_include=Observation:performer", 200},
		{"Observation/obs-p2-lab?_format=json&brotli=1", 400},
	} {
		t.Run(c.path, func(t *testing.T) {
			for _, ae := range []string{"", "gzip", "br", "identity;q=0"} {
				req, err := http.NewRequest(http.MethodGet, g.url+"/"+c.path, nil)
				require.NoError(t, err)
				req.Header.Set("Authorization", "Bearer "+tok)
				if ae != "" {
					req.Header.Set("Accept-Encoding", ae)
				}
				res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
				require.NoError(t, err)
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.Header.Get("Content-Encoding") == "gzip" {
					zr, err := gzip.NewReader(bytes.NewReader(body))
					require.NoError(t, err)
					body, _ = io.ReadAll(zr)
				}
				assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice), "Accept-Encoding %q: %d %s", ae, res.StatusCode, body)
				if c.status != 400 {
					assert.Equal(t, c.status, res.StatusCode, "Accept-Encoding %q: %s", ae, body)
				}
			}
		})
	}
}

type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }
func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = 200
	}
	return b.body.Write(p)
}

// Answers naming other patients in headers: Location and
// Content-Location of a checked read are rewritten to the gateway and,
// when they name anything but the checked resource, dropped.
func TestGatewayAttackLocationHeaders(t *testing.T) {
	g := startGatewayWith(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			base := "http://" + r.Host + upstreamBase
			w.Header().Set("Location", base+"/Patient/p2")
			w.Header().Set("Content-Location", base+"/Observation/obs-p2-lab/_history/1")
			next.ServeHTTP(w, r)
		})
	})
	tok := g.token("patient/*.rs", naivefhir.Alice)
	for _, path := range []string{"Observation/obs-p1-lab", "Observation?_include=Observation:performer", "Observation/obs-p2-lab"} {
		res, body := g.do(t, http.MethodGet, path, tok, "", "")
		assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice))
		assert.NotContains(t, res.Header.Get("Location"), "p2", path)
		assert.NotContains(t, res.Header.Get("Content-Location"), "p2", path)
		assert.NotContains(t, res.Header.Get("Location"), g.up.URL)
	}
}

// Every phase of a connection is bounded: a client trickling headers or a
// body, and a server that never finishes, are cut off.
func TestGatewayAttackSlowClientsAndUpstreams(t *testing.T) {
	timeoutsMu.Lock()
	saved := timeouts
	timeouts = serverTimeouts{readHeader: 300 * time.Millisecond, read: 600 * time.Millisecond, write: 2 * time.Second,
		idle: time.Second, upstream: 700 * time.Millisecond, upstreamHeader: 500 * time.Millisecond, drain: 2 * time.Second}
	timeoutsMu.Unlock()
	t.Cleanup(func() {
		timeoutsMu.Lock()
		timeouts = saved
		timeoutsMu.Unlock()
	})
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	g := startGatewayWith(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "hang") {
				select {
				case <-hang:
				case <-r.Context().Done():
				}
				return
			}
			if strings.Contains(r.URL.Path, "drip") {
				w.Header().Set("Content-Type", "application/fhir+json")
				_, _ = io.WriteString(w, `{"resourceType":"Observation","id":"drip",`)
				http.NewResponseController(w).Flush()
				select {
				case <-hang:
				case <-r.Context().Done():
				}
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	u, _ := url.Parse(g.url)
	tok := g.token("patient/*.rs", naivefhir.Alice)

	closedWithin := func(t *testing.T, write func(net.Conn), limit time.Duration) {
		t.Helper()
		c, err := net.Dial("tcp", u.Host)
		require.NoError(t, err)
		defer c.Close()
		start := time.Now()
		write(c)
		require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
		_, _ = io.Copy(io.Discard, c) // until the server closes
		assert.Less(t, time.Since(start), limit, "the server closed the connection in time")
	}
	t.Run("slowloris headers", func(t *testing.T) {
		closedWithin(t, func(c net.Conn) {
			_, _ = io.WriteString(c, "GET /fhir/metadata HTTP/1.1\r\nHost: x\r\n")
			for range 5 {
				time.Sleep(100 * time.Millisecond)
				_, _ = io.WriteString(c, "X-Slow: 1\r\n")
			}
		}, 3*time.Second)
	})
	t.Run("slow body", func(t *testing.T) {
		closedWithin(t, func(c net.Conn) {
			_, _ = io.WriteString(c, "POST /fhir/Observation/_search HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+tok+
				"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\ncode=")
			for range 5 {
				time.Sleep(100 * time.Millisecond)
				_, _ = io.WriteString(c, "1")
			}
		}, 4*time.Second)
	})
	t.Run("upstream that never answers", func(t *testing.T) {
		start := time.Now()
		res, body := g.do(t, http.MethodGet, "Observation/hang", tok, "", "")
		assert.Equal(t, http.StatusBadGateway, res.StatusCode, "body: %s", body)
		assert.Less(t, time.Since(start), 3*time.Second)
	})
	t.Run("upstream that never finishes a checked answer", func(t *testing.T) {
		start := time.Now()
		res, body := g.do(t, http.MethodGet, "Observation/drip", tok, "", "")
		assert.GreaterOrEqual(t, res.StatusCode, 500, "body: %s", body)
		assert.NotContains(t, string(body), "drip")
		assert.Less(t, time.Since(start), 3*time.Second)
	})
	t.Run("the server's limits are set", func(t *testing.T) {
		srv := newServer(http.NotFoundHandler(), slog.New(slog.DiscardHandler))
		assert.Positive(t, srv.ReadHeaderTimeout)
		assert.Positive(t, srv.ReadTimeout)
		assert.Positive(t, srv.WriteTimeout)
		assert.Positive(t, srv.IdleTimeout)
		assert.Equal(t, maxHeaderBytes, srv.MaxHeaderBytes)
	})
}

// Host header games: the links of a checked answer follow the Host the
// client sent, and nothing else changes.
func TestGatewayAttackHostHeader(t *testing.T) {
	g := startGateway(t)
	tok := g.token("patient/*.rs", naivefhir.Alice)
	for _, target := range []string{"/fhir/Observation?_count=1", "http://evil.example/fhir/Observation?_count=1"} {
		res, body := g.raw(t, "GET "+target+" HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Bearer "+tok+"\r\n\r\n")
		require.Equal(t, 200, res.StatusCode, "body: %s", body)
		assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice))
		assert.NotContains(t, string(body), g.up.URL, "no upstream URL escapes")
	}
}

// Request smuggling: a body framed two ways (Content-Length and chunked)
// hiding a second request for Bob's record. net/http frames it one way,
// and the proxy re-frames what it forwards, so the hidden request never
// reaches the upstream as a request.
func TestGatewayAttackRequestSmuggling(t *testing.T) {
	g := startGateway(t)
	tok := g.token("patient/*.rs", naivefhir.Alice)
	smuggled := "GET " + upstreamBase + "/Patient/p2 HTTP/1.1\r\nHost: x\r\n\r\n"
	for name, req := range map[string]string{
		"CL.TE": "POST /fhir/Observation/_search HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer " + tok +
			"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
		"TE.CL": "POST /fhir/Observation/_search HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer " + tok +
			"\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nContent-Length: " + itoa(len(smuggled)+5) + "\r\n\r\n0\r\n\r\n" + smuggled,
		"obfuscated TE": "POST /fhir/Observation/_search HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer " + tok +
			"\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: xchunked\r\nContent-Length: 0\r\n\r\n" + smuggled,
		"GET with a body": "GET /fhir/Patient/p1 HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer " + tok +
			"\r\nContent-Length: " + itoa(len(smuggled)) + "\r\n\r\n" + smuggled,
	} {
		t.Run(name, func(t *testing.T) {
			u, _ := url.Parse(g.url)
			c, err := net.Dial("tcp", u.Host)
			require.NoError(t, err)
			defer c.Close()
			require.NoError(t, c.SetDeadline(time.Now().Add(1500*time.Millisecond)))
			_, err = io.WriteString(c, req)
			require.NoError(t, err)
			all, _ := io.ReadAll(c) // every response the gateway sends on this connection
			assert.NotContains(t, string(all), `"id":"p2"`)
			assert.NotContains(t, string(all), "Bob")
			for _, r := range g.fhir.Requests() {
				assert.NotEqual(t, upstreamBase+"/Patient/p2", r.URL, "the hidden request reached the upstream")
			}
		})
	}
}
