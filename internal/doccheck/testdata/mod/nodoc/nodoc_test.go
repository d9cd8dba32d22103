package nodoc_test

import "fmt"

func Example() {
	fmt.Println(1)
	// Unordered output: 1
}
