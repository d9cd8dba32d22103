// Package dpopredis is a DPoP replay cache (token.ReplayCache) kept in
// Redis, so that every replica of a service behind a load balancer refuses
// a proof already used at any other.
//
// It is a module of its own: users of fhirwarden who do not use it never
// download a Redis client.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379"})
//	mw, err := middleware.New(verifier, policy, middleware.WithDPoP(middleware.DPoPConfig{
//		ExternalURL: "https://fhir.example.org",
//		DPoPConfig:  token.DPoPConfig{Replay: dpopredis.New(rdb, "fhir:dpop:")},
//	}))
//
// Each proof is one key, written with SET NX and an expiry at the end of
// the proof's window: the first replica to write it wins, every other sees
// it, and Redis forgets it when it could no longer be accepted anyway.
//
// A replay is refused only while Redis keeps the key, so run it so that
// it does not drop keys early: a maxmemory-policy that evicts nothing
// (noeviction: a full Redis then fails the write, and the proof is
// refused with 503) rather than an allkeys-* or volatile-* policy, and,
// where a restart or a failover must not forget the proofs of the last
// minute, persistence (appendonly yes) and a replica that has them. An
// error from Redis refuses the proof; it never admits one.
package dpopredis
