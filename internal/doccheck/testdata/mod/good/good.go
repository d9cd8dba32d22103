package good

// Good is documented.
type Good struct{}

// New returns a Good.
func New() *Good { return &Good{} }

// Name is documented.
func (g *Good) Name() string { return "good" }

// Limits are documented as a group.
const (
	Min = 1
	Max = 2
)

var (
	// Default is documented on its spec.
	Default = New()
	hidden  = 1
)

type unexported struct{}

func (unexported) Exported() {} // method of an unexported type: not in the docs

func helper() int { return hidden }

type (
	// Pair is documented in a group.
	Pair[T any] struct{ A, B T }
)

// First is documented.
func (p Pair[T]) First() T { return p.A }
