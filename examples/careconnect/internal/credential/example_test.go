package credential_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/credential"
	"github.com/fhirwarden/fhirwarden/token"
)

// tokens is an Authenticator that knows one bearer token.
type tokens struct{}

func (tokens) Authenticate(_ context.Context, raw string) (*token.Principal, error) {
	if raw == "good" {
		return &token.Principal{ClientID: "app"}, nil
	}
	return nil, errors.New("unknown token")
}

// A Checker without the DPoP scheme takes bearer tokens only and says
// how to authenticate when it refuses.
func Example() {
	c, _ := credential.New(tokens{}, nil)
	r := httptest.NewRequest(http.MethodGet, "/bulk/1", nil)
	r.Header.Set("Authorization", "Bearer good")
	p, _ := c.Authenticate(r)
	fmt.Println(p.ClientID)

	r.Header.Set("Authorization", "Bearer bad")
	_, refused := c.Authenticate(r)
	h := http.Header{}
	c.Challenge(h, "bulk", refused)
	fmt.Println(refused.Status, h.Get("WWW-Authenticate"))
	// Output:
	// app
	// 401 Bearer realm="bulk", error="invalid_token"
}
