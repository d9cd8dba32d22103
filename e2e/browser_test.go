package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/server"
)

// chromiumPath finds a Chromium binary, or "" when there is none.
func chromiumPath() string {
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// requireChromium skips without a browser, except in CI where a missing
// browser fails the test.
func requireChromium(t *testing.T) string {
	t.Helper()
	p := chromiumPath()
	if p != "" {
		return p
	}
	if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
		t.Fatal("chromium not found and CI is set: install it (apt-get install -y chromium) or set CHROMIUM_PATH")
	}
	t.Skip("chromium not found (set CHROMIUM_PATH, or run e2e/run.sh which installs it)")
	return ""
}

// startCareconnect runs the example server in-process on a free loopback port.
func startCareconnect(t *testing.T, args ...string) *server.Server {
	t.Helper()
	cfg, err := server.ParseArgs(append([]string{"-addr", "127.0.0.1:0", "-backend-key", t.TempDir() + "/backend.jwk.json"}, args...), os.Stderr)
	require.NoError(t, err)
	s, err := server.Start(context.Background(), cfg, &strings.Builder{})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return s
}

// page is a browser tab on the careconnect scopes page.
type page struct {
	t        *testing.T
	ctx      context.Context
	mu       sync.Mutex
	problems []string
}

// openPage starts headless Chromium with a fresh, empty profile, collects
// the page's script errors and console errors (CSP violations included)
// and opens url.
func openPage(t *testing.T, exe, url string) *page {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	// The tab's context bounds the whole browser session of the test.
	ctx, cancelTimeout := context.WithTimeout(actx, 2*time.Minute)
	ctx, cancelTab := chromedp.NewContext(ctx)
	t.Cleanup(func() { cancelTab(); cancelTimeout(); cancelAlloc() })

	p := &page{t: t, ctx: ctx}
	messages := chromedp.Console(ctx) // subscribes now, before the page loads
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				p.mu.Lock()
				p.problems = append(p.problems, string(m.Type)+": "+m.Text)
				p.mu.Unlock()
			}
		}
	}()
	p.do(
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.ID("send")),
		wait(`document.body.dataset.ready === "true"`),
	)
	return p
}

// do runs actions, failing the test on error.
func (p *page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	require.NoError(p.t, chromedp.Do(p.ctx, steps...))
}

// text returns an element's text content.
func (p *page) text(id string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.TextContent(chromedp.ID(id)))
	require.NoError(p.t, err)
	return s
}

// value returns an input's value.
func (p *page) value(id string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Value(chromedp.ID(id)))
	require.NoError(p.t, err)
	return s
}

// errors returns the script and console errors seen so far.
func (p *page) errors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.problems...)
}

// void drops an action's result.
func void[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := a(ctx, t)
		return chromedp.Void{}, err
	}
}

// wait polls a JavaScript predicate until it is true.
func wait(predicate string) chromedp.Action[chromedp.Void] {
	return void(chromedp.Poll[bool](predicate, chromedp.WithPollingTimeout(20*time.Second)))
}

// choose selects a value in a <select> and fires its change event, as a
// user's choice does.
func choose(id, value string) chromedp.Action[chromedp.Void] {
	return void(chromedp.Evaluate[string](fmt.Sprintf(`(function () {
  const el = document.getElementById(%q);
  el.value = %q;
  el.dispatchEvent(new Event("change", { bubbles: true }));
  return el.value;
})()`, id, value)))
}

// waitText waits until the element's text starts with prefix.
func waitText(id, prefix string) chromedp.Action[chromedp.Void] {
	return wait(fmt.Sprintf(`document.getElementById(%q).textContent.startsWith(%q)`, id, prefix))
}

func click(id string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.ID(id)) }

func TestScopesPage(t *testing.T) {
	exe := requireChromium(t)
	s := startCareconnect(t)
	p := openPage(t, exe, s.URL()+"/")

	title, err := chromedp.Run(p.ctx, chromedp.Title())
	require.NoError(t, err)
	assert.Contains(t, title, "Security scopes")
	clients := p.text("clients")
	for _, want := range []string{"patient-access", "user/Patient.read", "careconnect-read", "patient/*.rs", "system/*.rs"} {
		assert.Contains(t, clients, want)
	}

	// Steps 2-4: a token for the Patient-only client, by client credentials with Basic auth.
	p.do(
		choose("client", server.PatientAccessClient),
		click("get-token"),
		waitText("token-status", "Token for patient-access"),
	)
	status := p.text("token-status")
	assert.Contains(t, status, `scope "user/Patient.read"`)
	assert.Contains(t, status, "expires in 5400 s")
	assert.Len(t, strings.Split(p.value("token"), "."), 3, "a JWT")
	assert.Contains(t, p.text("token-claims"), `"client_id": "patient-access"`)
	// Beside the raw claims, the explanation of the same token, in words.
	p.do(waitText("token-explanation", "May "))
	assert.Equal(t, "May read and search Patient (history included). May run $everything on Patient. Nothing else.",
		p.text("token-explanation"))

	// Steps 5-6: use it. Patient/1 is allowed...
	p.do(choose("resource-type", "Patient"), click("send"), waitText("response-status", "200"))
	body := p.text("response-body")
	assert.Contains(t, body, `"resourceType": "Patient"`)
	assert.Contains(t, body, `"value": "9990000018"`)

	// ...Observation is not: 403 with the reason.
	p.do(choose("resource-type", "Observation"), click("send"), waitText("response-status", "403"))
	assert.Contains(t, p.text("response-status"), "GET Observation?patient=1")
	assert.Contains(t, p.text("response-body"), "do not permit search on Observation")
	assert.Contains(t, p.text("response-headers"), `error="insufficient_scope"`)

	// Without a token: 401.
	p.do(click("send-anon"), waitText("response-status", "401"))
	assert.Contains(t, p.text("response-body"), `"code": "login"`)

	// A client with read access to the nine types gets the Observations.
	p.do(
		choose("client", server.ReadClient),
		click("get-token"),
		waitText("token-status", "Token for careconnect-read"),
		choose("resource-type", "Observation"),
		click("send"),
		waitText("response-status", "200"),
	)
	body = p.text("response-body")
	assert.Contains(t, body, `"type": "searchset"`)
	assert.Contains(t, body, "obs-lab-1")
	assert.NotContains(t, body, "obs-lab-2", "the request asked for patient 1 only")

	// A wrong secret is refused by the token endpoint.
	p.do(
		chromedp.SetValue(chromedp.ID("secret"), "wrong-secret"),
		click("get-token"),
		waitText("token-status", "Token request failed: 401"),
	)

	// The refused requests above show up in the console as network errors
	// (which proves the collector works); nothing else may.
	assert.NotEmpty(t, p.errors(), "the console collector saw the provoked 4xx responses")
	assert.Empty(t, p.errorsOtherThanNetwork(), "no script exception or CSP violation")
}

func TestScopesPagePatientContext(t *testing.T) {
	exe := requireChromium(t)
	s := startCareconnect(t, "-fhir-version", "R4")
	p := openPage(t, exe, s.URL()+"/")
	p.do(
		choose("client", server.PatientAppClient),
		click("get-token"),
		waitText("token-status", "Token for patient-app"),
		waitText("token-explanation", "May "),
	)
	assert.Contains(t, p.text("token-explanation"), "in Patient/1's compartment", "the chosen client's explanation")
	assert.Contains(t, p.text("token-explanation"), "Nothing else.")
	p.do(
		chromedp.SetValue(chromedp.ID("request-path"), "Patient/2"),
		click("send"),
		waitText("response-status", "404"),
		chromedp.SetValue(chromedp.ID("request-path"), "Patient/1/$everything"),
		click("send"),
		waitText("response-status", "200"),
	)
	body := p.text("response-body")
	assert.Contains(t, body, "UKCore-Patient", "R4 sample data")
	assert.Contains(t, body, `"id": "obs-lab-1"`)
	assert.NotContains(t, body, `"id": "obs-lab-2"`, "another patient's data never reaches the page")
	assert.Empty(t, p.errorsOtherThanNetwork())
}

// errorsOtherThanNetwork filters out the console's reports of non-2xx
// responses (which the walk-through provokes on purpose).
func (p *page) errorsOtherThanNetwork() []string {
	var out []string
	for _, e := range p.errors() {
		if strings.Contains(e, "Failed to load resource") {
			continue
		}
		out = append(out, e)
	}
	return out
}
