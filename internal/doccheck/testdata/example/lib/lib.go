package lib

import "strconv"

func Parse(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// Version is the version of lib.
const Version = "1.0"
