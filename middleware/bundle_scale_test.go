package middleware_test

import (
	"bytes"
	"context"
	"fmt"
	"github.com/fhirwarden/fhirwarden/internal/cputime"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fhirwarden/fhirwarden/middleware"
)

// bundleBody is a batch or transaction of n entries in quarters: PUT (a
// stored-version check and a pinned ifMatch each), POST, GET by id (a
// response check; a search by _id in a transaction, which cannot hold a
// checked read under existence hiding) and a search of the patient's
// Observations (narrowed).
func bundleBody(typ string, n int) []byte {
	var b strings.Builder
	b.WriteString(`{"resourceType":"Bundle","type":"` + typ + `","entry":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		obs := `{"resourceType":"Observation","id":"o` + strconv.Itoa(i) + `","status":"final","code":{"text":"hr"},"subject":{"reference":"Patient/123"}}`
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, `{"fullUrl":"Observation/o%d","resource":%s,"request":{"method":"PUT","url":"Observation/o%d"}}`, i, obs, i)
		case 1:
			fmt.Fprintf(&b, `{"fullUrl":"urn:uuid:%08d-0000-4000-8000-000000000000","resource":%s,"request":{"method":"POST","url":"Observation"}}`, i, strings.Replace(obs, `"id":"o`+strconv.Itoa(i)+`",`, "", 1))
		case 2:
			if typ == "transaction" {
				fmt.Fprintf(&b, `{"request":{"method":"GET","url":"Observation?_id=o%d"}}`, i)
				break
			}
			fmt.Fprintf(&b, `{"request":{"method":"GET","url":"Observation/o%d"}}`, i)
		default:
			fmt.Fprintf(&b, `{"request":{"method":"GET","url":"Observation?code=hr&_count=%d"}}`, i%50+1)
		}
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// bundleServer answers stored-version reads with the patient's
// Observation (and an ETag), and a batch or transaction with response,
// prepared beforehand so that the benchmark measures the middleware rather
// than the server.
type bundleServer struct {
	response []byte
	reads    atomic.Int64
}

const bundleServerObservation = `{"resourceType":"Observation","id":"o1","meta":{"versionId":"1"},"status":"final","code":{"text":"hr"},"subject":{"reference":"Patient/123"}}`

func (s *bundleServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/fhir+json")
	if r.Method == http.MethodGet {
		s.reads.Add(1)
		w.Header().Set("ETag", `W/"1"`)
		_, _ = io.WriteString(w, bundleServerObservation)
		return
	}
	_, _ = w.Write(s.response)
}

// bundleResponse is a server's answer to bundleBody(typ, n): the
// Observation for a read, a one-entry searchset for a search, 201 for a
// write.
func bundleResponse(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"resourceType":"Bundle","type":"batch-response","entry":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		switch i % 4 {
		case 0, 1:
			b.WriteString(`{"response":{"status":"201 Created","etag":"W/\"1\""}}`)
		case 2:
			b.WriteString(`{"resource":` + bundleServerObservation + `,"response":{"status":"200 OK"}}`)
		default:
			b.WriteString(`{"resource":{"resourceType":"Bundle","type":"searchset","entry":[{"resource":` + bundleServerObservation + `,"search":{"mode":"match"}}]},"response":{"status":"200 OK"}}`)
		}
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// BenchmarkMiddlewareBundle compares a batch and a transaction through the
// middleware (narrowing, stored-version checks, response checks) with
// fhirauth's Authorize alone on the same Bundle, in CPU time per Bundle
// (cpu-ns/op: the stored-version reads run on several goroutines). The
// middleware's x-authorize is its CPU time over Authorize's in the same
// run; target: within 2x. stored-reads/op counts the stored-version reads
// through the wrapped handler.
func BenchmarkMiddlewareBundle(b *testing.B) {
	iss, ver, policy := hotPathSetup(b)
	mw, err := middleware.New(ver, policy, middleware.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	tok := iss.Mint(map[string]any{"sub": "u1", "client_id": "c1", "scope": "launch/patient patient/*.cruds", "patient": "123"})
	for _, typ := range []string{"transaction", "batch"} {
		for _, n := range []int{20, 100, 1000, 10000} {
			body := bundleBody(typ, n)
			request := func() *http.Request {
				r, _ := http.NewRequest(http.MethodPost, "http://fhir.example/fhir", bytes.NewReader(body))
				r.Header.Set("Authorization", "Bearer "+tok)
				r.Header.Set("Content-Type", "application/fhir+json")
				return r
			}
			var authorizeCPU float64
			b.Run(fmt.Sprintf("%s/entries=%d/authorize-only", typ, n), func(b *testing.B) {
				p, err := ver.Authenticate(context.Background(), tok)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				start := cputime.Process()
				for b.Loop() {
					r := request()
					if _, d := policy.Authorize(r.Context(), p, r); !d.Allowed {
						b.Fatal(d.Reason)
					}
				}
				authorizeCPU = float64(cputime.Process()-start) / float64(b.N)
				b.ReportMetric(authorizeCPU, "cpu-ns/op")
			})
			b.Run(fmt.Sprintf("%s/entries=%d/middleware", typ, n), func(b *testing.B) {
				srv := &bundleServer{response: bundleResponse(n)}
				h := mw.Wrap(srv)
				b.ReportAllocs()
				start := cputime.Process()
				for b.Loop() {
					w := &discardWriter{h: http.Header{}}
					h.ServeHTTP(w, request())
					if w.status != http.StatusOK {
						b.Fatalf("status %d", w.status)
					}
				}
				cpu := float64(cputime.Process()-start) / float64(b.N)
				b.ReportMetric(cpu, "cpu-ns/op")
				if authorizeCPU > 0 {
					b.ReportMetric(cpu/authorizeCPU, "x-authorize")
				}
				b.ReportMetric(float64(srv.reads.Load())/float64(b.N), "stored-reads/op")
			})
		}
	}
}

// BenchmarkCheckedResponseSize is a checked search-set (an _include in
// patient context: every entry is checked) of growing size through the
// middleware, with its inner handler alone as the baseline; alloc-ratio
// is the bytes allocated per response over the response's size (target
// <= 1.5).
func BenchmarkCheckedResponseSize(b *testing.B) {
	iss, ver, policy := hotPathSetup(b)
	mw, err := middleware.New(ver, policy, middleware.WithLogger(slog.New(slog.DiscardHandler)), middleware.WithMaxResponseSize(32<<20))
	if err != nil {
		b.Fatal(err)
	}
	tok := iss.Mint(map[string]any{"sub": "u1", "client_id": "c1", "scope": "launch/patient patient/*.rs", "patient": "123"})
	for _, size := range []int{10 << 10, 100 << 10, 1 << 20, 10 << 20} {
		var body strings.Builder
		body.WriteString(`{"resourceType":"Bundle","type":"searchset","entry":[`)
		for i := 0; body.Len() < size; i++ {
			if i > 0 {
				body.WriteByte(',')
			}
			fmt.Fprintf(&body, `{"fullUrl":"http://fhir.example/fhir/Observation/o%d","resource":{"resourceType":"Observation","id":"o%d","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/123"},"valueQuantity":{"value":72.5,"unit":"/min"}},"search":{"mode":"match"}}`, i, i)
		}
		body.WriteString(`]}`)
		inner := fixedInner([]byte(body.String()))
		r, _ := http.NewRequest(http.MethodGet, "http://fhir.example/fhir/Observation?_include=Observation:subject", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		h := mw.Wrap(inner)
		b.Run(fmt.Sprintf("size=%dKB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(body.Len()))
			b.ReportAllocs()
			var before, after runtimeMem
			before.read()
			for b.Loop() {
				w := &discardWriter{h: http.Header{}}
				h.ServeHTTP(w, r)
				if w.status != http.StatusOK {
					b.Fatalf("status %d", w.status)
				}
			}
			after.read()
			b.ReportMetric(float64(after.total-before.total)/float64(b.N)/float64(body.Len()), "alloc-ratio")
		})
	}
}

// runtimeMem reads the bytes allocated so far.
type runtimeMem struct{ total uint64 }

func (m *runtimeMem) read() {
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	m.total = s.TotalAlloc
}

// BenchmarkCheckedStream compares, in one run, a checked search set
// streamed (WithStreamedChecks, the default) and checked whole: the same
// Bundle of patient-context Observations written in 32 KiB pieces, as
// httputil.ReverseProxy copies an upstream's body. streamed/buffered
// ns/op is the CPU cost of streaming per checked byte; B/op what each
// allocates.
func BenchmarkCheckedStream(b *testing.B) {
	iss, ver, policy := hotPathSetup(b)
	tok := iss.Mint(map[string]any{"sub": "u1", "client_id": "c1", "scope": "launch/patient patient/*.rs", "patient": "123"})
	for _, size := range []int{10 << 10, 100 << 10, 1 << 20, 10 << 20} {
		var body strings.Builder
		body.WriteString(`{"resourceType":"Bundle","type":"searchset","entry":[`)
		for i := 0; body.Len() < size; i++ {
			if i > 0 {
				body.WriteByte(',')
			}
			fmt.Fprintf(&body, `{"fullUrl":"http://fhir.example/fhir/Observation/o%d","resource":{"resourceType":"Observation","id":"o%d","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/123"},"valueQuantity":{"value":72.5,"unit":"/min"}},"search":{"mode":"match"}}`, i, i)
		}
		body.WriteString(`]}`)
		data := []byte(body.String())
		inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = []string{"application/fhir+json"}
			w.WriteHeader(http.StatusOK)
			for i := 0; i < len(data); i += 32 << 10 {
				_, _ = w.Write(data[i:min(i+32<<10, len(data))])
			}
		})
		r, _ := http.NewRequest(http.MethodGet, "http://fhir.example/fhir/Observation?_include=Observation:subject", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		for _, streamed := range []bool{false, true} {
			mw, err := middleware.New(ver, policy, middleware.WithLogger(slog.New(slog.DiscardHandler)),
				middleware.WithMaxResponseSize(32<<20), middleware.WithStreamedChecks(streamed))
			if err != nil {
				b.Fatal(err)
			}
			h := mw.Wrap(inner)
			mode := map[bool]string{false: "buffered", true: "streamed"}[streamed]
			b.Run(fmt.Sprintf("size=%dKB/%s", size>>10, mode), func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					w := &discardWriter{h: http.Header{}}
					h.ServeHTTP(w, r)
					if w.status != http.StatusOK {
						b.Fatalf("status %d", w.status)
					}
				}
			})
		}
	}
}
