package hunt

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"unicode"
)

// PatientElement is the element through which a resource of typ names
// its patient: "patient" for AllergyIntolerance and Immunization,
// "subject" otherwise.
func PatientElement(typ string) string {
	switch typ {
	case "AllergyIntolerance", "Immunization":
		return "patient"
	}
	return "subject"
}

// RepeatMember adds the member name: value (value already JSON) at the
// end of the JSON object body, so that a reader where the last of
// duplicate names wins and one where the first wins disagree.
func RepeatMember(body, name, value string) string {
	return strings.TrimSuffix(body, "}") + `,"` + name + `":` + value + "}"
}

// EscapeName respells the first member name "name" of body with its
// second character as a \u escape ("s\u0075bject"), which a JSON reader
// unquotes to the same name.
func EscapeName(body, name string) string {
	return strings.Replace(body, `"`+name+`":`, `"`+name[:1]+`\u00`+fmt.Sprintf("%02x", name[1])+name[2:]+`":`, 1)
}

// RecaseName respells the first member name "name" of body with its
// first letter in upper case, which a reader matching names without
// regard to case takes for the same name.
func RecaseName(body, name string) string {
	return strings.Replace(body, `"`+name+`":`, `"`+strings.ToUpper(name[:1])+name[1:]+`":`, 1)
}

// SwapCase changes the case of one letter of id, drawn from r; false
// when id has no letter (and r is not drawn from).
func SwapCase(id string, r *rand.Rand) (string, bool) {
	rs := []rune(id)
	var letters []int
	for i, c := range rs {
		if unicode.IsLetter(c) {
			letters = append(letters, i)
		}
	}
	if len(letters) == 0 {
		return id, false
	}
	i := letters[r.IntN(len(letters))]
	if unicode.IsUpper(rs[i]) {
		rs[i] = unicode.ToLower(rs[i])
	} else {
		rs[i] = unicode.ToUpper(rs[i])
	}
	return string(rs), true
}

// URN draws a fresh version 4 urn:uuid from r.
func URN(r *rand.Rand) string {
	return fmt.Sprintf("urn:uuid:%08x-%04x-4%03x-8%03x-%012x", r.Uint32(), r.IntN(1<<16), r.IntN(1<<12), r.IntN(1<<12), r.Uint64()&(1<<48-1))
}
