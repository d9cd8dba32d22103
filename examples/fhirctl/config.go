package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/fhirwarden/fhirwarden/client"
	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
)

// Exit statuses, listed in -h so that scripts can tell failures apart.
const (
	exitOK         = 0
	exitFailure    = 1 // anything else: local I/O, an answer that is not FHIR
	exitUsage      = 2 // the command line is wrong
	exitAuth       = 3 // authentication or authorization refused (401, 403, token endpoint, foreign token endpoint; explain: denied)
	exitNotFound   = 4 // 404 or 410
	exitFHIR       = 5 // any other FHIR error status (400, 409, 412, 422, 5xx, a failed export)
	exitNetwork    = 6 // no answer: connection refused, DNS, timeout, TLS
	exitIncomplete = 7 // the output is partial: search stopped at -max-pages
)

// config is the parsed command line.
type config struct {
	base, tokenURL   string
	clientID, secret string
	clientAuth       client.ClientAuth
	keyFile          string
	dpop             bool   // -dpop: DPoP-bound tokens, with a key made for this run
	dpopKeyFile      string // -dpop-key: the DPoP key, from a file
	scopes           []string
	token            string
	maxPages         int
	insecureHTTP     bool
	version          fhirspec.Version // 0 when -fhir-version is not given
	output           string           // search output: json, ndjson or table
	jsonOut          bool             // explain: JSON instead of words
	dir, since       string           // export
	types            []string         // export -type
	status           string           // export -status URL of a running job
	command          string
	args             []string
}

// usageError is a command-line mistake (exit 2).
type usageError struct{ msg string }

// Error returns the message.
func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

const usageText = `usage: fhirctl [flags] <command> [args] [flags]

commands:
  token                          print the token response JSON
  get Type/id                    read a resource
  search Type [param=value ...]  search, following next links up to -max-pages
  create Type FILE|-             create a resource from FILE or stdin
  update Type/id FILE|-          update a resource (If-Match from meta.versionId)
  delete Type/id                 delete a resource
  capabilities                   print the server's CapabilityStatement
  explain                        say what the token may do
  explain METHOD 'Type?query' [FILE|-]
                                 say whether one request is allowed, and why
  export -dir DIR [-type T,...] [-since INSTANT] [-status URL]
                                 Bulk Data export of the whole system into DIR
  version                        print fhirctl's version

Flags may come before or after the command.

exit status:
  0  done
  1  other failure (local files, an answer that is not FHIR)
  2  usage error
  3  authentication or authorization refused (HTTP 401/403, the token
     endpoint said no, a discovered token endpoint on another origin than
     -base would get the secret: give -token-url; explain: the request
     would be denied)
  4  not found (HTTP 404/410)
  5  other FHIR error (HTTP 4xx/5xx, a failed export)
  6  network error (no answer: connection refused, DNS, timeout, TLS)
  7  incomplete: search stopped at -max-pages (what was read is printed)

environment: FHIR_BASE, FHIR_TOKEN, FHIR_CLIENT_ID, FHIR_CLIENT_SECRET
(flags win)

flags:
`

// parseArgs parses flags and the command; flags may come before or after
// the command and its arguments ("--" ends them). flag.ErrHelp means -h
// was asked.
func parseArgs(args []string, stderr io.Writer, getenv func(string) string) (*config, error) {
	fs, cfg, opts := newFlagSet(stderr, getenv)
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, &usageError{msg: err.Error()}
	}
	if err := opts.apply(cfg); err != nil {
		return nil, err
	}
	if len(positional) == 0 {
		return nil, usagef("missing command")
	}
	cfg.command, cfg.args = positional[0], positional[1:]
	if cfg.command == "version" {
		return cfg, checkArgs(cfg)
	}
	if err := checkCredentials(fs, cfg); err != nil {
		return nil, err
	}
	return cfg, checkArgs(cfg)
}

// flagValues are the flags that need converting after parsing.
type flagValues struct{ scope, auth, version, types string }

// newFlagSet declares fhirctl's flags.
func newFlagSet(stderr io.Writer, getenv func(string) string) (*flag.FlagSet, *config, *flagValues) {
	fs := flag.NewFlagSet("fhirctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	cfg, v := &config{}, &flagValues{}
	fs.StringVar(&cfg.base, "base", getenv("FHIR_BASE"), "FHIR base `URL` (env FHIR_BASE)")
	fs.StringVar(&cfg.token, "token", getenv("FHIR_TOKEN"), "access `token` to send as is, instead of getting one (env FHIR_TOKEN)")
	fs.StringVar(&cfg.tokenURL, "token-url", "", "token endpoint `URL` (default: discovered from {base}/.well-known/smart-configuration; a secret goes only to one discovered on the base's origin)")
	fs.StringVar(&cfg.clientID, "client-id", getenv("FHIR_CLIENT_ID"), "OAuth2 client `id` (env FHIR_CLIENT_ID)")
	fs.StringVar(&cfg.secret, "client-secret", getenv("FHIR_CLIENT_SECRET"), "client `secret` (env FHIR_CLIENT_SECRET)")
	fs.StringVar(&v.auth, "client-auth", "basic", "how the secret is sent: basic (HTTP Basic header) or post (form body)")
	fs.StringVar(&cfg.keyFile, "key", "", "private JWK `FILE` for SMART Backend Services (private_key_jwt)")
	fs.BoolVar(&cfg.dpop, "dpop", false, "obtain DPoP-bound tokens (RFC 9449) and sign a proof for every request, with a key made for this run")
	fs.StringVar(&cfg.dpopKeyFile, "dpop-key", "", "the DPoP key: a private PEM or JWK `FILE` (implies -dpop)")
	fs.StringVar(&v.scope, "scope", "", "space-separated `scopes` to request")
	fs.IntVar(&cfg.maxPages, "max-pages", 10, "page limit of search (exit 7 when reached)")
	fs.StringVar(&v.version, "fhir-version", "", "FHIR `version` (STU3 or R4) that explain and export judge with (default: the server's CapabilityStatement)")
	fs.StringVar(&cfg.output, "o", "json", "search output `format`: json (one Bundle), ndjson (one resource a line) or table")
	fs.BoolVar(&cfg.jsonOut, "json", false, "explain: print JSON instead of words")
	fs.StringVar(&cfg.dir, "dir", "", "export: `directory` to download the files into")
	fs.StringVar(&v.types, "type", "", "export: comma-separated resource `types` (_type)")
	fs.StringVar(&cfg.since, "since", "", "export: only resources changed after this `instant` (_since)")
	fs.StringVar(&cfg.status, "status", "", "export: poll this status `URL` of a running export instead of starting one")
	fs.BoolVar(&cfg.insecureHTTP, "insecure-http", false, "allow plain-http base and token URLs on non-loopback hosts (credentials travel in clear)")
	return fs, cfg, v
}

// parseInterspersed parses flags wherever they are and returns the other
// arguments in order. A lone "-" (stdin) is an argument; "--" ends flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// apply converts the flags that need it.
func (v *flagValues) apply(cfg *config) error {
	switch strings.ToLower(v.auth) {
	case "basic", "client_secret_basic":
		cfg.clientAuth = client.ClientSecretBasic
	case "post", "client_secret_post":
		cfg.clientAuth = client.ClientSecretPost
	default:
		return usagef("-client-auth %q: want basic or post", v.auth)
	}
	if v.version != "" {
		ver, err := fhirspec.ParseVersion(v.version)
		if err != nil {
			return usagef("-fhir-version %q: want STU3 or R4", v.version)
		}
		cfg.version = ver
	}
	switch cfg.output {
	case "json", "ndjson", "table":
	default:
		return usagef("-o %q: want json, ndjson or table", cfg.output)
	}
	if cfg.maxPages <= 0 {
		return usagef("-max-pages must be positive")
	}
	cfg.scopes = strings.Fields(v.scope)
	for t := range strings.SplitSeq(v.types, ",") {
		if t = strings.TrimSpace(t); t != "" {
			cfg.types = append(cfg.types, t)
		}
	}
	return nil
}

// checkCredentials checks the base URL and that the credentials given
// make one way to get a token: -token, or -client-id with -client-secret
// or -key. A client id alone would send no token at all, so it is a
// usage error rather than the server's 401.
func checkCredentials(fs *flag.FlagSet, cfg *config) error {
	if cfg.base == "" {
		return usagef("missing -base (or FHIR_BASE)")
	}
	if _, err := client.New(cfg.base, nil); err != nil {
		return usagef("-base: %v", err)
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if cfg.keyFile != "" {
		if given["client-secret"] {
			return usagef("give either -key or -client-secret, not both")
		}
		cfg.secret = "" // a key replaces FHIR_CLIENT_SECRET
	}
	if cfg.token != "" {
		if given["token"] && (given["client-secret"] || given["key"]) {
			return usagef("give either -token or client credentials (-client-secret, -key), not both")
		}
		cfg.clientID, cfg.secret, cfg.keyFile = "", "", "" // a token replaces the environment's credentials
		return nil
	}
	if (cfg.keyFile != "" || cfg.secret != "") && cfg.clientID == "" {
		return usagef("missing -client-id (or FHIR_CLIENT_ID)")
	}
	if cfg.clientID != "" && cfg.secret == "" && cfg.keyFile == "" {
		return usagef("-client-id %q needs -client-secret or -key (or give a token with -token or FHIR_TOKEN)", cfg.clientID)
	}
	return nil
}

// checkArgs validates the command's arguments.
func checkArgs(cfg *config) error {
	want := map[string]int{"token": 0, "get": 1, "create": 2, "update": 2, "delete": 1, "capabilities": 0, "version": 0, "export": 0}
	n, known := want[cfg.command]
	switch {
	case cfg.command == "explain":
		return checkExplainArgs(cfg.args)
	case cfg.command == "export" && len(cfg.args) == 0:
		return checkExportArgs(cfg)
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

// checkExplainArgs accepts nothing (the token) or METHOD 'Type?query'
// with an optional body FILE or "-".
func checkExplainArgs(args []string) error {
	switch len(args) {
	case 0:
		return nil
	case 2, 3:
	default:
		return usagef("explain: want nothing, or METHOD 'Type?query' [FILE|-]")
	}
	switch args[0] {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE":
	default:
		return usagef("explain: %q is not an HTTP method (GET, HEAD, POST, PUT, PATCH, DELETE)", args[0])
	}
	if strings.HasPrefix(args[1], "http://") || strings.HasPrefix(args[1], "https://") || strings.HasPrefix(args[1], "/") {
		return usagef("explain: give the request relative to the base, e.g. 'Observation?patient=2'")
	}
	return nil
}

// checkExportArgs checks the export flags.
func checkExportArgs(cfg *config) error {
	if cfg.dir == "" {
		return usagef("export: missing -dir")
	}
	for _, t := range cfg.types {
		if !validType(t) {
			return usagef("export: -type %q is not a resource type", t)
		}
	}
	if cfg.since != "" {
		if _, err := time.Parse(time.RFC3339, cfg.since); err != nil {
			return usagef("export: -since %q is not an instant like 2024-01-02T15:04:05Z", cfg.since)
		}
	}
	if cfg.status != "" && (len(cfg.types) > 0 || cfg.since != "") {
		return usagef("export: -status polls a running export; -type and -since belong to the one that started it")
	}
	return nil
}

// validType reports whether s looks like a FHIR resource type.
func validType(s string) bool {
	_, _, err := client.SplitReference(s + "/x")
	return err == nil
}
