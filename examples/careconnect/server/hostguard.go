package server

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
)

// knownHosts decides which Host headers the server answers: an IP
// address, "localhost", or the host of the root URL (-public-url). A
// page on a name its owner points at 127.0.0.1 (DNS rebinding) is
// same-origin with itself, so a browser lets its script read what the
// server answers: the scopes page with the demo secrets, tokens, records.
// The browser still sends that name as Host, and no such name is one of
// these, while the ways people and proxies address the server are.
type knownHosts struct {
	public string // host of the root URL, lower case, without port
}

// newKnownHosts names the hosts of a server whose root URL is root.
func newKnownHosts(root string) knownHosts {
	u, err := url.Parse(root)
	if err != nil {
		return knownHosts{}
	}
	return knownHosts{public: strings.ToLower(u.Hostname())}
}

// allows reports whether hostport (a request's Host) names this server.
func (k knownHosts) allows(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" {
		return false
	}
	if net.ParseIP(host) != nil {
		return true
	}
	host = strings.ToLower(host)
	return host == "localhost" || (k.public != "" && host == k.public)
}

// probePaths are answered whatever the Host: an orchestrator's liveness
// and readiness probes address the process by a name of their own, and
// the answers say nothing but "ok".
var probePaths = map[string]bool{"/healthz": true, "/readyz": true}

// guardHosts answers 421 Misdirected Request (RFC 9110 section 15.5.20)
// with an OperationOutcome of version v to a request whose Host the
// server is not known by, and passes the others to h.
func guardHosts(k knownHosts, v fhirspec.Version, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if k.allows(r.Host) || probePaths[r.URL.Path] {
			h.ServeHTTP(w, r)
			return
		}
		body := fhirauth.OperationOutcome(v, "security",
			"this server does not answer to the host name in the Host header; address it by IP address or localhost, or start it with -public-url naming the host")
		hd := w.Header()
		hd.Set("Content-Type", "application/fhir+json")
		hd.Set("Cache-Control", "no-store")
		hd.Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusMisdirectedRequest)
		_, _ = w.Write(body)
	})
}
