// Package bench holds fhirwarden's performance and endurance proof: a peer
// comparison of token verification, a load comparison of a FHIR server
// bare and behind the middleware, and a bounded soak under key rotation and
// JWKS failures. It is its own module, so that its dependencies (the peer
// JWT libraries) never reach library users.
//
//	s, _ := bench.NewStack(ctx, bench.StackOptions{}) // issuer, verifier, bare + wrapped servers
//	defer s.Close()
//	c, _ := s.Compare(ctx, bench.Scenarios()[0], bench.CompareConfig{Duration: time.Second})
//	bench.WriteComparisonTable(os.Stdout, []*bench.Comparison{c})
//	fmt.Printf("wrapped keeps %.0f%% of bare throughput\n", 100*c.Ratio())
//
//	r, _ := bench.Load{URL: url, Concurrency: 8, Duration: 5 * time.Second}.Run(ctx)
//	fmt.Println(r.RPS(), r.Percentile(50), r.Percentile(99))
//
//	rep, _ := bench.Soak(ctx, bench.SoakConfig{Duration: time.Minute})
//
// The claims are asserted by tests that need a quiet machine or time, so
// they are opt-in: FHIRWARDEN_BENCH=1 enables TestPeerRatios and
// TestLoadCompare, FHIRWARDEN_SOAK=60s enables TestSoak. report.sh prints
// everything as Markdown; README.md says how to rerun it.
package bench
