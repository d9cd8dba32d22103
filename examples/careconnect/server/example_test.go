package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/server"
)

// Start the server in-process on a free port, as tests do.
func ExampleStart() {
	dir, _ := os.MkdirTemp("", "careconnect")
	defer os.RemoveAll(dir)
	cfg, err := server.ParseArgs([]string{"-addr", "127.0.0.1:0", "-backend-key", filepath.Join(dir, "key.json")}, io.Discard)
	if err != nil {
		panic(err)
	}
	s, err := server.Start(context.Background(), cfg, io.Discard)
	if err != nil {
		panic(err)
	}
	defer s.Shutdown(context.Background())

	resp, err := http.Get(s.BaseURL() + "/Patient/1") // no token
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	// Output: 401 Bearer realm="fhir"
}
