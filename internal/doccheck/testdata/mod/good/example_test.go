package good_test

import (
	"fmt"

	"example.com/mod/good"
)

func ExampleNew() {
	fmt.Println(good.New().Name())
	// Output: good
}
