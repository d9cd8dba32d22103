package server

import (
	"bytes"
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/credential"
	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/sample"
	"github.com/fhirwarden/fhirwarden/fhirauth"
)

//go:embed web/index.html
var pageFS embed.FS

//go:embed web/static
var staticFS embed.FS

// pageClient is a client as the scopes page shows it.
type pageClient struct {
	ID          string `json:"id"`
	Secret      string `json:"secret"`
	SecretAuth  bool   `json:"secretAuth"`
	Scope       string `json:"scope"`
	Patient     string `json:"patient,omitempty"`
	Description string `json:"description"`
	KeyFile     string `json:"keyFile,omitempty"`
	DPoP        bool   `json:"dpop,omitempty"`
}

// pageConfig is handed to the page's script as JSON.
type pageConfig struct {
	BaseURL  string       `json:"baseUrl"`
	TokenURL string       `json:"tokenUrl"`
	Clients  []pageClient `json:"clients"`
	Types    []string     `json:"types"`
	Patient  string       `json:"patient"`
}

type pageData struct {
	Version  string
	BaseURL  string
	TokenURL string
	External bool
	Clients  []pageClient
	Types    []string
	Patients []sample.Patient
	Config   pageConfig
}

// newPage renders the "Security scopes" page once: it lists the clients
// and their scopes, and its script gets a token from the token endpoint
// (client credentials, HTTP Basic) and sends sample requests with it.
func newPage(s *Server) (http.Handler, error) {
	tmpl, err := template.ParseFS(pageFS, "web/index.html")
	if err != nil {
		return nil, err
	}
	data := pageData{
		Version: string(s.version), BaseURL: s.BaseURL(), TokenURL: s.tokenURL,
		External: s.embedded == nil, Types: sample.CareConnectTypes, Patients: sample.Patients(),
	}
	for _, c := range s.clients {
		data.Clients = append(data.Clients, pageClient{ID: c.ID, Secret: c.Secret, SecretAuth: c.SecretAuth,
			Scope: c.Scope, Patient: c.Patient, Description: c.Description, KeyFile: c.KeyFile, DPoP: c.DPoP})
	}
	data.Config = pageConfig{BaseURL: s.BaseURL(), TokenURL: s.tokenURL, Clients: data.Clients,
		Types: data.Types, Patient: sample.Patients()[0].ID}
	if data.Config.Clients == nil {
		data.Config.Clients = []pageClient{}
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		return nil, err
	}
	body := buf.Bytes()
	connect := "'self'"
	if u, err := url.Parse(s.tokenURL); err == nil && u.Host != "" {
		connect += " " + u.Scheme + "://" + u.Host
	}
	csp := "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src " + connect +
		"; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(body)
		}
	}), nil
}

// staticHandler serves the page's script and stylesheet.
func staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFS, "web/static")
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

// explained is the answer of GET /explain.
type explained struct {
	Text        string                `json:"text"`
	Explanation *fhirauth.Explanation `json:"explanation"`
}

// explainHandler serves GET /explain: the token's explanation
// (fhirauth.Policy.Explain) as JSON, for the scopes page to show beside
// the token's raw claims. The credentials are checked as a FHIR
// request's are (creds: Bearer, or DPoP with a proof for this URL).
func explainHandler(policy *fhirauth.Policy, creds *credential.Checker) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		pr, refused := creds.Authenticate(r)
		if refused != nil {
			creds.Challenge(h, "careconnect", refused)
			w.WriteHeader(refused.Status)
			body, _ := json.Marshal(map[string]string{"error": explainRefusal(refused)}) // strings always marshal
			_, _ = w.Write(body)
			return
		}
		e := policy.Explain(r.Context(), pr)
		body, _ := json.Marshal(explained{Text: e.String(), Explanation: e}) // strings and slices always marshal
		_, _ = w.Write(body)
	})
}

// explainRefusal is what GET /explain says to a request it refuses.
func explainRefusal(f *credential.Refusal) string {
	switch {
	case f.Code == "" && f.Status == http.StatusUnauthorized:
		return "send the token to explain: Authorization: Bearer <token> (or DPoP <token> with its proof)"
	case f.Code == "invalid_token":
		return "the token is not valid here"
	}
	return f.Message
}

// mountPageExtras serves GET /explain and the favicon.
func mountPageExtras(mux *http.ServeMux, policy *fhirauth.Policy, creds *credential.Checker) {
	mux.Handle("GET /explain", explainHandler(policy, creds))
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Header().Set("Cache-Control", "max-age=86400")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(favicon)
	})
}

//go:embed web/static/favicon.svg
var favicon []byte
