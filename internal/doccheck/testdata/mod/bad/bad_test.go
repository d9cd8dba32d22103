package bad

import "fmt"

func ExampleExported() {
	fmt.Println("no output comment: compiled, never run")
}

func Examplefoo() {
	fmt.Println("not an example name")
	// Output: not an example name
}
