// Package nousage has a doc comment without a usage example.
//
// # Heading
//
//	code after a heading does not count
package nousage
