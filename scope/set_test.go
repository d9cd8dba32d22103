package scope

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustSet(t testing.TB, claim string) Set {
	t.Helper()
	s, err := ParseSet(claim)
	require.NoError(t, err, claim)
	return s
}

func TestPermits(t *testing.T) {
	tests := []struct {
		name  string
		claim string
		ctx   Context
		typ   string
		perm  Permission
		want  Match
	}{
		{"v1 read grants r", "patient/Observation.read", Patient, "Observation", Read, Unconstrained},
		{"v1 read grants s", "patient/Observation.read", Patient, "Observation", Search, Unconstrained},
		{"v1 read grants rs together", "patient/Observation.read", Patient, "Observation", Read | Search, Unconstrained},
		{"v1 read does not grant c", "patient/Observation.read", Patient, "Observation", Create, Denied},
		{"v1 write grants cud", "user/Observation.write", User, "Observation", V1Write, Unconstrained},
		{"v1 write does not grant r", "user/Observation.write", User, "Observation", Read, Denied},
		{"v1 star grants all", "user/Observation.*", User, "Observation", All, Unconstrained},
		{"wildcard type covers any type", "patient/*.rs", Patient, "Condition", Read, Unconstrained},
		{"wildcard type covers star query", "patient/*.rs", Patient, "*", Search, Unconstrained},
		{"typed scope does not cover star query", "patient/Observation.rs", Patient, "*", Search, Denied},
		{"other type denied", "patient/Observation.rs", Patient, "Condition", Read, Denied},
		{"other context denied", "patient/Observation.rs", User, "Observation", Read, Denied},
		{"patient scope not a system scope", "patient/*.*", System, "Observation", Read, Denied},
		{"type is case-sensitive", "patient/Observation.rs", Patient, "observation", Read, Denied},
		{"letters union across scopes", "patient/Observation.r patient/Observation.s", Patient, "Observation", Read | Search, Unconstrained},
		{"letters union with wildcard", "patient/*.r patient/Observation.s", Patient, "Observation", Read | Search, Unconstrained},
		{"union still incomplete", "patient/Observation.r patient/Observation.s", Patient, "Observation", Read | Search | Create, Denied},
		{"constrained grants constrained", "patient/Observation.rs?category=laboratory", Patient, "Observation", Read, Constrained},
		{"constrained does not grant c", "patient/Observation.rs?category=laboratory", Patient, "Observation", Create, Denied},
		{"unconstrained wins over constrained", "patient/Observation.rs?category=laboratory patient/Observation.r", Patient, "Observation", Read, Unconstrained},
		{"constrained covers letter unconstrained lacks", "patient/Observation.rs?category=laboratory patient/Observation.r", Patient, "Observation", Search, Constrained},
		{"constrained alternatives never merged", "patient/Observation.r?category=a patient/Observation.s?category=b", Patient, "Observation", Read | Search, Denied},
		{"constrained with same constraints merged", "patient/Observation.r?category=a patient/Observation.s?category=a", Patient, "Observation", Read | Search, Constrained},
		{"constrained and unconstrained letters not combined", "patient/Observation.r patient/Observation.s?category=a", Patient, "Observation", Read | Search, Denied},
		{"constrained wildcard", "patient/*.rs?_security=N", Patient, "Observation", Read, Constrained},
		{"non-resource scopes grant nothing", "openid fhirUser launch/patient offline_access", Patient, "Patient", Read, Denied},
		{"system scope", "system/*.rs", System, "Patient", Search, Unconstrained},
		{"hostile: empty type", "user/*.cruds", User, "", Read, Denied},
		{"hostile: path in type", "user/*.cruds", User, "Patient/123", Read, Denied},
		{"hostile: dot segment type", "user/*.cruds", User, "..", Read, Denied},
		{"hostile: zero permission", "user/*.cruds", User, "Patient", 0, Denied},
		{"hostile: unknown permission bits", "user/*.cruds", User, "Patient", 1 << 6, Denied},
		{"hostile: unknown bits mixed with known", "user/*.cruds", User, "Patient", Read | 1<<7, Denied},
		{"hostile: NoContext", "user/*.cruds", NoContext, "Patient", Read, Denied},
		{"hostile: unknown context", "user/*.cruds", Context(7), "Patient", Read, Denied},
		{"empty set", "", User, "Patient", Read, Denied},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSet(t, tc.claim)
			assert.Equal(t, tc.want, s.Permits(tc.ctx, tc.typ, tc.perm))
		})
	}
}

func TestZeroSet(t *testing.T) {
	var s Set
	assert.Equal(t, Denied, s.Permits(User, "Patient", Read))
	assert.Equal(t, Permission(0), s.Permissions(User, "Patient"))
	assert.Nil(t, s.AppendConstraints(nil, User, "Patient", Read))
	assert.False(t, s.Has("openid"))
	assert.False(t, s.HasContext(User))
	assert.Nil(t, s.Scopes())
	assert.Zero(t, s.Len())
	assert.Equal(t, "", s.String())
	assert.Equal(t, "", s.Canonical())
	assert.Nil(t, s.ResourceTypes(User))
	assert.Zero(t, s.Intersect(mustSet(t, "user/*.*")).Len())
	assert.Zero(t, mustSet(t, "user/*.*").Intersect(s).Len())
}

func TestAppendConstraints(t *testing.T) {
	s := mustSet(t, "patient/Observation.rs?category=laboratory patient/Observation.rs?category=vital-signs&status=final "+
		"patient/Observation.r?code=x patient/*.s?_security=N patient/Condition.rs?category=problem user/Observation.rs?category=other")

	got := s.AppendConstraints(nil, Patient, "Observation", Read|Search)
	assert.Equal(t, [][]Constraint{
		{{"category", "laboratory"}},
		{{"category", "vital-signs"}, {"status", "final"}},
	}, got)

	got = s.AppendConstraints(nil, Patient, "Observation", Read)
	assert.Len(t, got, 3, "laboratory, vital-signs+final and code=x each grant r alone")
	assert.Contains(t, got, []Constraint{{"code", "x"}})

	got = s.AppendConstraints(nil, Patient, "Observation", Search)
	assert.Contains(t, got, []Constraint{{"_security", "N"}}, "wildcard constrained scope applies")
	assert.Len(t, got, 3)

	assert.Empty(t, s.AppendConstraints(nil, Patient, "Observation", Create))
	assert.Empty(t, s.AppendConstraints(nil, User, "Condition", Read))
	assert.Empty(t, s.AppendConstraints(nil, Patient, "Observation", 0))

	// dst is appended to, and returned lists cannot be grown into the set's memory.
	dst := [][]Constraint{{{"keep", "me"}}}
	dst = s.AppendConstraints(dst, Patient, "Condition", Read)
	require.Len(t, dst, 2)
	assert.Equal(t, []Constraint{{"keep", "me"}}, dst[0])
	_ = append(dst[1], Constraint{"evil", "1"})
	assert.Equal(t, [][]Constraint{{{"category", "problem"}}}, s.AppendConstraints(nil, Patient, "Condition", Read))
}

func TestPermissions(t *testing.T) {
	s := mustSet(t, "patient/*.r patient/Observation.s patient/Observation.c?x=1 user/Patient.write")
	assert.Equal(t, Read|Search, s.Permissions(Patient, "Observation"), "constrained c not included")
	assert.Equal(t, Read, s.Permissions(Patient, "Condition"))
	assert.Equal(t, V1Write, s.Permissions(User, "Patient"))
	assert.Equal(t, Permission(0), s.Permissions(System, "Patient"))
	assert.Equal(t, Permission(0), s.Permissions(Patient, "bad/type"))
}

func TestHas(t *testing.T) {
	s := mustSet(t, "openid fhirUser launch/patient offline_access patient/*.read x-custom")
	for _, name := range []string{"openid", "fhirUser", "launch/patient", "offline_access", "x-custom"} {
		assert.True(t, s.Has(name), name)
	}
	for _, name := range []string{"launch", "profile", "OpenID", "fhiruser", "launch/encounter", "patient/*.read", "", "openid "} {
		assert.False(t, s.Has(name), name)
	}
}

func TestSetStringCanonicalDedupe(t *testing.T) {
	s := mustSet(t, "openid patient/Observation.read patient/Observation.rs user/*.* openid patient/Observation.rs?b=2&a=1 patient/Observation.rs?a=1&b=2")
	assert.Equal(t, 4, s.Len(), "read==rs, openid twice and reordered constraints are duplicates")
	assert.Equal(t, "openid patient/Observation.read user/*.* patient/Observation.rs?b=2&a=1", s.String(), "first spelling kept")
	assert.Equal(t, "openid patient/Observation.rs user/*.cruds patient/Observation.rs?a=1&b=2", s.Canonical())

	again := mustSet(t, s.Canonical())
	assert.Equal(t, s.Canonical(), again.Canonical())
	assert.Equal(t, s.String(), mustSet(t, s.String()).String())
}

func TestScopesIsACopy(t *testing.T) {
	s := mustSet(t, "patient/Observation.rs?category=lab openid")
	sc := s.Scopes()
	require.Len(t, sc, 2)
	sc[0].Constraints[0].Value = "everything"
	sc[0].Permissions = All
	sc[1] = Scope{}
	assert.Equal(t, "patient/Observation.rs?category=lab openid", s.String())
	assert.Equal(t, Constrained, s.Permits(Patient, "Observation", Read))
	assert.Equal(t, Denied, s.Permits(Patient, "Observation", Create))
	assert.Equal(t, [][]Constraint{{{"category", "lab"}}}, s.AppendConstraints(nil, Patient, "Observation", Read))
}

func TestNewSet(t *testing.T) {
	obs, err := Parse("patient/Observation.read")
	require.NoError(t, err)
	openid, err := Parse("openid")
	require.NoError(t, err)
	cons, err := Parse("patient/Condition.rs?category=x")
	require.NoError(t, err)

	tampered := obs
	tampered.Permissions = All // fields no longer match the text
	tamperedType := obs
	tamperedType.ResourceType = "*"

	s := NewSet(
		obs, openid, cons, tampered, tamperedType,
		Scope{Context: User, ResourceType: "Patient", Permissions: Read},                                           // valid literal
		Scope{Context: User, ResourceType: "Practitioner", Permissions: 0},                                         // grants nothing: dropped
		Scope{Context: User, ResourceType: "Bad/Type", Permissions: All},                                           // malformed type: dropped
		Scope{Context: Context(9), ResourceType: "Patient", Permissions: All},                                      // unknown context: dropped
		Scope{Context: User, ResourceType: "Group", Permissions: Read | 1<<7},                                      // stray bits: dropped
		Scope{Context: User, ResourceType: "Device", Permissions: Read, Constraints: []Constraint{{"a", ""}}},      // empty value: dropped
		Scope{Context: User, ResourceType: "Device", Permissions: Read, Constraints: []Constraint{{"a", "b&c=d"}}}, // smuggled item: dropped
		Scope{ResourceType: "Patient", Permissions: All},                                                           // no context, no text: dropped
		Scope{},
	)
	assert.Equal(t, "patient/Observation.read openid patient/Condition.rs?category=x user/Patient.r", s.String())
	assert.Equal(t, Unconstrained, s.Permits(Patient, "Observation", Read))
	assert.Equal(t, Denied, s.Permits(Patient, "Observation", Create))
	assert.Equal(t, Denied, s.Permits(Patient, "Condition", Create))
	assert.Equal(t, Denied, s.Permits(User, "Device", Read))
	assert.Equal(t, Denied, s.Permits(User, "Group", Read))

	// The set does not alias the caller's constraints.
	lit := Scope{Context: User, ResourceType: "Device", Permissions: Read, Constraints: []Constraint{{"a", "b"}}}
	s2 := NewSet(lit)
	lit.Constraints[0].Value = "changed"
	assert.Equal(t, [][]Constraint{{{"a", "b"}}}, s2.AppendConstraints(nil, User, "Device", Read))
	assert.Zero(t, NewSet().Len())
}

func TestParseSetStrict(t *testing.T) {
	tests := []struct {
		name    string
		claim   string
		wantLen int
		errs    []string // expected *Error reasons in order; nil for success
	}{
		{"empty claim", "", 0, nil},
		{"single", "openid", 1, nil},
		{"typical", "openid fhirUser launch/patient patient/*.rs offline_access", 5, nil},
		{"one invalid token", "openid patient/Observation.sr", 0, []string{"order"}},
		{"two invalid tokens", "*.* openid patient/Observation.rs?", 0, []string{"without a context", "empty query"}},
		{"double space", "openid  fhirUser", 0, []string{"empty scope token"}},
		{"leading space", " openid", 0, []string{"empty scope token"}},
		{"trailing space", "openid ", 0, []string{"empty scope token"}},
		{"only a space", " ", 0, []string{"empty scope token", "empty scope token"}},
		{"tab separator", "openid\tfhirUser", 0, []string{`byte "\t"`}},
		{"newline separator", "openid\nfhirUser", 0, []string{`byte "\n"`}},
		{"case confusion", "openid Patient/*.read", 0, []string{"case-sensitive"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseSet(tc.claim)
			if tc.errs == nil {
				require.NoError(t, err)
				assert.Equal(t, tc.wantLen, s.Len())
				assert.Equal(t, tc.claim, s.String())
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalid)
			assert.Zero(t, s.Len(), "fail closed: nothing granted on error")
			var pe *Error
			require.ErrorAs(t, err, &pe)
			assert.Contains(t, pe.Reason, tc.errs[0], "errors.As finds the first error")
			var all []error
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				all = j.Unwrap()
			} else {
				all = []error{err}
			}
			require.Len(t, all, len(tc.errs))
			for i, e := range all {
				var pe *Error
				require.True(t, errors.As(e, &pe))
				assert.Contains(t, pe.Reason, tc.errs[i])
			}
		})
	}
}

func TestParseSetLenient(t *testing.T) {
	s, bad := ParseSetLenient("  openid *.* patient/Observation.rs  patient/Observation.read?x=y user/*.cruds ")
	assert.Equal(t, "openid patient/Observation.rs user/*.cruds", s.String())
	require.Len(t, bad, 2)
	assert.Equal(t, "*.*", bad[0].Scope)
	assert.Equal(t, "patient/Observation.read?x=y", bad[1].Scope)
	for _, e := range bad {
		assert.ErrorIs(t, e, ErrInvalid)
	}

	s, bad = ParseSetLenient("")
	assert.Zero(t, s.Len())
	assert.Empty(t, bad)

	s, bad = ParseSetLenient("Patient/*.* patient/*.XYZ")
	assert.Zero(t, s.Len())
	assert.Len(t, bad, 2)
	assert.Equal(t, Denied, s.Permits(Patient, "Observation", Read))
}

func TestIntersect(t *testing.T) {
	tests := []struct {
		name      string
		requested string
		allowed   string
		want      string // String() of the result
	}{
		{"identical", "patient/Observation.read", "patient/Observation.read", "patient/Observation.read"},
		{"v1 echoed when unchanged", "patient/Observation.read", "patient/*.rs", "patient/Observation.read"},
		{"narrowed letters", "patient/Observation.read", "patient/Observation.r", "patient/Observation.r"},
		{"wildcard requested, typed allowed", "user/*.*", "user/Patient.rs user/Observation.r", "user/Patient.rs user/Observation.r"},
		{"typed requested, wildcard allowed", "user/Patient.cruds", "user/*.read", "user/Patient.rs"},
		{"wildcard both", "patient/*.cruds", "patient/*.rs", "patient/*.rs"},
		{"different contexts", "user/*.*", "patient/*.*", ""},
		{"different types", "user/Patient.rs", "user/Observation.rs", ""},
		{"no common letters", "user/Patient.cud", "user/Patient.rs", ""},
		{"requested constraint kept", "patient/Observation.rs?category=lab", "patient/Observation.read", "patient/Observation.rs?category=lab"},
		{"allowed constraint added", "patient/Observation.read", "patient/Observation.rs?category=lab", "patient/Observation.rs?category=lab"},
		{"both constraints ANDed", "patient/Observation.rs?status=final", "patient/*.rs?category=lab", "patient/Observation.rs?category=lab&status=final"},
		{"alternatives stay alternatives", "patient/Observation.rs", "patient/Observation.rs?category=a patient/Observation.rs?category=b",
			"patient/Observation.rs?category=a patient/Observation.rs?category=b"},
		{"non-resource kept if in both", "openid fhirUser launch/patient", "openid launch/patient launch/encounter", "openid launch/patient"},
		{"non-resource case-sensitive", "openid", "OpenID", ""},
		{"resource scope is not a name", "openid", "patient/*.*", ""},
		{"mixed", "openid patient/*.read patient/Observation.write", "openid patient/Observation.cruds patient/Condition.rs",
			"openid patient/Observation.rs patient/Condition.rs patient/Observation.write"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := mustSet(t, tc.requested)
			allowed := mustSet(t, tc.allowed)
			got := req.Intersect(allowed)
			assert.Equal(t, tc.want, got.String())
			assertSubset(t, got, req)
			assertSubset(t, got, allowed)
		})
	}
}

// assertSubset checks that every decision sub grants is granted by super at
// least as broadly (Unconstrained >= Constrained), over a grid of questions.
func assertSubset(t *testing.T, sub, super Set) {
	t.Helper()
	types := []string{"Observation", "Patient", "Condition", "Encounter", "*"}
	for c := Patient; c <= System; c++ {
		for _, typ := range types {
			for p := Permission(1); p <= All; p++ {
				if m := sub.Permits(c, typ, p); m != Denied && super.Permits(c, typ, p) == Denied {
					t.Errorf("%q grants %s %s.%s but %q does not", sub, c, typ, p, super)
				} else if m == Unconstrained && super.Permits(c, typ, p) != Unconstrained {
					t.Errorf("%q grants %s %s.%s unconstrained, %q only constrained", sub, c, typ, p, super)
				}
			}
		}
	}
	for _, sc := range sub.Scopes() {
		if !sc.IsResource() {
			assert.True(t, super.Has(sc.String()), sc.String())
		}
	}
}

func TestResourceTypes(t *testing.T) {
	s := mustSet(t, "patient/Observation.rs patient/Condition.r?category=x patient/Observation.c user/*.rs user/Patient.read system/Group.rs openid")
	assert.Equal(t, []string{"Condition", "Observation"}, s.ResourceTypes(Patient))
	assert.Equal(t, []string{"*", "Patient"}, s.ResourceTypes(User))
	assert.Equal(t, []string{"Group"}, s.ResourceTypes(System))
	assert.Equal(t, []string{"*", "Condition", "Group", "Observation", "Patient"}, s.ResourceTypes(NoContext))
	assert.Empty(t, mustSet(t, "openid").ResourceTypes(Patient))
}

func TestHasContext(t *testing.T) {
	tests := []struct {
		claim                 string
		patient, user, system bool
	}{
		{"", false, false, false},
		{"openid fhirUser launch/patient offline_access", false, false, false},
		{"patient/Observation.rs", true, false, false},
		{"patient/Observation.rs?category=laboratory", true, false, false},
		{"user/*.read", false, true, false},
		{"system/Group.r launch", false, false, true},
		{"patient/*.cruds user/Patient.r?name=x system/*.rs", true, true, true},
		{"user/Patient.read user/Patient.rs", false, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.claim, func(t *testing.T) {
			for _, s := range []Set{mustSet(t, tc.claim), NewSet(mustSet(t, tc.claim).Scopes()...)} {
				assert.Equal(t, tc.patient, s.HasContext(Patient))
				assert.Equal(t, tc.user, s.HasContext(User))
				assert.Equal(t, tc.system, s.HasContext(System))
				assert.False(t, s.HasContext(NoContext), "non-resource scopes are no context")
				assert.False(t, s.HasContext(Context(7)), "unknown context")
				assert.False(t, s.HasContext(Context(200)), "unknown context")
			}
		})
	}
}

// HasContext agrees with ResourceTypes and never hides a grant: a context
// it says the set lacks is denied by Permits for every type and letter.
func TestHasContextNeverHidesAGrant(t *testing.T) {
	claims := []string{
		"", "openid", "patient/*.cruds", "user/Observation.c?x=1", "system/*.r user/Patient.s",
		"patient/Observation.rs?category=laboratory user/*.read", "x-custom system/Group.d",
	}
	types := []string{"*", "Patient", "Observation", "Group", "Encounter"}
	for _, claim := range claims {
		s := mustSet(t, claim)
		i := s.Intersect(mustSet(t, "patient/*.* user/*.* system/*.*"))
		for _, set := range []Set{s, i} {
			for _, c := range []Context{NoContext, Patient, User, System, Context(5)} {
				assert.Equal(t, len(set.ResourceTypes(c)) > 0 && c != NoContext, set.HasContext(c), "%q %v", claim, c)
				if set.HasContext(c) {
					continue
				}
				for _, typ := range types {
					for p := Permission(1); p <= All; p++ {
						assert.Equal(t, Denied, set.Permits(c, typ, p), "%q %v %s %s", claim, c, typ, p)
					}
				}
			}
		}
	}
}

func TestSetConcurrentUse(t *testing.T) {
	s := mustSet(t, "openid patient/*.rs user/Observation.rs?category=lab user/Patient.cruds")
	other := mustSet(t, "user/*.rs patient/Observation.r")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				assert.Equal(t, Unconstrained, s.Permits(Patient, "Observation", Read))
				assert.Equal(t, Constrained, s.Permits(User, "Observation", Search))
				_ = s.AppendConstraints(nil, User, "Observation", Read)
				_ = s.Intersect(other).String()
				_ = s.ResourceTypes(User)
				assert.True(t, s.Has("openid"))
			}
		})
	}
	wg.Wait()
}

func TestLargeSetMatchesSmallSet(t *testing.T) {
	// Above smallSet scopes, buildSet indexes by canonical strings instead of
	// searching linearly; both must build the same set.
	base := []string{
		"openid", "patient/Observation.read", "patient/Observation.rs", "patient/Observation.r?category=a",
		"patient/Observation.s?category=a", "patient/Observation.rs?category=b", "user/*.*", "user/*.cruds",
		"patient/Condition.r", "patient/Condition.s", "launch/patient", "openid",
	}
	var claim []string
	for i := range 4 {
		claim = append(claim, base...)
		claim = append(claim, "user/Type"+string(rune('A'+i))+".rs?x=1")
	}
	large := mustSet(t, strings.Join(claim, " "))
	require.Greater(t, len(claim), smallSet)

	small := mustSet(t, strings.Join(append(base, "user/TypeA.rs?x=1", "user/TypeB.rs?x=1", "user/TypeC.rs?x=1", "user/TypeD.rs?x=1"), " "))
	assert.Equal(t, small.String(), large.String())
	assert.Equal(t, small.Len(), large.Len())
	for c := Patient; c <= System; c++ {
		for _, typ := range []string{"Observation", "Condition", "TypeA", "Patient"} {
			for p := Permission(1); p <= All; p++ {
				assert.Equal(t, small.Permits(c, typ, p), large.Permits(c, typ, p), "%s %s %s", c, typ, p)
				assert.Equal(t, small.AppendConstraints(nil, c, typ, p), large.AppendConstraints(nil, c, typ, p))
			}
		}
	}
	assert.Equal(t, Unconstrained, large.Permits(Patient, "Observation", Read|Search))
	assert.Equal(t, [][]Constraint{{{"category", "a"}}, {{"category", "b"}}},
		large.AppendConstraints(nil, Patient, "Observation", Read|Search), "r?category=a and s?category=a merged")
}
