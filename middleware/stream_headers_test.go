package middleware_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
	"github.com/fhirwarden/fhirwarden/middleware"
)

// decodeUTF7 decodes UTF-7 (RFC 2152) as a client honouring
// "charset=utf-7" does: "+" starts modified base64 of UTF-16 code units,
// ended by any byte outside the base64 alphabet ("-" is absorbed).
func decodeUTF7(b []byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var out strings.Builder
	for i := 0; i < len(b); i++ {
		if b[i] != '+' {
			out.WriteByte(b[i])
			continue
		}
		j := i + 1
		for j < len(b) && strings.IndexByte(alphabet, b[j]) >= 0 {
			j++
		}
		if j == i+1 && j < len(b) && b[j] == '-' {
			out.WriteByte('+')
			i = j
			continue
		}
		raw, _ := base64.RawStdEncoding.DecodeString(string(b[i+1 : j]))
		units := make([]uint16, len(raw)/2)
		for k := range units {
			units[k] = uint16(raw[2*k])<<8 | uint16(raw[2*k+1])
		}
		out.WriteString(string(utf16.Decode(units)))
		if j < len(b) && b[j] == '-' {
			j++
		}
		i = j - 1
	}
	return out.String()
}

// encodeUTF7 is s as one UTF-7 shifted sequence ("+...-").
func encodeUTF7(s string) string {
	units := utf16.Encode([]rune(s))
	raw := make([]byte, 0, 2*len(units))
	for _, u := range units {
		raw = append(raw, byte(u>>8), byte(u))
	}
	return "+" + base64.RawStdEncoding.EncodeToString(raw) + "-"
}

// A streamed search set's headers are checked as they go out, not only
// at the handler's first write: a Content-Type changed in between (here
// to a charset in which the checked text reads as another patient's
// resource) is refused with 502, as a buffered response's is. The entry
// below is Alice's Observation to the check; decoded as UTF-7, its note
// ends the entry and adds Bob's Patient.
func TestStreamedCheckHeadersChangedAfterFirstWrite(t *testing.T) {
	hidden := encodeUTF7(`"}]}},{"resource":` + leakedPatient + `},{"resource":{"resourceType":"Basic","note":[{"text":"`)
	entry := fmt.Sprintf(`{"resource":{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/%s"},"note":[{"text":"%s"}]}}`, naivefhir.Alice, hidden)
	for _, hm := range headerMaps {
		for _, n := range []int{3, 1000} {
			for _, streamed := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s/%d entries/streamed=%v", hm.name, n, streamed), func(t *testing.T) {
					body := streamHead + entry + "," + entries(n) + `]}`
					h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						w.Header().Set("Content-Type", "application/fhir+json")
						_, _ = io.WriteString(w, body[:10])
						w.Header().Set("Content-Type", "application/fhir+json; charset=utf-7")
						_, _ = io.WriteString(w, body[10:])
					})
					e := envWithOuter(t, hm.outer, withInner(h), withMW(middleware.WithStreamedChecks(streamed)))
					res, out, err := e.fetch(t, streamedPath, e.token("launch/patient patient/*.rs", naivefhir.Alice))
					require.NoError(t, err)
					ct := res.Header.Get("Content-Type")
					if strings.Contains(strings.ToLower(ct), "utf-7") && json.Valid([]byte(decodeUTF7(out))) {
						assert.Empty(t, naivefhir.Leaks([]byte(decodeUTF7(out)), naivefhir.Alice),
							"the client decodes %q: %.300s", ct, decodeUTF7(out))
					}
					assert.NotContains(t, strings.ToLower(ct), "utf-7", "a charset the check never saw")
					assert.Equal(t, http.StatusBadGateway, res.StatusCode, "%.300s", out)
					assert.NotContains(t, string(out), "LEAKED")
					rec := e.awaitAudit(t)
					assert.Equal(t, middleware.AuditDeny, rec.Decision)
					assert.Equal(t, http.StatusBadGateway, rec.Status)
				})
			}
		}
	}
}
