package token_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// Trust two identity providers at once: staff sign in with one that issues
// Entra ID-shaped tokens, patients with one that issues Okta-shaped tokens.
// The token's iss picks the provider; a third is refused without contact.
func ExampleNewIssuers() {
	staffIdP, portalIdP, otherIdP := tokentest.NewIssuer(), tokentest.NewIssuer(), tokentest.NewIssuer()
	defer staffIdP.Close()
	defer portalIdP.Close()
	defer otherIdP.Close()
	ctx := context.Background()

	trust := func(idp *tokentest.Issuer, claims token.ClaimMapping) *token.Verifier {
		v, err := token.NewVerifier(ctx, token.Config{Issuer: idp.URL, Audience: idp.Audience(), JWKSURL: idp.JWKSURL(), Claims: claims})
		if err != nil {
			panic(err)
		}
		return v
	}
	auth, err := token.NewIssuers(trust(staffIdP, token.EntraClaims), trust(portalIdP, token.OktaClaims))
	if err != nil {
		panic(err)
	}
	defer auth.Close()

	staff, _ := auth.Authenticate(ctx, staffIdP.Mint(map[string]any{"azp": "ward-app", "scp": "user.Observation.rs"}))
	fmt.Println(staff.ClientID, staff.Scopes, staff.Scopes.Permits(scope.User, "Observation", scope.Search))
	patient, _ := auth.Authenticate(ctx, portalIdP.Mint(map[string]any{"cid": "portal", "scp": []string{"patient/*.rs"}, "patient": "123"}))
	fmt.Println(patient.ClientID, patient.Scopes, patient.Patient)
	_, err = auth.Authenticate(ctx, otherIdP.Mint(nil))
	fmt.Println(errors.Is(err, token.ErrIssuer), otherIdP.JWKSFetches())
	// Output:
	// ward-app user/Observation.rs unconstrained
	// portal patient/*.rs 123
	// true 0
}
