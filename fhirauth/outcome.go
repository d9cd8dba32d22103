package fhirauth

import (
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

//go:generate go run ./internal/outcomegen -o outcome_gen.go

// OperationOutcome returns a FHIR JSON OperationOutcome of version v with
// one issue of severity "error", the given issue code ("forbidden",
// "login", "security", "invalid", "not-supported", ...; an unknown code
// becomes "processing") and diagnostics as the issue's diagnostics text.
//
// The documents are google/fhir/go's: its resource model and JSON
// marshaller produced, for every issue code, the OperationOutcome with a
// placeholder as diagnostics (go generate; see outcome_gen.go), and an
// answer splices the JSON-escaped diagnostics into that template. That
// keeps google/fhir/go's JSON tables, tens of megabytes of heap built at
// init, out of every program that uses fhirauth, and costs a copy per
// refused request instead of a marshal through protobuf reflection. The
// package tests compare every template with a fresh marshal.
func OperationOutcome(v fhirspec.Version, code, diagnostics string) []byte {
	t, ok := templateFor(v, code)
	if !ok {
		return nil
	}
	return t.render(diagnostics)
}

// OperationOutcome returns the decision's OperationOutcome (FHIR JSON of the
// policy's version), with the decision's issue code and reason. Allowed
// decisions get an "informational" issue.
func (d *Decision) OperationOutcome() []byte {
	code := d.IssueCode
	if code == "" {
		code = "informational"
	}
	v := fhirspec.R4
	if d.policy != nil {
		v = d.policy.version
	}
	return OperationOutcome(v, code, d.Reason)
}

// outcomeTemplate is an OperationOutcome split around its diagnostics.
type outcomeTemplate struct {
	prefix, suffix string
}

func (t *outcomeTemplate) render(diagnostics string) []byte {
	out := make([]byte, 0, len(t.prefix)+len(diagnostics)+len(t.suffix)+2)
	out = append(out, t.prefix...)
	// The template holds the quotes: the string goes in without its own.
	q := len(out)
	out = jsonsyntax.AppendQuote(out, strings.ToValidUTF8(diagnostics, "\uFFFD"))
	out = append(out[:q], out[q+1:len(out)-1]...)
	return append(out, t.suffix...)
}

// templateFor returns the template of version v for an issue code; an
// unknown code gets "processing"'s, an unknown version none.
func templateFor(v fhirspec.Version, code string) (outcomeTemplate, bool) {
	var table map[string]outcomeTemplate
	switch v {
	case fhirspec.STU3:
		table = stu3Outcomes
	case fhirspec.R4:
		table = r4Outcomes
	default:
		return outcomeTemplate{}, false
	}
	t, ok := table[code]
	if !ok {
		t = table["processing"]
	}
	return t, true
}
