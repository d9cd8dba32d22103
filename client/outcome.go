package client

import (
	"encoding/json"
	"strings"
)

// OperationOutcome is the part of a FHIR OperationOutcome a caller acts on.
type OperationOutcome struct {
	Issues []Issue `json:"issue"`
}

// Issue is one OperationOutcome.issue.
type Issue struct {
	// Severity: fatal | error | warning | information.
	Severity string `json:"severity"`
	// Code: the IssueType code (e.g. not-found, forbidden, invalid).
	Code string `json:"code"`
	// Details is the coded or textual detail.
	Details *CodeableConcept `json:"details,omitempty"`
	// Diagnostics is the server's free-text explanation.
	Diagnostics string `json:"diagnostics,omitempty"`
	// Expression (R4) and Location (STU3, deprecated in R4) point at the
	// offending elements.
	Expression []string `json:"expression,omitempty"`
	Location   []string `json:"location,omitempty"`
}

// CodeableConcept carries the text of a FHIR CodeableConcept.
type CodeableConcept struct {
	Text string `json:"text,omitempty"`
}

// Text returns diagnostics, else details.text, else the code.
func (is Issue) Text() string {
	switch {
	case is.Diagnostics != "":
		return is.Diagnostics
	case is.Details != nil && is.Details.Text != "":
		return is.Details.Text
	default:
		return is.Code
	}
}

// String renders "severity code: text".
func (is Issue) String() string {
	var b strings.Builder
	b.WriteString(is.Severity)
	if is.Code != "" {
		b.WriteByte(' ')
		b.WriteString(is.Code)
	}
	if t := is.Text(); t != is.Code {
		b.WriteString(": ")
		b.WriteString(t)
	}
	return b.String()
}

// parseOutcome decodes body as an OperationOutcome; nil when it is not one.
func parseOutcome(body []byte) *OperationOutcome {
	var probe struct {
		ResourceType string `json:"resourceType"`
		OperationOutcome
	}
	if json.Unmarshal(body, &probe) != nil || probe.ResourceType != "OperationOutcome" {
		return nil
	}
	oo := probe.OperationOutcome
	return &oo
}
