package bulk_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/google/fhir/go/fhirversion"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/bulk"
	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/store"
	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

// tokens is an Authenticator that knows a fixed set of tokens.
type tokens map[string]*token.Principal

func (t tokens) Authenticate(_ context.Context, raw string) (*token.Principal, error) {
	if p, ok := t[raw]; ok {
		return p, nil
	}
	return nil, errors.New("unknown token")
}

// An export of the Patients: kick-off, status until the manifest, and the
// file, all with the token of the client that started it.
func Example() {
	v, _ := store.NewValidator(fhirversion.R4)
	st, _ := store.New(v)
	_, _ = st.Put("Patient", []byte(`{"resourceType":"Patient","id":"1"}`))
	_, _ = st.Put("Patient", []byte(`{"resourceType":"Patient","id":"2"}`))
	set, _ := scope.ParseSet("system/*.rs")
	auth := tokens{"tok": {ClientID: "backend", Scopes: set}}
	e, _ := bulk.New(bulk.Config{Store: st, Version: fhirspec.R4, Authenticator: auth, RootURL: "http://example.org",
		Principal: func(r *http.Request) *token.Principal { return auth["tok"] }})
	defer e.Close()

	kick := httptest.NewRequest("GET", "/fhir/$export?_type=Patient", nil)
	kick.Header.Set("Prefer", "respond-async")
	w := httptest.NewRecorder()
	e.KickOff(w, kick)
	status := w.Header().Get("Content-Location")
	fmt.Println(w.Code, strings.HasPrefix(status, "http://example.org/bulk/"))

	get := func(u string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", u, nil)
		r.Header.Set("Authorization", "Bearer tok")
		w := httptest.NewRecorder()
		e.Handler().ServeHTTP(w, r)
		return w
	}
	for w = get(status); w.Code == http.StatusAccepted; w = get(status) {
		time.Sleep(10 * time.Millisecond)
	}
	var m struct {
		Output []struct {
			Type  string
			URL   string
			Count int
		}
	}
	_ = json.Unmarshal(w.Body.Bytes(), &m)
	fmt.Println(w.Code, m.Output[0].Type, m.Output[0].Count)
	for line := range strings.Lines(get(m.Output[0].URL).Body.String()) {
		var p struct{ ResourceType, ID string }
		_ = json.Unmarshal([]byte(line), &p)
		fmt.Println(p.ResourceType + "/" + p.ID)
	}
	// Output:
	// 202 true
	// 200 Patient 2
	// Patient/1
	// Patient/2
}
