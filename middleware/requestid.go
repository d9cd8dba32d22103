package middleware

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"sync/atomic"
)

// requestIDHeader carries a request's identifier, in and out.
const requestIDHeader = "X-Request-Id"

// maxRequestID bounds a client's X-Request-ID that is taken as is.
const maxRequestID = 128

// requestIDs are generated as a random per-process prefix and a counter:
// unique without a random read per request.
var (
	requestIDPrefix = func() string {
		var b [8]byte
		_, _ = rand.Read(b[:])
		return hex.EncodeToString(b[:]) + "-"
	}()
	requestIDSeq atomic.Uint64
)

// WithRequestIDs makes the middleware generate a request id for every
// request that comes without a usable X-Request-ID (one line of at most
// 128 visible ASCII bytes), send it back in X-Request-ID and put it in
// the audit record. Without it, a client's usable X-Request-ID is still
// sent back and audited (at no cost: the header's value is shared).
func WithRequestIDs() Option {
	return func(c *config) error {
		c.requestIDs = true
		return nil
	}
}

// setRequestID sends the request's id back in the response header: the
// client's X-Request-ID when it is usable, else a generated one when
// generate is set. The audit record reads it from there.
func setRequestID(w http.ResponseWriter, r *http.Request, generate bool) {
	if vs := r.Header[requestIDHeader]; len(vs) == 1 && usableRequestID(vs[0]) {
		w.Header()[requestIDHeader] = vs
		return
	}
	if generate {
		w.Header()[requestIDHeader] = []string{requestIDPrefix + strconv.FormatUint(requestIDSeq.Add(1), 10)}
	}
}

func usableRequestID(id string) bool {
	if id == "" || len(id) > maxRequestID {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// traceID is the trace-id of a valid W3C traceparent header
// ("00-<32 hex>-<16 hex>-<2 hex>"), or "".
func traceID(h http.Header) string {
	vs := h["Traceparent"]
	if len(vs) != 1 {
		return ""
	}
	tp := vs[0]
	if len(tp) < 55 || tp[2] != '-' || tp[35] != '-' || tp[52] != '-' || tp[:2] == "ff" {
		return ""
	}
	if len(tp) > 55 && (tp[:2] == "00" || tp[55] != '-') {
		return ""
	}
	id := tp[3:35]
	if !lowerHex(tp[:2]) || !lowerHex(id) || !lowerHex(tp[36:52]) || !lowerHex(tp[53:55]) ||
		id == "00000000000000000000000000000000" || tp[36:52] == "0000000000000000" {
		return ""
	}
	return id
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
