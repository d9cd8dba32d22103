package server

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"

	"github.com/google/fhir/go/fhirversion"

	"github.com/fhirwarden/fhirwarden/examples/internal/trust"
)

// Config is the server's configuration: the command-line contract of
// examples/careconnect (see ParseArgs) as a struct.
type Config struct {
	// Addr is the listen address (default "127.0.0.1:8080"; port 0 picks a free one).
	Addr string
	// Issuers, when set, are external OAuth2/OpenID issuers to trust
	// (each discovered through {issuer}/.well-known/openid-configuration);
	// the embedded authorization server is then off.
	Issuers []string
	// Audiences are the accepted aud values of access tokens (default: the
	// FHIR base URL).
	Audiences []string
	// Profiles maps an issuer of Issuers to its claim-mapping profile: a
	// token.Profile name or a JSON file (default "smart").
	Profiles map[string]string
	// ClientsFile is a JSON file of clients for the embedded issuer
	// (default: the built-in demo clients).
	ClientsFile string
	// FHIRVersion is STU3 (default) or R4.
	FHIRVersion fhirversion.Version
	// PublicURL is the externally visible root URL (scheme://host[:port]),
	// used for the issuer, the FHIR base URL and printed commands
	// (default: http:// + the bound address, with an unspecified host
	// shown as localhost).
	PublicURL string
	// BackendKeyFile is where the demo backend-service client's private
	// key (a JWK) is written (default: a file in the temporary directory
	// named after the port).
	BackendKeyFile string
	// Logger receives structured logs and the audit record of every FHIR
	// request (default: text to the stderr given to Run).
	Logger *slog.Logger
}

// ErrUsage wraps command-line errors (bad flags or values).
var ErrUsage = errors.New("careconnect: usage")

// ParseArgs parses the command line:
//
//	-addr       listen address (default 127.0.0.1:8080)
//	-issuer     external issuer to trust instead of the embedded one (repeatable)
//	-audience   accepted aud of access tokens (repeatable; default: the FHIR base URL)
//	-profile    ISSUER=NAME: an issuer's claim mapping (smart, entra, okta,
//	            keycloak, auth0, ping, or a JSON file; default smart)
//	-clients    JSON file of clients for the embedded issuer
//	-fhir-version STU3 (default) or R4
//	-public-url externally visible root URL
//	-backend-key file for the demo backend-service client's private JWK
//
// -h prints the usage to stderr and returns flag.ErrHelp.
func ParseArgs(args []string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("careconnect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c Config
	var version string
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "listen `address`")
	var tf trust.Flags
	tf.Register(fs) // -issuer, -audience, -profile (repeatable)
	fs.StringVar(&c.ClientsFile, "clients", "", "JSON `file` of clients for the embedded issuer (default: built-in demo clients)")
	fs.StringVar(&version, "fhir-version", "STU3", "FHIR `version`: STU3 or R4")
	fs.StringVar(&c.PublicURL, "public-url", "", "externally visible root `URL` (default: http:// + the listen address)")
	fs.StringVar(&c.BackendKeyFile, "backend-key", "", "`file` to write the demo backend-service client's private JWK to (default: in the temp directory)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: careconnect [flags]\n\nA Care Connect style FHIR server with sample data, secured by fhirwarden,\nwith an embedded development OAuth2 authorization server.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, err
		}
		return Config{}, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("%w: unexpected arguments %q", ErrUsage, fs.Args())
	}
	c.Issuers, c.Audiences, c.Profiles = tf.Issuers, tf.Audiences, tf.Profiles
	switch strings.ToUpper(version) {
	case "STU3", "R3", "3.0.1", "3.0.2":
		c.FHIRVersion = fhirversion.STU3
	case "R4", "4.0.1":
		c.FHIRVersion = fhirversion.R4
	default:
		return Config{}, fmt.Errorf("%w: -fhir-version %q: use STU3 or R4", ErrUsage, version)
	}
	if err := c.validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// validate checks the combination of settings.
func (c *Config) validate() error {
	if c.Addr == "" {
		return fmt.Errorf("%w: -addr is required", ErrUsage)
	}
	if len(c.Issuers) > 0 && c.ClientsFile != "" {
		return fmt.Errorf("%w: -clients configures the embedded issuer; it cannot be combined with -issuer", ErrUsage)
	}
	tf := trust.Flags{Issuers: c.Issuers, Audiences: c.Audiences, Profiles: c.Profiles}
	if err := tf.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("%w: -public-url %q must be an absolute http(s) URL", ErrUsage, c.PublicURL)
		}
	}
	if c.PublicURL != "" {
		if u, _ := url.Parse(c.PublicURL); strings.Trim(u.Path, "/") != "" {
			return fmt.Errorf("%w: -public-url %q must not have a path (the FHIR base is {public-url}/fhir)", ErrUsage, c.PublicURL)
		}
		c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	}
	if c.FHIRVersion == "" {
		c.FHIRVersion = fhirversion.STU3
	}
	return nil
}
