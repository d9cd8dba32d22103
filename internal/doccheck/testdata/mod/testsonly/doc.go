// Package testsonly holds tests only.
//
//	go test ./testsonly
package testsonly
