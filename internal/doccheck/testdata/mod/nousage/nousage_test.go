package nousage

import "fmt"

func Example() {
	fmt.Println(1)
	// Output: 1
}
