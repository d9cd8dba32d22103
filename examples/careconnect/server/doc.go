// Package server assembles the careconnect example: an in-memory FHIR
// store with Care Connect sample data behind the FHIR REST API, secured by
// fhirwarden's middleware (token verification, scope decisions, narrowing
// that the store honours natively), an embedded development OAuth2
// authorization server (or an external issuer), the SMART configuration,
// and the "Security scopes" page. It is a package, not only a main, so
// that tests (including the browser tests of the separate e2e module) can
// start the server in-process.
//
//	cfg, err := server.ParseArgs([]string{"-addr", "127.0.0.1:0"}, os.Stderr)
//	if err != nil {
//		log.Fatal(err)
//	}
//	s, err := server.Start(ctx, cfg, os.Stdout) // prints the startup text
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer s.Shutdown(context.Background())
//	fmt.Println(s.BaseURL(), s.TokenURL()) // http://127.0.0.1:PORT/fhir .../oauth2/token
//
// Run is the whole program (parse flags, start, serve until the context
// is done, shut down gracefully); cmd main calls it.
//
// Outside the FHIR base, without a token: GET /healthz (alive), GET
// /readyz (the issuer's keys are loaded) and GET /metrics (the
// middleware's decisions and the token verifier's counters, Prometheus
// text format).
package server
