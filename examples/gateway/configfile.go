package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// fileConfig is the gateway's configuration file (YAML). Every key is
// optional in the file; what the command line requires (upstream, an
// issuer, an audience) must come from the file or a flag. Unknown keys
// are errors.
type fileConfig struct {
	Listen               string          `yaml:"listen"`
	Upstream             string          `yaml:"upstream"`
	Base                 string          `yaml:"base"`
	FHIRVersion          string          `yaml:"fhir_version"`
	Issuers              []fileIssuer    `yaml:"issuers"`
	Audiences            []string        `yaml:"audiences"`
	SharedTypes          []string        `yaml:"shared_types"`
	Operations           []fileOperation `yaml:"operations"`
	Limits               fileLimits      `yaml:"limits"`
	TLS                  fileTLS         `yaml:"tls"`
	ForwardAuthorization bool            `yaml:"forward_authorization"`
	DPoP                 fileDPoP        `yaml:"dpop"`
	ForwardHeaders       []string        `yaml:"forward_headers"`
	CORSOrigins          []string        `yaml:"cors_origins"`
}

// fileDPoP turns on DPoP-bound access tokens (RFC 9449).
type fileDPoP struct {
	Enabled bool `yaml:"enabled"`
	// PublicURL is the origin clients address the gateway by
	// (scheme://host[:port]), which their proofs name; required.
	PublicURL string `yaml:"public_url"`
	// NonceSecretFile holds the secret (at least 32 bytes) of server
	// nonces; absent: no nonces.
	NonceSecretFile string `yaml:"nonce_secret_file"`
}

// fileIssuer is a trusted token issuer.
type fileIssuer struct {
	Issuer     string   `yaml:"issuer"`
	JWKSURL    string   `yaml:"jwks_url"`   // instead of the one discovery names
	Profile    string   `yaml:"profile"`    // claim-mapping profile name
	Algorithms []string `yaml:"algorithms"` // accepted JWS algorithms
	// AllowedClients: only tokens issued to these clients (client_id or
	// the profile's client claim, matched exactly); absent: any client.
	// Given, it must list a client: an empty list is an error.
	AllowedClients []string `yaml:"allowed_clients"`
}

// fileOperation registers a FHIR operation with the policy.
type fileOperation struct {
	Name       string   `yaml:"name"`       // without "$"
	Levels     []string `yaml:"levels"`     // system, type, instance
	Types      []string `yaml:"types"`      // empty: any type
	Permission string   `yaml:"permission"` // SMART v2 letters the caller needs ("rs", "c", ...)
	Search     bool     `yaml:"search"`     // behaves as a search of the target type
}

type fileLimits struct {
	MaxResponse int64 `yaml:"max_response"` // bytes
}

type fileTLS struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// configError is a mistake in the configuration file, at a line.
type configError struct {
	file string
	line int
	msg  string
}

func (e *configError) Error() string {
	if e.line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.file, e.line, e.msg)
	}
	return e.file + ": " + e.msg
}

// maxConfigFile bounds the configuration file.
const maxConfigFile = 1 << 20

// parseConfigFile reads a configuration file strictly: one YAML document,
// no unknown keys, no anchors/aliases (a small file must not expand into
// a large one), every value of its type. Errors name the line.
func parseConfigFile(name string, r io.Reader) (*fileConfig, *yaml.Node, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxConfigFile+1))
	if err != nil {
		return nil, nil, &configError{file: name, msg: err.Error()}
	}
	if len(data) > maxConfigFile {
		return nil, nil, &configError{file: name, msg: fmt.Sprintf("larger than %d bytes", maxConfigFile)}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, nil, yamlError(name, err)
	}
	if root.Kind == 0 {
		return nil, nil, &configError{file: name, msg: "empty file"}
	}
	if n := findAlias(&root); n != nil {
		return nil, nil, &configError{file: name, line: n.Line, msg: "anchors and aliases are not accepted"}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var fc fileConfig
	if err := dec.Decode(&fc); err != nil {
		return nil, nil, yamlError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, nil, &configError{file: name, line: extra.Line, msg: "more than one YAML document"}
	}
	if line := emptyClientList(&root); line > 0 {
		return nil, nil, &configError{file: name, line: line, msg: "allowed_clients lists no client; list the clients to accept, or remove allowed_clients to accept any client of the issuer"}
	}
	return &fc, &root, nil
}

// emptyClientList returns the line of the first issuer's allowed_clients
// that is given but lists no client (null, as when its entries are
// commented out, or []), or 0. Decoded, such a list is the same as none,
// which accepts any client: the opposite of what it was written for.
func emptyClientList(root *yaml.Node) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	issuers := mappingValue(n, "issuers")
	if issuers == nil || issuers.Kind != yaml.SequenceNode {
		return 0
	}
	for _, is := range issuers.Content {
		v := mappingValue(is, "allowed_clients")
		if v != nil && (v.ShortTag() == "!!null" || (v.Kind == yaml.SequenceNode && len(v.Content) == 0)) {
			return v.Line
		}
	}
	return 0
}

// mappingValue returns the value of key in the mapping node n, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// yamlError turns the parser's error ("yaml: line 3: ...") into a
// configError with the line.
func yamlError(name string, err error) error {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := 0
	if _, err := fmt.Sscanf(msg, "line %d:", &line); err == nil {
		_, msg, _ = strings.Cut(msg, ": ")
	}
	return &configError{file: name, line: line, msg: msg}
}

// findAlias returns the first alias or anchored node under n.
func findAlias(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return n
	}
	for _, c := range n.Content {
		if a := findAlias(c); a != nil {
			return a
		}
	}
	return nil
}

// lineOf is the line of the value at path (mapping keys and sequence
// indexes) in the document root, or 0.
func lineOf(root *yaml.Node, path ...any) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, p := range path {
		switch k := p.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return n.Line
			}
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == k {
					n, found = n.Content[i+1], true
					break
				}
			}
			if !found {
				return n.Line
			}
		case int:
			if n.Kind != yaml.SequenceNode || k >= len(n.Content) {
				return n.Line
			}
			n = n.Content[k]
		}
	}
	return n.Line
}
