package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bigPages serves pages searchset pages of about pageBytes each (64
// Patients), each but the last linking to the next. At every request
// it records the live heap after a collection: what fhirctl still holds
// of the pages before.
type bigPages struct {
	pages int
	body  string // the entries, shared by every page

	mu       sync.Mutex
	peakLive uint64
}

const pageBytes = 512 << 10

func newBigPages(pages int) *bigPages {
	text := strings.Repeat("x", pageBytes/64-100)
	var entries []string
	for i := range 64 {
		entries = append(entries, fmt.Sprintf(`{"resource":{"resourceType":"Patient","id":"p%d","text":{"div":"%s"}}}`, i, text))
	}
	return &bigPages{pages: pages, body: strings.Join(entries, ",")}
}

func (b *bigPages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.URL.Query().Get("page"))
	b.measure()
	next := ""
	if n+1 < b.pages {
		next = fmt.Sprintf(`"link":[{"relation":"next","url":"http://%s/fhir/Patient?page=%d"}],`, r.Host, n+1)
	}
	w.Header().Set("Content-Type", "application/fhir+json")
	fmt.Fprintf(w, `{"resourceType":"Bundle","type":"searchset","total":%d,%s"entry":[%s]}`, 64*b.pages, next, b.body)
}

// measure records the live heap, the largest seen.
func (b *bigPages) measure() {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.mu.Lock()
	b.peakLive = max(b.peakLive, ms.HeapAlloc)
	b.mu.Unlock()
}

// peakLiveHeap runs a search of pages pages with -o format, its output
// thrown away, and returns the largest live heap seen between pages.
func peakLiveHeap(t *testing.T, format string, pages int) uint64 {
	t.Helper()
	b := newBigPages(pages)
	srv := httptest.NewServer(b)
	defer srv.Close()
	env := map[string]string{"FHIR_BASE": srv.URL + "/fhir", "FHIR_TOKEN": "at"}
	args := []string{"-max-pages", strconv.Itoa(pages), "-o", format, "search", "Patient"}
	code := run(context.Background(), args, strings.NewReader(""), io.Discard, io.Discard, func(k string) string { return env[k] })
	require.Equal(t, exitOK, code)
	return b.peakLive
}

// TestSearchMemoryBounded: -o json and -o ndjson write each page as it
// comes, so what fhirctl holds is one page, however many pages the
// server has; -o table holds a short row per resource, not the
// resource. Holding the resources would let a server (or a broad
// search) grow fhirctl to -max-pages times the 16 MiB page limit.
func TestSearchMemoryBounded(t *testing.T) {
	for _, format := range []string{"ndjson", "json", "table"} {
		few, many := peakLiveHeap(t, format, 4), peakLiveHeap(t, format, 24)
		t.Logf("-o %s: peak live heap %d KiB at 4 pages, %d KiB at 24 pages of %d KiB", format, few>>10, many>>10, pageBytes>>10)
		assert.Less(t, int64(many)-int64(few), int64(3*pageBytes),
			"-o %s: 20 more pages must not add 20 pages of heap", format)
	}
}
