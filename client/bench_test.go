package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"golang.org/x/oauth2"
)

// BenchmarkTokenCache measures the cost a request pays for its token when
// the cache holds a fresh one (the common case), against a bare
// oauth2.StaticTokenSource in the same run.
func BenchmarkTokenCache(b *testing.B) {
	ctx := context.Background()
	b.Run("static-baseline", func(b *testing.B) {
		ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"})
		b.ReportAllocs()
		for b.Loop() {
			_, _ = ts.Token()
		}
	})
	b.Run("cached", func(b *testing.B) {
		tc, _ := cacheTokens(func(context.Context) (*oauth2.Token, error) {
			return &oauth2.Token{AccessToken: "t", ExpiresIn: 3600}, nil
		})
		_, _ = tc.TokenContext(ctx)
		b.ReportAllocs()
		for b.Loop() {
			_, _ = tc.TokenContext(ctx)
		}
	})
}

// BenchmarkRead measures one authorized read against a loopback server,
// with the raw net/http round trip as the baseline in the same run.
func BenchmarkRead(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", FHIRMediaType)
		_, _ = w.Write([]byte(patient1))
	}))
	defer srv.Close()
	ctx := context.Background()
	b.Run("net/http-baseline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/Patient/1", nil)
			req.Header.Set("Authorization", "Bearer t")
			resp, err := srv.Client().Do(req)
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 512)
			_, _ = resp.Body.Read(buf)
			resp.Body.Close()
		}
	})
	b.Run("client", func(b *testing.B) {
		c, _ := New(srv.URL, StaticToken("t"), WithHTTPClient(srv.Client()))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Read(ctx, "Patient", "1"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
