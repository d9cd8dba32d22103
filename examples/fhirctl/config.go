package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/fhirwarden/fhirwarden/client"
	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // the server, the token endpoint or I/O said no
	exitUsage   = 2 // the command line is wrong
)

// config is the parsed command line.
type config struct {
	base, tokenURL   string
	clientID, secret string
	clientAuth       client.ClientAuth
	keyFile          string
	scopes           []string
	maxPages         int
	insecureHTTP     bool
	version          fhirspec.Version
	command          string
	args             []string
}

// usageError is a command-line mistake (exit 2).
type usageError struct{ msg string }

// Error returns the message.
func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

const usageText = `usage: fhirctl [flags] <command> [args]

commands:
  token                          print the token response JSON
  get Type/id                    read a resource
  search Type [param=value ...]  search, following next links up to -max-pages
  create Type FILE|-             create a resource from FILE or stdin
  update Type/id FILE|-          update a resource (If-Match from meta.versionId)
  delete Type/id                 delete a resource
  capabilities                   print the server's CapabilityStatement

exit status: 0 done, 1 refused by the server or token endpoint (diagnostics
on stderr), 2 usage error

environment: FHIR_BASE, FHIR_CLIENT_ID, FHIR_CLIENT_SECRET (flags win)

flags:
`

// parseArgs parses flags and the command. errHelp means -h was asked.
func parseArgs(args []string, stderr io.Writer, getenv func(string) string) (*config, error) {
	fs := flag.NewFlagSet("fhirctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	cfg := &config{}
	var scope, auth, version string
	fs.StringVar(&cfg.base, "base", getenv("FHIR_BASE"), "FHIR base `URL` (env FHIR_BASE)")
	fs.StringVar(&cfg.tokenURL, "token-url", "", "token endpoint `URL` (default: discovered from {base}/.well-known/smart-configuration)")
	fs.StringVar(&cfg.clientID, "client-id", getenv("FHIR_CLIENT_ID"), "OAuth2 client `id` (env FHIR_CLIENT_ID)")
	fs.StringVar(&cfg.secret, "client-secret", getenv("FHIR_CLIENT_SECRET"), "client `secret` (env FHIR_CLIENT_SECRET)")
	fs.StringVar(&auth, "client-auth", "basic", "how the secret is sent: basic (HTTP Basic header) or post (form body)")
	fs.StringVar(&cfg.keyFile, "key", "", "private JWK `FILE` for SMART Backend Services (private_key_jwt)")
	fs.StringVar(&scope, "scope", "", "space-separated `scopes` to request")
	fs.IntVar(&cfg.maxPages, "max-pages", 10, "page limit of search")
	fs.StringVar(&version, "fhir-version", "R4", "FHIR `version`: STU3 or R4")
	fs.BoolVar(&cfg.insecureHTTP, "insecure-http", false, "allow plain-http base and token URLs on non-loopback hosts (credentials travel in clear)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, &usageError{msg: err.Error()}
	}
	switch strings.ToLower(auth) {
	case "basic", "client_secret_basic":
		cfg.clientAuth = client.ClientSecretBasic
	case "post", "client_secret_post":
		cfg.clientAuth = client.ClientSecretPost
	default:
		return nil, usagef("-client-auth %q: want basic or post", auth)
	}
	v, err := fhirspec.ParseVersion(version)
	if err != nil {
		return nil, usagef("-fhir-version %q: want STU3 or R4", version)
	}
	cfg.version = v
	if cfg.maxPages <= 0 {
		return nil, usagef("-max-pages must be positive")
	}
	cfg.scopes = strings.Fields(scope)
	if fs.NArg() == 0 {
		return nil, usagef("missing command")
	}
	cfg.command, cfg.args = fs.Arg(0), fs.Args()[1:]
	if cfg.base == "" {
		return nil, usagef("missing -base (or FHIR_BASE)")
	}
	if _, err := client.New(cfg.base, nil); err != nil {
		return nil, usagef("-base: %v", err)
	}
	if cfg.keyFile != "" {
		secretFlag := false
		fs.Visit(func(f *flag.Flag) { secretFlag = secretFlag || f.Name == "client-secret" })
		if secretFlag {
			return nil, usagef("give either -key or -client-secret, not both")
		}
		cfg.secret = "" // a key replaces FHIR_CLIENT_SECRET
	}
	if (cfg.keyFile != "" || cfg.secret != "") && cfg.clientID == "" {
		return nil, usagef("missing -client-id (or FHIR_CLIENT_ID)")
	}
	return cfg, checkArgs(cfg)
}

// checkArgs validates the command's arguments.
func checkArgs(cfg *config) error {
	want := map[string]int{"token": 0, "get": 1, "create": 2, "update": 2, "delete": 1, "capabilities": 0}
	n, known := want[cfg.command]
	switch {
	case cfg.command == "search":
		if len(cfg.args) == 0 {
			return usagef("search: missing resource type")
		}
		for _, p := range cfg.args[1:] {
			if k, _, ok := strings.Cut(p, "="); !ok || k == "" {
				return usagef("search: %q is not param=value", p)
			}
		}
		return nil
	case !known:
		return usagef("unknown command %q", cfg.command)
	case len(cfg.args) != n:
		return usagef("%s: want %d argument(s), got %d", cfg.command, n, len(cfg.args))
	}
	switch cfg.command {
	case "get", "update", "delete":
		if _, _, err := client.SplitReference(cfg.args[0]); err != nil {
			return usagef("%s: %q is not Type/id", cfg.command, cfg.args[0])
		}
	case "create":
		if !validType(cfg.args[0]) {
			return usagef("create: %q is not a resource type", cfg.args[0])
		}
	case "token":
		if cfg.clientID == "" || (cfg.secret == "" && cfg.keyFile == "") {
			return usagef("token: needs -client-id with -client-secret or -key")
		}
	}
	return nil
}

// validType reports whether s looks like a FHIR resource type.
func validType(s string) bool {
	_, _, err := client.SplitReference(s + "/x")
	return err == nil
}
