package client_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/client"
)

// forgedLine is server text that would start a forged log line and
// rewrite a terminal if an error message carried it as it is.
var forgedLine = "denied\n2026-01-02 level=INFO msg=\"access granted\"\x1b[2J\u202e" + strings.Repeat("x", 100<<10)

// requirePlainMessage checks an error message has no control characters
// from the server and stays short.
func requirePlainMessage(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	msg := err.Error()
	for _, bad := range []string{"\n", "\x1b", "\u202e"} {
		if strings.Contains(msg, bad) {
			t.Fatalf("the message carries the server's %q as it is (%d bytes)", bad, len(msg))
		}
	}
	if len(msg) > 16<<10 {
		t.Fatalf("the message is %d bytes: the server's text is not clipped", len(msg))
	}
}

func TestErrorMessagesEscapeServerText(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/token" {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": forgedLine, "error_description": forgedLine})
			return
		}
		w.WriteHeader(http.StatusForbidden)
		issues := make([]map[string]any, 50)
		for i := range issues {
			issues[i] = map[string]any{"severity": "error", "code": forgedLine, "diagnostics": forgedLine}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"resourceType": "OperationOutcome", "issue": issues})
	}))
	t.Cleanup(srv.Close)
	ctx := context.Background()

	c, err := client.New(srv.URL+"/fhir", client.StaticToken("t"))
	require.NoError(t, err)
	_, err = c.Read(ctx, "Patient", "1")
	require.ErrorIs(t, err, client.ErrForbidden)
	requirePlainMessage(t, err)
	var fe *client.Error
	require.ErrorAs(t, err, &fe)
	require.Equal(t, forgedLine, fe.Outcome.Issues[0].Diagnostics, "the outcome itself is kept whole")

	cc, err := client.ClientCredentials(srv.URL+"/token", "app", "secret")
	require.NoError(t, err)
	_, err = cc.TokenContext(ctx)
	requirePlainMessage(t, err)
	var oe *client.OAuthError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, forgedLine, oe.Code, "the code itself is kept whole")
	key, _ := assertionKey(t)
	bs, err := client.BackendServices(srv.URL+"/token", "app", key)
	require.NoError(t, err)
	_, err = bs.TokenContext(ctx)
	requirePlainMessage(t, err)
	require.ErrorAs(t, err, &oe)
	require.Equal(t, forgedLine, oe.Code)
}
