// Command gen generates; as an internal tool it needs no Example.
//
//	go run ./internal/gen -o out.go
package main
