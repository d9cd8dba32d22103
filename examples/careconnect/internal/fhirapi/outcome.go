package fhirapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/store"
)

// outcome is a FHIR OperationOutcome with one issue; its JSON is valid in
// STU3 and R4 alike.
type outcome struct {
	ResourceType string  `json:"resourceType"`
	Issue        []issue `json:"issue"`
}

type issue struct {
	Severity    string `json:"severity"`
	Code        string `json:"code"`
	Diagnostics string `json:"diagnostics,omitempty"`
}

// outcomeJSON renders an OperationOutcome with one issue.
func outcomeJSON(severity, code, diagnostics string) []byte {
	b, _ := json.Marshal(outcome{ResourceType: "OperationOutcome", Issue: []issue{{severity, code, diagnostics}}})
	return b
}

// failure is an error response: status, issue code and reason.
func failure(status int, code, diagnostics string) response {
	return response{status: status, body: outcomeJSON("error", code, diagnostics)}
}

// fromError maps a store error to the FHIR answer, in FHIR words: the
// store's own prefixes ("store: invalid search: ") are not the user's
// business.
func fromError(err error) response {
	msg := userText(err)
	switch {
	case errors.Is(err, errHidden), errors.Is(err, store.ErrNotFound):
		return failure(http.StatusNotFound, "not-found", msg)
	case errors.Is(err, store.ErrGone):
		return failure(http.StatusGone, "deleted", msg)
	case errors.Is(err, store.ErrUnknownType):
		return failure(http.StatusNotFound, "not-supported", msg)
	case errors.Is(err, store.ErrInvalid):
		return failure(http.StatusBadRequest, "invalid", msg)
	case errors.Is(err, store.ErrBadSearch):
		return failure(http.StatusBadRequest, "not-supported", msg)
	case errors.Is(err, store.ErrVersionConflict):
		return failure(http.StatusPreconditionFailed, "conflict", msg)
	case errors.Is(err, store.ErrMultipleMatches):
		return failure(http.StatusPreconditionFailed, "multiple-matches", msg)
	case errors.Is(err, store.ErrForbidden):
		return failure(http.StatusForbidden, "forbidden", msg)
	default:
		return failure(http.StatusInternalServerError, "exception", "internal error")
	}
}

// storeSentinels are the store errors whose text fromError strips.
var storeSentinels = []error{store.ErrNotFound, store.ErrGone, store.ErrInvalid, store.ErrUnknownType,
	store.ErrBadSearch, store.ErrVersionConflict, store.ErrMultipleMatches, store.ErrForbidden}

// userText returns err's text without the store sentinel's prefix.
func userText(err error) string {
	msg := err.Error()
	for _, s := range storeSentinels {
		if rest, ok := strings.CutPrefix(msg, s.Error()+": "); ok && errors.Is(err, s) {
			return rest
		}
	}
	return strings.TrimPrefix(msg, "store: ")
}
