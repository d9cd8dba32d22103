package dpopredis_test

import (
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/fhirwarden/fhirwarden/dpopredis"
	"github.com/fhirwarden/fhirwarden/token"
)

func ExampleNew() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	checker, err := token.NewDPoPChecker(token.DPoPConfig{Replay: dpopredis.New(rdb, "fhir:dpop:")})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(checker.Algorithms())
	// Output: RS256 PS256 ES256 ES384 ES512 EdDSA
}
