// Package hostile holds JSON documents built to make two readers see two
// different objects, with the one verdict every reader of the library
// must reach on each: the token decoder, the middleware's and fhirauth's
// readers and fhirspec's walker each run the table in a test of their
// own, so that whether a request is safe never depends on which layer
// reads it.
//
//	for _, c := range hostile.Objects {
//		_, err := decode([]byte(c.Doc))
//		assert.Equal(t, c.Refused, err != nil, c.Name)
//	}
package hostile
