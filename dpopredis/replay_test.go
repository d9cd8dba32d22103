package dpopredis_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/client"
	"github.com/fhirwarden/fhirwarden/dpopredis"
	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
	"github.com/fhirwarden/fhirwarden/middleware"
	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// startRedis runs a redis-server on a free loopback port for the test and
// returns its address. Without redis-server the test is skipped, except
// in CI (CI=true), where that is a failure.
func startRedis(t *testing.T) string {
	t.Helper()
	addr, _ := startRedisProcess(t)
	return addr
}

// startRedisProcess is startRedis, returning the process as well so that
// a test can stop it.
func startRedisProcess(t *testing.T) (string, *exec.Cmd) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed (apt-get install redis-server)")
		}
		t.Skip("redis-server is not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for rdb.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not answer within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return addr, cmd
}

func newClient(t *testing.T, addr string) *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func TestSeen(t *testing.T) {
	addr := startRedis(t)
	ctx := context.Background()
	a := dpopredis.New(newClient(t, addr), "a:")
	b := dpopredis.New(newClient(t, addr), "a:")
	other := dpopredis.New(newClient(t, addr), "b:")

	seen, err := a.Seen(ctx, "jti-1", time.Now().Add(time.Minute))
	require.NoError(t, err)
	require.False(t, seen)
	seen, err = b.Seen(ctx, "jti-1", time.Now().Add(time.Minute))
	require.NoError(t, err)
	require.True(t, seen, "another client of the same store sees it")
	seen, err = other.Seen(ctx, "jti-1", time.Now().Add(time.Minute))
	require.NoError(t, err)
	require.False(t, seen, "another prefix is another cache")

	ttl, err := newClient(t, addr).PTTL(ctx, "a:jti-1").Result()
	require.NoError(t, err)
	require.InDelta(t, time.Minute.Seconds(), ttl.Seconds(), 2, "the key expires with the proof's window")

	_, err = a.Seen(ctx, "short", time.Now().Add(300*time.Millisecond))
	require.NoError(t, err)
	time.Sleep(600 * time.Millisecond)
	seen, err = a.Seen(ctx, "short", time.Now().Add(time.Minute))
	require.NoError(t, err)
	require.False(t, seen, "expired with its window")
}

func TestSeenConcurrentOneWinner(t *testing.T) {
	addr := startRedis(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := 0
	for range 8 {
		c := dpopredis.New(newClient(t, addr), "p:")
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen, err := c.Seen(context.Background(), "same", time.Now().Add(time.Minute))
			if err == nil && !seen {
				mu.Lock()
				fresh++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 1, fresh)
}

func TestSeenFailsClosedWhenRedisIsDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	c := dpopredis.New(redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second}), "x:")
	_, err = c.Seen(context.Background(), "k", time.Now().Add(time.Minute))
	require.Error(t, err)
}

// TestTwoReplicas: two middleware instances (replicas behind a load
// balancer), each with its own Redis client to one shared server: a proof
// accepted by one is refused by the other, and a Redis outage refuses
// with 503, never admits.
func TestTwoReplicas(t *testing.T) {
	addr := startRedis(t)
	iss := tokentest.NewIssuer()
	defer iss.Close()
	const origin = "https://fhir.example.org"
	replica := func(rdb redis.Cmdable) http.Handler {
		ver, err := token.NewVerifier(context.Background(), token.Config{Issuer: iss.URL, Audience: iss.Audience(), JWKSURL: iss.JWKSURL()})
		require.NoError(t, err)
		t.Cleanup(func() { _ = ver.Close() })
		policy, err := fhirauth.NewPolicy(fhirauth.WithBasePath("/fhir"))
		require.NoError(t, err)
		mw, err := middleware.New(ver, policy, middleware.WithDPoP(middleware.DPoPConfig{
			ExternalURL: origin,
			DPoPConfig:  token.DPoPConfig{Replay: dpopredis.New(rdb, "fhir:dpop:")},
		}))
		require.NoError(t, err)
		return mw.Wrap(naivefhir.New("/fhir", naivefhir.Sample()...))
	}
	a, b := replica(newClient(t, addr)), replica(newClient(t, addr))

	key, err := client.GenerateDPoPKey()
	require.NoError(t, err)
	tok := iss.Mint(map[string]any{"scope": "user/Patient.rs", "cnf": map[string]any{"jkt": key.Thumbprint()}})
	send := func(h http.Handler, proof string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/fhir/Patient", nil)
		r.Header.Set("Authorization", "DPoP "+tok)
		r.Header.Set("DPoP", proof)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	proof, err := key.Proof("GET", origin+"/fhir/Patient", tok, "")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, send(a, proof).Code)
	w := send(b, proof)
	require.Equal(t, http.StatusUnauthorized, w.Code)
	require.True(t, strings.HasPrefix(w.Header().Get("WWW-Authenticate"), `DPoP realm="fhir", error="invalid_dpop_proof"`), w.Header().Get("WWW-Authenticate"))
	require.Contains(t, w.Body.String(), "replay")

	fresh, err := key.Proof("GET", origin+"/fhir/Patient", tok, "")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, send(b, fresh).Code, "a fresh proof passes on the other replica")

	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = down.Close() })
	outage, err := key.Proof("GET", origin+"/fhir/Patient", tok, "")
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, send(replica(down), outage).Code)
}

// TestSeenKeepsKeyUntilExpires: Redis keeps a proof's key at least until
// the instant Seen was given, though go-redis sends whole milliseconds
// (truncated) and Redis counts from a whole millisecond. The instants end
// just short of a millisecond, where truncation costs the most.
func TestSeenKeepsKeyUntilExpires(t *testing.T) {
	addr := startRedis(t)
	ctx := context.Background()
	rdb := newClient(t, addr)
	c := dpopredis.New(rdb, "x:")
	for i := range 20 {
		key := "jti-" + strconv.Itoa(i)
		expires := time.Now().Truncate(time.Millisecond).Add(10*time.Second + 999*time.Microsecond)
		seen, err := c.Seen(ctx, key, expires)
		require.NoError(t, err)
		require.False(t, seen)
		at, err := rdb.PExpireTime(ctx, "x:"+key).Result()
		require.NoError(t, err)
		end := time.UnixMilli(at.Milliseconds())
		require.False(t, end.Before(expires), "key %d expires at %s, %s before the proof's window ends",
			i, end.Format(time.StampMicro), expires.Sub(end))
	}
}
