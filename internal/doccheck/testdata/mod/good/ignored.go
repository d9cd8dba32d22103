//go:build ignore

package main

func Undocumented() {}
