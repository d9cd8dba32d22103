package trust

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/fhirwarden/fhirwarden/token"
)

// Flags are the trusted issuers, the accepted audiences, and each issuer's
// claim-mapping profile (a name of token.Profile, or a JSON file read by
// token.ParseClaimMapping; the default is "smart").
type Flags struct {
	Issuers   []string
	Audiences []string
	Profiles  map[string]string // issuer -> profile name or file
}

// Register adds -issuer, -audience and -profile (each repeatable) to fs.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.Var(listFlag{&f.Issuers}, "issuer", "trust this OAuth2/OpenID issuer `URL` (discovered via {issuer}/.well-known/openid-configuration); repeat for several")
	fs.Var(listFlag{&f.Audiences}, "audience", "accepted aud of access tokens; repeat to accept several")
	fs.Var(profileFlag{f}, "profile", "`ISSUER=NAME`: the claim mapping of an -issuer: "+strings.Join(token.ProfileNames(), ", ")+" (default smart), or a JSON file")
}

// Validate checks what flags alone can tell: issuer URLs, no duplicates,
// a -profile for each named issuer only, and every profile loadable.
func (f *Flags) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for _, iss := range f.Issuers {
		u, err := url.Parse(iss)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			errs = append(errs, fmt.Errorf("-issuer %q must be an absolute http(s) URL", iss))
		}
		if seen[iss] {
			errs = append(errs, fmt.Errorf("-issuer %q is given twice", iss))
		}
		seen[iss] = true
	}
	for _, aud := range f.Audiences {
		if aud == "" {
			errs = append(errs, errors.New("-audience must not be empty"))
		}
	}
	for iss := range f.Profiles {
		if !seen[iss] {
			errs = append(errs, fmt.Errorf("-profile names %q, which is not an -issuer (issuers are matched exactly)", iss))
			continue
		}
		if _, err := f.Mapping(iss); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Mapping returns the claim mapping of issuer: its -profile, or smart.
func (f *Flags) Mapping(issuer string) (token.ClaimMapping, error) {
	p, ok := f.Profiles[issuer]
	if !ok {
		return token.SMARTClaims, nil
	}
	if m, ok := token.Profile(p); ok {
		return m, nil
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return token.ClaimMapping{}, fmt.Errorf("-profile %s=%s: not a profile name (%s) and not a readable file: %w", issuer, p, strings.Join(token.ProfileNames(), ", "), err)
	}
	m, err := token.ParseClaimMapping(data)
	if err != nil {
		return token.ClaimMapping{}, fmt.Errorf("-profile %s=%s: %w", issuer, p, err)
	}
	return m, nil
}

// Authenticator is a token.Authenticator that holds background work.
type Authenticator interface {
	token.Authenticator
	Close() error
}

// Authenticator discovers every issuer and builds its Verifier (JWKS from
// discovery, the issuer's profile, the accepted audiences, opts): the
// Verifier itself for one issuer, a token.Issuers for several. It also
// returns each issuer's discovery document, in flag order.
func (f *Flags) Authenticator(ctx context.Context, opts ...token.VerifierOption) (Authenticator, []*token.ProviderMetadata, error) {
	if len(f.Issuers) == 0 || len(f.Audiences) == 0 {
		return nil, nil, errors.New("at least one -issuer and one -audience are needed")
	}
	var verifiers []*token.Verifier
	var mds []*token.ProviderMetadata
	fail := func(err error) (Authenticator, []*token.ProviderMetadata, error) {
		for _, v := range verifiers {
			_ = v.Close()
		}
		return nil, nil, err
	}
	for _, iss := range f.Issuers {
		m, err := f.Mapping(iss)
		if err != nil {
			return fail(err)
		}
		md, err := token.DiscoverOpenID(ctx, iss)
		if err != nil {
			return fail(fmt.Errorf("discovering the issuer %s: %w", iss, err))
		}
		v, err := token.NewVerifier(ctx, token.Config{
			Issuer: iss, Audiences: f.Audiences, JWKSURL: md.JWKSURI, Claims: m,
		}, opts...)
		if err != nil {
			return fail(fmt.Errorf("issuer %s: %w", iss, err))
		}
		verifiers, mds = append(verifiers, v), append(mds, md)
	}
	if len(verifiers) == 1 {
		return verifiers[0], mds, nil
	}
	is, err := token.NewIssuers(verifiers...)
	if err != nil {
		return fail(err)
	}
	return is, mds, nil
}

// listFlag is a repeatable string flag.
type listFlag struct{ list *[]string }

func (l listFlag) String() string {
	if l.list == nil {
		return ""
	}
	return strings.Join(*l.list, ",")
}

func (l listFlag) Set(s string) error {
	if s == "" {
		return errors.New("empty value")
	}
	*l.list = append(*l.list, s)
	return nil
}

// profileFlag parses ISSUER=NAME; the issuer is everything before the last
// "=" (issuer URLs may hold "=" in a path, profile names and file names
// rarely do).
type profileFlag struct{ f *Flags }

func (p profileFlag) String() string { return "" }

func (p profileFlag) Set(s string) error {
	i := strings.LastIndexByte(s, '=')
	if i <= 0 || i == len(s)-1 {
		return fmt.Errorf("%q is not ISSUER=NAME", s)
	}
	iss, name := s[:i], s[i+1:]
	if p.f.Profiles == nil {
		p.f.Profiles = map[string]string{}
	}
	if _, dup := p.f.Profiles[iss]; dup {
		return fmt.Errorf("issuer %q has two -profile flags", iss)
	}
	p.f.Profiles[iss] = name
	return nil
}
