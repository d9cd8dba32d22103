package scope

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error is a truncated
// *Error wrapping ErrInvalid, and that every valid scope round-trips through
// both its canonical form and its String form.
func FuzzParse(f *testing.F) {
	for _, tc := range parseCases {
		f.Add(tc.in)
	}
	f.Add(queryOf(MaxConstraints, "a"))
	f.Add(queryOf(MaxConstraints+1, "a"))
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Parse(in)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q) error %v is not an *Error wrapping ErrInvalid", in, err)
			}
			if len(pe.Scope) > maxErrorScope+3 || pe.Reason == "" {
				t.Fatalf("Parse(%q): bad error %#v", in, pe)
			}
			if s.Context != NoContext || s.raw != "" || s.Permissions != 0 || s.Constraints != nil {
				t.Fatalf("Parse(%q) failed but returned %#v", in, s)
			}
			return
		}
		if strings.ContainsAny(in, " \"\\") || in == "" {
			t.Fatalf("Parse(%q) accepted a character outside the scope-token set", in)
		}
		if s.String() != in {
			t.Fatalf("String() = %q, want %q", s.String(), in)
		}
		checkInvariants(t, s)
		for _, form := range []string{s.Canonical(), s.String()} {
			again, err := Parse(form)
			if err != nil {
				t.Fatalf("Parse(%q) ok, but its form %q fails: %v", in, form, err)
			}
			if !again.Equal(s) || !s.Equal(again) {
				t.Fatalf("Parse(%q) = %#v, but %q parses to %#v", in, s, form, again)
			}
			if again.Canonical() != s.Canonical() {
				t.Fatalf("canonical form not stable: %q vs %q", again.Canonical(), s.Canonical())
			}
		}
		set := NewSet(s)
		if set.Len() != 1 {
			t.Fatalf("NewSet(Parse(%q)) dropped the scope", in)
		}
		if s.IsResource() {
			m := set.Permits(s.Context, s.ResourceType, s.Permissions)
			want := Unconstrained
			if len(s.Constraints) > 0 {
				want = Constrained
			}
			if m != want {
				t.Fatalf("%q does not permit its own letters: %v", in, m)
			}
		} else if !set.Has(in) {
			t.Fatalf("set of %q does not Have it", in)
		}
	})
}

// checkInvariants checks the structure of a successfully parsed scope.
func checkInvariants(t *testing.T, s Scope) {
	t.Helper()
	if !s.IsResource() {
		if s.ResourceType != "" || s.Permissions != 0 || s.Constraints != nil || s.Syntax != SyntaxNone {
			t.Fatalf("non-resource scope with resource fields: %#v", s)
		}
		for _, prefix := range []string{"patient/", "user/", "system/"} {
			if strings.HasPrefix(s.raw, prefix) {
				t.Fatalf("%q has a context prefix but parsed as non-resource", s.raw)
			}
		}
		return
	}
	if s.Context > System || s.Permissions == 0 || s.Permissions&^All != 0 {
		t.Fatalf("bad resource scope %#v", s)
	}
	if s.ResourceType != "*" && !isTypeName(s.ResourceType) {
		t.Fatalf("bad resource type in %#v", s)
	}
	if s.Syntax == SyntaxV1 && len(s.Constraints) > 0 {
		t.Fatalf("v1 scope with constraints: %#v", s)
	}
	for _, c := range s.Constraints {
		if c.Param == "" || c.Value == "" || strings.ContainsAny(c.Param+c.Value, "&=#") {
			t.Fatalf("bad constraint %#v in %q", c, s.raw)
		}
	}
}

// FuzzParseSet checks that strict and lenient claim parsing agree and never
// panic.
func FuzzParseSet(f *testing.F) {
	f.Add("openid fhirUser launch/patient patient/*.read")
	f.Add("openid  patient/Observation.rs?category=lab")
	f.Add("*.* user/Patient.cruds ")
	f.Add("")
	f.Add(strings.Join(constrained(MaxConstraints+1, "rs"), " "))
	f.Add(strings.Join(constrained(MaxConstraints, "r"), " ") + " " + strings.Join(constrained(MaxConstraints, "s"), " "))
	f.Fuzz(func(t *testing.T, claim string) {
		strict, err := ParseSet(claim)
		lenient, bad := ParseSetLenient(claim)
		if n := setConstraints(lenient); n > MaxConstraints {
			t.Fatalf("%q: the lenient set holds %d constraints", claim, n)
		}
		for _, c := range []Context{Patient, User, System} {
			if lenient.HasContext(c) != (len(lenient.ResourceTypes(c)) > 0) {
				t.Fatalf("%q: HasContext(%v) disagrees with ResourceTypes", claim, c)
			}
			if !lenient.HasContext(c) && lenient.Permits(c, "*", Read) != Denied {
				t.Fatalf("%q: no %v scopes, yet Permits grants", claim, c)
			}
		}
		if err == nil {
			if len(bad) != 0 {
				t.Fatalf("strict accepted %q, lenient reported %v", claim, bad)
			}
			if strict.String() != lenient.String() || strict.Canonical() != lenient.Canonical() {
				t.Fatalf("strict %q vs lenient %q", strict, lenient)
			}
			again, err := ParseSet(strict.Canonical())
			if err != nil || again.Canonical() != strict.Canonical() {
				t.Fatalf("canonical claim %q does not round-trip: %v", strict.Canonical(), err)
			}
			return
		}
		if !errors.Is(err, ErrInvalid) || strict.Len() != 0 {
			t.Fatalf("strict error %v, set %q", err, strict)
		}
		emptyTokens := strings.HasPrefix(claim, " ") || strings.HasSuffix(claim, " ") || strings.Contains(claim, "  ")
		if len(bad) == 0 && !emptyTokens {
			t.Fatalf("strict rejected %q (%v) but lenient found nothing wrong", claim, err)
		}
	})
}

// setConstraints counts the constraints of a Set's distinct constrained
// grants: what every constrained request checks at most.
func setConstraints(s Set) int {
	if s.d == nil {
		return 0
	}
	n := 0
	for _, g := range s.d.cons {
		n += len(g.cons)
	}
	return n
}
