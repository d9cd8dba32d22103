package doccheck

import "fmt"

// Finding is one breach of the documentation standard, at a place a person
// can open.
type Finding struct {
	// File is the slash-separated path of the file, relative to the
	// checked root.
	File string
	// Line is the 1-based line in File.
	Line int
	// Message says what is missing, in words that say how to fix it.
	Message string
}

// String formats the finding as file:line: message, the way compilers and
// go vet do, so editors can jump to it.
func (f Finding) String() string {
	return fmt.Sprintf("%s:%d: %s", f.File, f.Line, f.Message)
}
