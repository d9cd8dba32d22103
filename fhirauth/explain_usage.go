package fhirauth

import (
	"slices"
	"strconv"
	"strings"

	"github.com/fhirwarden/fhirwarden/scope"
)

// explainUsage records which constraint alternatives Explain offered
// for a context, type and interaction, and which it left out because no
// request could use them (usability), so that Explain can name the
// scopes that grant less than they say.
type explainUsage struct {
	uses []explainUse
}

// explainUse is one alternative for one interaction on one type.
type explainUse struct {
	c   scope.Context
	typ string
	in  string // the Explanation interaction name
	key string // explainConstraintKey of the alternative
	why string // why it was left out; "" when it was offered
}

// explainLetter is the SMART letter each interaction a constraint
// alternative is probed for needs.
var explainLetter = map[string]scope.Permission{
	ExplainRead: scope.Read, ExplainSearch: scope.Search, ExplainCreate: scope.Create,
	ExplainUpdate: scope.Update, ExplainDelete: scope.Delete,
}

// add records alternative alt for probe in under context c, left out
// for why ("" when offered).
func (u *explainUsage) add(c scope.Context, in explainProbe, alt []scope.Constraint, why string) {
	u.uses = append(u.uses, explainUse{c: c, typ: in.typ, in: in.name, key: explainConstraintKey(alt), why: why})
}

// explainConstraintKey identifies a constraint list whatever its order
// and repetitions.
func explainConstraintKey(cons []scope.Constraint) string {
	items := make([]string, len(cons))
	for i, c := range cons {
		items[i] = c.String()
	}
	slices.Sort(items)
	return strings.Join(slices.Compact(items), "&")
}

// notHonoured lists the constrained scopes of s whose constraints were
// left out for some type and interaction the scope names: the reason
// says why and, when the scope still grants something, what it does not
// grant.
func (u *explainUsage) notHonoured(s scope.Set) []NotHonoured {
	var out []NotHonoured
	for _, sc := range s.Scopes() {
		if !sc.IsResource() || len(sc.Constraints) == 0 {
			continue
		}
		key := explainConstraintKey(sc.Constraints)
		var left []explainUse
		used := false
		for _, e := range u.uses {
			if e.c != sc.Context || e.key != key || sc.Permissions&explainLetter[e.in] == 0 ||
				(sc.ResourceType != "*" && sc.ResourceType != e.typ) {
				continue
			}
			if e.why == "" {
				used = true
			} else {
				left = append(left, e)
			}
		}
		if len(left) > 0 {
			out = append(out, NotHonoured{Scope: sc.String(), Reason: explainLeftOut(left, used)})
		}
	}
	return out
}

// explainLeftOut words why the uses left were left out (the reasons for
// the first type; other types are counted); when the scope is otherwise
// used, it first says which interactions on which types it does not
// grant.
func explainLeftOut(left []explainUse, used bool) string {
	var whys, types []string
	ins := map[string][]string{}
	for _, e := range left {
		if e.typ == left[0].typ && !slices.Contains(whys, e.why) {
			whys = append(whys, e.why)
		}
		if !slices.Contains(types, e.typ) {
			types = append(types, e.typ)
		}
		if !slices.Contains(ins[e.typ], e.in) {
			ins[e.typ] = append(ins[e.typ], e.in)
		}
	}
	why := strings.Join(whys, "; ")
	if len(types) > 1 {
		why += " (and for like reasons on " + strconv.Itoa(len(types)-1) + " other types)"
	}
	if !used {
		return why
	}
	var parts, sigs []string
	byIns := map[string][]string{}
	for _, t := range types {
		slices.SortFunc(ins[t], func(a, b string) int {
			return slices.Index(explainOrder, a) - slices.Index(explainOrder, b)
		})
		sig := explainJoinOr(ins[t])
		if _, ok := byIns[sig]; !ok {
			sigs = append(sigs, sig)
		}
		byIns[sig] = append(byIns[sig], t)
	}
	for _, sig := range sigs {
		parts = append(parts, "no "+sig+" of "+explainTypeList(byIns[sig]))
	}
	return "grants " + strings.Join(parts, ", and ") + ": " + why
}

// explainJoinOr joins "a", "b" and "c" as "a, b or c".
func explainJoinOr(w []string) string {
	if len(w) < 2 {
		return strings.Join(w, "")
	}
	return strings.Join(w[:len(w)-1], ", ") + " or " + w[len(w)-1]
}

// explainTypeList names types, or the first three and how many others.
func explainTypeList(types []string) string {
	if len(types) <= 3 {
		return explainJoin(types)
	}
	return strings.Join(types[:3], ", ") + " and " + strconv.Itoa(len(types)-3) + " other types"
}
