package scope_test

import (
	"errors"
	"fmt"

	"github.com/fhirwarden/fhirwarden/scope"
)

func ExampleParse() {
	s, err := scope.Parse("patient/Observation.read")
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Context, s.ResourceType, s.Permissions, s.Syntax)
	fmt.Println(s.String(), "=", s.Canonical())

	_, err = scope.Parse("patient/Observation.sr")
	fmt.Println(errors.Is(err, scope.ErrInvalid))
	fmt.Println(err)
	// Output:
	// patient Observation rs v1
	// patient/Observation.read = patient/Observation.rs
	// true
	// scope "patient/Observation.sr": permission letter 'r' after 's': v2 letters must appear in the order c r u d s
}

func ExampleParseSet() {
	set, err := scope.ParseSet("openid fhirUser launch/patient patient/*.read")
	if err != nil {
		panic(err)
	}
	fmt.Println(set.Len(), set.Has("launch/patient"), set.Canonical())

	_, err = scope.ParseSet("openid *.*")
	fmt.Println(err)
	// Output:
	// 4 true openid fhirUser launch/patient patient/*.rs
	// scope "*.*": resource scope without a context: it must start with patient/, user/ or system/
}

func ExampleParseSetLenient() {
	set, bad := scope.ParseSetLenient("openid patient/Observation.rs patient/Condition.read?x=1")
	fmt.Println(set)
	for _, e := range bad {
		fmt.Println("ignored:", e.Scope)
	}
	// Output:
	// openid patient/Observation.rs
	// ignored: patient/Condition.read?x=1
}

func ExampleSet_Permits() {
	set, _ := scope.ParseSet("patient/Condition.rs patient/Observation.rs?category=laboratory")

	fmt.Println(set.Permits(scope.Patient, "Condition", scope.Search))
	fmt.Println(set.Permits(scope.Patient, "Observation", scope.Read))
	fmt.Println(set.Permits(scope.Patient, "Observation", scope.Create))
	fmt.Println(set.Permits(scope.User, "Condition", scope.Read))
	// Output:
	// unconstrained
	// constrained
	// denied
	// denied
}

func ExampleSet_AppendConstraints() {
	set, _ := scope.ParseSet("patient/Observation.rs?category=laboratory patient/Observation.rs?category=vital-signs")
	for _, alt := range set.AppendConstraints(nil, scope.Patient, "Observation", scope.Search) {
		fmt.Println(alt)
	}
	// Output:
	// [category=laboratory]
	// [category=vital-signs]
}

func ExampleSet_Intersect() {
	requested, _ := scope.ParseSet("openid launch/patient patient/*.read patient/Observation.write")
	allowed, _ := scope.ParseSet("openid patient/Observation.cruds patient/Condition.rs?category=problem-list-item")
	granted := requested.Intersect(allowed)
	fmt.Println(granted)
	// Output:
	// openid patient/Observation.rs patient/Condition.rs?category=problem-list-item patient/Observation.write
}

func ExampleSet_ResourceTypes() {
	set, _ := scope.ParseSet("patient/Observation.rs patient/Condition.r user/*.read")
	fmt.Println(set.ResourceTypes(scope.Patient), set.ResourceTypes(scope.User))
	// Output:
	// [Condition Observation] [*]
}

func ExampleScope_Equal() {
	v1, _ := scope.Parse("user/*.*")
	v2, _ := scope.Parse("user/*.cruds")
	fmt.Println(v1.Equal(v2), v1, v2)
	// Output:
	// true user/*.* user/*.cruds
}
