package fhirapi

import (
	"net/http"
	"sort"

	"github.com/google/fhir/go/fhirversion"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/store"
)

// Security describes how the API is secured, for the CapabilityStatement's
// rest.security (SMART on FHIR).
type Security struct {
	// TokenURL is the OAuth2 token endpoint (required for the SMART oauth-uris extension).
	TokenURL string
	// AuthorizeURL is the authorization endpoint, when there is one.
	AuthorizeURL string
	// IntrospectURL is the RFC 7662 introspection endpoint, when there is one.
	IntrospectURL string
	// RevokeURL is the RFC 7009 revocation endpoint, when there is one.
	RevokeURL string
	// Description is shown as rest.security.description.
	Description string
}

// CapabilityTypes are the resource types listed in the CapabilityStatement
// (the nine Care Connect types and the shared ones they reference).
var CapabilityTypes = []string{
	"Patient", "Observation", "Encounter", "Condition", "Procedure", "AllergyIntolerance",
	"MedicationRequest", "MedicationStatement", "Immunization", "Practitioner", "Organization",
}

type obj = map[string]any

// capabilities answers GET metadata.
func (h *Handler) capabilities(req request) response {
	r4 := h.store.Validator().Version() == fhirversion.R4
	securitySystem := "http://hl7.org/fhir/restful-security-service"
	fhirVersion := "3.0.2"
	if r4 {
		securitySystem = "http://terminology.hl7.org/CodeSystem/restful-security-service"
		fhirVersion = "4.0.1"
	}
	// The server sends no CORS headers: browsers on other origins cannot
	// read its answers, and cors says so rather than invite them to try.
	security := obj{
		"cors": false,
		"service": []any{obj{
			"coding": []any{obj{"system": securitySystem, "code": "SMART-on-FHIR"}},
			"text":   "OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)",
		}},
	}
	if h.security.Description != "" {
		security["description"] = h.security.Description
	}
	var uris []any
	add := func(name, u string) {
		if u != "" {
			uris = append(uris, obj{"url": name, "valueUri": u})
		}
	}
	add("token", h.security.TokenURL)
	add("authorize", h.security.AuthorizeURL)
	add("introspect", h.security.IntrospectURL)
	add("revoke", h.security.RevokeURL)
	if len(uris) > 0 {
		security["extension"] = []any{obj{
			"url":       "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
			"extension": uris,
		}}
	}
	var resources []any
	for _, typ := range CapabilityTypes {
		resources = append(resources, h.resourceCapability(typ, r4))
	}
	everything := "http://hl7.org/fhir/OperationDefinition/Patient-everything"
	var op obj
	if r4 {
		op = obj{"name": "everything", "definition": everything}
	} else {
		op = obj{"name": "everything", "definition": obj{"reference": everything}}
	}
	cs := obj{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         "2026-01-01",
		"publisher":    "fhirwarden",
		"kind":         "instance",
		"software":     obj{"name": "fhirwarden careconnect example"},
		"implementation": obj{
			"description": "Care Connect reference server secured with fhirwarden",
			"url":         req.base,
		},
		"fhirVersion": fhirVersion,
		"format":      []any{"application/fhir+json", "json"},
		"rest": []any{obj{
			"mode":        "server",
			"security":    security,
			"resource":    resources,
			"interaction": []any{obj{"code": "transaction"}, obj{"code": "batch"}},
			"operation":   []any{op},
		}},
	}
	if !r4 {
		cs["acceptUnknown"] = "no"
	}
	return response{status: http.StatusOK, body: mustJSON(cs)}
}

func (h *Handler) resourceCapability(typ string, r4 bool) obj {
	var interactions []any
	for _, code := range []string{"read", "vread", "update", "patch", "delete", "history-instance", "create", "search-type"} {
		interactions = append(interactions, obj{"code": code})
	}
	params := store.SearchParams(typ)
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	sort.Strings(names)
	var searchParams []any
	var includes []any
	for _, n := range names {
		searchParams = append(searchParams, obj{"name": n, "type": params[n]})
		if params[n] == "reference" && n != "_id" {
			includes = append(includes, typ+":"+n)
		}
	}
	var revIncludes []any
	for _, other := range CapabilityTypes {
		if other != typ {
			if p := store.SearchParams(other); p["patient"] == "reference" && typ == "Patient" {
				revIncludes = append(revIncludes, other+":patient")
			}
		}
	}
	rc := obj{
		"type":              typ,
		"interaction":       interactions,
		"versioning":        "versioned",
		"readHistory":       true,
		"updateCreate":      true,
		"conditionalCreate": true,
		"conditionalUpdate": true,
		"conditionalDelete": "single",
		"searchParam":       searchParams,
	}
	if len(includes) > 0 {
		rc["searchInclude"] = includes
	}
	if len(revIncludes) > 0 {
		rc["searchRevInclude"] = revIncludes
	}
	return rc
}
