package nocomment

import "fmt"

func Example() {
	fmt.Println(N)
	// Output: 1
}
