package store_test

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/fhir/go/fhirversion"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/store"
)

var (
	validatorsOnce sync.Once
	validators     map[fhirversion.Version]*store.Validator
)

func validator(t testing.TB, v fhirversion.Version) *store.Validator {
	t.Helper()
	validatorsOnce.Do(func() {
		validators = map[fhirversion.Version]*store.Validator{}
		for _, ver := range []fhirversion.Version{fhirversion.STU3, fhirversion.R4} {
			val, err := store.NewValidator(ver)
			if err != nil {
				panic(err)
			}
			validators[ver] = val
		}
	})
	return validators[v]
}

// newStore returns an STU3 store with a fixed clock and sequential ids.
func newStore(t testing.TB) *store.Store {
	t.Helper()
	n := 0
	s, err := store.New(validator(t, fhirversion.STU3),
		store.WithClock(func() time.Time { return time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC) }),
		store.WithIDs(func() string { n++; return fmt.Sprintf("id%d", n) }))
	require.NoError(t, err)
	return s
}

const patientJSON = `{"resourceType":"Patient","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9990000018"}],
"name":[{"family":"Jones","given":["Amelia"]}],"gender":"female","birthDate":"1968-03-14"}`

func observation(id, patient, category, code string) string {
	return fmt.Sprintf(`{"resourceType":"Observation","id":%q,"status":"final",
"category":[{"coding":[{"system":"http://hl7.org/fhir/observation-category","code":%q}]}],
"code":{"coding":[{"system":"http://snomed.info/sct","code":%q}]},
"subject":{"reference":"Patient/%s"},"valueQuantity":{"value":1.50,"unit":"g/L"}}`, id, category, code, patient)
}

func put(t *testing.T, s *store.Store, typ, body string) *store.Resource {
	t.Helper()
	r, err := s.Put(typ, []byte(body))
	require.NoError(t, err)
	return r
}

func TestCreateReadVersionsAndMeta(t *testing.T) {
	s := newStore(t)
	r, err := s.Create("Patient", []byte(patientJSON), store.Precondition{})
	require.NoError(t, err)
	assert.Equal(t, "id1", r.ID)
	assert.Equal(t, 1, r.Version)
	assert.Contains(t, string(r.JSON), `"versionId":"1"`)
	assert.Contains(t, string(r.JSON), `"lastUpdated":"2024-01-02T03:04:05.000Z"`)
	assert.Contains(t, string(r.JSON), `"id":"id1"`)

	got, err := s.Read("Patient", "id1")
	require.NoError(t, err)
	assert.Equal(t, r.JSON, got.JSON)

	// A client-supplied id on create is ignored: the server assigns one.
	r2, err := s.Create("Patient", []byte(`{"resourceType":"Patient","id":"chosen"}`), store.Precondition{})
	require.NoError(t, err)
	assert.Equal(t, "id2", r2.ID)
	_, err = s.Read("Patient", "chosen")
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func TestNumbersArePreservedExactly(t *testing.T) {
	s := newStore(t)
	r := put(t, s, "Observation", observation("o1", "p1", "laboratory", "123"))
	assert.Contains(t, string(r.JSON), `"value":1.50`, "decimal precision must survive storage")
}

func TestValidationRejectsAndStoresNothing(t *testing.T) {
	cases := []struct {
		name, typ, body string
	}{
		{"not JSON", "Patient", `{"resourceType":`},
		{"array", "Patient", `[]`},
		{"null", "Patient", `null`},
		{"trailing data", "Patient", `{"resourceType":"Patient"} {}`},
		{"wrong resourceType", "Patient", `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`},
		{"missing resourceType", "Patient", `{"gender":"female"}`},
		{"unknown element", "Patient", `{"resourceType":"Patient","favouriteColour":"blue"}`},
		{"bad code", "Patient", `{"resourceType":"Patient","gender":"sometimes"}`},
		{"bad date", "Patient", `{"resourceType":"Patient","birthDate":"14/03/1968"}`},
		{"wrong primitive type", "Patient", `{"resourceType":"Patient","active":"yes"}`},
		{"missing required status", "Observation", `{"resourceType":"Observation","code":{"text":"x"}}`},
		{"missing required code", "Observation", `{"resourceType":"Observation","status":"final"}`},
		{"reference to a type the element cannot hold", "Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Medication/1"}}`},
		{"deep nesting", "Patient", `{"resourceType":"Patient","extension":[` + strings.Repeat(`{"url":"http://x","extension":[`, 80) + strings.Repeat(`]}`, 80) + `]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			_, err := s.Create(tc.typ, []byte(tc.body), store.Precondition{})
			require.ErrorIs(t, err, store.ErrInvalid)
			q, _ := store.ParseQuery(tc.typ, nil)
			page, err := s.Search(q, nil)
			require.NoError(t, err)
			assert.Zero(t, page.Total, "nothing may be stored")
		})
	}
}

func TestUnknownTypeAndBadID(t *testing.T) {
	s := newStore(t)
	_, err := s.Create("observation", []byte(`{"resourceType":"observation"}`), store.Precondition{})
	assert.ErrorIs(t, err, store.ErrUnknownType)
	_, err = s.Read("OBSERVATION", "1")
	assert.ErrorIs(t, err, store.ErrUnknownType)
	_, err = s.Read("Patient", "../1")
	assert.ErrorIs(t, err, store.ErrInvalid)
	_, err = s.Read("Patient", strings.Repeat("a", 65))
	assert.ErrorIs(t, err, store.ErrInvalid)
}

func TestUpdateVersionsAndIfMatch(t *testing.T) {
	s := newStore(t)
	body := func(gender string) []byte {
		return []byte(`{"resourceType":"Patient","id":"p1","gender":"` + gender + `"}`)
	}
	r, created, err := s.Update("Patient", "p1", body("female"), store.Precondition{})
	require.NoError(t, err)
	assert.True(t, created, "update of a new id is update-as-create")
	assert.Equal(t, 1, r.Version)

	r, created, err = s.Update("Patient", "p1", body("male"), store.Precondition{IfMatch: 1})
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, 2, r.Version)

	_, _, err = s.Update("Patient", "p1", body("other"), store.Precondition{IfMatch: 1})
	assert.ErrorIs(t, err, store.ErrVersionConflict, "stale If-Match")

	_, _, err = s.Update("Patient", "p1", []byte(`{"resourceType":"Patient","id":"p2"}`), store.Precondition{})
	assert.ErrorIs(t, err, store.ErrInvalid, "body id must match URL id")
	_, _, err = s.Update("Patient", "p1", []byte(`{"resourceType":"Patient"}`), store.Precondition{})
	assert.ErrorIs(t, err, store.ErrInvalid, "body id is required")

	v1, err := s.VRead("Patient", "p1", 1)
	require.NoError(t, err)
	assert.Contains(t, string(v1.JSON), `"female"`)
	_, err = s.VRead("Patient", "p1", 3)
	assert.ErrorIs(t, err, store.ErrNotFound)

	h, err := s.History("Patient", "p1")
	require.NoError(t, err)
	require.Len(t, h, 2)
	assert.Equal(t, 2, h[0].Version, "history is newest first")
}

func TestDeleteAndGone(t *testing.T) {
	s := newStore(t)
	put(t, s, "Patient", `{"resourceType":"Patient","id":"p1"}`)
	d, err := s.Delete("Patient", "p1", store.Precondition{})
	require.NoError(t, err)
	assert.True(t, d.Deleted)
	assert.Equal(t, 2, d.Version)
	_, err = s.Read("Patient", "p1")
	assert.ErrorIs(t, err, store.ErrGone)
	_, err = s.VRead("Patient", "p1", 2)
	assert.ErrorIs(t, err, store.ErrGone)
	_, err = s.VRead("Patient", "p1", 1)
	assert.NoError(t, err, "old versions stay readable")
	d, err = s.Delete("Patient", "p1", store.Precondition{})
	assert.NoError(t, err)
	assert.Nil(t, d, "deleting a deleted resource is a no-op")
	_, err = s.Delete("Patient", "nobody", store.Precondition{})
	assert.ErrorIs(t, err, store.ErrNotFound)

	q, _ := store.ParseQuery("Patient", nil)
	page, _ := s.Search(q, nil)
	assert.Zero(t, page.Total, "deleted resources are not found by search")

	r, created, err := s.Update("Patient", "p1", []byte(`{"resourceType":"Patient","id":"p1"}`), store.Precondition{})
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, 3, r.Version, "re-creating continues the version history")
}

func TestWriteChecksSeeStoredAndResult(t *testing.T) {
	s := newStore(t)
	put(t, s, "Observation", observation("o1", "p1", "laboratory", "1"))
	inP1 := func(r *store.Resource) error {
		if !strings.Contains(string(r.JSON), `"Patient/p1"`) {
			return errors.New("not in Patient/p1's compartment")
		}
		return nil
	}
	pre := store.Precondition{Stored: inP1, Result: inP1}

	// Hijack: move another patient's observation into p1's compartment.
	put(t, s, "Observation", observation("o2", "p2", "laboratory", "1"))
	_, _, err := s.Update("Observation", "o2", []byte(observation("o2", "p1", "laboratory", "1")), pre)
	assert.ErrorIs(t, err, store.ErrForbidden, "stored version outside the compartment")
	_, err = s.Delete("Observation", "o2", pre)
	assert.ErrorIs(t, err, store.ErrForbidden)
	_, err = s.Patch("Observation", "o2", []byte(`[{"op":"replace","path":"/status","value":"amended"}]`), pre)
	assert.ErrorIs(t, err, store.ErrForbidden)

	// Give-away: patch own observation to another patient.
	_, err = s.Patch("Observation", "o1", []byte(`[{"op":"replace","path":"/subject/reference","value":"Patient/p2"}]`), pre)
	assert.ErrorIs(t, err, store.ErrForbidden, "patched result outside the compartment")
	_, err = s.Create("Observation", []byte(observation("", "p2", "laboratory", "1")), pre)
	assert.ErrorIs(t, err, store.ErrForbidden)

	cur, err := s.Read("Observation", "o1")
	require.NoError(t, err)
	assert.Equal(t, 1, cur.Version, "refused writes store nothing")
	cur, err = s.Read("Observation", "o2")
	require.NoError(t, err)
	assert.Equal(t, 1, cur.Version)

	_, err = s.Patch("Observation", "o1", []byte(`[{"op":"replace","path":"/status","value":"amended"}]`), pre)
	assert.NoError(t, err)
}

func TestPatch(t *testing.T) {
	cases := []struct {
		name    string
		patch   string
		wantErr bool
		want    []string // substrings of the result
	}{
		{"replace", `[{"op":"replace","path":"/gender","value":"male"}]`, false, []string{`"gender":"male"`}},
		{"add array end", `[{"op":"add","path":"/name/0/given/-","value":"Rose"}]`, false, []string{`"given":["Amelia","Rose"]`}},
		{"add array front", `[{"op":"add","path":"/name/0/given/0","value":"Rose"}]`, false, []string{`"given":["Rose","Amelia"]`}},
		{"remove", `[{"op":"remove","path":"/birthDate"}]`, false, nil},
		{"test then replace", `[{"op":"test","path":"/gender","value":"female"},{"op":"replace","path":"/gender","value":"other"}]`, false, []string{`"gender":"other"`}},
		{"copy", `[{"op":"copy","from":"/name/0/family","path":"/name/0/text"}]`, false, []string{`"text":"Jones"`}},
		{"move", `[{"op":"move","from":"/name/0/family","path":"/name/0/text"}]`, false, []string{`"text":"Jones"`}},
		{"escaped pointer", `[{"op":"add","path":"/extension","value":[{"url":"http://x/a~b","valueString":"s"}]},{"op":"test","path":"/extension/0/url","value":"http://x/a~b"}]`, false, nil},
		{"failed test", `[{"op":"test","path":"/gender","value":"male"},{"op":"replace","path":"/gender","value":"other"}]`, true, nil},
		{"unknown op", `[{"op":"merge","path":"/gender","value":"male"}]`, true, nil},
		{"missing path", `[{"op":"remove"}]`, true, nil},
		{"missing member", `[{"op":"remove","path":"/deceasedBoolean"}]`, true, nil},
		{"index out of range", `[{"op":"replace","path":"/name/5","value":{}}]`, true, nil},
		{"leading zero index", `[{"op":"remove","path":"/name/00"}]`, true, nil},
		{"bad escape", `[{"op":"remove","path":"/a~2"}]`, true, nil},
		{"not an array", `{"op":"remove","path":"/gender"}`, true, nil},
		{"unknown field", `[{"op":"remove","path":"/gender","extra":1}]`, true, nil},
		{"change id", `[{"op":"replace","path":"/id","value":"other"}]`, true, nil},
		{"change type", `[{"op":"replace","path":"/resourceType","value":"Group"}]`, true, nil},
		{"replace root", `[{"op":"replace","path":"","value":[]}]`, true, nil},
		{"result invalid FHIR", `[{"op":"replace","path":"/gender","value":"sometimes"}]`, true, nil},
		{"move into itself", `[{"op":"move","from":"/name","path":"/name/0/x"}]`, true, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			put(t, s, "Patient", `{"resourceType":"Patient","id":"p1","name":[{"family":"Jones","given":["Amelia"]}],"gender":"female","birthDate":"1968-03-14"}`)
			r, err := s.Patch("Patient", "p1", []byte(tc.patch), store.Precondition{})
			if tc.wantErr {
				require.ErrorIs(t, err, store.ErrInvalid)
				cur, _ := s.Read("Patient", "p1")
				assert.Equal(t, 1, cur.Version, "a failed patch changes nothing")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, 2, r.Version)
			for _, w := range tc.want {
				assert.Contains(t, string(r.JSON), w)
			}
		})
	}
}

func TestPatchOfMissingOrDeleted(t *testing.T) {
	s := newStore(t)
	_, err := s.Patch("Patient", "nobody", []byte(`[]`), store.Precondition{})
	assert.ErrorIs(t, err, store.ErrNotFound)
	put(t, s, "Patient", `{"resourceType":"Patient","id":"p1"}`)
	_, err = s.Delete("Patient", "p1", store.Precondition{})
	require.NoError(t, err)
	_, err = s.Patch("Patient", "p1", []byte(`[]`), store.Precondition{})
	assert.ErrorIs(t, err, store.ErrGone)
}

func TestAtomicRollsBack(t *testing.T) {
	s := newStore(t)
	put(t, s, "Patient", `{"resourceType":"Patient","id":"p1","gender":"female"}`)
	err := s.Atomic(func(ops store.Ops) error {
		if _, _, err := ops.Update("Patient", "p1", []byte(`{"resourceType":"Patient","id":"p1","gender":"male"}`), store.Precondition{}); err != nil {
			return err
		}
		if _, err := ops.Create("Patient", []byte(`{"resourceType":"Patient"}`), store.Precondition{}); err != nil {
			return err
		}
		// Reads inside the transaction see its writes.
		cur, err := ops.Read("Patient", "p1")
		if err != nil || cur.Version != 2 {
			return fmt.Errorf("read inside transaction: %v %v", cur, err)
		}
		_, err = ops.Create("Patient", []byte(`{"resourceType":"Patient","gender":"sometimes"}`), store.Precondition{})
		return err
	})
	require.ErrorIs(t, err, store.ErrInvalid)
	cur, err := s.Read("Patient", "p1")
	require.NoError(t, err)
	assert.Equal(t, 1, cur.Version, "the update was rolled back")
	assert.Contains(t, string(cur.JSON), `"female"`)
	q, _ := store.ParseQuery("Patient", nil)
	page, _ := s.Search(q, nil)
	assert.Equal(t, 1, page.Total, "the create was rolled back")

	// A committed transaction keeps everything, and later writes still work.
	require.NoError(t, s.Atomic(func(ops store.Ops) error {
		_, err := ops.Create("Patient", []byte(`{"resourceType":"Patient"}`), store.Precondition{})
		return err
	}))
	_, _, err = s.Update("Patient", "p1", []byte(`{"resourceType":"Patient","id":"p1","gender":"other"}`), store.Precondition{})
	require.NoError(t, err)
	page, _ = s.Search(q, nil)
	assert.Equal(t, 2, page.Total)
	h, _ := s.History("Patient", "p1")
	assert.Len(t, h, 2, "rolled-back versions are not in the history")
}

func TestConcurrentWrites(t *testing.T) {
	s := newStore(t)
	put(t, s, "Patient", `{"resourceType":"Patient","id":"p1"}`)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, _ = s.Update("Patient", "p1", []byte(`{"resourceType":"Patient","id":"p1"}`), store.Precondition{})
			q, _ := store.ParseQuery("Patient", url.Values{"_id": {"p1"}})
			_, _ = s.Search(q, nil)
		}()
	}
	wg.Wait()
	cur, _ := s.Read("Patient", "p1")
	assert.Equal(t, 21, cur.Version)
}

func TestStoredCheckSeesNothingOnUpdateAsCreate(t *testing.T) {
	s := newStore(t)
	var seen []*store.Resource
	calls := 0
	pre := store.Precondition{Stored: func(r *store.Resource) error {
		calls++
		seen = append(seen, r)
		if r == nil {
			return errors.New("may not create by update")
		}
		return nil
	}}
	_, _, err := s.Update("Patient", "new", []byte(`{"resourceType":"Patient","id":"new"}`), pre)
	assert.ErrorIs(t, err, store.ErrForbidden)
	assert.Equal(t, 1, calls)
	assert.Nil(t, seen[0], "nothing stored: the check sees nil")

	put(t, s, "Patient", `{"resourceType":"Patient","id":"p1"}`)
	_, err = s.Delete("Patient", "p1", store.Precondition{})
	require.NoError(t, err)
	_, _, err = s.Update("Patient", "p1", []byte(`{"resourceType":"Patient","id":"p1"}`), pre)
	assert.ErrorIs(t, err, store.ErrForbidden, "re-creating a deleted resource is a create too")
	_, err = s.Delete("Patient", "p1", pre)
	assert.NoError(t, err, "deleting a deleted resource is a no-op and needs no stored check")
}

// An update of a deleted resource whose earlier versions the caller's
// stored check refuses creates a new resource under the id: version 1,
// created, If-Match against nothing, the deleted versions dropped; a
// caller who may know them continues the history.
func TestUpdateOfDeletedStartsAnewForAStranger(t *testing.T) {
	inP1 := func(r *store.Resource) error {
		if r != nil && !strings.Contains(string(r.JSON), `"Patient/p1"`) {
			return errors.New("not in Patient/p1's compartment")
		}
		return nil
	}
	pre := store.Precondition{Stored: inP1, Result: inP1}
	setup := func() *store.Store {
		s := newStore(t)
		put(t, s, "Observation", observation("o2", "p2", "laboratory", "1"))
		put(t, s, "Observation", observation("o2", "p2", "laboratory", "2"))
		_, err := s.Delete("Observation", "o2", store.Precondition{})
		require.NoError(t, err)
		return s
	}
	body := []byte(observation("o2", "p1", "laboratory", "1"))

	s := setup()
	_, _, err := s.Update("Observation", "o2", body, store.Precondition{Stored: inP1, IfMatch: 3})
	require.ErrorIs(t, err, store.ErrVersionConflict)
	assert.Contains(t, err.Error(), "current version none", "the deletion's version is not told")
	r, created, err := s.Update("Observation", "o2", body, pre)
	require.NoError(t, err)
	assert.True(t, created)
	assert.Equal(t, 1, r.Version)
	h, err := s.History("Observation", "o2")
	require.NoError(t, err)
	assert.Equal(t, []*store.Resource{r}, h, "the deleted versions are gone")

	// A transaction that fails restores the deleted resource's history.
	s = setup()
	require.Error(t, s.Atomic(func(ops store.Ops) error {
		_, _, err := ops.Update("Observation", "o2", body, pre)
		require.NoError(t, err)
		return errors.New("roll back")
	}))
	h, err = s.History("Observation", "o2")
	require.NoError(t, err)
	assert.Len(t, h, 3)

	// A caller who may know every earlier version continues the history.
	r, created, err = s.Update("Observation", "o2", body, store.Precondition{Stored: func(*store.Resource) error { return nil }, IfMatch: 3})
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, 4, r.Version)
}
