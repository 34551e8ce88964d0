package gateway_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQuarantineControl: an operator lists the quarantine — metadata, never
// content — and releases a message, which its recipient lists again;
// parties may do neither, and releasing what is not quarantined is 404.
func TestQuarantineControl(t *testing.T) {
	h := newHarness(t)
	r := h.post("tok-0384", msg("WMO301", "0384", "42420001", "Q1"))
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	id := r.json(t)["id"].(string)
	h.store.quarantine(id)
	assert.Empty(t, h.do(http.MethodGet, "/v1/mailbox", "tok-42420001", "", nil).json(t)["berichten"], "out of its mailbox")

	list := h.do(http.MethodGet, "/v1/quarantine", "tok-operator", "", nil)
	require.Equal(t, http.StatusOK, list.status, string(list.body))
	got := list.json(t)["berichten"].([]any)
	require.Len(t, got, 1)
	e := got[0].(map[string]any)
	assert.Equal(t, id, e["id"])
	assert.Equal(t, "42420001", e["ontvanger"])
	assert.Equal(t, "WMO301", e["berichtsoort"])
	assert.NotContains(t, string(list.body), "<m ", "no content")

	for _, tok := range []string{"tok-0384", "tok-42420001"} {
		assert.Equal(t, http.StatusForbidden, h.do(http.MethodGet, "/v1/quarantine", tok, "", nil).status, tok)
		assert.Equal(t, http.StatusForbidden, h.do(http.MethodPost, "/v1/quarantine/"+id+"/release", tok, "", nil).status, tok)
	}
	rel := h.do(http.MethodPost, "/v1/quarantine/"+id+"/release", "tok-operator", "", nil)
	require.Equal(t, http.StatusNoContent, rel.status, string(rel.body))
	assert.Empty(t, h.do(http.MethodGet, "/v1/quarantine", "tok-operator", "", nil).json(t)["berichten"])
	mb := h.do(http.MethodGet, "/v1/mailbox", "tok-42420001", "", nil).json(t)["berichten"].([]any)
	require.Len(t, mb, 1, "back in its mailbox")
	assert.Equal(t, http.StatusNotFound, h.do(http.MethodPost, "/v1/quarantine/"+id+"/release", "tok-operator", "", nil).status)
	assert.Equal(t, http.StatusBadRequest, h.do(http.MethodGet, "/v1/quarantine?limit=0", "tok-operator", "", nil).status)
}
