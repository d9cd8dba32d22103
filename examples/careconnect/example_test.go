package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Example runs the program in-process, as "go run ./examples/careconnect
// -addr 127.0.0.1:0 -clients clients.json" would, with one client of its
// own: it prints how to use the server, then walks the banner's curl
// sequence in Go. The client may read Patient only, so its token reads
// Patient/1 and is refused Observations (403).
func Example() {
	dir, err := os.MkdirTemp("", "careconnect-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	clients := filepath.Join(dir, "clients.json")
	err = os.WriteFile(clients, []byte(`[{"client_id": "patient-access", "client_secret": "s3cret", "scope": "user/Patient.read"}]`), 0o600)
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := context.WithCancel(context.Background())
	stdout, banner := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-clients", clients}, banner, io.Discard)
		banner.Close()
	}()
	// The banner's first lines, up to the blank line after the URLs; the
	// port is a free one, different from run to run.
	port := regexp.MustCompile(`127\.0\.0\.1:\d+`)
	var root string
	lines := bufio.NewScanner(stdout)
	for blank := 0; blank < 2 && lines.Scan(); {
		line := lines.Text()
		if line == "" {
			blank++
		}
		if root == "" {
			root = port.FindString(line)
		}
		fmt.Println(port.ReplaceAllString(line, "127.0.0.1:PORT"))
	}
	if root == "" {
		stop()
		log.Fatalf("careconnect did not start: %v", <-done)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	root = "http://" + root

	get := func(path, token string) {
		req, _ := http.NewRequest(http.MethodGet, root+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer res.Body.Close()
		var body struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
			Issue        []struct {
				Code string `json:"code"`
			} `json:"issue"`
		}
		_ = json.NewDecoder(res.Body).Decode(&body)
		what := body.ResourceType + "/" + body.ID
		if body.ID == "" {
			what = body.ResourceType
		}
		for _, is := range body.Issue {
			what += " " + is.Code
		}
		fmt.Printf("GET %s (token: %t): %d %s\n", path, token != "", res.StatusCode, what)
	}
	get("/fhir/metadata", "")
	get("/fhir/Patient/1", "")

	form := url.Values{"grant_type": {"client_credentials"}}
	req, _ := http.NewRequest(http.MethodPost, root+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("patient-access", "s3cret")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
		Scope       string `json:"scope"`
	}
	_ = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	fmt.Printf("POST /oauth2/token: %d %s token, %d s, scope %q\n", res.StatusCode, tok.TokenType, tok.ExpiresIn, tok.Scope)

	get("/fhir/Patient/1", tok.AccessToken)
	get("/fhir/Observation?patient=1", tok.AccessToken)

	stop()
	if err := <-done; err != nil {
		log.Fatal(err)
	}
	// Output:
	// careconnect: a Care Connect reference server (FHIR STU3) secured by fhirwarden
	//
	//   FHIR base       http://127.0.0.1:PORT/fhir
	//   CapabilityStatement http://127.0.0.1:PORT/fhir/metadata (public)
	//   Token endpoint  http://127.0.0.1:PORT/oauth2/token
	//   Scopes page     http://127.0.0.1:PORT/
	//
	// GET /fhir/metadata (token: false): 200 CapabilityStatement
	// GET /fhir/Patient/1 (token: false): 401 OperationOutcome login
	// POST /oauth2/token: 200 Bearer token, 5400 s, scope "user/Patient.read"
	// GET /fhir/Patient/1 (token: true): 200 Patient/1
	// GET /fhir/Observation?patient=1 (token: true): 403 OperationOutcome forbidden
}
