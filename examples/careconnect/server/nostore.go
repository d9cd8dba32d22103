package server

import "net/http"

// noStore marks every answer of h as one no cache may keep (RFC 9111
// section 5.2.2.5) and no browser may read as another content type than
// the one it declares. An answer behind a token holds one patient's
// record, and its URL does not say whose: GET Observation is the same URL
// for every token. Without Cache-Control, an answer that carries
// Last-Modified may be kept on disk under heuristic freshness and served
// to the next user of the browser profile. A handler that sets its own
// Cache-Control (the public SMART configuration) replaces this one.
func noStore(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Cache-Control", "no-store")
		hd.Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}
