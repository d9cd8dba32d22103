package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// TestScaleGateway measures the gateway (a subprocess) serving search-set
// responses of growing size to 8 concurrent clients: wall time per
// response and the process's peak RSS (VmHWM). It runs only with
// FHIRWARDEN_SCALE set (bench/scale.sh); GATEWAY_BIN measures another
// build of the gateway (the "before" column of docs/scale.md).
// FHIRWARDEN_SCALE=small runs one small size (CI).
func TestScaleGateway(t *testing.T) {
	mode := os.Getenv("FHIRWARDEN_SCALE")
	if mode == "" {
		t.Skip("set FHIRWARDEN_SCALE=1 (or small) to measure the gateway's curves")
	}
	sizes := []int{10 << 10, 100 << 10, 1 << 20, 10 << 20}
	rounds := 3
	if mode == "small" {
		sizes, rounds = []int{100 << 10}, 1
	}
	if n, err := strconv.Atoi(os.Getenv("FHIRWARDEN_SCALE_SIZE")); err == nil {
		sizes = []int{n}
	}
	bin := os.Getenv("GATEWAY_BIN")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "gateway")
		// Built in the main module, with its own go.sum: the gateway's
		// dependencies (Prometheus) are not the bench module's.
		build := exec.Command("go", "build", "-o", bin, "./examples/gateway")
		build.Dir = ".."
		out, err := build.CombinedOutput()
		if err != nil {
			t.Fatalf("building the gateway: %v\n%s", err, out)
		}
	}
	iss := tokentest.NewIssuer()
	defer iss.Close()

	for _, checked := range []bool{true, false} {
		for _, size := range sizes {
			var body []byte
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/fhir+json")
				if r.URL.Path == "/fhir/metadata" { // the gateway reads the FHIR version here
					_, _ = w.Write([]byte(capabilityR4))
					return
				}
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				_, _ = w.Write(body)
			}))
			body = []byte(strings.ReplaceAll(string(searchset(size)), "UPSTREAM", up.URL+"/fhir"))
			gw, stop := startGateway(t, bin, up.URL+"/fhir", iss)
			tok := iss.Mint(map[string]any{"sub": "u", "client_id": "scale", "scope": "user/*.rs"})
			path := "/fhir/Observation?code=8867-4"
			if checked {
				// Patient context with _include: the response is checked.
				tok = iss.Mint(map[string]any{"sub": "u", "client_id": "scale", "scope": "patient/*.rs", "patient": "p1"})
				path = "/fhir/Observation?_include=Observation:performer"
			}
			cpu0 := gw.cpuTime()
			per, n, status := load(t, gw.url+path, tok, 8, rounds)
			cpu := gw.cpuTime() - cpu0
			if status != http.StatusOK {
				t.Errorf("checked=%v size=%d: the gateway answered %d", checked, size, status)
			}
			rss := gw.peakRSS()
			stop()
			up.Close()
			fmt.Printf("SCALE gateway checked=%v size=%d responses=%d status=%d ms/response=%.1f peakRSS_MB=%.0f cpu_ms/MB=%.1f\n",
				checked, len(body), n, status, float64(per.Microseconds())/1000, float64(rss)/(1<<20),
				float64(cpu.Milliseconds())/(float64(n)*float64(len(body))/(1<<20)))
		}
	}
}

// capabilityR4 is the upstream's CapabilityStatement: the gateway reads
// its fhirVersion before it serves.
const capabilityR4 = `{"resourceType":"CapabilityStatement","status":"active","date":"2026-01-01","kind":"instance","fhirVersion":"4.0.1","format":["json"],"rest":[{"mode":"server"}]}`

// searchset is a search-set Bundle of Observations of patient p1 of
// about size bytes, with absolute upstream URLs to rewrite.
func searchset(size int) []byte {
	var b strings.Builder
	b.WriteString(`{"resourceType":"Bundle","type":"searchset","link":[{"relation":"self","url":"UPSTREAM/Observation"}],"entry":[`)
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"fullUrl":"UPSTREAM/Observation/o%d","resource":{"resourceType":"Observation","id":"o%d","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},"subject":{"reference":"Patient/p1"},"valueQuantity":{"value":72.5,"unit":"beats/minute"}},"search":{"mode":"match"}}`, i, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

type gatewayProc struct {
	cmd *exec.Cmd
	url string
}

// cpuTime is the CPU time the process has used (user and system, from
// /proc; 0 when it cannot be read). It assumes the usual 100 clock ticks
// per second.
func (g *gatewayProc) cpuTime() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", g.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The fields after the command name (in parentheses, which may hold
	// spaces): utime and stime are the 12th and 13th.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// peakRSS is the process's peak resident set (VmHWM), in bytes.
func (g *gatewayProc) peakRSS() int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", g.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return -1
}

func startGateway(t *testing.T, bin, upstream string, iss *tokentest.Issuer) (*gatewayProc, func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "-upstream", upstream, "-issuer", iss.URL, "-audience", iss.Audience(), "-addr", addr, "-max-response", strconv.Itoa(32<<20))
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	g := &gatewayProc{cmd: cmd, url: "http://" + addr}
	// Ready: the issuer's keys loaded and the upstream answering.
	for i := 0; ; i++ {
		if res, err := http.Get(g.url + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if i > 400 {
			_ = cmd.Process.Kill()
			t.Fatal("the gateway did not become ready")
		}
		time.Sleep(25 * time.Millisecond)
	}
	return g, func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
}

// load has clients each fetch url rounds times; it returns the mean wall
// time per response, the number of responses and the last status (the
// first that was not 200, if any).
func load(t *testing.T, url, tok string, clients, rounds int) (time.Duration, int, int) {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	status, n := 0, 0
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				mu.Lock()
				if status == 0 || status == http.StatusOK {
					status = res.StatusCode
				}
				n++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if n == 0 {
		return 0, 0, status
	}
	return time.Since(start) * time.Duration(clients) / time.Duration(n), n, status
}
