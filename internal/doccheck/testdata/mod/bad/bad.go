// Package bad breaks the standard.
package bad

func Exported() {}

type T struct{}

func (T) Method()           {}
func (*T) PointerMethod()   {}
func (t *T) unexported()    {}
func (g G[K]) Generic() K   { var k K; return k }
func (g *G[K]) Generic2() K { var k K; return k }

type G[K any] struct{}

const C = 1

const (
	D, e = 1, 2
	f, F = 3, 4
)

var V int

var (
	// W is documented on its spec.
	W int
	X int
)

type (
	Y int
	// Z is documented.
	Z int
)
