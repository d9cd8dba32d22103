package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
	"unicode"

	"github.com/fhirwarden/fhirwarden/client"
	"github.com/fhirwarden/fhirwarden/token"
	"golang.org/x/oauth2"
)

// run is fhirctl's main, testable in-process: it returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	cfg, err := parseArgs(args, stderr, getenv)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "fhirctl: %v\n", err)
		fmt.Fprintln(stderr, "run 'fhirctl -h' for usage")
		return exitUsage
	}
	app := &app{cfg: cfg, stdin: stdin, stdout: stdout, stderr: stderr, capture: &tokenCapture{}}
	if cfg.command == "version" {
		fmt.Fprintln(stdout, versionText())
		return exitOK
	}
	if err := app.run(ctx); err != nil {
		return report(stderr, err)
	}
	return exitOK
}

// versionText is "fhirctl <module version> <go version>".
func versionText() string {
	v, goVersion := "(devel)", runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	return "fhirctl " + v + " " + goVersion
}

// app holds what a command needs.
type app struct {
	cfg            *config
	stdin          io.Reader
	stdout, stderr io.Writer
	capture        *tokenCapture
	ts             oauth2.TokenSource
	fhir           *client.Client
}

func (a *app) run(ctx context.Context) error {
	if err := a.setup(ctx); err != nil {
		return err
	}
	switch a.cfg.command {
	case "token":
		return a.token(ctx)
	case "get":
		return a.get(ctx)
	case "search":
		return a.search(ctx)
	case "create":
		return a.create(ctx)
	case "update":
		return a.update(ctx)
	case "delete":
		return a.delete(ctx)
	case "capabilities":
		return a.capabilities(ctx)
	case "explain":
		return a.explain(ctx)
	case "export":
		return a.export(ctx)
	}
	return usagef("unknown command %q", a.cfg.command)
}

// setup builds the token source (discovering the token endpoint if
// needed) and the FHIR client.
func (a *app) setup(ctx context.Context) error {
	cfg := a.cfg
	hc := &http.Client{Timeout: 60 * time.Second}
	if cfg.token != "" {
		a.ts = client.StaticToken(cfg.token)
	}
	if cfg.clientID != "" && (cfg.secret != "" || cfg.keyFile != "") {
		auth := cfg.clientAuth
		if cfg.keyFile != "" {
			auth = client.PrivateKeyJWT
		}
		tokenURL := cfg.tokenURL
		if tokenURL == "" {
			var err error
			if tokenURL, err = a.discoverTokenURL(ctx, auth); err != nil {
				return err
			}
		}
		// WithTokenHTTPClient copies tokenHC and makes the copy refuse
		// redirects: a token endpoint's redirect never gets the credentials.
		tokenHC := &http.Client{Timeout: 30 * time.Second, Transport: a.capture.wrap(http.DefaultTransport)}
		opts := []client.TokenOption{client.WithTokenHTTPClient(tokenHC), client.WithScopes(cfg.scopes...)}
		if cfg.insecureHTTP {
			opts = append(opts, client.WithInsecureTokenURL())
		}
		if cfg.dpop || cfg.dpopKeyFile != "" {
			key, err := dpopKey(cfg.dpopKeyFile)
			if err != nil {
				return err
			}
			opts = append(opts, client.WithDPoP(key))
		}
		var err error
		if cfg.keyFile != "" {
			a.ts, err = a.backendServices(tokenURL, opts)
		} else {
			a.ts, err = client.ClientCredentials(tokenURL, cfg.clientID, cfg.secret, append(opts, client.WithClientAuth(auth))...)
		}
		if err != nil {
			return err
		}
	}
	copts := []client.Option{client.WithHTTPClient(hc), client.WithMaxPages(cfg.maxPages), client.WithUserAgent("fhirctl")}
	if cfg.version != 0 {
		copts = append(copts, client.WithFHIRVersion(cfg.version))
	}
	if cfg.insecureHTTP {
		copts = append(copts, client.WithInsecureHTTP())
	}
	c, err := client.New(cfg.base, a.ts, copts...)
	if err != nil {
		return usagef("-base: %v (-insecure-http allows plain http)", err)
	}
	a.fhir = c
	return nil
}

// discoverTokenURL reads the token endpoint from the FHIR server's SMART
// configuration. The token package's default client follows redirects on
// the FHIR server's origin only. A secret goes only to a token endpoint on
// that origin too (client.DiscoveredTokenURL): one elsewhere is refused,
// exit 3, unless given with -token-url. A client assertion names its
// endpoint, so -key takes it from any origin.
func (a *app) discoverTokenURL(ctx context.Context, auth client.ClientAuth) (string, error) {
	var dopts []token.DiscoveryOption
	if a.cfg.insecureHTTP {
		dopts = append(dopts, token.WithInsecureHTTP())
	}
	sc, err := token.DiscoverSMART(ctx, a.cfg.base, dopts...)
	if err != nil {
		return "", fmt.Errorf("finding the token endpoint (or give -token-url): %w", err)
	}
	if err := client.ServerSupports(sc, "client_credentials", auth); err != nil {
		return "", err
	}
	tokenURL, err := client.DiscoveredTokenURL(a.cfg.base, sc, auth)
	if err != nil {
		return "", fmt.Errorf("%w (give -token-url)", err)
	}
	return tokenURL, nil
}

// dpopKey loads the -dpop-key file, or makes a key for this run.
func dpopKey(file string) (*client.DPoPKey, error) {
	if file == "" {
		return client.GenerateDPoPKey()
	}
	key, err := client.LoadDPoPKey(file)
	if err != nil {
		return nil, fmt.Errorf("-dpop-key: %w", err)
	}
	return key, nil
}

// maxKeyFile bounds the -key file.
const maxKeyFile = 64 << 10

func (a *app) backendServices(tokenURL string, opts []client.TokenOption) (oauth2.TokenSource, error) {
	f, err := os.Open(a.cfg.keyFile)
	if err != nil {
		return nil, fmt.Errorf("-key: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("-key: %w", err)
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("-key: %s is larger than %d bytes", a.cfg.keyFile, maxKeyFile)
	}
	key, err := client.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("-key %s: %w", a.cfg.keyFile, err)
	}
	return client.BackendServices(tokenURL, a.cfg.clientID, key, opts...)
}

// incompleteError says the output is partial (exit 7).
type incompleteError struct{ msg string }

// Error returns the message.
func (e *incompleteError) Error() string { return e.msg }

// deniedError is a request explain found denied (exit 3).
type deniedError struct{}

// Error says so.
func (deniedError) Error() string { return "the request would be denied" }

// report prints err for a person and returns the exit status.
func report(stderr io.Writer, err error) int {
	var ue *usageError
	var ie *incompleteError
	var fe *client.Error
	var oe *client.OAuthError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "fhirctl: %v\n", err)
		return exitUsage
	case errors.As(err, &ie):
		fmt.Fprintf(stderr, "fhirctl: %s\n", sanitize(ie.msg))
		return exitIncomplete
	case errors.Is(err, deniedError{}):
		return exitAuth
	case errors.Is(err, client.ErrForeignTokenEndpoint):
		fmt.Fprintf(stderr, "fhirctl: %s\n", sanitize(err.Error()))
		return exitAuth
	case errors.As(err, &fe):
		reportFHIR(stderr, fe)
		return statusExit(fe.StatusCode)
	case errors.As(err, &oe):
		fmt.Fprintf(stderr, "fhirctl: token request refused: %s\n", sanitize(oe.Error()))
		if oe.StatusCode >= 500 {
			return exitFHIR
		}
		return exitAuth
	case isNetwork(err):
		fmt.Fprintf(stderr, "fhirctl: no answer: %s\n", sanitize(err.Error()))
		return exitNetwork
	}
	fmt.Fprintf(stderr, "fhirctl: %s\n", sanitize(err.Error()))
	return exitFailure
}

// reportFHIR prints a FHIR error status and its diagnostics.
func reportFHIR(stderr io.Writer, fe *client.Error) {
	fmt.Fprintf(stderr, "fhirctl: %s %s: HTTP %d %s\n", fe.Method, sanitize(fe.URL), fe.StatusCode, http.StatusText(fe.StatusCode))
	if fe.Outcome != nil {
		for i, is := range fe.Outcome.Issues {
			if i == maxIssueLines {
				fmt.Fprintf(stderr, "  and %d more\n", len(fe.Outcome.Issues)-i)
				break
			}
			fmt.Fprintf(stderr, "  %s\n", serverLine(is.String()))
		}
	} else if len(fe.Body) > 0 {
		fmt.Fprintf(stderr, "  %s\n", serverLine(string(fe.Body)))
	}
}

// statusExit maps an HTTP error status to an exit status.
func statusExit(status int) int {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return exitAuth
	case http.StatusNotFound, http.StatusGone:
		return exitNotFound
	}
	return exitFHIR
}

// isNetwork reports whether err means no HTTP answer came: a dial, DNS,
// TLS or timeout failure, or a connection closed mid-answer. A redirect
// the client refused (to another origin, or one too many) comes as a
// *url.Error too, but the server did answer.
func isNetwork(err error) bool {
	if errors.Is(err, client.ErrForeignLink) || errors.Is(err, client.ErrUnexpectedResponse) {
		return false
	}
	var ue *url.Error
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &ue) || errors.As(err, &oe) || errors.As(err, &de) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF)
}

// sanitize replaces the characters a hostile server could use to
// rewrite the terminal or what a reader sees in it: control characters
// (but newline and tab), line and paragraph separators, and
// bidirectional formatting (U+202E shows the text after it reversed).
func sanitize(s string) string {
	return strings.Map(safeRune, s)
}

// safeRune is r, or '?' for a control, separator or bidi character other
// than a newline or a tab.
func safeRune(r rune) rune {
	if r != '\n' && r != '\t' && (unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp, unicode.Bidi_Control)) {
		return '?'
	}
	return r
}

// Bounds of the server text fhirctl prints on stderr.
const (
	// maxServerLine bounds one line of it, in characters.
	maxServerLine = 300
	// maxIssueLines bounds the OperationOutcome issues listed.
	maxIssueLines = 10
)

// serverLine renders text a server chose (an issue's diagnostics, a
// progress header, a Location) as one sanitized line of at most
// maxServerLine characters: a server can neither flood the terminal or
// a log with it nor start a line that reads as fhirctl's own.
//
// It reads no further than the line needs: the text may be megabytes.
func serverLine(s string) string {
	var b strings.Builder
	n, space := 0, false // runes written; white space since the last one
	for _, r := range s {
		r = safeRune(r)
		if unicode.IsSpace(r) {
			space = n > 0
			continue
		}
		if space {
			if n == maxServerLine {
				return b.String() + "..."
			}
			b.WriteByte(' ')
			n, space = n+1, false
		}
		if n == maxServerLine {
			return b.String() + "..."
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
