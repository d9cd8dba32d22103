package fhirauth

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
)

// String renders the explanation as short plain English, one sentence per
// grant, e.g. "May read and search Observation where category is
// laboratory, for Patient/123 only. May read Patient/123. Nothing else."
// followed by what the non-resource scopes mean and what is not honoured.
func (e *Explanation) String() string {
	var b strings.Builder
	for _, g := range e.Grants {
		e.writeGrant(&b, g)
	}
	if len(e.Grants) == 0 {
		b.WriteString("May do nothing on this server's FHIR API.")
	} else {
		b.WriteString("Nothing else.")
	}
	for _, m := range e.Scopes {
		b.WriteString(" " + m.Scope + ": " + m.Meaning + ".")
	}
	for _, n := range e.NotHonoured {
		b.WriteString(" Not honoured: " + n.Scope + " (" + n.Reason + ").")
	}
	return b.String()
}

// writeGrant writes the sentences of one grant: one for the interactions,
// one per operation.
func (e *Explanation) writeGrant(b *strings.Builder, g Grant) {
	var verbs, ops []string
	history := ""
	for _, in := range g.Interactions {
		switch {
		case strings.HasPrefix(in, "$"):
			ops = append(ops, in)
		case in == ExplainHistory:
			history = " (history included)"
		default:
			verbs = append(verbs, in)
		}
	}
	if len(verbs) == 0 && history != "" {
		verbs, history = []string{"read the history of"}, ""
	}
	subject, whose := e.typePhrase(g)
	tail := explainWhere(g.Where) + whose
	if len(verbs) > 0 {
		b.WriteString("May " + explainJoin(verbs) + " " + subject + history + tail + ". ")
	}
	for _, op := range ops {
		b.WriteString("May run " + op + " on " + subject + tail + ". ")
	}
}

// typePhrase names the grant's types (the token's own Patient resource,
// the whole server for system-level operations, every type, every type
// of the compartment, or the list) and says whose data they are.
func (e *Explanation) typePhrase(g Grant) (types, whose string) {
	switch {
	case g.Patient != "" && slices.Equal(g.Types, []string{"Patient"}):
		return "Patient/" + g.Patient, ""
	case g.Patient != "" && slices.Equal(g.Types, fhirspec.PatientCompartmentTypes(e.version)):
		return "every resource type in Patient/" + g.Patient + "'s compartment (" + strconv.Itoa(len(g.Types)) + " types)", ""
	case g.Patient != "":
		whose = ", for Patient/" + g.Patient + " only"
	case g.Context == "system":
		whose = ", for any patient (system/ scopes)"
	}
	named := g.Types
	server := len(named) > 0 && named[0] == ""
	if server {
		named = named[1:]
	}
	all := fhirspec.ResourceTypes(e.version)
	list := explainJoin(named)
	switch missing := explainMissing(all, named); {
	case len(missing) == 0:
		list = "every resource type"
	case len(named) > len(all)/2 && len(missing) <= 5:
		list = "every resource type except " + explainJoin(missing)
	}
	if server {
		list = explainJoin(append([]string{"the whole server"}, explainSplit(list, named)...))
	}
	return list, whose
}

// explainSplit returns the phrase for named types as list items: the
// types themselves when they are listed one by one, else the phrase.
func explainSplit(phrase string, named []string) []string {
	if phrase == explainJoin(named) {
		return named
	}
	return []string{phrase}
}

// explainWhere renders v2 constraints: " where category is laboratory".
func explainWhere(where [][]string) string {
	if len(where) == 0 {
		return ""
	}
	alts := make([]string, len(where))
	for i, alt := range where {
		items := make([]string, len(alt))
		for j, c := range alt {
			k, v, _ := strings.Cut(c, "=")
			if dv, err := url.QueryUnescape(v); err == nil {
				v = dv
			}
			items[j] = k + " is " + v
		}
		alts[i] = strings.Join(items, " and ")
	}
	return " where " + strings.Join(alts, ", or where ")
}

// explainJoin joins "a", "b" and "c" as "a, b and c".
func explainJoin(w []string) string {
	switch len(w) {
	case 0:
		return ""
	case 1:
		return w[0]
	}
	return strings.Join(w[:len(w)-1], ", ") + " and " + w[len(w)-1]
}

// explainMissing returns the elements of all (sorted) that are not in
// some (sorted).
func explainMissing(all, some []string) []string {
	var out []string
	for _, t := range all {
		if _, found := slices.BinarySearch(some, t); !found {
			out = append(out, t)
		}
	}
	return out
}
