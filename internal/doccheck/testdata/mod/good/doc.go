// Package good meets the standard.
//
//	g := good.New()
//	fmt.Println(g.Name())
package good
