// Package generated has generated code.
//
//	generated.Table()
package generated
