package authserver

import (
	"encoding/json"
	"net/http"
)

// oauthError is an RFC 6749 section 5.2 error response.
type oauthError struct {
	status      int
	basic       bool   // add WWW-Authenticate: Basic (401 after Basic auth)
	dpopNonce   string // the DPoP-Nonce header of a use_dpop_nonce answer
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// Error returns the code and description.
func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func errInvalidRequest(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, Code: "invalid_request", Description: desc}
}

func errInvalidClient(desc string, basic bool) *oauthError {
	return &oauthError{status: http.StatusUnauthorized, basic: basic, Code: "invalid_client", Description: desc}
}

// writeOAuthError writes e as JSON with the no-store headers.
func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	if e.basic {
		w.Header().Set("WWW-Authenticate", `Basic realm="oauth2", charset="UTF-8"`)
	}
	if e.dpopNonce != "" {
		w.Header().Set("DPoP-Nonce", e.dpopNonce)
	}
	writeJSON(w, e.status, e)
}

// writeJSON writes v as a JSON response that must not be cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":"server_error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
