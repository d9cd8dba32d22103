package bench_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/fhirwarden/fhirwarden/bench"
)

// Drive a handler with 4 concurrent workers until 200 requests have been
// answered, then read the statuses and percentiles.
func ExampleLoad() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`{"resourceType":"Bundle"}`))
	}))
	defer srv.Close()

	r, err := bench.Load{
		URL:         srv.URL,
		Header:      http.Header{"Authorization": {"Bearer t"}},
		Concurrency: 4,
		Requests:    200,
	}.Run(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Requests, "answers,", r.OK(), "OK,", r.Errors, "errors")
	fmt.Println("p50 <= p99:", r.Percentile(50) <= r.Percentile(99))
	// Output:
	// 200 answers, 200 OK, 0 errors
	// p50 <= p99: true
}
