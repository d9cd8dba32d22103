package logbuf_test

import (
	"fmt"
	"sync"

	"github.com/fhirwarden/fhirwarden/internal/logbuf"
)

func Example() {
	var out logbuf.Buffer
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { fmt.Fprint(&out, "x") })
	}
	wg.Wait()
	fmt.Println(out.String())
	// Output: xxx
}
