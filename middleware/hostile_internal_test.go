package middleware

import (
	"strings"
	"testing"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax/hostile"
	"github.com/stretchr/testify/assert"
)

// The middleware's readers reach the verdict every JSON reader of the
// library reaches on each hostile document.
func TestHostileJSONSameVerdict(t *testing.T) {
	for _, c := range hostile.Objects {
		_, err := strictObject([]byte(c.Doc))
		assert.Equal(t, c.Refused, err != nil, "strictObject, %s: %v", c.Name, err)
		rt, _ := resourceID([]byte(c.Doc))
		assert.Equal(t, c.Refused, rt == "", "resourceID, %s", c.Name)
		entry := `{"request":{"method":"PUT","url":"Observation/1"},` + c.Doc[1:]
		_, err = rewriteEntry(nil, []byte(entry), &fhirauth.Request{}, &fhirauth.Decision{Allowed: true}, false, `W/"1"`)
		assert.Equal(t, c.Refused, err != nil, "rewriteEntry, %s: %v", c.Name, err)
		_, err = rewriteEntry(nil, []byte(`{"request":`+c.Doc+`}`), &fhirauth.Request{}, &fhirauth.Decision{Allowed: true}, false, `W/"1"`)
		assert.Equal(t, c.Refused, err != nil, "rewriteEntry of the request, %s: %v", c.Name, err)
		_, err = appendWithout(nil, []byte(c.Doc), "location")
		assert.Equal(t, c.Refused, err != nil, "appendWithout, %s: %v", c.Name, err)
		bundle := `{"resourceType":"Bundle","entry":[],` + strings.Replace(c.Doc[1:], `"resourceType":"Observation",`, "", 1)
		_, err = splitResponseBundle([]byte(bundle), 0)
		assert.Equal(t, c.Refused, err != nil, "splitResponseBundle, %s: %v", c.Name, err)
		_, err = splitBundle([]byte(bundle), 0)
		assert.Equal(t, c.Refused, err != nil, "splitBundle, %s: %v", c.Name, err)
		// A Bundle entry's resource, as the entries of a checked
		// batch response are rebuilt.
		_, kept := sanitizeEntry([]byte(`{"fullUrl":"x","resource":` + c.Doc + `}`))
		assert.Equal(t, c.Refused, !kept, "sanitizeEntry, resource, %s", c.Name)
	}
}
