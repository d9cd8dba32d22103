package main

import "flag"

func main() {
	flag.String("o", "out.go", "output file")
	flag.Parse()
}
