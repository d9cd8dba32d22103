package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"

	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// Example runs the gateway in-process in front of a FHIR server that
// checks nothing (naivefhir, serving three patients' records at /baseR4),
// trusting a test issuer: a request without a token is refused with 401;
// a patient's token reads that patient (200) but not another (404: for the
// caller it does not exist); and a search for everyone's Observations
// comes back narrowed to that patient's (obs-p1-by-p2 is Alice's too: she
// is its subject).
func Example() {
	iss := tokentest.NewIssuer()
	defer iss.Close()
	upstream := httptest.NewServer(naivefhir.New("/baseR4", naivefhir.Sample()...))
	defer upstream.Close()

	ctx, stop := context.WithCancel(context.Background())
	stdout, startup := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-upstream", upstream.URL + "/baseR4",
			"-issuer", iss.URL, "-audience", iss.Audience()}, startup, io.Discard)
		startup.Close()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		log.Fatalf("gateway did not start: %v", <-done)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	port := regexp.MustCompile(`127\.0\.0\.1:\d+`)
	base := regexp.MustCompile(`http://127\.0\.0\.1:\d+\S*`).FindString(line) // the gateway's: the first URL
	fmt.Print(port.ReplaceAllString(line, "127.0.0.1:PORT"))

	tok := iss.Mint(map[string]any{"sub": "alice", "client_id": "app", "scope": "patient/*.read", "patient": naivefhir.Alice})
	for _, req := range []struct{ path, token string }{
		{"/Patient/" + naivefhir.Alice, ""},
		{"/Patient/" + naivefhir.Alice, tok},
		{"/Patient/" + naivefhir.Bob, tok},
		{"/Observation", tok},
	} {
		r, _ := http.NewRequest(http.MethodGet, base+req.path, nil)
		if req.token != "" {
			r.Header.Set("Authorization", "Bearer "+req.token)
		}
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("GET %s (token: %t): %d %s\n", req.path, req.token != "", res.StatusCode, summary(res.Body))
		res.Body.Close()
	}

	stop()
	if err := <-done; err != nil {
		log.Fatal(err)
	}
	// Output:
	// fhirwarden gateway listening on http://127.0.0.1:PORT/fhir -> http://127.0.0.1:PORT/baseR4 (FHIR R4, issuer http://127.0.0.1:PORT)
	// GET /Patient/p1 (token: false): 401 OperationOutcome login
	// GET /Patient/p1 (token: true): 200 Patient p1
	// GET /Patient/p2 (token: true): 404 OperationOutcome not-found
	// GET /Observation (token: true): 200 Bundle Observation/obs-p1-by-p2 Observation/obs-p1-lab Observation/obs-p1-vital
}

// summary describes a FHIR JSON response in one line: a resource's type
// and id, a Bundle's entries, an OperationOutcome's issue codes.
func summary(body io.Reader) string {
	var r struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
		Entry        []struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
				ID           string `json:"id"`
			} `json:"resource"`
		} `json:"entry"`
		Issue []struct {
			Code string `json:"code"`
		} `json:"issue"`
	}
	if err := json.NewDecoder(body).Decode(&r); err != nil {
		return "(not JSON)"
	}
	var parts []string
	switch r.ResourceType {
	case "Bundle":
		for _, e := range r.Entry {
			parts = append(parts, e.Resource.ResourceType+"/"+e.Resource.ID)
		}
	case "OperationOutcome":
		for _, is := range r.Issue {
			parts = append(parts, is.Code)
		}
	default:
		parts = append(parts, r.ID)
	}
	return r.ResourceType + " " + strings.Join(parts, " ")
}
