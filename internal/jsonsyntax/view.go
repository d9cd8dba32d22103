package jsonsyntax

import "unsafe"

// View returns b as a string without copying it, for the names and plain
// values a reader compares, switches on or looks up while data is
// unchanged: the compartment walk does so for every member name it
// reads, and a copy each would allocate. A caller that keeps the string
// past that must clone it (strings.Clone).
func View(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}
