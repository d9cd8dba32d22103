package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/fhirwarden/fhirwarden/examples/internal/trust"
	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/internal/dpopurl"
	"github.com/fhirwarden/fhirwarden/middleware"
	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

// config is what the gateway enforces: the configuration file, if any,
// with the command line's flags over it.
type config struct {
	upstream    *url.URL
	issuers     []issuerConfig
	audiences   []string
	addr        string
	version     fhirspec.Version // 0: read from the upstream
	base        string
	shared      []string
	operations  []fhirauth.OperationRule
	forwardAuth bool
	// forwardHeaders are request headers forwarded upstream besides
	// forwardedHeaders (canonical names).
	forwardHeaders []string
	corsOrigins    []string // origins browser apps may call from; "*": any
	maxResponse    int64
	tlsCert        string
	tlsKey         string
	check          bool        // -check-config: print and exit
	dpop           *dpopConfig // nil: DPoP-bound tokens are refused
}

// dpopConfig is the DPoP scheme (RFC 9449) the gateway accepts.
type dpopConfig struct {
	publicURL   string            // normalized origin, without the trailing "/"
	nonces      token.NonceSource // nil: no server nonces
	nonceSecret string            // the file nonces' secret came from
}

// issuerConfig is one trusted token issuer.
type issuerConfig struct {
	issuer     string
	profile    string             // claim-mapping profile name or file
	mapping    token.ClaimMapping // the profile, resolved
	jwksURL    string             // "": the one the issuer's discovery names
	algorithms []string           // empty: the verifier's defaults
	clients    []string           // empty: any client (token.WithAllowedClients)
}

// flagValues are the command line's flags, and which were given.
type flagValues struct {
	set                                   map[string]bool
	trust                                 trust.Flags // -issuer, -audience, -profile (repeatable)
	upstream, addr, version, base, shared string
	forward, dpop                         bool
	publicURL, nonceSecret                string
	forwardHeaders, corsOrigins           []string // -forward-header, -cors-origin (repeatable)
	maxResponse                           int64
	configFile, checkConfig               string
}

// parseFlags reads the command line (and the configuration file it
// names); errors are usageErrors, or configErrors naming the file's line.
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f flagValues
	fs.StringVar(&f.upstream, "upstream", "", "FHIR base URL of the server to protect (required)")
	f.trust.Register(fs)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8081", "listen address")
	fs.StringVar(&f.version, "fhir-version", "", "FHIR version of the upstream: STU3 or R4 (default: read from the upstream's CapabilityStatement)")
	fs.StringVar(&f.base, "base", "/fhir", "the gateway's FHIR base path")
	fs.StringVar(&f.shared, "shared-types", "", "comma-separated non-patient resource types patient/ scopes may read")
	fs.BoolVar(&f.forward, "forward-authorization", false, "forward the caller's Authorization header upstream (bearer tokens only, never a DPoP token)")
	fs.Func("forward-header", "also forward this request header upstream (repeatable)", appendTo(&f.forwardHeaders))
	fs.Func("cors-origin", "let browser apps from this origin (or *) call the gateway (repeatable)", appendTo(&f.corsOrigins))
	fs.Int64Var(&f.maxResponse, "max-response", middleware.DefaultMaxResponseSize, "largest upstream response that can be checked, in bytes")
	fs.BoolVar(&f.dpop, "dpop", false, "accept DPoP-bound access tokens (RFC 9449); needs -public-url")
	fs.StringVar(&f.publicURL, "public-url", "", "origin clients address the gateway by (https://gw.example), which DPoP proofs name")
	fs.StringVar(&f.nonceSecret, "dpop-nonce-secret", "", "file holding the secret (at least 32 bytes) of DPoP server nonces")
	fs.StringVar(&f.configFile, "config", "", "YAML configuration file (flags override it)")
	fs.StringVar(&f.checkConfig, "check-config", "", "validate a configuration file, print what the gateway would enforce, and exit")
	if err := fs.Parse(args); err != nil {
		return nil, usageError{err}
	}
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	fail := func(err error) (*config, error) {
		fmt.Fprintln(stderr, "gateway:", err)
		var ce *configError
		if errors.As(err, &ce) {
			return nil, err
		}
		fs.Usage()
		return nil, usageError{err}
	}
	if fs.NArg() > 0 {
		return fail(fmt.Errorf("unexpected arguments: %q", fs.Args()))
	}
	c, err := buildConfig(&f)
	if err != nil {
		return fail(err)
	}
	return c, nil
}

// buildConfig merges the file and the flags and validates the result.
func buildConfig(f *flagValues) (*config, error) {
	name := f.configFile
	if f.checkConfig != "" {
		name = f.checkConfig
	}
	fc, root := &fileConfig{}, &yaml.Node{}
	if name != "" {
		file, err := os.Open(name)
		if err != nil {
			return nil, &configError{file: name, msg: err.Error()}
		}
		defer file.Close()
		if fc, root, err = parseConfigFile(name, file); err != nil {
			return nil, err
		}
	}
	c := &config{check: f.checkConfig != ""}
	if err := c.fill(fc, f); err != nil {
		var fe *fieldError
		if errors.As(err, &fe) && !f.set[fe.flag] && name != "" {
			return nil, &configError{file: name, line: lineOf(root, fe.path...), msg: fe.msg}
		}
		return nil, err
	}
	return c, nil
}

// fieldError is an invalid setting: its flag and its path in the file.
type fieldError struct {
	flag string
	path []any
	msg  string
}

func (e *fieldError) Error() string { return "-" + e.flag + ": " + e.msg }

// pick is the flag's value when it was given, else the file's (or the
// flag's default when the file has none).
func pick(f *flagValues, flagName, flagValue, fileValue string) string {
	if f.set[flagName] || fileValue == "" {
		return flagValue
	}
	return fileValue
}

// fill sets c from the file and the flags, validating each setting.
func (c *config) fill(fc *fileConfig, f *flagValues) error {
	if err := c.fillIssuer(fc, f); err != nil {
		return err
	}
	up := pick(f, "upstream", f.upstream, fc.Upstream)
	if up == "" {
		return &fieldError{"upstream", []any{"upstream"}, "the upstream is required (-upstream or upstream:)"}
	}
	u, err := url.Parse(up)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return &fieldError{"upstream", []any{"upstream"}, fmt.Sprintf("%q must be an absolute http(s) URL without query, fragment or user info", up)}
	}
	u.Path, u.RawPath = strings.TrimSuffix(u.Path, "/"), ""
	c.upstream = u
	c.addr = pick(f, "addr", f.addr, fc.Listen)
	c.base = pick(f, "base", f.base, fc.Base)
	if v := pick(f, "fhir-version", f.version, fc.FHIRVersion); v != "" {
		if c.version, err = fhirspec.ParseVersion(v); err != nil {
			return &fieldError{"fhir-version", []any{"fhir_version"}, fmt.Sprintf("%q is not STU3 or R4", v)}
		}
	}
	c.forwardAuth = fc.ForwardAuthorization
	if f.set["forward-authorization"] {
		c.forwardAuth = f.forward // -forward-authorization=false turns the file's off
	}
	if err := c.fillForwardHeaders(fc, f); err != nil {
		return err
	}
	if err := c.fillCORS(fc, f); err != nil {
		return err
	}
	c.maxResponse = fc.Limits.MaxResponse
	if f.set["max-response"] || c.maxResponse == 0 {
		c.maxResponse = f.maxResponse
	}
	if c.maxResponse <= 0 {
		return &fieldError{"max-response", []any{"limits", "max_response"}, "must be positive"}
	}
	c.shared = fc.SharedTypes
	if f.set["shared-types"] {
		c.shared = nil
		for t := range strings.SplitSeq(f.shared, ",") {
			if t = strings.TrimSpace(t); t != "" {
				c.shared = append(c.shared, t)
			}
		}
	}
	if (fc.TLS.Cert == "") != (fc.TLS.Key == "") {
		return &fieldError{"", []any{"tls"}, "tls needs both cert and key"}
	}
	c.tlsCert, c.tlsKey = fc.TLS.Cert, fc.TLS.Key
	if err := c.fillOperations(fc.Operations); err != nil {
		return err
	}
	if err := c.fillDPoP(fc.DPoP, f); err != nil {
		return err
	}
	return c.checkPolicy()
}

// fillForwardHeaders takes the headers an operator forwards besides
// forwardedHeaders: the -forward-header flags replace the file's
// forward_headers. A header the gateway controls is an error.
func (c *config) fillForwardHeaders(fc *fileConfig, f *flagValues) error {
	names, path := fc.ForwardHeaders, []any{"forward_headers"}
	if f.set["forward-header"] {
		names = f.forwardHeaders
	}
	for i, n := range names {
		name, err := checkForwardHeader(n)
		if err != nil {
			return &fieldError{"forward-header", append(path, i), err.Error()}
		}
		if !slices.Contains(c.forwardHeaders, name) {
			c.forwardHeaders = append(c.forwardHeaders, name)
		}
	}
	return nil
}

// fillCORS takes the origins browser apps may call from: the
// -cors-origin flags replace the file's cors_origins.
func (c *config) fillCORS(fc *fileConfig, f *flagValues) error {
	origins := fc.CORSOrigins
	if f.set["cors-origin"] {
		origins = f.corsOrigins
	}
	for i, o := range origins {
		if err := checkOrigin(o); err != nil {
			return &fieldError{"cors-origin", []any{"cors_origins", i}, err.Error()}
		}
		if !slices.Contains(c.corsOrigins, o) {
			c.corsOrigins = append(c.corsOrigins, o)
		}
	}
	return nil
}

// appendTo is the setter of a repeatable string flag.
func appendTo(list *[]string) func(string) error {
	return func(v string) error {
		*list = append(*list, v)
		return nil
	}
}

// fillIssuer takes the trusted issuers and the accepted audiences. The
// -issuer flags replace the file's issuers as a whole (refused when one
// of them has allowed_clients, which would silently lapse), and the
// -audience flags the file's audiences; a -profile sets the profile of
// the issuer it names, from the flags or the file.
func (c *config) fillIssuer(fc *fileConfig, f *flagValues) error {
	tf := trust.Flags{Issuers: f.trust.Issuers, Audiences: f.trust.Audiences, Profiles: f.trust.Profiles}
	fromFile := len(tf.Issuers) == 0
	if !fromFile {
		for i, is := range fc.Issuers {
			if is.AllowedClients != nil {
				// Replaced, the file's issuer would take any client.
				return &fieldError{"issuer", []any{"issuers", i, "allowed_clients"},
					"-issuer replaces the file's issuers, and " + is.Issuer + " there accepts only its allowed_clients, which would be dropped; trust issuers in the file or by flags, not both"}
			}
		}
	}
	if fromFile {
		tf.Profiles = map[string]string{}
		for i, is := range fc.Issuers {
			if is.Issuer == "" {
				return &fieldError{"issuer", []any{"issuers", i}, "an issuer needs issuer:"}
			}
			tf.Issuers = append(tf.Issuers, is.Issuer)
			if is.Profile != "" {
				tf.Profiles[is.Issuer] = is.Profile
			}
		}
		// -profile overrides the file's profile of an issuer it names;
		// Validate refuses one naming an issuer the file does not list.
		maps.Copy(tf.Profiles, f.trust.Profiles)
	}
	if len(tf.Audiences) == 0 {
		tf.Audiences = fc.Audiences
	}
	if len(tf.Issuers) == 0 || len(tf.Audiences) == 0 {
		return &fieldError{"issuer", []any{"issuers"}, "an issuer and an audience are required (-issuer, -audience or issuers:, audiences:)"}
	}
	for i, iss := range tf.Issuers {
		ic := issuerConfig{issuer: iss, profile: tf.Profiles[iss]}
		var err error
		if ic.mapping, err = tf.Mapping(iss); err != nil {
			return &fieldError{"profile", []any{"issuers", i, "profile"}, err.Error()}
		}
		if ic.profile == "" {
			ic.profile = ic.mapping.Name
		}
		if fromFile {
			fi := fc.Issuers[i]
			for j, id := range fi.AllowedClients {
				if id == "" {
					return &fieldError{"", []any{"issuers", i, "allowed_clients", j}, "an empty client id in allowed_clients"}
				}
			}
			ic.jwksURL, ic.algorithms, ic.clients = fi.JWKSURL, fi.Algorithms, fi.AllowedClients
		}
		c.issuers = append(c.issuers, ic)
	}
	if err := tf.Validate(); err != nil {
		return &fieldError{"issuer", []any{"issuers"}, err.Error()}
	}
	c.audiences = tf.Audiences
	return nil
}

// dpopNoncePeriod is how long a DPoP server nonce is handed out; the
// previous period's is still accepted.
const dpopNoncePeriod = 5 * time.Minute

// fillDPoP takes the DPoP settings. The URL proofs name is required:
// behind a proxy the Host header is not what the client addressed, and
// forwarding headers are not trusted. Settings of a DPoP that is off
// are refused rather than ignored.
func (c *config) fillDPoP(fd fileDPoP, f *flagValues) error {
	on := fd.Enabled
	if f.set["dpop"] {
		on = f.dpop
	}
	public := pick(f, "public-url", f.publicURL, fd.PublicURL)
	secret := pick(f, "dpop-nonce-secret", f.nonceSecret, fd.NonceSecretFile)
	switch {
	case !on && f.set["dpop"]:
		return nil // -dpop=false turns the file's DPoP off, settings and all
	case !on && public != "":
		return &fieldError{"public-url", []any{"dpop", "public_url"}, "is used only with DPoP: give -dpop (dpop: {enabled: true}) or remove it"}
	case !on && secret != "":
		return &fieldError{"dpop-nonce-secret", []any{"dpop", "nonce_secret_file"}, "is used only with DPoP: give -dpop (dpop: {enabled: true}) or remove it"}
	case !on:
		return nil
	case public == "":
		return &fieldError{"public-url", []any{"dpop"}, "DPoP needs the URL clients address the gateway by, which their proofs name (-public-url or dpop: public_url:); the Host header is not trusted for it"}
	}
	u, err := dpopurl.Normalize(public)
	if err != nil || !strings.HasSuffix(u, "/") || strings.Count(u, "/") != 3 {
		return &fieldError{"public-url", []any{"dpop", "public_url"}, fmt.Sprintf("%q is not an http(s) origin (scheme://host[:port], no path)", public)}
	}
	d := &dpopConfig{publicURL: strings.TrimSuffix(u, "/"), nonceSecret: secret}
	if secret != "" {
		key, err := os.ReadFile(secret)
		if err == nil {
			d.nonces, err = token.NewNonceSource(key, dpopNoncePeriod)
		}
		if err != nil {
			return &fieldError{"dpop-nonce-secret", []any{"dpop", "nonce_secret_file"}, err.Error()}
		}
	}
	c.dpop = d
	return nil
}

// issuerList names the trusted issuers, for the start-up line.
func (c *config) issuerList() string {
	names := make([]string, len(c.issuers))
	for i, is := range c.issuers {
		names[i] = is.issuer
	}
	return strings.Join(names, ", ")
}

// fillOperations turns the file's operations into policy rules.
func (c *config) fillOperations(ops []fileOperation) error {
	for i, op := range ops {
		rule := fhirauth.OperationRule{Name: strings.TrimPrefix(op.Name, "$"), Types: op.Types, Search: op.Search}
		for _, l := range op.Levels {
			switch l {
			case "system":
				rule.Levels |= fhirauth.SystemLevel
			case "type":
				rule.Levels |= fhirauth.TypeLevel
			case "instance":
				rule.Levels |= fhirauth.InstanceLevel
			default:
				return &fieldError{"", []any{"operations", i, "levels"}, fmt.Sprintf("level %q is not system, type or instance", l)}
			}
		}
		for _, ch := range op.Permission {
			bit := strings.IndexRune("cruds", ch)
			if bit < 0 {
				return &fieldError{"", []any{"operations", i, "permission"}, fmt.Sprintf("permission %q: only the letters c r u d s", op.Permission)}
			}
			rule.Permission |= scope.Permission(1 << bit)
		}
		c.operations = append(c.operations, rule)
	}
	return nil
}

// checkPolicy builds the policy once to validate the base path, shared
// types and operations.
func (c *config) checkPolicy() error {
	if _, err := fhirauth.NewPolicy(fhirauth.WithBasePath(c.base)); err != nil {
		return &fieldError{"base", []any{"base"}, err.Error()}
	}
	if _, err := fhirauth.NewPolicy(fhirauth.WithSharedTypes(c.shared...)); err != nil {
		return &fieldError{"shared-types", []any{"shared_types"}, err.Error()}
	}
	seen := map[string]int{}
	for i, op := range c.operations {
		if _, err := fhirauth.NewPolicy(fhirauth.WithOperation(op)); err != nil {
			return &fieldError{"", []any{"operations", i}, err.Error()}
		}
		if j, dup := seen[op.Name]; dup {
			return &fieldError{"", []any{"operations", i}, fmt.Sprintf("operation $%s is already defined by operations[%d]", op.Name, j)}
		}
		seen[op.Name] = i
	}
	return nil
}

// policyOptions are the policy's options for version v.
func (c *config) policyOptions(v fhirspec.Version) []fhirauth.Option {
	opts := []fhirauth.Option{fhirauth.WithVersion(v), fhirauth.WithBasePath(c.base), fhirauth.WithSharedTypes(c.shared...)}
	for _, op := range c.operations {
		opts = append(opts, fhirauth.WithOperation(op))
	}
	return opts
}

// describe prints what the gateway enforces (-check-config).
func (c *config) describe(w io.Writer) {
	version := "read from the upstream's CapabilityStatement"
	if c.version.Valid() {
		version = c.version.String()
	}
	fmt.Fprintf(w, "listen        %s\n", c.addr)
	if c.tlsCert != "" {
		fmt.Fprintf(w, "tls           cert %s, key %s\n", c.tlsCert, c.tlsKey)
	}
	fmt.Fprintf(w, "FHIR base     %s -> upstream %s (FHIR %s)\n", c.base, c.upstream.Redacted(), version)
	for _, is := range c.issuers {
		fmt.Fprintf(w, "issuer        %s (profile %s", is.issuer, is.profile)
		if is.jwksURL != "" {
			fmt.Fprintf(w, ", keys %s", is.jwksURL)
		}
		if len(is.algorithms) > 0 {
			fmt.Fprintf(w, ", algorithms %s", strings.Join(is.algorithms, " "))
		}
		if len(is.clients) > 0 {
			fmt.Fprintf(w, ", clients %s", strings.Join(is.clients, " "))
		}
		fmt.Fprintln(w, ")")
	}
	fmt.Fprintf(w, "audiences     %s\n", strings.Join(c.audiences, ", "))
	fmt.Fprintf(w, "shared types  %s\n", orNone(strings.Join(c.shared, ", ")))
	for _, op := range c.operations {
		fmt.Fprintf(w, "operation     $%s (levels %v, types %s, needs %q, search %t)\n", op.Name, op.Levels, orNone(strings.Join(op.Types, ",")), op.Permission.String(), op.Search)
	}
	fmt.Fprintf(w, "max response  %d bytes\nforward Authorization upstream: %t\n", c.maxResponse, c.forwardAuth)
	fmt.Fprintf(w, "CORS origins  %s\n", orNone(strings.Join(c.corsOrigins, ", ")))
	fmt.Fprintf(w, "forwarded request headers: %s\n", strings.Join(slices.Concat(forwardedHeaders, c.forwardHeaders), ", "))
	if d := c.dpop; d != nil {
		nonces := "no server nonces"
		if d.nonces != nil {
			nonces = "server nonces from " + d.nonceSecret
		}
		fmt.Fprintf(w, "DPoP          proofs name %s, %s, in-memory replay cache\n", d.publicURL, nonces)
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
