package bench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/fhirwarden/fhirwarden/token"
)

// TokenKind is a kind of bearer token the soak sends.
type TokenKind string

// The soak's token kinds.
const (
	KindValid        TokenKind = "valid"         // signed by the issuer's current key, may be fresh or cached
	KindBadSignature TokenKind = "bad-signature" // a valid token with one signature character changed
	KindExpired      TokenKind = "expired"       // signed by the current key, exp 10 minutes ago
	KindUnknownKid   TokenKind = "unknown-kid"   // a kid the issuer never published (random per request)
)

// SoakConfig says how long and how hard to soak. Zero fields take the
// defaults noted.
type SoakConfig struct {
	Duration        time.Duration // default 60 s
	RefetchInterval time.Duration // the verifier's unknown-kid refetch rate limit (default 2 s)
	RotateEvery     time.Duration // issuer key rotation period (default 12 s)
	FaultEvery      time.Duration // a JWKS fault window starts this often (default 5 s)
	FaultLength     time.Duration // and lasts this long (default 2 s)
	SampleEvery     time.Duration // heap and goroutine samples (default 2 s)
	CacheSize       int           // verified-token cache size (default 512, small so that it churns)
	// Workers per token kind (default valid 3, bad-signature 1, expired 1,
	// unknown-kid 2), each a closed loop with its own keep-alive connection.
	Workers map[TokenKind]int
}

func (c *SoakConfig) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&c.Duration, 60*time.Second)
	set(&c.RefetchInterval, 2*time.Second)
	set(&c.RotateEvery, 12*time.Second)
	set(&c.FaultEvery, 5*time.Second)
	set(&c.FaultLength, 2*time.Second)
	set(&c.SampleEvery, 2*time.Second)
	if c.CacheSize <= 0 {
		c.CacheSize = 512
	}
	if c.Workers == nil {
		c.Workers = map[TokenKind]int{KindValid: 3, KindBadSignature: 1, KindExpired: 1, KindUnknownKid: 2}
	}
}

// Warmup is the part of the run after which the heap baseline is taken:
// the verified-token cache is full and every pool has been allocated.
func (c *SoakConfig) Warmup() time.Duration {
	return min(c.Duration/6, 10*time.Second)
}

// KindStats is what one token kind's requests got.
type KindStats struct {
	Requests  int
	Status    map[int]int
	Errors    int // transport errors (no answer)
	latencies histogram
}

// P99 is the 99th percentile latency of the kind's requests (within 3%).
func (k *KindStats) P99() time.Duration { return k.latencies.percentile(99) }

// SoakReport is what a soak measured.
type SoakReport struct {
	Config  SoakConfig
	Elapsed time.Duration
	Kinds   map[TokenKind]*KindStats

	Rotations    int
	FaultWindows []string // the faults injected, in order
	JWKSFetches  int      // requests the issuer's JWKS endpoint received (initial fetch included)
	Verifier     token.Stats

	GoroutinesBefore int   // before the load started
	GoroutineSamples []int // during the load
	GoroutinesAfter  int   // after the load stopped and connections closed

	HeapBaseline uint64   // HeapInuse after GC, at the end of the warm-up
	HeapSamples  []uint64 // HeapInuse after GC, during the load
	HeapFinal    uint64   // HeapInuse after GC, after the load stopped

	// RecoveryStatus is what a fresh valid token got once the faults
	// stopped and a refetch interval had passed (want 200).
	RecoveryStatus int
}

// FetchBound is the most JWKS fetches the rate limit allows in the run:
// one per refetch interval plus the initial fetch and slack for a
// background retry racing an on-demand fetch at a window's edge.
func (r *SoakReport) FetchBound() int {
	return int(r.Elapsed/r.Config.RefetchInterval) + 3
}

// HeapGrowth is HeapFinal - HeapBaseline (negative when the heap shrank).
func (r *SoakReport) HeapGrowth() int64 { return int64(r.HeapFinal) - int64(r.HeapBaseline) }

// tokenPool holds the tokens of the current key generation.
type tokenPool struct {
	mu      sync.RWMutex
	valid   []string
	badSig  []string
	expired []string
}

func (p *tokenPool) fill(s *Stack) {
	// Even tokens are a clinician's (user/ scopes: the response streams
	// through); odd ones a patient app's (patient/ scopes: the search is
	// narrowed and the response Bundle buffered and checked).
	claims := func(i int) map[string]any {
		if i%2 == 1 {
			return map[string]any{"sub": "Patient/" + PatientID(1), "client_id": "soak-patient", "scope": "launch/patient patient/Observation.rs", "patient": PatientID(1)}
		}
		return map[string]any{"sub": fmt.Sprintf("Practitioner/%d", i), "client_id": "soak", "scope": "user/Observation.rs user/Patient.rs"}
	}
	var valid, badSig, expired []string
	for i := range 16 {
		v := s.Issuer.Mint(claims(i))
		valid = append(valid, v)
		badSig = append(badSig, flipSignature(v))
	}
	for i := range 4 {
		c := claims(i)
		c["iat"] = time.Now().Add(-70 * time.Minute).Unix()
		c["exp"] = time.Now().Add(-10 * time.Minute).Unix()
		expired = append(expired, s.Issuer.Mint(c))
	}
	p.mu.Lock()
	p.valid, p.badSig, p.expired = valid, badSig, expired
	p.mu.Unlock()
}

func (p *tokenPool) pick(kind TokenKind, i int) string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	switch kind {
	case KindBadSignature:
		return p.badSig[i%len(p.badSig)]
	case KindExpired:
		return p.expired[i%len(p.expired)]
	default:
		return p.valid[i%len(p.valid)]
	}
}

// flipSignature changes one character in the middle of the signature (a
// change of its last character might only touch padding bits).
func flipSignature(tok string) string {
	dot := strings.LastIndexByte(tok, '.')
	b := []byte(tok)
	i := dot + 1 + (len(tok)-dot-1)/2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// withRandomKid rewrites tok's header to name a kid nobody published. The
// signature no longer matters: no key will be found to check it with.
func withRandomKid(tok string) string {
	var kid [12]byte
	_, _ = rand.Read(kid[:])
	h := `{"alg":"RS256","typ":"at+jwt","kid":"` + base64.RawURLEncoding.EncodeToString(kid[:]) + `"}`
	_, rest, _ := strings.Cut(tok, ".")
	return base64.RawURLEncoding.EncodeToString([]byte(h)) + "." + rest
}

// jwksFaults are injected in turn, one per fault window.
var jwksFaults = []struct {
	name  string
	apply func(s *Stack, on bool)
}{
	{"jwks-500", func(s *Stack, on bool) { s.Issuer.FailJWKS(map[bool]int{true: http.StatusInternalServerError}[on]) }},
	{"jwks-garbage", func(s *Stack, on bool) { s.Issuer.JWKSGarbage(on) }},
	{"jwks-empty", func(s *Stack, on bool) { s.Issuer.EmptyJWKS(on) }},
	{"jwks-slow-3s", func(s *Stack, on bool) { s.Issuer.SetDelay(map[bool]time.Duration{true: 3 * time.Second}[on]) }},
	{"jwks-503", func(s *Stack, on bool) { s.Issuer.FailJWKS(map[bool]int{true: http.StatusServiceUnavailable}[on]) }},
}

// Soak runs valid, bad-signature, expired and unknown-kid tokens
// concurrently against the middleware-wrapped handler for cfg.Duration,
// while the issuer rotates its keys and its JWKS endpoint fails now and
// then, and reports what every kind got, how often the JWKS was fetched,
// and how goroutines and the heap evolved. It checks nothing itself:
// TestSoak asserts on the report.
func Soak(ctx context.Context, cfg SoakConfig) (*SoakReport, error) {
	cfg.defaults()
	s, err := NewStack(ctx, StackOptions{
		VerifierOptions: []token.VerifierOption{
			token.WithRefetchInterval(cfg.RefetchInterval),
			token.WithTokenCache(cfg.CacheSize, 5*time.Minute),
		},
		Audit: JSONAudit(), // exercise the audit path too
	})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if st := s.Verifier.Stats(); st.KeysLoaded == 0 {
		return nil, errors.New("soak: the verifier has no keys after start")
	}
	workers := 0
	for _, n := range cfg.Workers {
		workers += n
	}
	run := &soakRun{
		cfg: cfg, s: s, pool: &tokenPool{}, client: NewLoadClient(workers + 1),
		url:     s.WrappedURL + SearchPath(BasePath, PatientID(1)),
		readURL: s.WrappedURL + ReadPath(BasePath, 1, 0), // a read's response is buffered and checked
		rep:     &SoakReport{Config: cfg, Kinds: map[TokenKind]*KindStats{}},
	}
	defer run.client.CloseIdleConnections()
	run.pool.fill(s)
	runtime.GC()
	run.rep.GoroutinesBefore = runtime.NumGoroutine()

	runCtx, stop := context.WithTimeout(ctx, cfg.Duration)
	defer stop()
	var wg sync.WaitGroup
	start := time.Now()
	for kind, n := range cfg.Workers {
		ks := &KindStats{Status: map[int]int{}}
		run.rep.Kinds[kind] = ks
		for w := range n {
			wg.Go(func() { run.load(runCtx, kind, w, ks) })
		}
	}
	wg.Go(func() { run.rotateKeys(runCtx) })
	wg.Go(func() { run.injectFaults(runCtx) })
	wg.Go(func() { run.sample(runCtx) })
	wg.Wait()
	run.rep.Elapsed = time.Since(start)
	for _, f := range jwksFaults {
		f.apply(s, false)
	}
	run.checkRecovery(ctx)

	rep := run.rep
	rep.JWKSFetches = s.Issuer.JWKSFetches()
	rep.Verifier = s.Verifier.Stats()
	run.client.CloseIdleConnections()
	rep.HeapFinal = heapInuse()
	rep.GoroutinesAfter = settledGoroutines(rep.GoroutinesBefore, 5*time.Second)
	return rep, nil
}

// soakRun is one soak under way: what its activities (load, key
// rotation, JWKS faults, samples) share.
type soakRun struct {
	cfg          SoakConfig
	s            *Stack
	pool         *tokenPool
	client       *http.Client
	url, readURL string

	mu  sync.Mutex // guards rep while the activities run
	rep *SoakReport
}

// load is one worker's closed loop of requests with tokens of kind,
// counted into ks when the run ends.
func (r *soakRun) load(ctx context.Context, kind TokenKind, w int, ks *KindStats) {
	local := &KindStats{Status: map[int]int{}}
	for i := w; ctx.Err() == nil; i++ {
		var tok string
		switch {
		case kind == KindUnknownKid:
			tok = withRandomKid(r.pool.pick(KindValid, i))
		case kind == KindValid && i%8 == 0:
			tok = r.s.Issuer.Mint(map[string]any{"sub": "Practitioner/fresh", "client_id": "soak", "scope": "user/Observation.rs"})
		default:
			tok = r.pool.pick(kind, i)
		}
		u := r.url
		if i%3 == 2 {
			u = r.readURL
		}
		status, d, err := soakRequest(ctx, r.client, u, tok)
		switch {
		case err != nil && ctx.Err() != nil:
			// cut off by the end of the run
		case err != nil:
			local.Errors++
		default:
			local.Requests++
			local.Status[status]++
			local.latencies.record(d)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ks.Requests += local.Requests
	ks.Errors += local.Errors
	for st, c := range local.Status {
		ks.Status[st] += c
	}
	ks.latencies.merge(&local.latencies)
}

// rotateKeys rotates the issuer's keys every RotateEvery, alternately
// keeping and retiring the previous keys.
func (r *soakRun) rotateKeys(ctx context.Context) {
	every(ctx, r.cfg.RotateEvery, func(n int) {
		r.s.Issuer.RotateKeys(n%2 == 1)
		r.pool.fill(r.s)
		r.mu.Lock()
		r.rep.Rotations++
		r.mu.Unlock()
	})
}

// injectFaults breaks the JWKS endpoint every FaultEvery for
// FaultLength, one fault of jwksFaults after the other.
func (r *soakRun) injectFaults(ctx context.Context) {
	every(ctx, r.cfg.FaultEvery, func(n int) {
		f := jwksFaults[n%len(jwksFaults)]
		r.mu.Lock()
		r.rep.FaultWindows = append(r.rep.FaultWindows, f.name)
		r.mu.Unlock()
		f.apply(r.s, true)
		select {
		case <-ctx.Done():
		case <-time.After(r.cfg.FaultLength):
		}
		f.apply(r.s, false)
	})
}

// every calls f(0), f(1), ... once a period until ctx ends.
func every(ctx context.Context, period time.Duration, f func(n int)) {
	t := time.NewTicker(period)
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f(n)
	}
}

// sample records the heap in use after GC (a baseline once warmed up,
// then every SampleEvery) and the number of goroutines.
func (r *soakRun) sample(ctx context.Context) {
	warm := time.NewTimer(r.cfg.Warmup())
	defer warm.Stop()
	t := time.NewTicker(r.cfg.SampleEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-warm.C:
			h := heapInuse()
			r.mu.Lock()
			r.rep.HeapBaseline = h
			r.mu.Unlock()
		case <-t.C:
			h, g := heapInuse(), runtime.NumGoroutine()
			r.mu.Lock()
			r.rep.HeapSamples = append(r.rep.HeapSamples, h)
			r.rep.GoroutineSamples = append(r.rep.GoroutineSamples, g)
			r.mu.Unlock()
		}
	}
}

// checkRecovery checks that, once the faults are over, a fresh token of the
// current key is accepted (within two refetch intervals: the rate limit
// may have just fired).
func (r *soakRun) checkRecovery(ctx context.Context) {
	deadline := time.Now().Add(2*r.cfg.RefetchInterval + time.Second)
	for {
		tok := r.s.Issuer.Mint(map[string]any{"sub": "Practitioner/recovery", "scope": "user/Observation.rs"})
		status, _, err := soakRequest(ctx, r.client, r.url, tok)
		r.rep.RecoveryStatus = status
		if (err == nil && status == http.StatusOK) || time.Now().After(deadline) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func soakRequest(ctx context.Context, client *http.Client, url, tok string) (int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	t0 := time.Now()
	res, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	return res.StatusCode, time.Since(t0), nil
}

func heapInuse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// settledGoroutines waits (up to wait) for the goroutine count to come back
// to target, and returns the last count seen.
func settledGoroutines(target int, wait time.Duration) int {
	deadline := time.Now().Add(wait)
	for {
		n := runtime.NumGoroutine()
		if n <= target || time.Now().After(deadline) {
			return n
		}
		time.Sleep(50 * time.Millisecond)
	}
}
