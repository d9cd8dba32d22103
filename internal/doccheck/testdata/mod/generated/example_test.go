package generated

import "fmt"

func ExampleTable() {
	fmt.Println(len(Table()))
	// Output: 0
}
