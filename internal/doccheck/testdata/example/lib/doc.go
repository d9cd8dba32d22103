// Package lib shows what doccheck reports.
//
//	n := lib.Parse("42")
package lib
