package fhirauth

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
)

// A body is judged as UTF-8 bytes, but a server decodes it by the charset
// its Content-Type declares: a body declared in another charset is
// refused, whatever its media type; UTF-8 and US-ASCII pass.
func TestBodyCharsetMustBeUTF8(t *testing.T) {
	p := testPolicy(t)
	pr := principal(t, "launch/patient patient/Observation.crs", "123")
	for _, tc := range []struct {
		method, target, body, contentType string
		allow                             bool
	}{
		{"POST", "/fhir/Observation", noID(obsOf123), "application/fhir+json; charset=utf-8", true},
		{"POST", "/fhir/Observation", noID(obsOf123), "application/fhir+json; charset=UTF-8", true},
		{"POST", "/fhir/Observation", noID(obsOf123), "application/fhir+json; charset=utf-16", false},
		{"POST", "/fhir/Observation", noID(obsOf123), "application/json; charset=ibm037", false},
		{"POST", "/fhir/Observation", noID(obsOf123), "application/fhir+json; charset=iso-8859-1", false},
		{"POST", "/fhir/Observation/_search", "code=x", "application/x-www-form-urlencoded; charset=us-ascii", true},
		{"POST", "/fhir/Observation/_search", "code=x", "application/x-www-form-urlencoded; charset=utf-16le", false},
		{"POST", "/fhir", `{"resourceType":"Bundle","type":"batch","entry":[]}`, "application/fhir+json; charset=utf-7", false},
	} {
		_, d := authorize(t, p, pr, tc.method, tc.target, tc.body, map[string]string{"Content-Type": tc.contentType})
		assert.Equal(t, tc.allow, d.Allowed, "%s %s %s: %d %s", tc.method, tc.target, tc.contentType, d.Status, d.Reason)
	}
}

// MediaType is the one reading of a Content-Type, for request bodies and
// checked responses alike: the media type in lower case, or an error for
// a malformed value or a charset other than UTF-8 (or US-ASCII), however
// it is spelled.
func TestMediaType(t *testing.T) {
	for ct, want := range map[string]string{
		"":                                     "",
		"application/fhir+json":                "application/fhir+json",
		"Application/FHIR+JSON; charset=UTF-8": "application/fhir+json",
		`application/json; charset="utf-8"`:    "application/json",
		"application/json;charset=Utf-8":       "application/json",
		"application/x-www-form-urlencoded; charset=US-ASCII": "application/x-www-form-urlencoded",
		"text/html":                                           "text/html",
		"application/fhir+json; charset=utf-7":                "",
		"application/fhir+json; CHARSET=UTF-7":                "",
		`application/fhir+json; charset="utf-7"`:              "",
		"application/fhir+json; charset=iso-8859-1":           "",
		"application/fhir+json; charset=utf-16le":             "",
		"application/fhir+json; charset=utf8":                 "",
		"application/fhir+json; charset=":                     "",
		"application/fhir+json; charset=utf-8; charset=utf-7": "",
		"application/fhir+json; charset=utf-8, text/html":     "",
		"application/fhir+json;;":                             "",
		"/json":                                               "",
	} {
		mt, err := MediaType(ct)
		if want == "" && ct != "" {
			assert.Error(t, err, "%q", ct)
			assert.Empty(t, mt, "%q", ct)
			continue
		}
		assert.NoError(t, err, "%q", ct)
		assert.Equal(t, want, mt, "%q", ct)
	}
	_, err := MediaType("application/fhir+json; charset=utf-7")
	assert.ErrorContains(t, err, `charset "utf-7"`)
}

// RFC 2231 lets a parameter be written as name*=charset'lang'value or in
// numbered pieces (name*0, name*1), and Go's MIME parser reads such a
// charset* in place of a plain charset beside it. Servers and clients
// that read HTTP's Content-Type (RFC 9110 has no extended parameters)
// take the plain one: "charset=utf-7; charset*=utf-8'en'utf-8" is UTF-7 to
// them. A charset named more than once, or in the extended notation, is
// refused, for request bodies and checked responses alike.
func TestMediaTypeExtendedCharset(t *testing.T) {
	for _, ct := range []string{
		`application/fhir+json; charset=utf-7; charset*=utf-8''utf-8`,
		`application/fhir+json; charset*=utf-8''utf-8; charset=utf-7`,
		`application/fhir+json; charset*0=utf; charset*1=-8; charset=utf-7`,
		`application/fhir+json; CHARSET=utf-7; Charset*=UTF-8''utf-8`,
		`application/fhir+json; charset*=utf-8''utf-8`,
		`application/fhir+json; charset=utf-8; charset=utf-8`,
	} {
		mt, err := MediaType(ct)
		assert.Error(t, err, "%q", ct)
		assert.Empty(t, mt, "%q", ct)
	}
	p := testPolicy(t)
	pr := principal(t, "launch/patient patient/Observation.crs", "123")
	_, d := authorize(t, p, pr, "POST", "/fhir/Observation", obsOf123,
		map[string]string{"Content-Type": `application/fhir+json; charset=utf-7; charset*=utf-8''utf-8`})
	assert.False(t, d.Allowed, "a body the server decodes as UTF-7 is judged as UTF-8")
}

// FHIR lets one endpoint serve several releases, the fhirVersion
// parameter of the body's Content-Type naming the one it is in: a server
// that honours it reads (and converts) the body as that release, while
// fhirauth judges it as the policy's, by that release's elements and
// compartments. A body declared in another release is refused; one
// declared in the policy's release, in any spelling ParseVersion reads,
// passes.
func TestBodyFHIRVersionMustBePolicys(t *testing.T) {
	r4, stu3 := testPolicy(t), testPolicy(t, WithVersion(fhirspec.STU3))
	pr := principal(t, "launch/patient patient/Observation.crs", "123")
	for _, tc := range []struct {
		p           *Policy
		contentType string
		allow       bool
	}{
		{r4, "application/fhir+json; fhirVersion=4.0", true},
		{r4, "application/fhir+json;fhirVersion=4.0.1", true},
		{r4, "application/fhir+json; charset=utf-8; FHIRVERSION=4.0", true},
		{r4, "application/fhir+json; fhirVersion=3.0", false},
		{r4, "application/fhir+json; fhirversion=3.0", false},
		{r4, `application/fhir+json; fhirVersion="3.0"`, false},
		{r4, "application/fhir+json; fhirVersion=4.3", false},
		{r4, "application/fhir+json; fhirVersion=5.0", false},
		{r4, "application/fhir+json; fhirVersion=", false},
		{stu3, "application/fhir+json; fhirVersion=3.0", true},
		{stu3, "application/fhir+json; fhirVersion=4.0", false},
	} {
		_, d := authorize(t, tc.p, pr, "POST", "/fhir/Observation", noID(obsOf123), map[string]string{"Content-Type": tc.contentType})
		assert.Equal(t, tc.allow, d.Allowed, "%v %s: %d %s", tc.p.Version(), tc.contentType, d.Status, d.Reason)
	}
	batch := `{"resourceType":"Bundle","type":"batch","entry":[{"resource":` + noID(obsOf123) + `,"request":{"method":"POST","url":"Observation"}}]}`
	_, d := authorize(t, r4, pr, "POST", "/fhir", batch, map[string]string{"Content-Type": "application/fhir+json; fhirVersion=3.0"})
	assert.False(t, d.Allowed, "a Bundle declared in STU3")
}
