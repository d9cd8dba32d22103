package main

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A job's Binary file is withheld from other clients under every URL
// of that Binary, not only the one the manifest names: another query,
// HEAD or its history would otherwise hand the file (or its size) to
// any token that may read Binary, and DELETE take it from its owner.
// Once the job is forgotten they are ordinary requests again.
func TestGatewayAttackExportBinaryFileOtherURLs(t *testing.T) {
	g, b := startBulkGateway(t)
	tok := g.token("system/*.rs", "")
	status := startExport(t, g, tok)
	m, _ := manifestOf(t, status, tok)
	binary := m["output"][2]["url"]
	require.Equal(t, g.url+"/Binary/export-j1", binary)

	reader := g.iss.Mint(map[string]any{"sub": "svc", "client_id": "binary-reader", "scope": "system/Binary.rs"})
	for _, u := range []string{
		binary + "?_pretty=true",
		binary + "?_format=json",
		binary + "/_history/1",
		binary + "/_history",
	} {
		withheld(t, b, u, reader)
	}
	writer := g.iss.Mint(map[string]any{"sub": "svc", "client_id": "binary-writer", "scope": "system/Binary.cruds"})
	for _, m := range []string{http.MethodHead, http.MethodDelete} {
		before := b.count()
		res, _ := send(t, m, binary, writer)
		assert.Equal(t, http.StatusNotFound, res.StatusCode, m)
		assert.Equal(t, before, b.count(), "the upstream is not asked: %s", m)
	}
	res, _ := send(t, http.MethodGet, binary+"?_pretty=true", tok)
	assert.Equal(t, http.StatusOK, res.StatusCode, "the owner, through the policy")

	res, _ = send(t, http.MethodDelete, status, tok)
	require.Equal(t, http.StatusAccepted, res.StatusCode)
	res, _ = send(t, http.MethodGet, binary+"?_pretty=true", reader)
	assert.Equal(t, http.StatusOK, res.StatusCode, "an ordinary Binary read once the job is gone")
}
