module github.com/fhirwarden/fhirwarden

go 1.26.8

require (
	github.com/goccy/go-json v0.11.2 // indirect
	github.com/google/fhir/go v0.7.4 // indirect
	github.com/lestrrat-go/blackmagic v1.0.4 // indirect
	github.com/lestrrat-go/jwx/v3 v3.4.0 // indirect
	github.com/lestrrat-go/option/v2 v2.0.0 // indirect
	github.com/segmentio/asm v1.2.1 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	golang.org/x/oauth2 v0.38.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
)
