package server

import (
	"net/http"
	"time"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/bulk"
	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/credential"
	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/store"
	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/middleware"
	"github.com/fhirwarden/fhirwarden/token"
)

// exportStep is the pause after each exported type: short, but long
// enough that a client sees the job in progress.
const exportStep = 100 * time.Millisecond

// newExporter builds the Bulk Data exporter of server s.
func newExporter(s *Server, st *store.Store, v fhirspec.Version, creds *credential.Checker) (*bulk.Exporter, error) {
	return bulk.New(bulk.Config{
		Store: st, Version: v, Credentials: creds, RootURL: s.root, Step: exportStep,
		Principal: func(r *http.Request) *token.Principal { return middleware.PrincipalFrom(r.Context()) },
	})
}

// mountExport serves the kick-off endpoints on the secured FHIR mux (the
// middleware authorizes them) and the status and file endpoints on the
// root mux (the exporter authenticates them itself).
func mountExport(fhir, root *http.ServeMux, e *bulk.Exporter) {
	fhir.HandleFunc("GET "+BasePath+"/$export", e.KickOff)
	fhir.HandleFunc("GET "+BasePath+"/Patient/$export", e.KickOff)
	fhir.HandleFunc("GET "+BasePath+"/Group/{id}/$export", e.KickOff)
	root.Handle(bulk.Path, noStore(e.Handler()))
}
