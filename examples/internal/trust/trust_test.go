package trust_test

import (
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/examples/internal/trust"
	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

func parse(t *testing.T, args ...string) (*trust.Flags, error) {
	t.Helper()
	var f trust.Flags
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f.Register(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return &f, f.Validate()
}

func TestFlagsRefuse(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(file, []byte(`{"scope_claim":["scp"]}`), 0o600))
	for name, args := range map[string][]string{
		"profile for an unlisted issuer": {"-issuer", "https://a.example", "-profile", "https://b.example=okta"},
		"profile differing by a slash":   {"-issuer", "https://a.example", "-profile", "https://a.example/=okta"},
		"unknown profile, no such file":  {"-issuer", "https://a.example", "-profile", "https://a.example=azure"},
		"profile file with a typo":       {"-issuer", "https://a.example", "-profile", "https://a.example=" + file},
		"two profiles for one issuer":    {"-issuer", "https://a.example", "-profile", "https://a.example=okta", "-profile", "https://a.example=entra"},
		"profile without a name":         {"-issuer", "https://a.example", "-profile", "https://a.example="},
		"issuer twice":                   {"-issuer", "https://a.example", "-issuer", "https://a.example"},
		"issuer not a URL":               {"-issuer", "ftp://a.example"},
		"empty audience":                 {"-issuer", "https://a.example", "-audience", ""},
	} {
		_, err := parse(t, args...)
		require.Error(t, err, name)
	}
	good := filepath.Join(t.TempDir(), "corp.json")
	require.NoError(t, os.WriteFile(good, []byte(`{"name":"corp","scope_claims":["perms"],"scope_format":"array"}`), 0o600))
	f, err := parse(t, "-issuer", "https://a.example", "-profile", "https://a.example="+good)
	require.NoError(t, err)
	m, err := f.Mapping("https://a.example")
	require.NoError(t, err)
	require.Equal(t, "corp", m.Name)
}

// TestAuthenticatorTwoIssuers: each issuer is discovered and verified with
// its own mapping; a third is refused without a request to it.
func TestAuthenticatorTwoIssuers(t *testing.T) {
	a, b, c := tokentest.NewIssuer(), tokentest.NewIssuer(), tokentest.NewIssuer()
	defer a.Close()
	defer b.Close()
	defer c.Close()
	f, err := parse(t, "-issuer", a.URL, "-issuer", b.URL, "-audience", "https://other/fhir", "-audience", a.Audience(), "-profile", b.URL+"=okta")
	require.NoError(t, err)
	auth, mds, err := f.Authenticator(context.Background(), token.WithLogger(discard()))
	require.NoError(t, err)
	defer auth.Close()
	require.Len(t, mds, 2)
	ctx := context.Background()
	p, err := auth.Authenticate(ctx, a.Mint(map[string]any{"client_id": "app-a"}))
	require.NoError(t, err)
	require.Equal(t, "app-a", p.ClientID)
	p, err = auth.Authenticate(ctx, b.Mint(map[string]any{"cid": "app-b", "scp": []string{"patient/Observation.rs"}}))
	require.NoError(t, err)
	require.Equal(t, "app-b", p.ClientID)
	_, err = auth.Authenticate(ctx, c.Mint(nil))
	require.ErrorIs(t, err, token.ErrIssuer)
	require.Zero(t, c.JWKSFetches())
}
