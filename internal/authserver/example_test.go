package authserver_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/fhirwarden/fhirwarden/internal/authserver"
)

// Load clients in the -clients file format, start a server and get a token
// by client credentials, the client authenticated by HTTP Basic.
func Example() {
	clients, err := authserver.LoadClients(strings.NewReader(`[
	  {"client_id": "patient-access", "client_secret": "s3cret", "scope": "user/Patient.read"},
	  {"client_id": "everything", "client_secret": "s3cret", "scope": "user/*.read"}
	]`))
	if err != nil {
		panic(err)
	}
	as, err := authserver.New(authserver.Config{
		Issuer:   "http://127.0.0.1:8080",
		Audience: "http://127.0.0.1:8080/fhir",
		Clients:  clients,
	})
	if err != nil {
		panic(err)
	}

	r := httptest.NewRequest(http.MethodPost, as.TokenURL(), strings.NewReader("grant_type=client_credentials&scope=user/Observation.read user/Patient.write"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth("everything", "s3cret")
	w := httptest.NewRecorder()
	as.Handler().ServeHTTP(w, r)

	var res struct {
		TokenType string `json:"token_type"`
		ExpiresIn int    `json:"expires_in"`
		Scope     string `json:"scope"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &res)
	fmt.Println(w.Code, res.TokenType, res.ExpiresIn, res.Scope)
	fmt.Println(as.SMARTConfiguration()["token_endpoint"])
	// Output:
	// 200 Bearer 5400 user/Observation.read
	// http://127.0.0.1:8080/oauth2/token
}
