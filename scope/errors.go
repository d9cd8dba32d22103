package scope

import (
	"errors"
	"fmt"
)

// ErrInvalid is wrapped by every parse error.
var ErrInvalid = errors.New("scope: invalid")

// Error describes one invalid scope token. errors.Is(err, ErrInvalid) is true.
type Error struct {
	Scope  string // the offending token (truncated if huge)
	Reason string // what is wrong, in words
}

// Error returns `scope "<token>": <reason>`; the token is quoted with Go
// escaping, so control and non-ASCII bytes are visible.
func (e *Error) Error() string {
	return fmt.Sprintf("scope %q: %s", e.Scope, e.Reason)
}

// Unwrap returns ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

// maxErrorScope is how many bytes of an invalid token an Error keeps.
const maxErrorScope = 64

// newError builds an Error for token s, truncating s to maxErrorScope bytes.
func newError(s, format string, args ...any) *Error {
	if len(s) > maxErrorScope {
		s = s[:maxErrorScope] + "..."
	}
	return &Error{Scope: s, Reason: fmt.Sprintf(format, args...)}
}
